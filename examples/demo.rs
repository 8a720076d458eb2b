//! The main demo: three servers pass numbers along while the main thread,
//! a client with its own mailbox, prints what arrives.
//!
//! ```text
//! ticker --Number--> squarer --Squared--> summer --Report--> main (client)
//! ```
//!
//! It stops by itself after 20 reports, or on Ctrl-C / SIGTERM, and then
//! drains every server in reverse start order and prints the report.
//!
//! Run it with `cargo run --example demo`; `-- --demo` runs it fast (as CI does).

use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use threadbutler::prelude::*;

/// How many reports the main thread waits for before it stops by itself.
const REPORTS: u32 = 20;

// --- messages -----------------------------------------------------------

/// A number for the squarer.
pub struct Number(pub u64);
/// A squared number for the summer.
pub struct Squared {
    n: u64,
    square: u64,
}
/// Asks the summer for its running total.
pub struct Total(pub Reply<u64>);
/// What the summer tells the main thread about each number.
pub struct Report {
    n: u64,
    square: u64,
    total: u64,
}
/// A signal arrived (sent by the signal thread, never from a signal handler).
pub struct Interrupted(pub i32);

threadbutler::messages! { pub enum TickerMsg for Ticker { } }
threadbutler::messages! { pub enum SquarerMsg for Squarer { Number } }
threadbutler::messages! { pub enum SummerMsg for Summer { Squared, Total } }
threadbutler::messages! { pub enum MainMsg for Main { Report, Interrupted } }

// --- servers ------------------------------------------------------------

/// Emits 1, 2, 3, ... on every tick.
pub struct Ticker {
    interval: Duration,
    next: u64,
}

impl Server for Ticker {
    fn tick_interval(&self) -> Option<Duration> {
        Some(self.interval)
    }

    fn on_tick(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        self.next += 1;
        match ctx.hub().try_send(Number(self.next)) {
            Ok(()) => Ok(()),
            // The squarer is draining during shutdown: stop producing.
            Err(threadbutler::TrySendError::Closed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn handle(&mut self, msg: TickerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {}
    }
}

/// Squares what it gets and passes it on.
pub struct Squarer;

impl Server for Squarer {
    fn handle(&mut self, msg: SquarerMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let SquarerMsg::Number(Number(n)) = msg;
        ctx.hub().send(Squared { n, square: n * n })?;
        Ok(())
    }
}

/// Keeps a running total and reports each step to the main thread.
#[derive(Default)]
pub struct Summer {
    total: u64,
}

impl Server for Summer {
    fn handle(&mut self, msg: SummerMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            SummerMsg::Squared(Squared { n, square }) => {
                self.total += square;
                // The main thread may have stopped listening; that is fine.
                let _ = ctx.hub().try_send(Report {
                    n,
                    square,
                    total: self.total,
                });
            }
            SummerMsg::Total(Total(reply)) => reply.send(self.total),
        }
        Ok(())
    }

    fn on_stop(&mut self, reason: &ExitReason, _: &mut Ctx<Self>) {
        println!("summer stopping ({reason}); final total {}", self.total);
    }
}

/// The main thread's endpoint.
pub struct Main;

fn main() -> Result<(), threadbutler::Error> {
    let fast = std::env::args().any(|a| a == "--demo");
    let interval = Duration::from_millis(if fast { 5 } else { 150 });

    let hub = Hub::builder("demo").build();
    let mut main = hub.client_with::<Main>(
        "main",
        threadbutler::ClientOptions::new().capacity(Capacity::Unbounded),
    )?;

    // Start in order: the consumers first, the producer last, so that a
    // reverse-order shutdown stops the producer first and drains the rest.
    hub.spawn("summer", Summer::default)?;
    hub.spawn("squarer", || Squarer)?;
    hub.spawn("ticker", move || Ticker { interval, next: 0 })?;

    // Signals go to a plain thread that sends a message: no user code runs
    // inside a signal handler.
    let signal_hub = hub.clone();
    match Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        let _ = signal_hub.send(Interrupted(sig));
                    }
                })
                .map_err(|e| threadbutler::Error::Send {
                    message_type: "Interrupted",
                    detail: format!("could not start the signal thread: {e}"),
                })?;
        }
        Err(e) => eprintln!("signals unavailable ({e}); the demo stops by itself"),
    }

    println!("demo: three servers pass numbers along; stops after {REPORTS} reports or on Ctrl-C");
    let mut seen = 0;
    while seen < REPORTS {
        match main.recv() {
            MainMsg::Report(Report { n, square, total }) => {
                seen += 1;
                println!("{n:>3}² = {square:>4}   running total {total:>6}");
            }
            MainMsg::Interrupted(Interrupted(sig)) => {
                println!("signal {sig}: shutting down");
                break;
            }
        }
    }

    println!("total asked by request: {}", hub.request(Total)?);
    let report = hub.shutdown()?;
    for (name, m) in &report.mailboxes {
        let exit = report
            .tree
            .children
            .iter()
            .find(|c| c.name == *name)
            .and_then(|c| c.last_exit.clone())
            .unwrap_or_else(|| "-".into());
        println!(
            "{name:<8} {exit}  (handled {}, dead letters {})",
            m.handled, m.dead_lettered
        );
    }
    if report.is_clean() {
        println!("clean shutdown");
        Ok(())
    } else {
        eprintln!("shutdown was not clean");
        std::process::exit(1)
    }
}
