//! The results server: appends one line per job to the results file.
//!
//! Lines are written whole: they wait in a [`Batch`] that is written out at
//! the end of a batch (when the mailbox is empty, or every 256 lines), and
//! a job counts as written (its `wait` answered) only once its line is in
//! the file. On drain the file is synced (`fsync`).
//!
//! Nothing is lost to a failing disk: a write that fails (a full disk)
//! keeps the lines that did not make it, for the next result and the drain
//! to try again; a partial line it left at the file's end is cut first
//! ([`repair`]). The batch outlives a restart of this server. A crash can
//! lose only the last batch, whole lines; the torn tail a crash in the
//! kernel's write could leave is cut at the next start.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use threadbutler::prelude::*;

use crate::batch::Batch;
use crate::job::JobId;
use crate::ledger::Ledger;
use crate::outcome::Outcome;

/// How many lines wait at most before they are written out.
const BATCH: usize = 256;

/// A job's result, to be written.
pub struct Record {
    /// The job.
    pub id: JobId,
    /// How it ended.
    pub outcome: Outcome,
}

threadbutler::messages! { pub enum ResultsMsg for Results { Record } }

/// The lines not yet in the file, shared by the results server's lives.
pub type SharedBatch = Arc<Mutex<Batch>>;

/// Owns the results file.
pub struct Results {
    path: PathBuf,
    ledger: Arc<Ledger>,
    batch: SharedBatch,
    file: Option<File>,
    /// The last write failed (logged once, until one succeeds).
    failing: bool,
    /// The permission bits the file is created with.
    mode: u32,
}

impl Results {
    /// A writer for `path`; the file is opened when the server starts.
    pub fn new(path: PathBuf, ledger: Arc<Ledger>, batch: SharedBatch) -> Self {
        Results {
            path,
            ledger,
            batch,
            file: None,
            failing: false,
            mode: crate::own_file::DEFAULT_MODE,
        }
    }

    /// The file is created with permission bits `mode` (default 0600).
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Writes what waits; the lines that made it are answered. A failure is
    /// logged (once) and the rest waits for the next try.
    fn write_out(&mut self) {
        let Some(file) = &mut self.file else { return };
        let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
        if batch.is_empty() {
            return;
        }
        if batch.torn {
            match repair(file) {
                Ok(_) => batch.torn = false,
                Err(e) => {
                    tracing::warn!(file = %self.path.display(), error = %e, "cannot cut a partial line yet");
                    return;
                }
            }
        }
        let (done, error) = batch.write_to(file);
        let waiting = batch.len();
        drop(batch);
        for (id, outcome) in done {
            self.ledger.written(&id, outcome);
        }
        match error {
            Some(e) if !self.failing => {
                self.failing = true;
                tracing::error!(
                    file = %self.path.display(),
                    error = %e,
                    waiting,
                    "cannot write the results file; the lines wait and are tried again with the next result and at the drain"
                );
            }
            None if self.failing => {
                self.failing = false;
                tracing::info!(file = %self.path.display(), "the results file takes lines again");
            }
            _ => {}
        }
    }
}

impl Server for Results {
    fn on_start(&mut self, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        // Never through a link, only jobd's own regular file (own_file.rs).
        let mut file = crate::own_file::open_own(&self.path, self.mode, "results file")?;
        if let Some(cut) =
            repair(&mut file).map_err(|e| format!("results file {}: {e}", self.path.display()))?
        {
            tracing::warn!(file = %self.path.display(), bytes = cut, "cut a torn last line left by a crash");
        }
        // Whatever an earlier life's failed write tore is cut now.
        self.batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .torn = false;
        self.file = Some(file);
        // Lines an earlier life could not write come first.
        self.write_out();
        Ok(())
    }

    fn handle(&mut self, msg: ResultsMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let ResultsMsg::Record(Record { id, outcome }) = msg;
        let waiting = {
            let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
            batch.push(id, outcome);
            batch.len()
        };
        if waiting >= BATCH || ctx.address().depth() == 0 {
            self.write_out();
        }
        Ok(())
    }

    fn on_stop(&mut self, why: &ExitReason, _: &mut Ctx<Self>) {
        // The results server stops last: every other child has ended (or
        // been abandoned). A job nobody settled gets its line now.
        if matches!(why, ExitReason::Shutdown) {
            let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
            for (id, outcome) in self.ledger.settle_all() {
                tracing::warn!(job = %id, outcome = %outcome, "job dead: unfinished at the end");
                batch.push(id, outcome);
            }
        }
        self.write_out();
        let lost = self
            .batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ids();
        if !lost.is_empty() && matches!(why, ExitReason::Shutdown) {
            let lost: Vec<&str> = lost.iter().map(|id| &**id).collect();
            tracing::error!(file = %self.path.display(), ?lost, "results that could not be written");
        }
        match self.file.as_ref().map(File::sync_all) {
            Some(Err(e)) => {
                tracing::error!(file = %self.path.display(), error = %e, "results not synced")
            }
            _ => {
                tracing::debug!(file = %self.path.display(), reason = %why, "results written and synced")
            }
        }
    }
}

/// Cuts a last line without its newline (a crash mid-write) off the open
/// `file` (opened for reading and writing, by [`open_own`]: never a path
/// opened again); returns how many bytes were cut, `None` when it was
/// whole.
///
/// [`open_own`]: crate::own_file::open_own
///
/// # Errors
///
/// The file could not be read or truncated.
pub fn repair(file: &mut File) -> std::io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    // Scan back from the end, a block at a time, for the last newline.
    let mut end = len;
    let mut block = vec![0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let buf = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(buf)?;
        if let Some(i) = buf.iter().rposition(|b| *b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep == len {
                return Ok(None);
            }
            file.set_len(keep)?;
            return Ok(Some(len - keep));
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
        return Ok(Some(len));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn file_with(name: &str, text: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("jobd-repair-{}-{name}", std::process::id()));
        std::fs::write(&p, text).expect("temp dir is writable");
        p
    }

    fn repair(path: &Path) -> std::io::Result<Option<u64>> {
        let mut file =
            crate::own_file::open_own(path, 0o600, "test file").map_err(std::io::Error::other)?;
        super::repair(&mut file)
    }

    #[test]
    fn a_torn_last_line_is_cut_and_whole_files_are_left_alone() {
        let torn = file_with("torn", "1\tok\ta\n2\tok\tb\n3\tok");
        assert_eq!(repair(&torn).expect("repair"), Some(4));
        assert_eq!(
            std::fs::read_to_string(&torn).expect("read"),
            "1\tok\ta\n2\tok\tb\n"
        );
        let whole = file_with("whole", "1\tok\ta\n");
        assert_eq!(repair(&whole).expect("repair"), None);
        let no_newline = file_with("none", &"x".repeat(10_000));
        assert_eq!(repair(&no_newline).expect("repair"), Some(10_000));
        assert_eq!(std::fs::metadata(&no_newline).expect("exists").len(), 0);
        let long_tail = file_with("long", &format!("1\tok\ta\n{}", "y".repeat(9_000)));
        assert_eq!(repair(&long_tail).expect("repair"), Some(9_000));
        for p in [torn, whole, no_newline, long_tail] {
            let _ = std::fs::remove_file(p);
        }
    }
}
