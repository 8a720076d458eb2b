//! `jobd --demo`: a run that feeds itself one job of each kind, waits for
//! them, drains and prints the results file. Its quick timing (a hung job
//! seen in 0.3 s) lives in the config file it writes for itself, not in
//! the daemon's code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use threadbutler::prelude::*;

/// The demo's scratch directory: its config, socket, results and the file
/// its jobs read. Removed when dropped.
pub struct DemoDir {
    dir: PathBuf,
}

impl DemoDir {
    /// Makes the directory and writes the demo's config file into it.
    ///
    /// # Errors
    ///
    /// The directory or a file in it could not be written.
    pub fn new() -> Result<DemoDir, String> {
        let demo = DemoDir { dir: fresh_dir()? };
        // Relative paths: they resolve against the config file's directory.
        let config = "\
# jobd --demo: a hung job is seen within 0.3-0.45 s and given up 0.3 s later.
[supervisor]
abandon_after = \"300ms\"

[servers.workers]
heartbeat = \"300ms\"

[app]
socket = \"jobd.sock\"
results = \"results.tsv\"
stdin = false
";
        write_new(&demo.config(), config)?;
        Ok(demo)
    }

    /// The config file it wrote.
    pub fn config(&self) -> PathBuf {
        self.dir.join("jobd.toml")
    }

    /// Feeds the running jobd at `socket`, waits until its hung job was
    /// given up on, then asks it to shut down.
    pub fn feed(&self, app: &Butler, socket: &Path) {
        let events = app.subscribe();
        if let Err(e) = self.exchange(socket) {
            eprintln!("jobd: the demo's client failed: {e}");
        }
        // The hung worker is given up on (abandoned) and replaced 0.3 s after
        // its heartbeat miss; a shutdown before that would be unclean (75).
        let deadline = Instant::now() + Duration::from_secs(20);
        let abandoned = std::iter::from_fn(|| events.recv_deadline(deadline).ok())
            .find(|e| matches!(e, Event::Abandoned { .. } | Event::GaveUp { .. }));
        println!(
            "demo> {}",
            abandoned.map_or_else(|| "no abandonment within 20 s".into(), |e| e.to_string())
        );
        app.shutdown();
    }

    /// Every kind of job, a bad line, then waits for all.
    fn exchange(&self, socket: &Path) -> Result<(), String> {
        let text = self.dir.join("words.txt");
        write_new(&text, "the quick brown fox\njumps over the lazy dog\n")?;
        let t = text.display();
        let requests = [
            format!("d1 words {t}"),
            format!("d2 hash {t}"),
            "d3 sleep 100ms".to_owned(),
            "d4 panic".to_owned(),
            "d5 hang".to_owned(),
            "d6 words /nonexistent/file".to_owned(),
            "d7 frobnicate".to_owned(),
            "wait d1".to_owned(),
            "wait d2".to_owned(),
            "wait d3".to_owned(),
            "wait d4".to_owned(),
            "wait d5".to_owned(),
            "wait d6".to_owned(),
            "status".to_owned(),
        ];
        crate::submit::exchange(socket, &requests, Duration::from_secs(20), |r, answer| {
            let shown = match answer.char_indices().nth(160) {
                Some((cut, _)) => format!("{}...", &answer[..cut]),
                None => answer.to_owned(),
            };
            println!("demo> {r}\n      {shown}");
        })
    }

    /// Prints the results file at `path`.
    pub fn print_results(&self, path: &Path) {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                println!("jobd: {}:", path.display());
                for line in text.lines() {
                    println!("  {line}");
                }
            }
            Err(e) => println!("jobd: cannot read {}: {e}", path.display()),
        }
    }
}

/// A directory of the demo's own in the temp directory: made new (never
/// one that exists, which someone else could have prepared with links in
/// it), mode 0700.
fn fresh_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    let mut last = None;
    for n in 0..100 {
        let dir = base.join(format!("jobd-demo-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(dir),
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        }
    }
    Err(format!(
        "{}: exists, as do the 99 names before it; remove them",
        last.map_or_else(String::new, |d| d.display().to_string())
    ))
}

/// Writes a new file (never through a link, never over a file).
fn write_new(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

impl Drop for DemoDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
