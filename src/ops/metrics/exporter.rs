//! The exporter: what `ButlerBuilder::metrics` turns on. Before the tree
//! starts, the metrics are described and the event tap installed; once it
//! started, a thread named `threadbutler-metrics` reads the mailbox
//! figures once per interval.
//!
//! # Idle cost
//!
//! One wake-up per interval, for a look at the status tree and at each
//! mailbox's counters; nothing at all while the feature is off or the
//! builder call is not made. It ends with the tree: after one last reading
//! when the application's `wait` returns (so the final figures are
//! exported), or at the first interval after the root ended, or when the
//! application is dropped.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded, select};
use threadbutler_supervisor::{EventBus, Supervisor};

use super::dead_letters::DeadLetterTally;
use super::mailboxes::MailboxFigures;
use super::paths::MailboxPaths;
use super::{describe, events};
use crate::data::hub::{HubBuilder, WeakHub};

/// What the builder asked for, on its way to the start.
#[derive(Debug)]
pub(crate) struct MetricsSetup {
    interval: Duration,
    tally: Arc<DeadLetterTally>,
    paths: Arc<MailboxPaths>,
}

impl MetricsSetup {
    /// Figures every `interval`.
    pub(crate) fn new(interval: Duration) -> MetricsSetup {
        MetricsSetup {
            interval,
            tally: Arc::default(),
            paths: Arc::default(),
        }
    }

    /// Where the hub's dead-letter sink counts.
    pub(crate) fn tally(&self) -> Arc<DeadLetterTally> {
        Arc::clone(&self.tally)
    }

    /// The hub's builder, set to keep the last counters of the mailboxes
    /// that leave it (`Hub::figures`).
    pub(crate) fn hub(&self, hub: HubBuilder) -> HubBuilder {
        hub.keep_departed()
    }

    /// Before the tree starts: describes the metrics to the recorder and
    /// counts `bus`'s events from now on.
    pub(crate) fn watch(&self, bus: &EventBus) {
        describe();
        events::watch(bus, Arc::clone(&self.paths));
    }

    /// Once the tree started: reads the figures of `root`'s tree and of
    /// `hub`'s mailboxes on a thread of its own.
    ///
    /// # Errors
    ///
    /// The OS refused the thread.
    pub(crate) fn start(self, root: Arc<Supervisor>, hub: WeakHub) -> std::io::Result<Exporter> {
        let (quit_tx, quit_rx) = bounded::<()>(0);
        let MetricsSetup {
            interval,
            tally,
            paths,
        } = self;
        let thread = thread::Builder::new()
            .name("threadbutler-metrics".into())
            .spawn(move || {
                let figures = MailboxFigures::new(paths);
                let publish = || {
                    // Upgraded for one reading only: the hub holds the
                    // application, which holds this thread's handle.
                    let hub = hub.upgrade();
                    figures.publish(hub.as_ref(), &root.status(), &tally);
                };
                publish();
                loop {
                    select! {
                        recv(quit_rx) -> _ => {
                            publish();
                            return;
                        }
                        default(interval) => {
                            publish();
                            if root.exit_reason().is_some() {
                                return;
                            }
                        }
                    }
                }
            })?;
        tracing::info!(
            interval_ms = interval.as_millis() as u64,
            "metrics: mailbox figures read every interval"
        );
        Ok(Exporter {
            quit: Mutex::new(Some(quit_tx)),
            thread: Mutex::new(Some(thread)),
        })
    }
}

/// The running exporter thread.
#[derive(Debug)]
pub(crate) struct Exporter {
    quit: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Exporter {
    /// Takes one last reading and ends the thread. Idempotent.
    pub(crate) fn finish(&self) {
        self.quit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Dropped by its own thread (it held the last hub for a reading):
        // it is ending anyway, and cannot wait for itself.
        if let Some(t) = thread
            && t.thread().id() != thread::current().id()
        {
            let _ = t.join();
            tracing::debug!("metrics: exporter ended");
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.finish();
    }
}
