//! `max_files`: keeping the newest rolled log files, and only log files.
//!
//! The appender's own retention counts every regular file whose name starts
//! with the prefix, so with a prefix such as the application's name it
//! would delete `app.toml` or `app.journal` lying in the same directory.
//! This writer prunes by itself instead, and counts only names the appender
//! gives its files: `PREFIX.YYYY-MM-DD` (daily) or `PREFIX.YYYY-MM-DD-HH`
//! (hourly), regular files, not links. Dates in those names sort as text,
//! so the newest are the last in name order.
//!
//! It prunes once when logging starts and then, on the writer's own thread
//! (never a server's), at the first line written after each minute has
//! passed: within a minute of a new file starting, at most `max_files`
//! remain.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing_appender::rolling::RollingFileAppender;

use crate::ops::config::Rotation;

/// How often, at most, the directory is listed.
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// The rolling appender, pruned to the newest `keep` files.
pub(crate) struct Retained {
    inner: RollingFileAppender,
    dir: PathBuf,
    prefix: String,
    rotation: Rotation,
    keep: usize,
    next_check: Instant,
}

impl Retained {
    /// Wraps `inner`, which writes `prefix` files to `dir`, and prunes now.
    pub(crate) fn new(
        inner: RollingFileAppender,
        dir: &Path,
        prefix: &str,
        rotation: Rotation,
        keep: usize,
    ) -> Retained {
        let mut r = Retained {
            inner,
            dir: dir.to_path_buf(),
            prefix: prefix.to_owned(),
            rotation,
            keep,
            next_check: Instant::now(),
        };
        r.prune();
        r
    }

    fn prune(&mut self) {
        self.next_check = Instant::now() + CHECK_EVERY;
        if let Err(e) = prune(&self.dir, &self.prefix, self.rotation, self.keep) {
            // The log is this writer: there is no one else to tell.
            eprintln!(
                "threadbutler: pruning old log files in {}: {e}",
                self.dir.display()
            );
        }
    }
}

impl Write for Retained {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if Instant::now() >= self.next_check {
            self.prune();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Deletes all but the newest `keep` of the log files `prefix` in `dir`.
pub(crate) fn prune(dir: &Path, prefix: &str, rotation: Rotation, keep: usize) -> io::Result<()> {
    let mut logs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // `file_type` does not follow links: a link is never counted.
        if entry.file_type()?.is_file() && is_log_name(&name, prefix, rotation) {
            logs.push(name);
        }
    }
    logs.sort();
    let surplus = logs.len().saturating_sub(keep);
    for name in &logs[..surplus] {
        match fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether `name` is `prefix.` followed by the rotation's date.
fn is_log_name(name: &str, prefix: &str, rotation: Rotation) -> bool {
    let Some(date) = name
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('.'))
    else {
        return false;
    };
    // YYYY-MM-DD, and -HH for hourly files.
    let shape: &[u8] = match rotation {
        Rotation::Daily => b"dddd-dd-dd",
        Rotation::Hourly => b"dddd-dd-dd-dd",
        Rotation::Never => return false,
    };
    date.len() == shape.len()
        && date.bytes().zip(shape).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            other => c == *other,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tb-retention-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp is writable");
        for f in files {
            fs::write(dir.join(f), "x\n").expect("writable");
        }
        dir
    }

    fn left(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("listed")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn only_the_appenders_file_names_are_counted_and_the_newest_kept() {
        let dir = scratch(
            "names",
            &[
                "app.2026-11-28",
                "app.2026-11-29",
                "app.2026-11-30",
                "app.2026-12-01",
                "app.toml",
                "app.journal",
                "app.log.bak",
                "app.2026-12-01.bak",
                "app.2026-12-01-13",
                "application.2020-01-01",
                "other.2020-01-01",
            ],
        );
        prune(&dir, "app", Rotation::Daily, 2).expect("pruned");
        assert_eq!(
            left(&dir),
            [
                "app.2026-11-30",
                "app.2026-12-01",
                "app.2026-12-01-13",
                "app.2026-12-01.bak",
                "app.journal",
                "app.log.bak",
                "app.toml",
                "application.2020-01-01",
                "other.2020-01-01",
            ]
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn hourly_files_are_counted_by_their_hour() {
        let dir = scratch(
            "hourly",
            &[
                "a.log.2026-12-01-23",
                "a.log.2026-12-02-00",
                "a.log.2026-12-02-01",
                "a.log.2026-12-02",
            ],
        );
        prune(&dir, "a.log", Rotation::Hourly, 1).expect("pruned");
        assert_eq!(left(&dir), ["a.log.2026-12-02", "a.log.2026-12-02-01"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_link_named_like_a_log_is_left_alone() {
        let dir = scratch("link", &["app.2026-12-01", "app.2026-12-02"]);
        let target = dir.join("target.txt");
        fs::write(&target, "keep me\n").expect("writable");
        std::os::unix::fs::symlink(&target, dir.join("app.2020-01-01")).expect("a link");
        prune(&dir, "app", Rotation::Daily, 1).expect("pruned");
        assert_eq!(
            left(&dir),
            ["app.2020-01-01", "app.2026-12-02", "target.txt"]
        );
        assert_eq!(fs::read_to_string(&target).expect("kept"), "keep me\n");
        let _ = fs::remove_dir_all(&dir);
    }
}
