//! A main-thread event loop (standing in for a GUI toolkit's) that sleeps
//! until a server's message arrives, as ThreadButler's owlkettle
//! integration did for GTK.
//!
//! The loop owns its own event queue (here a channel of `UiEvent`s; in GTK
//! it would be the main context). The main thread's mailbox is a `Client`
//! with a wake callback: after each message a server sends to it, the
//! callback posts `UiEvent::Wake` into the loop's queue, on the server's
//! thread. The loop wakes, drains the mailbox with `try_recv`, and goes back
//! to sleep: no polling, no spinning.
//!
//! `cargo run --example event_loop` (or `-- --demo`; it stops by itself
//! after ten results either way).

use std::time::Duration;

use crossbeam_channel::{Sender, unbounded};
use threadbutler::ClientOptions;
use threadbutler::prelude::*;

/// What the UI loop reacts to.
enum UiEvent {
    /// A server sent something to the main thread's mailbox.
    Wake,
    /// The user clicked "compute" (simulated).
    Click(u64),
}

/// A result for the UI.
pub struct Computed {
    n: u64,
    fib: u64,
}
/// The UI's endpoint.
pub struct Ui;
threadbutler::messages! { pub enum UiMsg for Ui { Computed } }

/// Work for the backend.
pub struct Compute(pub u64);
threadbutler::messages! { pub enum BackendMsg for Backend { Compute } }

/// Heavy work off the UI thread.
pub struct Backend;

impl Server for Backend {
    fn handle(&mut self, msg: BackendMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let BackendMsg::Compute(Compute(n)) = msg;
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..n {
            (a, b) = (b, a.wrapping_add(b));
        }
        ctx.hub().send(Computed { n, fib: a })?;
        Ok(())
    }
}

fn main() -> Result<(), threadbutler::Error> {
    let (ui_tx, ui_events) = unbounded::<UiEvent>();
    let waker: Sender<UiEvent> = ui_tx.clone();
    let app = Butler::builder("gui")
        .server("backend", || Backend)
        .start()?;
    let mut inbox = app.hub().client_with::<Ui>(
        "ui",
        ClientOptions::new()
            .capacity(Capacity::Unbounded)
            // Runs on the sender's thread: just nudge the UI loop.
            .on_wake(move || {
                let _ = waker.send(UiEvent::Wake);
            }),
    )?;

    // Simulated clicks, as a toolkit would deliver them.
    for n in [10, 20, 30, 40, 50, 60, 70, 80, 90, 93] {
        let _ = ui_tx.send(UiEvent::Click(n));
    }

    let mut shown = 0;
    // The UI loop: it blocks on its own queue, never on the mailbox.
    while shown < 10 {
        match ui_events.recv_timeout(Duration::from_secs(10)) {
            Ok(UiEvent::Click(n)) => {
                println!("ui: clicked compute({n})");
                app.hub().send(Compute(n))?;
            }
            Ok(UiEvent::Wake) => {
                while let Some(UiMsg::Computed(Computed { n, fib })) = inbox.try_recv() {
                    println!("ui: fib({n}) = {fib}");
                    shown += 1;
                }
            }
            Err(_) => {
                eprintln!("ui: no event for 10 s; giving up");
                break;
            }
        }
    }
    app.shutdown();
    let report = app.wait()?;
    println!(
        "done: {}",
        if report.is_clean() {
            "clean shutdown"
        } else {
            "unclean shutdown"
        }
    );
    std::process::exit(report.exit_code())
}
