//! The ledger: every live job of the run, and the one rule that makes
//! results exactly-once. A job is *settled* once (finished by its worker, or
//! declared dead by the dead-letter sink, the worker's `on_stop` after a
//! panic, or the heartbeat watch after a hang); only the one who settles it
//! sends its result line. Whoever comes second (a hung handler that returns
//! after all) finds it settled and drops its outcome.
//!
//! Once a job's line is in the results file it is kept compactly: a 64-bit
//! hash of its id and its outcome word, about 20 bytes, whatever its detail
//! was. Ids with a line from an earlier run are loaded the same way at start
//! ([`Ledger::load_settled`]). A hash hit on [`admit`](Ledger::admit) is
//! confirmed exactly by looking the id up in the results file, so a hash
//! collision never refuses a new id.
//!
//! # Invariants
//!
//! - An id is admitted at most once per results file (`admit` refuses ids
//!   that are live or have a line), unless its journal append or its send
//!   was refused (`withdraw` forgets it: it was never accepted).
//! - States only move forward: queued → running → settled → written.
//! - `accepted == queued + running + writing + ok + failed + dead` at all
//!   times (`writing` counts the settled jobs whose line is not yet in the
//!   file).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crossbeam_channel::{Receiver, Sender, bounded};
use serde::Serialize;

use crate::job::JobId;
use crate::outcome::{Outcome, Word};

enum State {
    /// Reserved while a resubmitted id is looked up in the results file
    /// (outside the lock); not accepted yet.
    Checking,
    Queued,
    /// In the hands of this worker life.
    Running(u64),
    Settled,
}

/// Job counts, for `status`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    /// Jobs admitted (each gets one result line).
    pub accepted: u64,
    /// Waiting for a worker.
    pub queued: u64,
    /// In a worker's hands.
    pub running: u64,
    /// Results written, by outcome.
    pub ok: u64,
    /// See `ok`.
    pub failed: u64,
    /// See `ok`.
    pub dead: u64,
    /// Settled, their lines on the way to the results file (a number that
    /// grows while the disk refuses writes).
    pub writing: u64,
    /// Lines refused (malformed, duplicate, or during a shutdown).
    pub refused: u64,
    /// Of `accepted`: jobs journaled by an earlier run without a result
    /// line, replayed at start.
    pub replayed: u64,
}

#[derive(Default)]
struct Inner {
    /// The live jobs: admitted, their line not yet in the file.
    jobs: HashMap<JobId, State>,
    /// Jobs with a line in the results file (this run's and earlier runs'):
    /// the hash of the id, and the outcome.
    written: HashMap<u64, Word>,
    /// Worker life id (`ctx.id()`, the id in `Event::HeartbeatMissed`) →
    /// the job in its hands. A life, not a thread name: a hung worker's
    /// replacement runs on a new thread of the same name.
    running: HashMap<u64, JobId>,
    waiters: HashMap<JobId, Vec<Sender<String>>>,
    counts: Counts,
}

impl Inner {
    fn accept(&mut self, id: &JobId) {
        self.jobs.insert(id.clone(), State::Queued);
        self.counts.accepted += 1;
        self.counts.queued += 1;
    }

    fn duplicate(&mut self, id: &JobId) -> String {
        self.counts.refused += 1;
        format!("{id}: duplicate job id (ids are unique per results file, across runs)")
    }

    fn settle(&mut self, id: &JobId) -> bool {
        let Some(state) = self.jobs.get_mut(id) else {
            return false;
        };
        match *state {
            State::Queued => self.counts.queued -= 1,
            State::Running(life) => {
                self.running.remove(&life);
                self.counts.running -= 1;
            }
            State::Settled | State::Checking => return false,
        }
        *state = State::Settled;
        self.counts.writing += 1;
        true
    }
}

/// Every job of the run, and the ids of the results file. Shared by the
/// intake, the workers and the results writer.
#[derive(Default)]
pub struct Ledger {
    inner: Mutex<Inner>,
    /// Keyed per process, so that ids cannot be chosen to collide.
    hasher: RandomState,
    /// Where a hash hit is confirmed; without one (unit tests) a hit is
    /// taken as a duplicate.
    results: Option<PathBuf>,
}

