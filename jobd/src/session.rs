//! A session: request lines in, one answer line each out, for a
//! connection or for stdin. Jobs are acknowledged once durable in the
//! journal; `wait`, `status` and `health` are answered here too.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::RecvTimeoutError;
use threadbutler::prelude::*;

use crate::job::{self, JobId, Kind, Request};
use crate::journal::{self, Forget, Journal, Synced};
use crate::ledger::Ledger;
use crate::line_reader::{LineSource, MAX_LINE, Read, read_line};
use crate::stats::{Health, Stats, Status};
use crate::workers::Worker;

/// Where a session's requests go: the journal's, the workers' and the stats
/// server's mailboxes (addresses, looked up once) and the ledger.
#[derive(Clone)]
pub struct Desk {
    journal: Address<Journal>,
    workers: Address<Worker>,
    stats: Address<Stats>,
    ledger: Arc<Ledger>,
    /// `panic` and `hang` jobs are taken (`[app] test_kinds`).
    test_kinds: bool,
}

impl Desk {
    /// The desk of a started jobd.
    ///
    /// # Errors
    ///
    /// The journal, the workers or the stats server are not declared on
    /// `hub`.
    pub fn of(hub: &Hub, ledger: Arc<Ledger>) -> Result<Desk, threadbutler::NoRoute> {
        Ok(Desk {
            journal: hub.route::<Journal>()?,
            workers: hub.route::<Worker>()?,
            stats: hub.route::<Stats>()?,
            ledger,
            test_kinds: true,
        })
    }

    /// Whether `panic` and `hang` jobs are taken (`[app] test_kinds`).
    #[must_use]
    pub fn test_kinds(mut self, on: bool) -> Desk {
        self.test_kinds = on;
        self
    }
}

/// Reads request lines from `from` and writes one answer line each to `to`,
/// until `from` ends, or a line does not arrive whole within `from`'s time
/// limit (answered `err idle: ...; closing`). Answers are flushed whenever
/// no more input is buffered, so a client that pipelines gets them in
/// batches and one that waits gets each at once; the jobs of such a batch
/// share one journal sync, and all answers are flushed before it returns
/// `Ok`. Once `stopping` is set, jobs are refused.
///
/// # Errors
///
/// Reading or writing failed (the peer went away, or took no answer
/// within the write timeout).
pub fn serve<R: LineSource>(
    mut from: BufReader<R>,
    mut to: impl Write,
    desk: &Desk,
    stopping: &AtomicBool,
) -> std::io::Result<()> {
    let ledger = &desk.ledger;
    let mut answers = Answers::new(desk);
    let mut line = Vec::new();
    loop {
        // The clock runs per line, from the end of the last answer: a
        // client waiting on `wait ID` is not idle.
        from.get_mut().start_line();
        let read = match read_line(&mut from, MAX_LINE, &mut line) {
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                let Some(limit) = from.get_ref().line_limit() else {
                    return Err(e);
                };
                let limit = humantime::format_duration(limit);
                tracing::debug!(%limit, "closing an idle connection");
                writeln!(to, "err idle: no complete line in {limit}; closing")?;
                return to.flush();
            }
            read => read?,
        };
        let answer = match read {
            Read::End { partial } => {
                if partial > 0 {
                    tracing::debug!(
                        bytes = partial,
                        "dropped a line cut short by the end of its stream"
                    );
                }
                answers.write_to(&mut to)?;
                return to.flush();
            }
            Read::TooLong(n) => {
                ledger.refused();
                Answer::Now(format!(
                    "err line too long: {n} bytes (the limit is {MAX_LINE}); skipped"
                ))
            }
            Read::Line => match std::str::from_utf8(&line) {
                Ok(text) => answer(text, desk, stopping, &mut answers, &mut to, &mut from)?,
                Err(_) => {
                    ledger.refused();
                    Answer::Now("err the line is not UTF-8".to_owned())
                }
            },
        };
        answers.queue.push_back(answer);
        if from.buffer().is_empty() || answers.queue.len() >= PIPELINE {
            answers.write_to(&mut to)?;
            to.flush()?;
        }
    }
}

/// At most this many answers of one session wait for a flush.
const PIPELINE: usize = 1024;

/// An answer, in its session's order.
enum Answer {
    Now(String),
    /// A job admitted and handed to the journal: it is queued and answered
    /// `ok ID` once its line is durable.
    Journaled(JobId, crossbeam_channel::Receiver<Synced>),
}

/// A session's answers not yet written. Dropped early (the peer went
/// away), it still settles its journaled jobs: each is queued, or taken
/// back.
struct Answers<'d> {
    desk: &'d Desk,
    queue: VecDeque<Answer>,
}

impl<'d> Answers<'d> {
    fn new(desk: &'d Desk) -> Self {
        Answers {
            desk,
            queue: VecDeque::new(),
        }
    }

