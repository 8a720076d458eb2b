//! A hung server is found by its heartbeat and replaced. The server is
//! watched with a 200 ms heartbeat; one message makes its handler block on
//! a channel that never receives, without calling `ctx.beat()`. The
//! supervisor reports `HeartbeatMissed`, stops it, and since the handler
//! ignores the stop, reports it `Abandoned` after the short `abandon_after`
//! grace and starts a replacement on a new thread. The example prints the
//! events as they arrive (from `app.subscribe()`), shows the replacement
//! answering a request, and shuts down: the exit code is 0, because the
//! abandonment happened before the shutdown, not during it.
//!
//! Run it with `cargo run --example heartbeat_miss` (`-- --demo` is the
//! same: it always stops by itself, in well under a second).

use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};
use threadbutler::prelude::*;

/// Blocks the handler on a channel that never receives, without beating.
pub struct Hang(pub Receiver<()>);
/// Asks which life (and which thread) is answering.
pub struct Who(pub Reply<(u64, String)>);

threadbutler::messages! { pub enum SitterMsg for Sitter { Hang, Who } }

/// A server that can be made to hang.
pub struct Sitter;

impl Server for Sitter {
    fn handle(&mut self, msg: SitterMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            SitterMsg::Hang(Hang(never)) => {
                // No `ctx.beat()`: to the watchdog this is a hung handler.
                let _ = never.recv();
            }
            SitterMsg::Who(Who(reply)) => {
                let thread = std::thread::current();
                reply.send((ctx.id(), format!("{:?}", thread.id())));
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), BoxError> {
    let app = Butler::builder("app")
        .abandon_after(Duration::from_millis(100))
        .server("sitter", || Sitter)
        .heartbeat(Duration::from_millis(200))
        .start()?;
    let events = app.subscribe();
    let sitter = app.hub().address::<Sitter>("sitter").ok_or("no sitter")?;

    let (id, thread) = sitter.request(Who)?;
    println!("sitter: life {id} on thread {thread}");

    // Keep the sender: the handler's channel never receives.
    let (_keep, never) = bounded::<()>(0);
    sitter.send(Hang(never))?;
    println!("sent Hang: the handler blocks without beating");

    loop {
        let event = events.recv_timeout(Duration::from_secs(5))?;
        match &event {
            Event::HeartbeatMissed { .. } | Event::Abandoned { .. } | Event::Restarting { .. } => {
                println!("event: {event}");
            }
            Event::Started { id, .. } => {
                println!("event: {event} (life {id})");
                break;
            }
            _ => {}
        }
    }

    let (new_id, new_thread) = sitter.request(Who)?;
    println!("replacement: life {new_id} on thread {new_thread}");
    assert_ne!(id, new_id, "a new life answers");

    app.shutdown();
    let report = app.wait()?;
    println!(
        "shutdown: abandoned during shutdown {:?}, exit code {}",
        report.abandoned,
        report.exit_code()
    );
    assert_eq!(
        report.exit_code(),
        0,
        "the abandonment came before the shutdown"
    );
    Ok(())
}
