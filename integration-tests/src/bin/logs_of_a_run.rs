//! Helper process for the log tests (`a_quiet_run_logs_its_start_and_stop.rs`,
//! `panics_are_logged_through_tracing.rs`,
//! `dead_letters_are_logged_once_per_interval.rs`): sets up JSON logging on
//! standard error through `logging::init` (level `info` unless `RUST_LOG`
//! says otherwise), runs one scenario, and exits. One scenario per process:
//! the subscriber and the panic hook are global.
//!
//! ```text
//! logs_of_a_run quiet|dead-letters|dead-letter-burst|server-panic|main-panic
//! ```
//!
//! - `quiet`: a tree of six servers (two at the root, one in a nested
//!   supervisor, a pool of three) starts, is shut down, and its report is
//!   asked for twice; exits 0.
//! - `dead-letters`: a server held in its handler gets 50 more messages;
//!   the shutdown stops it immediately, so the 50 become dead letters;
//!   prints `sink N` (how many the `on_dead_letter` sink got) and exits with
//!   the report's code (75: work was given up).
//! - `dead-letter-burst`: a long-lived server fails on each of 50
//!   messages (each failure dead-letters its message and restarts it),
//!   then nothing more happens. Prints `thread running` when the 50 are
//!   counted and the dead-letter thread is there, waits for a line on
//!   standard input (the test has seen the count's line), prints
//!   `thread gone` once that thread has ended, shuts down; exits 0.
//! - `server-panic`: a server panics in its handler, is restarted, the tree
//!   shuts down; prints `exit REASON` (the panicked life's exit reason) and
//!   exits 0.
//! - `main-panic`: the main thread panics after the logging setup (exit
//!   101).

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Fail, Hang, Ping, Probe, ProbeConfig, Quit};
use integration_tests::{Count, wait_until};
use threadbutler::Report;
use threadbutler::config::Config;
use threadbutler::prelude::*;

/// A server that does nothing; one type per declared server (routing is by
/// message type).
macro_rules! idle_server {
    ($server:ident, $msg:ident, $enum:ident) => {
        /// Never sent.
        pub struct $msg;
        /// An idle server.
        pub struct $server;
        threadbutler::messages! { pub enum $enum for $server { $msg } }
        impl Server for $server {
            fn handle(&mut self, _: $enum, _: &mut Ctx<Self>) -> Result<(), BoxError> {
                Ok(())
            }
        }
    };
}

idle_server!(Web, WebNote, WebMsg);
idle_server!(Cache, CacheNote, CacheMsg);
idle_server!(Reader, ReaderNote, ReaderMsg);
idle_server!(Worker, WorkerNote, WorkerMsg);

fn main() {
    let scenario = std::env::args().nth(1).expect(
        "usage: logs_of_a_run quiet|dead-letters|dead-letter-burst|server-panic|main-panic",
    );
    let config = Config::parse("[log]\nformat = \"json\"\n", "inline.toml").expect("valid config");
    let logs = threadbutler::logging::init("logs", &config.log).expect("logging starts");
    let report = match scenario.as_str() {
        "quiet" => quiet(),
        "dead-letters" => dead_letters(),
        "dead-letter-burst" => dead_letter_burst(),
        "server-panic" => server_panic(),
        "main-panic" => panic!("the main thread gave up"),
        other => panic!("unknown scenario {other:?}"),
    };
    report.exit_flushing(logs)
}

fn quiet() -> Report {
    let app = Butler::builder("app")
        .server("web", || Web)
        .server("cache", || Cache)
        .supervisor("db", |db| db.server("reader", || Reader))
        .pool("workers", 3, || Worker)
        .start()
        .expect("starts");
    app.shutdown();
    let report = app.wait().expect("a clean shutdown");
    let again = app.wait().expect("the same report again");
    assert_eq!(report.exit_code(), again.exit_code());
    report
}

fn dead_letters() -> Report {
    let sunk = Count::default();
    let s = sunk.clone();
    let cfg = ProbeConfig::default();
    let gate = cfg.gate.clone();
    let app = Butler::builder("app")
        .on_dead_letter(move |_| s.bump())
        .server("p", Probe::factory(cfg))
        .shutdown(Shutdown::Immediate)
        .start()
        .expect("starts");
    app.hub().send(Hang).expect("sent");
    gate.wait_arrival();
    for _ in 0..50 {
        app.hub().send(Quit).expect("queued behind the hang");
    }
    app.shutdown();
    // The immediate stop dead-letters what is queued; then the hang ends.
    wait_until("the queue was dead-lettered", || {
        app.hub().stats("p").is_some_and(|s| s.dead_lettered == 50)
    });
    gate.open(1);
    let report = app.wait().expect("not a failure");
    println!("sink {}", sunk.get());
    report
}

fn dead_letter_burst() -> Report {
    let app = Butler::builder("app")
        .intensity(100, std::time::Duration::from_secs(60))
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    for _ in 0..50 {
        app.hub().send(Fail).expect("queued");
    }
    wait_until("the 50 were dead-lettered", || {
        app.hub().stats("p").is_some_and(|s| s.dead_lettered == 50)
    });
    // Its window opened at the first of the 50 and is over 10 s later.
    // (A new thread names itself once it runs: wait for the name.)
    wait_until("the count waits on its thread", || {
        dead_letter_threads() == 1
    });
    println!("thread running");
    let mut go = String::new();
    std::io::stdin()
        .read_line(&mut go)
        .expect("the test says go");
    wait_until("the dead-letter thread ended", || {
        dead_letter_threads() == 0
    });
    println!("thread gone");
    app.shutdown();
    app.wait().expect("a clean shutdown")
}

/// How many threads of this process are the dead-letter thread
/// (`threadbutler-dead-letters`, which the kernel cuts to 15 bytes).
fn dead_letter_threads() -> usize {
    let tasks =
        std::fs::read_dir("/proc/self/task").expect("Linux: /proc/self/task lists the threads");
    tasks
        .flatten() // a thread that ended since the listing is skipped
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == "threadbutler-de")
        .count()
}

fn server_panic() -> Report {
    let app = Butler::builder("app")
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    app.hub().request(Ping).expect("answered by the next life");
    let Event::Exited { reason, .. } = events.wait("Exited", "app/p") else {
        unreachable!("waited for an Exited event")
    };
    println!("exit {reason}");
    app.shutdown();
    app.wait().expect("a clean shutdown")
}
