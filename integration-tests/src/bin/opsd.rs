//! `opsd`: a small daemon run as a process by the operations tests
//! (`signals_drain_reload_and_report.rs`, `systemd_hears_ready_watchdog_and_stopping.rs`).
//! It is also a template for a real one: signals, an optional config file,
//! logs on stderr, systemd notification (when `NOTIFY_SOCKET` is set), and an
//! exit code that tells the service manager how it ended.
//!
//! ```text
//! opsd [CONFIG.toml]        (or OPSD_CONFIG=CONFIG.toml opsd)
//! ```
//!
//! - one server, `worker`: `Job { ms }` waits `ms` milliseconds (simulated
//!   work), `Crash` panics, `Hang` blocks forever without a heartbeat;
//! - stdin, one command a line: `jobs N MS` (queues N jobs, answers
//!   `queued N`), `crash`, `hang` (answer `sent crash` / `sent hang`),
//!   `status` (answers `status worker=STATE restarts=N queued=N`, or
//!   `status worker=gone` once it was stopped for good);
//! - the config file's `[app]` table may hold `note = "..."`;
//! - stdout: `ready` once started, `event KIND SUBJECT` per lifecycle event,
//!   `reload hook note=NOTE` on SIGHUP once the file was read (the new
//!   file's note, `-` without one; nothing when the file is refused), and
//!   at the end `handled N dead M` (the worker mailbox's counters);
//! - exit code: `Report::exit_code()` (0 clean, 75 when a drain was cut
//!   short or a server abandoned during the shutdown), or
//!   `Error::exit_code()` (78 for a bad config, 1 when the tree gave up).

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use threadbutler::config::LogConfig;
use threadbutler::prelude::*;
use threadbutler::{Error, Report, Signals};

/// Simulated work: `ms` milliseconds.
pub struct Job {
    ms: u64,
}
/// Panic in the handler.
pub struct Crash;
/// Block forever, without beating the heartbeat.
pub struct Hang;

threadbutler::messages! { pub enum WorkerMsg for Worker { Job, Crash, Hang } }

/// The daemon's one server.
pub struct Worker;

/// The config file's `[app]` table.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Settings {
    note: Option<String>,
}

impl Server for Worker {
    fn handle(&mut self, msg: WorkerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            // A wait on a timer channel stands for real work (I/O, a query).
            WorkerMsg::Job(Job { ms }) => {
                let _ = crossbeam_channel::after(Duration::from_millis(ms)).recv();
            }
            WorkerMsg::Crash(Crash) => panic!("worker crashed on request"),
            WorkerMsg::Hang(Hang) => {
                let _ = crossbeam_channel::never::<()>().recv();
            }
        }
        Ok(())
    }
}

fn main() {
    // Logging first, so that everything after it is logged (RUST_LOG wins).
    let logs = match threadbutler::logging::init("opsd", &LogConfig::default()) {
        Ok(guard) => guard,
        Err(e) => exit_on(&e),
    };
    match run() {
        Ok(report) => report.exit_flushing(logs),
        Err(e) => {
            logs.flush();
            exit_on(&e)
        }
    }
}

fn run() -> Result<Report, Error> {
    let config = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("OPSD_CONFIG"));

    let mut builder = Butler::builder("opsd")
        .signals(Signals::graceful())
        // Runs on SIGHUP, once the config file was read again and found
        // good, before its policies are applied.
        .on_reload_app(|_, s: Settings| {
            println!("reload hook note={}", s.note.as_deref().unwrap_or("-"));
            Ok(())
        })
        .server("worker", || Worker);
    if let Some(path) = &config {
        // A bad file stops here: exit 78, the file and line on stderr.
        builder = builder.config_file(path)?;
    }
    let app = Arc::new(builder.start()?);

    // Lifecycle events, one stdout line each.
    let events = app.subscribe();
    std::thread::spawn(move || {
        for e in events {
            println!("event {} {}", e.kind(), e.subject());
        }
    });

    // Commands from stdin. The thread is not joined: the exit ends it.
    let commands = Arc::clone(&app);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            command(&commands, &line);
        }
    });

    println!("ready");
    let outcome = app.wait();
    let stats = app.hub().stats("worker").unwrap_or_default();
    println!("handled {} dead {}", stats.handled, stats.dead_lettered);
    outcome
}

fn command(app: &Butler, line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["jobs", n, ms] => {
            let (Ok(n), Ok(ms)) = (n.parse::<u64>(), ms.parse::<u64>()) else {
                eprintln!("opsd: usage: jobs N MS");
                return;
            };
            let mut queued = 0;
            for _ in 0..n {
                match app.hub().send(Job { ms }) {
                    Ok(()) => queued += 1,
                    Err(e) => eprintln!("opsd: job refused: {e}"),
                }
            }
            println!("queued {queued}");
        }
        ["crash"] => sent(app.hub().send(Crash), "crash"),
        ["hang"] => sent(app.hub().send(Hang), "hang"),
        ["status"] => match app.status().find("opsd/worker") {
            Some(w) => println!(
                "status worker={} restarts={} queued={}",
                w.state,
                w.restarts,
                w.queued.unwrap_or(0)
            ),
            None => println!("status worker=gone"),
        },
        _ => eprintln!("opsd: unknown command {line:?}"),
    }
}

fn sent<E: std::fmt::Display>(result: Result<(), E>, what: &str) {
    match result {
        Ok(()) => println!("sent {what}"),
        Err(e) => eprintln!("opsd: {what} refused: {e}"),
    }
}

/// Says why on stderr and exits with the code the error calls for.
fn exit_on(e: &Error) -> ! {
    eprintln!("opsd: {e}");
    std::process::exit(e.exit_code())
}
