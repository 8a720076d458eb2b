//! The three restart strategies side by side: for each of `OneForOne`,
//! `OneForAll` and `RestForOne`, a tree of three servers `a`, `b`, `c` is
//! started, `b` is crashed (its handler panics), and the example prints
//! which servers restarted, by comparing each server's life id before and
//! after the crash. It waits for the restart through `app.subscribe()`
//! events, never by sleeping.
//!
//! Run it with `cargo run --example strategies` (`-- --demo` is the same:
//! it always stops by itself).

use std::time::Duration;

use crossbeam_channel::Receiver;
use threadbutler::prelude::*;

/// Makes the handler panic.
pub struct Crash;
/// Asks a server for the id of its current life.
pub struct Life(pub Reply<u64>);

threadbutler::messages! { pub enum NodeMsg for Node { Crash, Life } }

/// A server that answers with its life id, or panics on request.
pub struct Node;

impl Server for Node {
    fn handle(&mut self, msg: NodeMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            NodeMsg::Crash(Crash) => panic!("asked to crash"),
            NodeMsg::Life(Life(reply)) => reply.send(ctx.id()),
        }
        Ok(())
    }
}

const NAMES: [&str; 3] = ["a", "b", "c"];

/// The life id of every server, in declaration order.
fn lives(app: &Butler) -> Result<Vec<u64>, BoxError> {
    NAMES
        .iter()
        .map(|name| {
            let addr = app
                .hub()
                .address::<Node>(name)
                .ok_or_else(|| format!("no server {name}"))?;
            Ok(addr.request(Life)?)
        })
        .collect()
}

/// Waits until every server in `names` has sent `Started` again.
fn wait_started(events: &Receiver<Event>, mut names: Vec<String>) -> Result<(), BoxError> {
    while !names.is_empty() {
        let event = events.recv_timeout(Duration::from_secs(5))?;
        if let Event::Started { child, .. } = &event {
            names.retain(|n| n.as_str() != &**child);
        }
    }
    Ok(())
}

fn run(strategy: Strategy, expect: &[&str]) -> Result<(), BoxError> {
    let app = Butler::builder("app")
        .strategy(strategy)
        .intensity(10, Duration::from_secs(60))
        .server("a", || Node)
        .server("b", || Node)
        .server("c", || Node)
        .start()?;
    let events = app.subscribe();
    let before = lives(&app)?;

    app.hub()
        .address::<Node>("b")
        .ok_or("no server b")?
        .send(Crash)?;
    // The restart is over once every server the strategy restarts started again.
    wait_started(&events, expect.iter().map(|n| format!("app/{n}")).collect())?;

    let after = lives(&app)?;
    let restarted: Vec<&str> = NAMES
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (b, a))| b != a)
        .map(|(name, _)| *name)
        .collect();
    println!(
        "{:<11} b crashed -> restarted: {}",
        format!("{strategy:?}"),
        restarted.join(", ")
    );
    for ((name, b), a) in NAMES.iter().zip(&before).zip(&after) {
        println!("    {name}: life {b} -> {a}");
    }
    assert_eq!(restarted, expect, "{strategy:?}");

    app.shutdown();
    app.wait()?;
    Ok(())
}

fn main() -> Result<(), BoxError> {
    // The panics are expected: keep the output readable.
    std::panic::set_hook(Box::new(|_| {}));
    run(Strategy::OneForOne, &["b"])?;
    run(Strategy::OneForAll, &["a", "b", "c"])?;
    run(Strategy::RestForOne, &["b", "c"])?;
    println!("all three strategies behaved as OTP defines them");
    Ok(())
}
