//! The intake: the socket's accept loop, one reader thread per connection,
//! and the request/answer session they (and stdin) run.

use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, BufWriter, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded};

use threadbutler::prelude::*;

use crate::job::{self, JobId, Request};
use crate::journal::{self, Forget, Journal, Synced};
use crate::ledger::Ledger;
use crate::line_reader::{MAX_LINE, Read, read_line};
use crate::socket::Socket;
use crate::stats::{Stats, Status};
use crate::workers::Worker;

// The intake takes no messages: its work comes from the socket.
threadbutler::messages! { pub enum IntakeMsg for Intake {} }

/// Where a session's requests go: the journal's, the workers' and the stats
/// server's mailboxes (addresses, looked up once) and the ledger.
#[derive(Clone)]
pub struct Desk {
    journal: Address<Journal>,
    workers: Address<Worker>,
    stats: Address<Stats>,
    ledger: Arc<Ledger>,
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
        })
    }
}

/// Owns the socket while it runs: accepts connections and serves each on a
/// thread of its own. Stopping it closes every connection (their readers
/// end) and stops accepting; the socket file stays until jobd exits.
pub struct Intake {
    socket: Arc<Socket>,
    ledger: Arc<Ledger>,
    open: Arc<Open>,
    /// The accept loop, and a channel that disconnects when it returns.
    acceptor: Option<(JoinHandle<()>, Receiver<()>)>,
}

/// The connections of one intake life.
#[derive(Default)]
struct Open {
    stopping: AtomicBool,
    next: AtomicU64,
    streams: Mutex<HashMap<u64, UnixStream>>,
}

impl Open {
    fn streams(&self) -> std::sync::MutexGuard<'_, HashMap<u64, UnixStream>> {
        // Map insert/remove only: a panic cannot leave it half-changed.
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Intake {
    /// An intake for `socket`, booking jobs in `ledger`.
    pub fn new(socket: Arc<Socket>, ledger: Arc<Ledger>) -> Self {
        Intake {
            socket,
            ledger,
            open: Arc::default(),
            acceptor: None,
        }
    }
}

impl Server for Intake {
    fn on_start(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let listener = self.socket.listener.try_clone()?;
        let desk = Desk::of(ctx.hub(), Arc::clone(&self.ledger))?;
        let open = Arc::clone(&self.open);
        let (ended_tx, ended) = bounded::<()>(0);
        let acceptor = std::thread::Builder::new()
            .name("jobd-acceptor".into())
            .spawn(move || {
                let _ended = ended_tx; // dropped when the loop returns
                for stream in listener.incoming() {
                    if open.stopping.load(Ordering::Acquire) {
                        return;
                    }
                    match stream {
                        Ok(s) => connection(s, &open, &desk),
                        Err(e) => tracing::warn!(error = %e, "accept failed"),
                    }
                }
            })?;
        self.acceptor = Some((acceptor, ended));
        Ok(())
    }

    fn handle(&mut self, msg: IntakeMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {}
    }

    fn on_stop(&mut self, why: &ExitReason, _: &mut Ctx<Self>) {
        self.open.stopping.store(true, Ordering::Release);
        // Connections first: their readers end, and they submit nothing more.
        let streams = std::mem::take(&mut *self.open.streams());
        for s in streams.values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        // Wakes the accept loop, which then sees `stopping`. If the socket
        // file was removed or replaced, nothing reaches the loop: it is left
        // blocked (it takes no more jobs) rather than waited for.
        let _ = UnixStream::connect(&self.socket.path);
        if let Some((acceptor, ended)) = self.acceptor.take() {
            match ended.recv_timeout(Duration::from_secs(1)) {
                Err(RecvTimeoutError::Timeout) => tracing::warn!(
                    socket = %self.socket.path.display(),
                    "the accept loop could not be woken through the socket file; left behind"
                ),
                _ => {
                    if acceptor.join().is_err() {
                        tracing::error!("the accept loop panicked");
                    }
                }
            }
        }
        tracing::info!(reason = %why, closed = streams.len(), "intake stopped taking jobs");
    }
}

/// Serves one accepted connection on a thread of its own.
fn connection(stream: UnixStream, open: &Arc<Open>, desk: &Desk) {
    let n = open.next.fetch_add(1, Ordering::Relaxed);
    let (Ok(reader), Ok(registered)) = (stream.try_clone(), stream.try_clone()) else {
        tracing::warn!("could not clone a connection's handle; closing it");
        return;
    };
    open.streams().insert(n, registered);
    if open.stopping.load(Ordering::Acquire) {
        // Accepted as the intake stopped: on_stop may have missed it.
        let _ = stream.shutdown(Shutdown::Both);
    }
    let (open, desk) = (Arc::clone(open), desk.clone());
    let spawned = std::thread::Builder::new()
        .name(format!("jobd-conn-{n}"))
        .spawn(move || {
            tracing::debug!(connection = n, "connection opened");
            if let Err(e) = serve(
                BufReader::new(reader),
                BufWriter::new(stream),
                &desk,
                &open.stopping,
            ) {
                tracing::debug!(connection = n, error = %e, "connection ended on an error");
            }
            open.streams().remove(&n);
            tracing::debug!(connection = n, "connection closed");
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread for a connection; closing it");
    }
}

/// Reads request lines from `from` and writes one answer line each to `to`,
/// until `from` ends. Answers are flushed whenever no more input is
/// buffered, so a client that pipelines gets them in batches and one that
/// waits gets each at once; the jobs of such a batch share one journal
/// sync. Once `stopping` is set, jobs are refused.
///
/// # Errors
///
/// Reading or writing failed (the peer went away).
pub fn serve<R: std::io::Read>(
    mut from: BufReader<R>,
    mut to: impl Write,
    desk: &Desk,
    stopping: &AtomicBool,
) -> std::io::Result<()> {
    let ledger = &desk.ledger;
    let mut answers = Answers::new(desk);
    let mut line = Vec::new();
    loop {
        let answer = match read_line(&mut from, MAX_LINE, &mut line)? {
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
                Ok(text) => answer(text, desk, stopping, &mut answers, &mut to)?,
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

fn answer(
    text: &str,
    desk: &Desk,
    stopping: &AtomicBool,
    answers: &mut Answers<'_>,
    to: &mut impl Write,
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
                done.recv().unwrap_or_else(|_| {
                    format!("err {id}: jobd stopped before its line was written")
                })
            }
        },
        Request::Status => match desk.stats.request(Status) {
            Ok(json) => json,
            Err(e) => format!("err status unavailable: {e}"),
        },
    }))
}
