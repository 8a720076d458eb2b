//! The main thread acting as a server with no extra thread, as in
//! ThreadButler's main-thread-server example: it owns a client mailbox and
//! runs its own receive loop, handling what servers send it.
//!
//! ```text
//! ticker --Tick--> main (client, own loop)    main --Pace--> ticker
//! ```
//!
//! The ticker sends a `Tick` on every interval; the main thread counts them,
//! speeds the ticker up half-way through, and stops after ten.
//!
//! `cargo run --example main_thread_server` ticks every 300 ms;
//! `-- --demo` every 5 ms. Both exit by themselves.

use std::time::Duration;

use threadbutler::prelude::*;

/// How many ticks the main thread handles before it stops.
const TICKS: u64 = 10;

/// A tick for the main thread.
pub struct Tick(pub u64);
/// Tells the ticker to skip ahead by this many numbers per tick.
pub struct Pace(pub u64);
/// The main thread's endpoint.
pub struct Main;

threadbutler::messages! { pub enum TickerMsg for Ticker { Pace } }
threadbutler::messages! { pub enum MainMsg for Main { Tick } }

/// Sends `Tick`s to the main thread.
pub struct Ticker {
    interval: Duration,
    step: u64,
    next: u64,
}

impl Server for Ticker {
    fn tick_interval(&self) -> Option<Duration> {
        Some(self.interval)
    }

    fn on_tick(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        self.next += self.step;
        // The main thread may have stopped listening: that is fine.
        let _ = ctx.hub().try_send(Tick(self.next));
        Ok(())
    }

    fn handle(&mut self, msg: TickerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let TickerMsg::Pace(Pace(step)) = msg;
        self.step = step;
        Ok(())
    }
}

/// The main thread's state, handled like a server's.
struct MainServer {
    ticks: u64,
}

impl MainServer {
    /// Handles one message; `false` means stop.
    fn handle(&mut self, msg: MainMsg, hub: &Hub) -> Result<bool, threadbutler::Error> {
        let MainMsg::Tick(Tick(n)) = msg;
        self.ticks += 1;
        println!("main: tick #{:>2} carries {n}", self.ticks);
        if self.ticks == TICKS / 2 {
            println!("main: telling the ticker to count by tens");
            hub.send(Pace(10))?;
        }
        Ok(self.ticks < TICKS)
    }
}

fn main() -> Result<(), threadbutler::Error> {
    let demo = std::env::args().any(|a| a == "--demo");
    let interval = Duration::from_millis(if demo { 5 } else { 300 });

    let app = Butler::builder("main_server")
        .server("ticker", move || Ticker {
            interval,
            step: 1,
            next: 0,
        })
        .start()?;
    let mut mailbox = app.hub().client::<Main>("main")?;

    // The main thread's receive loop: no extra thread.
    let mut server = MainServer { ticks: 0 };
    loop {
        let Some(msg) = mailbox.recv_timeout(Duration::from_secs(5)) else {
            eprintln!("main: no tick for 5 s");
            std::process::exit(1);
        };
        if !server.handle(msg, app.hub())? {
            break;
        }
    }
    println!("main: {} ticks handled; shutting down", server.ticks);

    app.shutdown();
    let report = app.wait()?;
    std::process::exit(report.exit_code())
}
