//! A daemon that drains its queue on SIGTERM / SIGINT. With
//! `.signals(Signals::graceful())` the first TERM or INT drains the whole
//! tree: every job already queued is still handled, then the program exits
//! 0 (a second signal during the drain would force it, exit 75).
//!
//! A worker takes about 20 ms per job; the example queues 40 jobs, then
//! waits for a signal. `cargo run --example signals_drain` waits for Ctrl-C;
//! `cargo run --example signals_drain -- --demo` sends itself SIGTERM right
//! after queueing (with `kill -TERM <pid>`) and exits within a second.

use std::time::Duration;

use crossbeam_channel::after;
use threadbutler::Signals;
use threadbutler::prelude::*;

const JOBS: u64 = 40;

/// One unit of work.
pub struct Job(pub u64);

threadbutler::messages! { pub enum WorkerMsg for Worker { Job } }

/// Spends about 20 ms on each job.
pub struct Worker;

impl Server for Worker {
    fn handle(&mut self, msg: WorkerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let WorkerMsg::Job(Job(_n)) = msg;
        let _ = after(Duration::from_millis(20)).recv(); // the "work"
        Ok(())
    }
}

fn main() -> Result<(), BoxError> {
    let demo = std::env::args().any(|a| a == "--demo");
    let app = Butler::builder("drainer")
        .signals(Signals::graceful())
        .server("worker", || Worker)
        .shutdown(Shutdown::Drain(Duration::from_secs(5)))
        .start()?;
    let events = app.subscribe();

    for n in 0..JOBS {
        app.hub().send(Job(n))?;
    }
    println!("queued {JOBS} jobs (~{} ms of work)", JOBS * 20);

    if demo {
        println!("demo: sending myself SIGTERM");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
    } else {
        println!(
            "press Ctrl-C (or `kill -TERM {}`) to drain and exit",
            std::process::id()
        );
    }

    let report = app.wait()?;
    for event in events.try_iter() {
        if matches!(event, Event::ShutdownBegan { .. } | Event::Drained { .. }) {
            println!("event: {event}");
        }
    }
    let (handled, dead) = report
        .mailboxes
        .iter()
        .find(|(name, _)| name == "worker")
        .map(|(_, s)| (s.handled, s.dead_lettered))
        .unwrap_or_default();
    println!("handled {handled} of {JOBS} jobs, {dead} dead letters");
    println!("exit code {}", report.exit_code());
    report.exit()
}