impl Ledger {
    /// A ledger for the results file at `results`.
    pub fn new(results: PathBuf) -> Ledger {
        Ledger {
            results: Some(results),
            ..Ledger::default()
        }
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The ledger's updates are single map operations; a panic elsewhere
        // cannot leave it half-changed.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a job about to be journaled and queued.
    ///
    /// # Errors
    ///
    /// The id is live or has a line in the results file (from this run or
    /// an earlier one), or that could not be checked.
    pub fn admit(&self, id: &JobId) -> Result<(), String> {
        let hash = self.hash(id);
        let path = {
            let mut l = self.lock();
            if l.jobs.contains_key(id) {
                return Err(l.duplicate(id));
            }
            match (&self.results, l.written.contains_key(&hash)) {
                (_, false) => {
                    l.accept(id);
                    return Ok(());
                }
                (None, true) => return Err(l.duplicate(id)),
                (Some(path), true) => {
                    // Rare (a resubmitted id, or a hash collision): confirmed
                    // on disk, outside the lock, so that no worker, writer or
                    // `status` waits on a read of the file. The id is
                    // reserved meanwhile: the same id admitted at once is
                    // refused as live.
                    l.jobs.insert(id.clone(), State::Checking);
                    path.clone()
                }
            }
        };
        let found = has_line(&path, id);
        let mut l = self.lock();
        l.jobs.remove(id);
        match found {
            Ok(false) => {
                l.accept(id);
                Ok(())
            }
            Ok(true) => Err(l.duplicate(id)),
            Err(e) => {
                l.counts.refused += 1;
                Err(format!(
                    "{id}: not accepted: cannot check the results file for a duplicate id: {e}"
                ))
            }
        }
    }

    /// Admits a job journaled by an earlier run that has no result line: it
    /// is queued again (or settled at once when it cannot be rebuilt).
    /// False when the id is known already.
    pub fn admit_replayed(&self, id: &JobId) -> bool {
        let hash = self.hash(id);
        let mut l = self.lock();
        if l.jobs.contains_key(id) || l.written.contains_key(&hash) {
            return false;
        }
        l.jobs.insert(id.clone(), State::Queued);
        l.counts.accepted += 1;
        l.counts.queued += 1;
        l.counts.replayed += 1;
        true
    }

    /// Notes a line of an earlier run's results file: its id is taken.
    pub fn load_settled(&self, id: &str, word: Word) {
        let hash = self.hash(id);
        self.lock().written.insert(hash, word);
    }

    /// Whether the id has a line in the results file (by its hash).
    pub fn is_written(&self, id: &str) -> bool {
        let hash = self.hash(id);
        self.lock().written.contains_key(&hash)
    }

    /// Takes back a job whose send was refused: it was never accepted.
    pub fn withdraw(&self, id: &JobId) {
        let mut l = self.lock();
        if matches!(l.jobs.get(id), Some(State::Queued)) {
            l.jobs.remove(id);
            l.counts.accepted -= 1;
            l.counts.queued -= 1;
            l.counts.refused += 1;
        }
    }

    /// Counts a refused line.
    pub fn refused(&self) {
        self.lock().counts.refused += 1;
    }

    /// A worker's life (its `ctx.id()`) took the job.
    pub fn start(&self, id: &JobId, life: u64) {
        let mut l = self.lock();
        if let Some(s @ State::Queued) = l.jobs.get_mut(id) {
            *s = State::Running(life);
            l.counts.queued -= 1;
            l.counts.running += 1;
            l.running.insert(life, id.clone());
        }
    }

    /// Settles the job: true for the one caller that should send its result.
    pub fn settle(&self, id: &JobId) -> bool {
        self.lock().settle(id)
    }

    /// Settles the job in the hands of worker life `life`, if any, and
    /// returns it.
    pub fn settle_running(&self, life: u64) -> Option<JobId> {
        let mut l = self.lock();
        let id = l.running.get(&life).cloned()?;
        l.settle(&id).then_some(id)
    }

    /// Settles every job not settled yet, with why it never finished: the
    /// last word when jobd stops (a job whose worker hung or ran past the
    /// drain deadline, and was abandoned).
    pub fn settle_all(&self) -> Vec<(JobId, Outcome)> {
        let mut l = self.lock();
        let l = &mut *l;
        let mut settled = Vec::new();
        for (id, state) in l.jobs.iter_mut() {
            let why = match state {
                State::Queued => {
                    l.counts.queued -= 1;
                    "still queued when jobd stopped"
                }
                State::Running(_) => {
                    l.counts.running -= 1;
                    "unfinished when jobd stopped: its worker hung or ran past the drain deadline and was abandoned"
                }
                State::Settled | State::Checking => continue,
            };
            *state = State::Settled;
            l.counts.writing += 1;
            settled.push((id.clone(), Outcome::Dead(why.into())));
        }
        l.running.clear();
        settled
    }

    /// The job's line is in the results file: answers its waiters, and
    /// keeps only its id's hash and its outcome word.
    pub fn written(&self, id: &JobId, outcome: Outcome) {
        let hash = self.hash(id);
        let mut l = self.lock();
        l.counts.writing = l.counts.writing.saturating_sub(1);
        let word = outcome.kind();
        match word {
            Word::Ok => l.counts.ok += 1,
            Word::Failed => l.counts.failed += 1,
            Word::Dead => l.counts.dead += 1,
        }
        let answer = format!("done {id} {}", word.as_str());
        for w in l.waiters.remove(id).unwrap_or_default() {
            let _ = w.send(answer.clone());
        }
        l.jobs.remove(id);
        l.written.insert(hash, word);
    }

    /// A channel that receives `done ID OUTCOME` once the job's line is
    /// written (at once if it already is, in this run or an earlier one).
    ///
    /// # Errors
    ///
    /// No job of that id was accepted.
    pub fn wait(&self, id: &JobId) -> Result<Receiver<String>, String> {
        let hash = self.hash(id);
        let (tx, rx) = bounded(1);
        let mut l = self.lock();
        let live = matches!(
            l.jobs.get(id),
            Some(State::Queued | State::Running(_) | State::Settled)
        );
        if live {
            l.waiters.entry(id.clone()).or_default().push(tx);
        } else if let Some(word) = l.written.get(&hash) {
            let _ = tx.send(format!("done {id} {}", word.as_str()));
        } else {
            return Err(format!("{id}: no such job"));
        }
        Ok(rx)
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.lock().counts
    }
}

/// Whether the results file at `path` has a line for `id`.
fn has_line(path: &Path, id: &str) -> std::io::Result<bool> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Ok(false);
    }
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line)? > 0 {
        if line.ends_with(b"\n")
            && line.starts_with(id.as_bytes())
            && line.get(id.len()) == Some(&b'\t')
        {
            return Ok(true);
        }
        line.clear();
    }
    Ok(false)
}

#[cfg(test)]
mod tests;
