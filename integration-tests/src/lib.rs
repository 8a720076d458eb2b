//! Shared helpers for threadbutler's black-box tests.
//!
//! Nothing here sleeps: helpers wait on channels, or poll a condition with a
//! deadline, yielding between looks.
#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]

pub mod daemon;
pub mod events;
pub mod jobd;
pub mod logs;
pub mod probe;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use threadbutler::{DeadLetter, Hub, HubBuilder};

/// Long enough that a healthy run never hits it; short enough that a broken
/// one fails instead of hanging CI.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A hub builder whose dead letters arrive on the returned receiver.
pub fn hub_with_dead_letters(name: &str) -> (HubBuilder, Receiver<DeadLetter>) {
    let (tx, rx) = unbounded();
    let builder = Hub::builder(name).on_dead_letter(move |d| {
        // The receiver lives as long as the test; a failed send means the test ended.
        let _ = tx.send(d);
    });
    (builder, rx)
}

/// Waits until `cond` holds, yielding between looks; panics after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::yield_now();
    }
}

/// A gate that handlers can be held at: `enter` reports arrival and blocks
/// until `open` (or until dropped).
#[derive(Clone, Debug)]
pub struct Gate {
    arrived_tx: Sender<()>,
    arrived_rx: Receiver<()>,
    open_tx: Sender<()>,
    open_rx: Receiver<()>,
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        let (arrived_tx, arrived_rx) = unbounded();
        let (open_tx, open_rx) = unbounded();
        Gate {
            arrived_tx,
            arrived_rx,
            open_tx,
            open_rx,
        }
    }

    /// Called by a handler: says "I am here", then waits for one `open`.
    pub fn enter(&self) {
        let _ = self.arrived_tx.send(());
        let _ = self.open_rx.recv_timeout(PATIENCE);
    }

    /// Waits until a handler has entered.
    pub fn wait_arrival(&self) {
        self.arrived_rx
            .recv_timeout(PATIENCE)
            .expect("a handler should have reached the gate");
    }

    /// Lets `n` handlers through.
    pub fn open(&self, n: usize) {
        for _ in 0..n {
            let _ = self.open_tx.send(());
        }
    }
}

/// A shared counter for hooks.
#[derive(Clone, Debug, Default)]
pub struct Count(Arc<AtomicUsize>);

impl Count {
    /// Adds one.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// The count.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
