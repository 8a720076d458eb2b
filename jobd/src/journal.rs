//! The intake journal: a job is answered `ok ID` only once its line is
//! durable here, so a crash (even SIGKILL) loses no acknowledged job: the
//! next start replays every journaled job without a result line
//! (`crate::replay`).
//!
//! Group commit: the journal server appends the lines of every job sent to
//! it while its previous `fsync` ran, then writes them with one write and
//! syncs once (`File::sync_data`), and only then answers each job. A write
//! or sync that fails answers every job of its batch with the error (they
//! are refused, never acknowledged) and cuts the file back to its last good
//! end, so a refused job is not replayed either.
//!
//! # Line format
//!
//! One line per job, tab-separated: `ID\tKIND\tARG` (`ARG` empty for
//! `panic` and `hang`; a sleep's duration in nanoseconds, `1500000000ns`).
//! A job taken back after it was journaled (its send to the workers was
//! refused at shutdown) gets a later line `ID\t-`. Lines are whole; a torn
//! last line is cut at start, as in the results file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crossbeam_channel::{Receiver, Sender, bounded};
use threadbutler::prelude::*;

use crate::job::{self, Job, JobId, Kind};

/// Appends at most this many jobs' lines before one sync, even when more
/// wait in the mailbox.
const GROUP: usize = 4096;

/// Or at most this many bytes.
const GROUP_BYTES: usize = 1 << 20;

/// The answer to an [`Append`]: the job back, and `Ok` once its line is
/// durable, or why it is not.
pub type Synced = (Job, Result<(), String>);

/// Journal this job's line (see [`line()`]) and hand it back on `synced` once
/// the line is durable.
pub struct Append {
    /// The job (its line is written straight into the batch).
    pub job: Job,
    /// Receives the job and the outcome of the sync that covers its line.
    pub synced: Sender<Synced>,
}

/// A journaled job was taken back: it must not be replayed.
pub struct Forget {
    /// The job.
    pub id: JobId,
}

threadbutler::messages! { pub enum JournalMsg for Journal { Append, Forget } }

/// Owns the journal file.
pub struct Journal {
    path: PathBuf,
    /// The mode it is created with (`[app] file_mode`).
    mode: u32,
    file: Option<File>,
    /// The file's length after the last good sync: what a failed write
    /// added past it is cut.
    good: u64,
    /// The lines of the batch being gathered.
    bytes: Vec<u8>,
    /// The jobs of the batch, answered after its sync.
    waiting: Vec<(Job, Sender<Synced>)>,
    /// The last commit failed (logged once, until one succeeds).
    failing: bool,
}

impl Journal {
    /// A journal at `path`; the file is opened when the server starts.
    pub fn new(path: PathBuf, mode: u32) -> Journal {
        Journal {
            path,
            mode,
            file: None,
            good: 0,
            bytes: Vec::new(),
            waiting: Vec::new(),
            failing: false,
        }
    }

    /// Writes and syncs the batch, then answers its jobs.
    fn commit(&mut self) {
        if self.bytes.is_empty() && self.waiting.is_empty() {
            return;
        }
        let result = self
            .write_batch()
            .map_err(|e| format!("the journal {} cannot take it: {e}", self.path.display()));
        match &result {
            Ok(()) if self.failing => {
                self.failing = false;
                tracing::info!(journal = %self.path.display(), "the journal takes jobs again");
            }
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::error!(journal = %self.path.display(), error = %e, jobs = self.waiting.len(), "journal write failed: its jobs are refused");
            }
            _ => {}
        }
        for (job, w) in self.waiting.drain(..) {
            let _ = w.send((job, result.clone()));
        }
        self.bytes.clear();
        if self.bytes.capacity() > 4 * GROUP_BYTES {
            self.bytes.shrink_to(GROUP_BYTES);
        }
    }

    fn write_batch(&mut self) -> std::io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("it is not open"))?;
        // A failed write may have left part of a batch: cut it first.
        if file.metadata()?.len() != self.good {
            file.set_len(self.good)?;
        }
        let done = file.write_all(&self.bytes).and_then(|()| file.sync_data());
        match done {
            Ok(()) => {
                self.good += self.bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Best effort now; the next commit tries again before it writes.
                let _ = file.set_len(self.good);
                Err(e)
            }
        }
    }
}

impl Server for Journal {
    fn on_start(&mut self, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        // A torn line left by a failed life's write is cut.
        let mut file = open(&self.path, self.mode)
            .map_err(|e| format!("cannot open the journal {}: {e}", self.path.display()))?;
        crate::results::repair(&mut file)?;
        self.good = file.metadata()?.len();
        self.file = Some(file);
        tracing::debug!(journal = %self.path.display(), bytes = self.good, "journal open");
        Ok(())
    }

