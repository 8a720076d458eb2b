//! The results server: appends one line per job to the results file.
//!
//! Lines are written whole: each goes into a buffer that is written out at
//! the end of a batch (when the mailbox is empty, or every 256 lines), and a
//! job counts as written (its `wait` answered) only once its line reached
//! the file. On drain the file is flushed and synced (`fsync`). A crash can
//! only lose whole lines of the last batch, never tear one, except through
//! the kernel itself; the torn tail such a crash could leave is cut off at
//! the next start ([`repair`]).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use threadbutler::prelude::*;

use super::job::JobId;
use super::ledger::{Ledger, Outcome};

/// How many lines are buffered at most before they are written out.
const BATCH: usize = 256;

/// A job's result, to be written.
pub struct Record {
    /// The job.
    pub id: JobId,
    /// How it ended.
    pub outcome: Outcome,
}

threadbutler::messages! { pub enum ResultsMsg for Results { Record } }

/// Owns the results file.
pub struct Results {
    path: PathBuf,
    ledger: Arc<Ledger>,
    file: Option<BufWriter<File>>,
    pending: Vec<(JobId, Outcome)>,
}

impl Results {
    /// A writer for `path`; the file is opened when the server starts.
    pub fn new(path: PathBuf, ledger: Arc<Ledger>) -> Self {
        Results {
            path,
            ledger,
            file: None,
            pending: Vec::new(),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(f) = &mut self.file {
            f.flush()?;
        }
        for (id, outcome) in self.pending.drain(..) {
            self.ledger.written(&id, outcome);
        }
        Ok(())
    }
}

impl Server for Results {
    fn on_start(&mut self, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        if let Some(cut) = repair(&self.path)? {
            tracing::warn!(file = %self.path.display(), bytes = cut, "cut a torn last line left by a crash");
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("cannot open the results file {}: {e}", self.path.display()))?;
        self.file = Some(BufWriter::with_capacity(64 * 1024, file));
        Ok(())
    }

    fn handle(&mut self, msg: ResultsMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let ResultsMsg::Record(Record { id, outcome }) = msg;
        let line = format!("{id}\t{outcome}\n");
        let file = self.file.as_mut().ok_or("the results file is not open")?;
        file.write_all(line.as_bytes())?;
        self.pending.push((id, outcome));
        if self.pending.len() >= BATCH || ctx.address().depth() == 0 {
            self.flush()?;
        }
        Ok(())
    }

    fn on_stop(&mut self, why: &ExitReason, _: &mut Ctx<Self>) {
        // The results server stops last: every other child has ended (or
        // been abandoned). A job nobody settled gets its line now.
        if matches!(why, ExitReason::Shutdown) {
            for (id, outcome) in self.ledger.settle_all() {
                tracing::warn!(job = %id, outcome = %outcome, "job dead: unfinished at the end");
                if let Some(f) = &mut self.file
                    && f.write_all(format!("{id}\t{outcome}\n").as_bytes()).is_ok()
                {
                    self.pending.push((id, outcome));
                }
            }
        }
        let synced = self.flush().and_then(|()| match &self.file {
            Some(f) => f.get_ref().sync_all(),
            None => Ok(()),
        });
        match synced {
            Ok(()) => {
                tracing::info!(file = %self.path.display(), reason = %why, "results flushed and synced")
            }
            Err(e) => {
                let lost: Vec<&str> = self.pending.iter().map(|(id, _)| &**id).collect();
                tracing::error!(file = %self.path.display(), error = %e, ?lost, "results could not be written");
            }
        }
    }
}

/// Cuts a last line without its newline (a crash mid-write) off the file
/// at `path`; returns how many bytes were cut, `None` when it was whole or
/// does not exist.
///
/// # Errors
///
/// The file could not be read or truncated.
pub fn repair(path: &Path) -> std::io::Result<Option<u64>> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
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
    use super::*;

    fn file_with(name: &str, text: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("jobd-repair-{}-{name}", std::process::id()));
        std::fs::write(&p, text).expect("temp dir is writable");
        p
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
        assert_eq!(
            repair(Path::new("/nonexistent/jobd")).expect("missing is fine"),
            None
        );
    }
}
