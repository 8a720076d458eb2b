//! The log and its thread together, on a manual clock: a window's count is
//! logged when the window is over, with no further letter and no end of
//! the mailbox, and the thread is gone once there is nothing to report.
//! Each test has its own flusher (and so its own thread), and records what
//! the log says through a subscriber of its own.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use threadbutler_supervisor::{Clock, ManualClock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use super::flusher::{Flusher, THREAD_NAME};
use super::windows::INTERVAL;
use super::*;

/// Long enough that a healthy run never hits it; short enough that a broken
/// one fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(20);

/// One event, as the subscriber saw it.
#[derive(Debug, Clone)]
struct Line {
    level: Level,
    message: String,
    fields: BTreeMap<&'static str, String>,
    /// The thread that wrote it.
    thread: Option<String>,
}

impl Line {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// A subscriber that sends every event down a channel.
struct Recorder(Sender<Line>);

impl Recorder {
    fn dispatch() -> (Dispatch, Receiver<Line>) {
        let (tx, rx) = unbounded();
        (Dispatch::new(Recorder(tx)), rx)
    }
}

struct Fields(BTreeMap<&'static str, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        let mut fields = fields.0;
        let message = fields.remove("message").unwrap_or_default();
        // The test may be over: nobody listens any more.
        let _ = self.0.send(Line {
            level: *event.metadata().level(),
            message,
            fields,
            thread: thread::current().name().map(String::from),
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// A mailbox's log on a flusher of its own, on a manual clock, whose lines
/// are recorded.
struct Rig {
    clock: Arc<ManualClock>,
    flusher: Arc<Flusher>,
    log: DeadLetterLog,
    dispatch: Dispatch,
    lines: Receiver<Line>,
}

impl Rig {
    fn new() -> Rig {
        let clock = Arc::new(ManualClock::new());
        let flusher = Flusher::new(clock.clone());
        let log = DeadLetterLog::with_flusher("p".into(), Arc::clone(&flusher));
        let (dispatch, lines) = Recorder::dispatch();
        Rig {
            clock,
            flusher,
            log,
            dispatch,
            lines,
        }
    }

    /// `n` dead letters of `reason`, written as a server thread would.
    fn letters(&self, n: usize, reason: &DeadReason) {
        tracing::dispatcher::with_default(&self.dispatch, || {
            for _ in 0..n {
                self.log.letter("Note", reason);
            }
        });
    }

    /// The mailbox ends.
    fn flush(&self) {
        tracing::dispatcher::with_default(&self.dispatch, || self.log.flush());
    }

    /// The next line, waited for.
    fn next_line(&self) -> Line {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("a line within the patience")
    }

    /// Every line written so far.
    fn lines_so_far(&self) -> Vec<Line> {
        self.lines.try_iter().collect()
    }

    /// Waits for the flusher's last thread to end; then it is idle.
    fn thread_ends(&self) {
        let thread = self.flusher.take_thread().expect("a thread was started");
        join_within_patience(thread);
        assert!(self.flusher.is_idle(), "nothing registered, no thread");
    }
}

fn join_within_patience(thread: JoinHandle<()>) {
    let (tx, rx) = bounded(1);
    thread::spawn(move || {
        let _ = tx.send(thread.join().is_ok());
    });
    assert_eq!(
        rx.recv_timeout(PATIENCE),
        Ok(true),
        "the dead-letter thread ended (without a panic)"
    );
}

fn assert_full(line: &Line, reason_kind: &str) {
    assert_eq!(line.level, Level::WARN);
    assert_eq!(line.message, "message dead-lettered", "{line:?}");
    assert_eq!(line.field("server"), "p");
    assert_eq!(line.field("message_type"), "Note");
    assert_eq!(line.field("reason_kind"), reason_kind);
}

fn assert_more(line: &Line, count: u64, reason_kind: &str, window_ms: u64) {
    assert_eq!(line.level, Level::WARN);
    assert_eq!(
        line.message,
        format!("{count} more dead letters"),
        "{line:?}"
    );
    assert_eq!(line.field("server"), "p");
    assert_eq!(line.field("reason_kind"), reason_kind);
    assert_eq!(line.field("count"), count.to_string());
    assert_eq!(line.field("window_ms"), window_ms.to_string());
}

#[test]
fn a_burst_then_silence_is_counted_when_its_window_is_over() {
    let rig = Rig::new();
    rig.letters(50, &DeadReason::Stopped);
    let first = rig.next_line();
    assert_full(&first, "stopped");
    assert!(rig.lines_so_far().is_empty(), "the other 49 are counted");

    rig.clock.advance(INTERVAL); // no letter, no end of the mailbox
    let more = rig.next_line();
    assert_more(&more, 49, "stopped", 10_000);
    assert_eq!(more.thread.as_deref(), Some(THREAD_NAME));

    rig.thread_ends();
    assert!(rig.lines_so_far().is_empty(), "one count line, once");
    rig.flush();
    assert!(
        rig.lines_so_far().is_empty(),
        "the mailbox's end has none left"
    );
}

#[test]
fn each_kind_is_counted_at_its_own_windows_end() {
    let rig = Rig::new();
    rig.letters(50, &DeadReason::Stopped);
    rig.clock.advance(INTERVAL / 2);
    rig.letters(3, &DeadReason::Dropped);
    assert_full(&rig.next_line(), "stopped");
    assert_full(&rig.next_line(), "dropped");

    rig.clock.advance(INTERVAL / 2); // the first window is over, not the second
    assert_more(&rig.next_line(), 49, "stopped", 10_000);
    rig.clock.advance(INTERVAL / 2);
    assert_more(&rig.next_line(), 2, "dropped", 10_000);

    rig.thread_ends();
    assert!(rig.lines_so_far().is_empty(), "each count once");
}

#[test]
fn the_thread_comes_back_for_the_next_burst() {
    let rig = Rig::new();
    rig.letters(5, &DeadReason::Dropped);
    rig.clock.advance(INTERVAL);
    assert_full(&rig.next_line(), "dropped");
    assert_more(&rig.next_line(), 4, "dropped", 10_000);
    rig.thread_ends();

    rig.letters(10, &DeadReason::Dropped);
    assert_full(&rig.next_line(), "dropped");
    rig.clock.advance(INTERVAL);
    assert_more(&rig.next_line(), 9, "dropped", 10_000);
    rig.thread_ends();
}

#[test]
fn a_mailbox_that_ends_logs_its_count_and_the_thread_ends_at_once() {
    let rig = Rig::new();
    rig.letters(50, &DeadReason::Stopped);
    assert_full(&rig.next_line(), "stopped");
    rig.flush(); // the clock has not moved: the window lasted no time
    let more = rig.next_line();
    assert_more(&more, 49, "stopped", 0);
    assert_ne!(
        more.thread.as_deref(),
        Some(THREAD_NAME),
        "the ender logs it"
    );
    rig.thread_ends(); // with no deadline passed
    rig.clock.advance(INTERVAL);
    assert!(rig.lines_so_far().is_empty(), "a count is logged once");
}

#[test]
fn a_letter_after_the_window_logs_the_count_before_the_thread_does() {
    let rig = Rig::new();
    rig.letters(3, &DeadReason::Dropped);
    // The thread is woken by the jump but the next letter may come first:
    // either way, the count is logged once.
    rig.clock.advance(INTERVAL);
    rig.letters(1, &DeadReason::Dropped);
    let said: Vec<Line> = (0..3).map(|_| rig.next_line()).collect();
    assert_full(&said[0], "dropped");
    let counts: Vec<&Line> = said.iter().filter(|l| l.message.contains("more")).collect();
    assert_eq!(counts.len(), 1, "{said:#?}");
    assert_more(counts[0], 2, "dropped", 10_000);
    rig.thread_ends();
    rig.flush();
    assert!(rig.lines_so_far().is_empty(), "nothing counted after");
}

#[test]
fn a_dropped_log_is_forgotten() {
    let rig = Rig::new();
    rig.letters(3, &DeadReason::Dropped);
    assert_full(&rig.next_line(), "dropped");
    let Rig {
        clock,
        flusher,
        log,
        lines,
        ..
    } = rig;
    // Without the flush a mailbox does (only the thread's weak hold is tried).
    drop(log);
    clock.advance(INTERVAL);
    let thread = flusher.take_thread().expect("a thread was started");
    join_within_patience(thread);
    assert!(flusher.is_idle());
    assert!(lines.try_recv().is_err(), "{:?}", lines.try_recv());
}

#[test]
fn a_stale_call_of_the_thread_changes_nothing() {
    let rig = Rig::new();
    rig.letters(3, &DeadReason::Dropped);
    rig.flush(); // withdraws registration 0
    rig.letters(3, &DeadReason::Stopped); // registration 1
    let said = rig.lines_so_far();
    assert_eq!(said.len(), 3, "{said:#?}");
    // The thread's look for registration 0, late, after the window's end.
    let later = rig.clock.now() + INTERVAL;
    rig.log.shared.report_over(0, later);
    assert!(rig.lines_so_far().is_empty(), "a stale entry logs nothing");
    let st = rig.log.shared.state();
    assert_eq!(st.registered.as_ref().map(|r| r.id), Some(1), "still held");
    drop(st);
    rig.clock.advance(INTERVAL);
    assert_more(&rig.next_line(), 2, "stopped", 10_000);
    rig.thread_ends();
}