    /// Waits for the journal, queues the durable jobs, writes the answers.
    fn write_to(&mut self, to: &mut impl Write) -> std::io::Result<()> {
        while let Some(a) = self.queue.pop_front() {
            let text = self.finish(a);
            if let Err(e) = writeln!(to, "{text}") {
                self.finish_all();
                return Err(e);
            }
        }
        Ok(())
    }

    fn finish_all(&mut self) {
        while let Some(a) = self.queue.pop_front() {
            self.finish(a);
        }
    }

    fn finish(&self, answer: Answer) -> String {
        let (id, synced) = match answer {
            Answer::Now(text) => return text,
            Answer::Journaled(id, synced) => (id, synced),
        };
        let desk = self.desk;
        let why = match synced.recv() {
            Ok((job, Ok(()))) => match desk.workers.send(job) {
                Ok(()) => return format!("ok {id}"),
                Err(_) => "jobd is shutting down".to_owned(),
            },
            Ok((_, Err(e))) => e,
            Err(_) => "the journal stopped before the job was durable".to_owned(),
        };
        // Never acknowledged: forgotten here, and not to be replayed.
        desk.ledger.withdraw(&id);
        let _ = desk.journal.send(Forget { id: id.clone() });
        format!("err {id}: not accepted: {why}")
    }
}

impl Drop for Answers<'_> {
    fn drop(&mut self) {
        self.finish_all();
    }
}

fn answer<R: LineSource>(
    text: &str,
    desk: &Desk,
    stopping: &AtomicBool,
    answers: &mut Answers<'_>,
    to: &mut impl Write,
    from: &mut BufReader<R>,
) -> std::io::Result<Answer> {
    let ledger = &desk.ledger;
    let request = match job::parse(text) {
        Ok(r) => r,
        Err(e) => {
            ledger.refused();
            return Ok(Answer::Now(format!("err {e}")));
        }
    };
    Ok(Answer::Now(match request {
        Request::Job(job) => {
            if stopping.load(Ordering::Acquire) {
                ledger.refused();
                return Ok(Answer::Now(format!(
                    "err {}: not accepted: jobd is shutting down",
                    job.id
                )));
            }
            if !desk.test_kinds && matches!(job.kind, Kind::Panic | Kind::Hang) {
                ledger.refused();
                return Ok(Answer::Now(format!(
                    "err {}: not accepted: the panic and hang kinds are off here (app.test_kinds = false)",
                    job.id
                )));
            }
            if let Err(e) = ledger.admit(&job.id) {
                return Ok(Answer::Now(format!("err {e}")));
            }
            // Acknowledged only once durable: see `Answers::finish`.
            let id = job.id.clone();
            match journal::append(&desk.journal, job) {
                Ok(synced) => return Ok(Answer::Journaled(id, synced)),
                Err((job, why)) => {
                    ledger.withdraw(&job.id);
                    format!("err {}: not accepted: {why}", job.id)
                }
            }
        }
        Request::Wait(id) => match ledger.wait(&id) {
            Err(e) => format!("err {e}"),
            Ok(done) => {
                // The answers before this one go out before we block (and
                // their jobs are queued: this one may be among them).
                answers.write_to(to)?;
                to.flush()?;
                // A client that leaves while it waits frees its connection
                // (and its slot under `max_connections`) within a second.
                loop {
                    match done.recv_timeout(Duration::from_secs(1)) {
                        Ok(answer) => break answer,
                        Err(RecvTimeoutError::Disconnected) => {
                            break format!("err {id}: jobd stopped before its line was written");
                        }
                        Err(RecvTimeoutError::Timeout) if peer_gone(from) => {
                            return Err(std::io::Error::new(
                                ErrorKind::BrokenPipe,
                                "the client left while it waited",
                            ));
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                }
            }
        },
        Request::Status => match desk.stats.request(Status) {
            Ok(json) => json,
            Err(e) => format!("err status unavailable: {e}"),
        },
        Request::Health(probe) => match desk.stats.request(|reply| Health(probe, reply)) {
            Ok(answer) => answer,
            Err(e) => format!(
                "err not {}: the stats server is unavailable: {e}",
                probe.word()
            ),
        },
    }))
}

/// Whether the client of `from` has gone (its end of the stream came, or
/// the connection broke), looked at without blocking: a source without a
/// time limit (stdin) is never taken for gone, and lines it sent ahead are
/// kept for the session to read.
fn peer_gone<R: LineSource>(from: &mut BufReader<R>) -> bool {
    if from.get_ref().line_limit().is_none() || !from.buffer().is_empty() {
        return false;
    }
    from.get_mut().poll_for(Duration::from_millis(1));
    match from.fill_buf() {
        Ok(buffered) => buffered.is_empty(),
        Err(e) => !matches!(
            e.kind(),
            ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
        ),
    }
}
