//! Waiting on lifecycle events, the way tests synchronise with a tree.

use crossbeam_channel::Receiver;
use threadbutler::Event;

use crate::PATIENCE;

/// Everything a subscription has delivered, and a way to wait for more.
#[derive(Debug)]
pub struct EventLog {
    rx: Receiver<Event>,
    seen: Vec<Event>,
}

impl EventLog {
    /// Wraps a subscription (`butler.subscribe()`).
    pub fn new(rx: Receiver<Event>) -> Self {
        EventLog {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits for the first event after those already waited for that
    /// satisfies `pred`, and returns it; panics after [`PATIENCE`].
    pub fn wait_for(&mut self, what: &str, mut pred: impl FnMut(&Event) -> bool) -> Event {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            match self.rx.recv_deadline(deadline) {
                Ok(e) => {
                    self.seen.push(e.clone());
                    if pred(&e) {
                        return e;
                    }
                }
                Err(_) => panic!(
                    "timed out waiting for {what}; events so far:\n{}",
                    self.seen
                        .iter()
                        .map(|e| format!("  {e}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }
        }
    }

    /// Waits for `kind` (e.g. `"Started"`) about `subject` (a path).
    pub fn wait(&mut self, kind: &str, subject: &str) -> Event {
        self.wait_for(&format!("{kind} {subject}"), |e| {
            e.kind() == kind && e.subject() == subject
        })
    }

    /// Takes what has arrived without waiting.
    pub fn drain(&mut self) -> &[Event] {
        self.seen.extend(self.rx.try_iter());
        &self.seen
    }

    /// Every event seen so far, as `"Kind subject"` lines.
    pub fn lines(&mut self) -> Vec<String> {
        self.drain()
            .iter()
            .map(|e| format!("{} {}", e.kind(), e.subject()))
            .collect()
    }

    /// The `"Kind subject"` lines of the given kinds, in order.
    pub fn only(&mut self, kinds: &[&str]) -> Vec<String> {
        self.drain()
            .iter()
            .filter(|e| kinds.contains(&e.kind()))
            .map(|e| format!("{} {}", e.kind(), e.subject()))
            .collect()
    }
}
