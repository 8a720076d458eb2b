//! A server that owns its loop, as in ThreadButler's custom-loop example:
//! it watches two inputs, a channel of lines (fed by a stdin reader thread)
//! and its own mailbox, and still obeys stop requests.
//!
//! ```text
//! stdin thread --lines channel--> counter (custom loop) --Eof--> main
//! main --Totals(request)--> counter
//! ```
//!
//! `cargo run --example custom_loop_stdin` counts words in standard input
//! until EOF (Ctrl-D); `-- --demo` feeds fixed lines instead and exits.

use std::io::BufRead;
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError, unbounded};
use threadbutler::RecvTimeoutError;
use threadbutler::prelude::*;

/// Asks the counter for (lines, words) so far.
pub struct Totals(pub Reply<(u64, u64)>);
/// The line source has ended.
pub struct Eof;
/// The main thread's endpoint.
pub struct Main;

threadbutler::messages! { pub enum CounterMsg for Counter { Totals } }
threadbutler::messages! { pub enum MainMsg for Main { Eof } }

/// Counts lines and words from `lines`, answering requests in between.
pub struct Counter {
    lines: Receiver<String>,
    seen: (u64, u64),
}

impl Server for Counter {
    fn handle(&mut self, msg: CounterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let CounterMsg::Totals(Totals(reply)) = msg;
        reply.send(self.seen);
        Ok(())
    }

    fn run(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        while !ctx.should_stop() {
            // The mailbox first: a short wait, so lines are never held up long.
            match ctx.recv_timeout(Duration::from_millis(20)) {
                Ok(msg) => self.handle(msg, ctx)?,
                Err(RecvTimeoutError::Stopped) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            // Then every line that is ready.
            loop {
                match self.lines.try_recv() {
                    Ok(line) => {
                        let words = line.split_whitespace().count() as u64;
                        self.seen = (self.seen.0 + 1, self.seen.1 + words);
                        println!("counter: line {:>2}: {words} words", self.seen.0);
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        // Tell main once, then watch the mailbox alone.
                        self.lines = crossbeam_channel::never();
                        ctx.hub().send(Eof)?;
                        break;
                    }
                }
            }
        }
        println!("counter: asked to stop; leaving my loop");
        Ok(())
    }
}

const DEMO_LINES: [&str; 3] = [
    "a server that owns its loop",
    "reads a channel and its mailbox",
    "and stops when asked",
];

fn main() -> Result<(), threadbutler::Error> {
    let demo = std::env::args().any(|a| a == "--demo");
    let (tx, rx) = unbounded::<String>();
    let app = Butler::builder("custom_loop")
        .server("counter", move || Counter {
            lines: rx.clone(),
            seen: (0, 0),
        })
        .start()?;
    let mut main = app.hub().client::<Main>("main")?;

    if demo {
        for line in DEMO_LINES {
            let _ = tx.send(line.to_owned());
        }
        drop(tx); // the end of input
    } else {
        eprintln!("type lines; Ctrl-D ends");
        // Dropping `tx` at EOF ends the channel; the thread ends with it.
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }

    let MainMsg::Eof(Eof) = main.recv();
    let (lines, words) = app.hub().request(Totals)?;
    println!("main: {lines} lines, {words} words");

    app.shutdown(); // the custom loop sees `Stopped` / `should_stop`
    let report = app.wait()?;
    std::process::exit(report.exit_code())
}