    fn handle(&mut self, msg: JournalMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            JournalMsg::Append(Append { job, synced }) => {
                write_line(&mut self.bytes, &job);
                self.waiting.push((job, synced));
            }
            JournalMsg::Forget(Forget { id }) => {
                self.bytes
                    .extend_from_slice(format!("{id}\t-\n").as_bytes());
            }
        }
        if ctx.address().depth() == 0
            || self.waiting.len() >= GROUP
            || self.bytes.len() >= GROUP_BYTES
        {
            self.commit();
        }
        Ok(())
    }

    fn on_stop(&mut self, why: &ExitReason, _: &mut Ctx<Self>) {
        self.commit();
        tracing::debug!(journal = %self.path.display(), reason = %why, "journal closed");
    }
}

/// Opens (creates) the journal for appending: jobd's own regular file,
/// never through a symbolic link (see `own_file`).
fn open(path: &Path, mode: u32) -> std::io::Result<File> {
    crate::own_file::open_own(path, mode, "journal").map_err(std::io::Error::other)
}

/// Hands `job` to the journal; the receiver gets it back once its line is
/// durable (or with why it is not; a disconnect means the journal
/// stopped).
///
/// # Errors
///
/// The journal's mailbox is closed (jobd is stopping): the job comes back.
pub fn append(journal: &Address<Journal>, job: Job) -> Result<Receiver<Synced>, (Job, String)> {
    let (synced, rx) = bounded(1);
    journal
        .send(Append { job, synced })
        .map_err(|e| (e.into_inner().job, "jobd is shutting down".to_owned()))?;
    Ok(rx)
}

/// The journal line of `job`, with its newline.
pub fn line(job: &Job) -> String {
    let mut bytes = Vec::new();
    write_line(&mut bytes, job);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Appends the journal line of `job`, with its newline, to `to`.
fn write_line(to: &mut Vec<u8>, job: &Job) {
    to.extend_from_slice(job.id.as_bytes());
    match &job.kind {
        // Paths come from a line split at whitespace: no tab, no newline.
        Kind::Hash(p) | Kind::Words(p) => {
            let kind = if matches!(job.kind, Kind::Hash(_)) {
                "\thash\t"
            } else {
                "\twords\t"
            };
            to.extend_from_slice(kind.as_bytes());
            to.extend_from_slice(p.as_os_str().as_encoded_bytes());
        }
        Kind::Sleep(d) => to.extend_from_slice(format!("\tsleep\t{}ns", d.as_nanos()).as_bytes()),
        Kind::Panic => to.extend_from_slice(b"\tpanic\t"),
        Kind::Hang => to.extend_from_slice(b"\thang\t"),
    }
    to.push(b'\n');
}

/// A journal line (without its newline), read back.
#[derive(Debug, PartialEq)]
pub enum Entry {
    /// A job.
    Job(Job),
    /// A job that could not be rebuilt: its id (when there is one) and why.
    Bad(Option<JobId>, String),
    /// The job was taken back.
    Forget(JobId),
}

/// Reads one journal line (without its newline).
pub fn entry(text: &str) -> Entry {
    let mut fields = text.split('\t');
    let id = fields.next().unwrap_or_default();
    let rest: Vec<&str> = fields.collect();
    if rest == ["-"] {
        return match job::parse(&format!("{id} panic")) {
            Ok(job::Request::Job(j)) => Entry::Forget(j.id),
            _ => Entry::Bad(None, format!("a bad journal line {text:?}")),
        };
    }
    let request = format!("{id} {}", rest.join(" "));
    match job::parse(request.trim_end()) {
        Ok(job::Request::Job(j)) => Entry::Job(j),
        Ok(_) => Entry::Bad(None, format!("not a job: {text:?}")),
        Err(e) => {
            let id = match job::parse(&format!("{id} panic")) {
                Ok(job::Request::Job(j)) => Some(j.id),
                _ => None,
            };
            Entry::Bad(id, format!("cannot be rebuilt from the journal: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_kind_of_job_reads_back_from_its_line() {
        let kinds = [
            Kind::Hash("/etc/hosts".into()),
            Kind::Words("a.txt".into()),
            Kind::Sleep(Duration::from_millis(1500)),
            Kind::Sleep(Duration::from_nanos(7)),
            Kind::Panic,
            Kind::Hang,
        ];
        for (n, kind) in kinds.into_iter().enumerate() {
            let job = Job {
                id: Arc::from(format!("j-{n}")),
                kind,
            };
            let text = line(&job);
            assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
            assert_eq!(entry(text.trim_end_matches('\n')), Entry::Job(job));
        }
        assert_eq!(entry("j-9\t-"), Entry::Forget(Arc::from("j-9")));
        match entry("j-10\tfrobnicate\t") {
            Entry::Bad(Some(id), why) => {
                assert_eq!(&*id, "j-10");
                assert!(why.contains("unknown kind"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(entry("a/b\thash\tx"), Entry::Bad(None, _)));
    }
}
