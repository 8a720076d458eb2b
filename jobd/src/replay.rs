//! Replay at start: before the intake opens, the results file and the
//! journal are read; every journaled job without a result line was
//! accepted by an earlier run that ended before its line was written (a
//! crash, SIGKILL, a power loss): it is admitted again and queued for the
//! workers, or, when its line cannot be rebuilt, booked `dead` with why.
//! Then the journal is compacted to those jobs (temp file, fsync, rename,
//! fsync of the directory), so it does not grow across runs.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use threadbutler::prelude::*;

use crate::job::{Job, JobId};
use crate::journal::{Entry, entry};
use crate::ledger::Ledger;
use crate::lock::Lock;
use crate::outcome::{Outcome, Word};
use crate::results::{Results, repair};
use crate::workers::{Worker, record};

/// The jobs an earlier run left without a result line.
#[derive(Debug, Default)]
pub struct Replay {
    /// To be queued again.
    pub jobs: Vec<Job>,
    /// To be booked dead: their journal line cannot be rebuilt.
    pub dead: Vec<(JobId, String)>,
}

/// Reads the results file and the journal into `ledger` (every id with a
/// line is taken; every journaled job without one is admitted again) and
/// compacts the journal.
///
/// # Errors
///
/// A file could not be read, or the journal not rewritten.
pub fn load(
    results: &Path,
    journal: &mut Lock,
    mode: u32,
    ledger: &Ledger,
) -> Result<Replay, String> {
    let journal_path = journal.path().to_path_buf();
    let journal_lock = journal;
    let journal = journal_path.as_path();
    let shown = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    // The lines replay trusts must survive a power loss before the journal
    // forgets their jobs.
    if let Err(e) = sync_if_there(results) {
        tracing::warn!(results = %results.display(), error = %e, "cannot sync the results file before the journal is compacted");
    }
    let mut lines = 0u64;
    each_line(results, |line| {
        let mut f = line.split('\t');
        if let (Some(id), Some(word)) = (f.next(), f.next().and_then(Word::parse)) {
            ledger.load_settled(id, word);
            lines += 1;
        }
    })
    .map_err(|e| shown(results, e))?;

    let mut file = journal_lock
        .file()
        .try_clone()
        .map_err(|e| shown(journal, e))?;
    if let Some(cut) = repair(&mut file).map_err(|e| shown(journal, e))? {
        tracing::warn!(journal = %journal.display(), bytes = cut, "cut a torn last journal line left by a crash");
    }
    // Journaled and unsettled, in journal order (a later `ID\t-` takes one
    // back).
    let mut open: Vec<(JobId, String, Entry)> = Vec::new();
    let mut forgotten = std::collections::HashSet::new();
    each_line(journal, |text| match entry(text) {
        Entry::Forget(id) => {
            forgotten.insert(id);
        }
        Entry::Job(job) if !ledger.is_written(&job.id) => {
            forgotten.remove(&job.id);
            open.push((job.id.clone(), text.to_owned(), Entry::Job(job)));
        }
        Entry::Bad(Some(id), why) if !ledger.is_written(&id) => {
            forgotten.remove(&id);
            open.push((id.clone(), text.to_owned(), Entry::Bad(Some(id), why)));
        }
        Entry::Bad(None, why) => {
            tracing::error!(journal = %journal.display(), line = %text, %why, "a journal line without a job id: skipped");
        }
        Entry::Job(_) | Entry::Bad(..) => {}
    })
    .map_err(|e| shown(journal, e))?;

    let mut replay = Replay::default();
    let mut kept = Vec::new();
    for (id, text, e) in open {
        if forgotten.contains(&id) || !ledger.admit_replayed(&id) {
            continue;
        }
        kept.push(text);
        match e {
            Entry::Job(job) => replay.jobs.push(job),
            Entry::Bad(_, why) => replay.dead.push((id, why)),
            Entry::Forget(_) => {}
        }
    }
    compact(journal_lock, mode, &kept)?;
    tracing::debug!(
        results = %results.display(),
        lines,
        journal = %journal.display(),
        replayed = replay.jobs.len() + replay.dead.len(),
        dead = replay.dead.len(),
        "read the results file and the journal"
    );
    Ok(replay)
}

impl Replay {
    /// How many jobs are replayed (queued or booked dead).
    pub fn len(&self) -> usize {
        self.jobs.len() + self.dead.len()
    }

    /// True when there is nothing to replay.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Books the dead ones and queues the others for the workers, on a
    /// thread of its own (the queue may be full). A job the closed pool
    /// refuses stays queued in the ledger: it is booked dead as jobd stops.
    pub fn resume(self, workers: Address<Worker>, results: Address<Results>, ledger: Arc<Ledger>) {
        let n = self.len();
        if n == 0 {
            return;
        }
        tracing::info!(
            replayed = n,
            dead = self.dead.len(),
            "replaying jobs accepted before a crash"
        );
        for (id, why) in self.dead {
            if ledger.settle(&id) {
                tracing::warn!(job = %id, %why, "replayed job dead");
                record(&results, id, Outcome::Dead(why));
            }
        }
        let jobs = self.jobs;
        let spawned = std::thread::Builder::new()
            .name("jobd-replay".into())
            .spawn(move || {
                for job in jobs {
                    if let Err(e) = workers.send(job) {
                        tracing::warn!(job = %e.into_inner().id, "replayed job not queued: jobd is stopping");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "no replay thread: the replayed jobs are booked dead at the end");
        }
    }
}

/// Calls `each` with every whole line (a torn tail is skipped) of the file
/// at `path`, if it is a regular file; lines that are not UTF-8 are
/// skipped.
fn each_line(path: &Path, mut each: impl FnMut(&str)) -> std::io::Result<()> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        // A device (`/dev/full` in a test) has no lines to keep.
        return Ok(());
    }
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line)? > 0 {
        if let Some(text) = line.strip_suffix(b"\n")
            && let Ok(text) = std::str::from_utf8(text)
        {
            each(text);
        }
        line.clear();
    }
    Ok(())
}

fn sync_if_there(path: &Path) -> std::io::Result<()> {
    match File::open(path) {
        Ok(f) => f.sync_all(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Rewrites the journal with `lines` only: a temp file beside it, locked
/// and synced, renamed over it with its lock (so the path never names an
/// unlocked journal), and the directory synced; `journal` then holds the
/// new file's lock.
///
/// # Errors
///
/// The temp file could not be made, written or renamed (the journal is
/// left as it was).
fn compact(journal: &mut Lock, mode: u32, lines: &[String]) -> Result<(), String> {
    let path = journal.path().to_path_buf();
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".compact");
    let temp: PathBuf = path.with_file_name(name);
    let mut compacted = Lock::own_file(&temp, mode, "compacted journal", "app.journal")?;
    let failed = |e: std::io::Error| format!("cannot compact the journal {}: {e}", path.display());
    (|| {
        // A leftover of a compaction that died half-way is started over.
        compacted.file().set_len(0)?;
        let mut out = std::io::BufWriter::new(compacted.file());
        for l in lines {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        drop(out);
        compacted.file().sync_all()?;
        compacted.rename_to(&path)?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
    })()
    .map_err(failed)?;
    *journal = compacted;
    Ok(())
}
