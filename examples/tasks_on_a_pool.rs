//! Closures on a task pool, as in ThreadButler's tasks example: the main
//! thread hands work to `hub.spawn_task`, two pooled `TaskPool` workers run
//! it, and each result comes back as a message to the main thread's mailbox.
//!
//! ```text
//! main --spawn_task(closure)--> tasks (2 workers) --Counted--> main (client)
//! ```
//!
//! `cargo run --example tasks_on_a_pool` counts primes in larger ranges;
//! `-- --demo` uses small ones. Both exit when every result has arrived.

use std::time::Duration;

use threadbutler::prelude::*;
use threadbutler::task::TaskPool;

/// A task's result.
pub struct Counted {
    below: u64,
    primes: u64,
    worker: String,
}
/// The main thread's endpoint.
pub struct Main;
threadbutler::messages! { pub enum MainMsg for Main { Counted } }

fn count_primes(below: u64) -> u64 {
    (2..below)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

fn main() -> Result<(), threadbutler::Error> {
    let demo = std::env::args().any(|a| a == "--demo");
    let scale = if demo { 1_000 } else { 20_000 };

    let app = Butler::builder("tasks")
        .pool("tasks", 2, TaskPool::default)
        .start()?;
    let mut main = app.hub().client::<Main>("main")?;

    let jobs: Vec<u64> = (1..=8).map(|k| k * scale).collect();
    for &below in &jobs {
        // The closure runs on a pool worker; it answers through the hub.
        app.hub().spawn_task(move |hub| {
            let primes = count_primes(below);
            let worker = std::thread::current().name().unwrap_or("?").to_owned();
            hub.send(Counted {
                below,
                primes,
                worker,
            })?;
            Ok(())
        })?;
    }
    println!("main: {} tasks submitted to 2 workers", jobs.len());

    let mut got = 0;
    while got < jobs.len() {
        match main.recv_timeout(Duration::from_secs(30)) {
            Some(MainMsg::Counted(Counted {
                below,
                primes,
                worker,
            })) => {
                got += 1;
                println!("main: {primes:>6} primes below {below:>8}  (ran on {worker})");
            }
            None => break,
        }
    }

    app.shutdown();
    let report = app.wait()?;
    if got < jobs.len() || !report.is_clean() {
        eprintln!("main: {got} of {} results; unclean", jobs.len());
        std::process::exit(1);
    }
    println!("main: all {got} results arrived; clean shutdown");
    Ok(())
}
