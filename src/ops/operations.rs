//! Running as a good citizen: OS signals, the systemd notification protocol
//! and its watchdog, config reloads, and an overall shutdown deadline.
//!
//! # Anatomy
//!
//! - Signals are received by `signal-hook`'s iterator on a thread named
//!   `threadbutler-signals`; the signal handler itself only wakes that
//!   thread, so no user code runs inside a signal handler.
//! - systemd: when `NOTIFY_SOCKET` is set, `READY=1` is sent once `start()`
//!   succeeded, `STOPPING=1` when the shutdown begins, `RELOADING=1` and
//!   `READY=1` around a reload, `STATUS=` lines on each of those; with
//!   `WATCHDOG_USEC` set (for this process), a thread named
//!   `threadbutler-watchdog` sends `WATCHDOG=1` at half the interval, but
//!   only while every watched heartbeat in the tree is fresh.
//! - The overall deadline: once a shutdown begins, a thread waits for the
//!   tree to end; past the deadline it forces the shutdown (every drain
//!   still running becomes immediate, and children that still do not stop
//!   are abandoned after their grace), so the process always gets to exit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, select};
#[cfg(feature = "signals")]
use threadbutler_supervisor::StatusNode;
use threadbutler_supervisor::Supervisor;
#[cfg(feature = "systemd")]
use threadbutler_supervisor::notify::{self, Notifier};
#[cfg(feature = "signals")]
use threadbutler_supervisor::signals::{SignalAction, Signals};

#[cfg(feature = "config")]
use crate::data::hub::WeakHub;
#[cfg(feature = "config")]
use crate::ops::reload::{ReloadHook, Reloader};

/// What the operations threads share with the `Butler`.
pub(crate) struct Ops {
    pub(crate) root: Arc<Supervisor>,
    /// Weak: the hub holds its application, which holds these. For the
    /// reload hook.
    #[cfg(feature = "config")]
    pub(crate) hub: WeakHub,
    #[cfg(feature = "systemd")]
    pub(crate) notifier: Option<Arc<Notifier>>,
    #[cfg(feature = "config")]
    pub(crate) config: Option<Reloader>,
    #[cfg(feature = "config")]
    pub(crate) reload: Option<ReloadHook>,
    pub(crate) deadline: Option<Duration>,
    stopping: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    quit: Mutex<Vec<Sender<()>>>,
    #[cfg(feature = "signals")]
    signal_handle: Mutex<Option<signal_hook::iterator::Handle>>,
}

impl Ops {
    pub(crate) fn new(
        root: Arc<Supervisor>,
        #[cfg(feature = "config")] hub: WeakHub,
        #[cfg(feature = "systemd")] notifier: Option<Arc<Notifier>>,
        #[cfg(feature = "config")] config: Option<Reloader>,
        #[cfg(feature = "config")] reload: Option<ReloadHook>,
        deadline: Option<Duration>,
    ) -> Arc<Ops> {
        Arc::new(Ops {
            root,
            #[cfg(feature = "config")]
            hub,
            #[cfg(feature = "systemd")]
            notifier,
            #[cfg(feature = "config")]
            config,
            #[cfg(feature = "config")]
            reload,
            deadline,
            stopping: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
            quit: Mutex::new(Vec::new()),
            #[cfg(feature = "signals")]
            signal_handle: Mutex::new(None),
        })
    }

    /// A channel that disconnects when the operations end (`finish`).
    fn quit_signal(&self) -> Receiver<()> {
        let (tx, rx) = bounded::<()>(0);
        self.quit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tx);
        rx
    }

    /// Sends `state` to systemd, if it listens.
    #[cfg_attr(not(feature = "systemd"), allow(unused_variables))]
    pub(crate) fn notify(&self, state: &str) {
        #[cfg(feature = "systemd")]
        if let Some(n) = &self.notifier
            && let Err(e) = n.send(state)
        {
            tracing::warn!(error = %e, state, "systemd notification failed");
        }
    }

    /// After a successful start: READY, and the watchdog and signal threads.
    pub(crate) fn started(
        self: &Arc<Ops>,
        #[cfg(feature = "signals")] signals: &Signals,
    ) -> std::io::Result<()> {
        self.notify("READY=1\nSTATUS=running");
        #[cfg(feature = "systemd")]
        self.start_watchdog()?;
        #[cfg(feature = "signals")]
        self.start_signals(signals)?;
        Ok(())
    }

    /// The systemd watchdog thread, when systemd asks for one.
    #[cfg(feature = "systemd")]
    fn start_watchdog(self: &Arc<Ops>) -> std::io::Result<()> {
        if self.notifier.is_some()
            && let Some(every) = notify::watchdog_interval()
        {
            let ops = Arc::clone(self);
            let quit = self.quit_signal();
            let t = thread::Builder::new().name("threadbutler-watchdog".into()).spawn(move || {
                loop {
                    select! {
                        recv(quit) -> _ => return,
                        default(every) => {
                            if ops.root.status().heartbeats_fresh() {
                                ops.notify("WATCHDOG=1");
                            } else {
                                tracing::warn!("a heartbeat is stale: withholding the systemd watchdog ping");
                            }
                        }
                    }
                }
            })?;
            self.threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(t);
        }
        Ok(())
    }

    /// The thread that turns OS signals into drains, reloads and status
    /// lines, when the table has any.
    #[cfg(feature = "signals")]
    fn start_signals(self: &Arc<Ops>, signals: &Signals) -> std::io::Result<()> {
        if !signals.is_empty() {
            let mut iter = signal_hook::iterator::Signals::new(signals.signals())?;
            *self
                .signal_handle
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(iter.handle());
            let ops = Arc::clone(self);
            let table = signals.clone();
            let t = thread::Builder::new()
                .name("threadbutler-signals".into())
                .spawn(move || {
                    for sig in iter.forever() {
                        tracing::info!(signal = %signal_name(sig), number = sig, "signal received");
                        match table.action(sig) {
                            Some(SignalAction::Drain) => ops.drain_or_force(),
                            Some(SignalAction::Immediate) => {
                                ops.begin_shutdown();
                                ops.root.force_shutdown();
                            }
                            Some(SignalAction::Reload) => ops.reload(),
                            Some(SignalAction::LogStatus) => log_status(&ops.root.status()),
                            _ => {}
                        }
                    }
                })?;
            self.threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(t);
        }
        Ok(())
    }

    /// The first drain request drains; a second one forces.
    #[cfg(feature = "signals")]
    fn drain_or_force(self: &Arc<Ops>) {
        if self.stopping.load(Ordering::SeqCst) {
            tracing::warn!("second stop request: forcing the shutdown");
            self.root.force_shutdown();
        } else {
            self.begin_shutdown();
            self.root.shutdown();
        }
    }

    /// Marks the shutdown begun: STOPPING, and the overall deadline.
    pub(crate) fn begin_shutdown(self: &Arc<Ops>) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        self.notify("STOPPING=1\nSTATUS=stopping");
        if let Some(deadline) = self.deadline {
            let ops = Arc::clone(self);
            let quit = self.quit_signal();
            let spawned = thread::Builder::new().name("threadbutler-deadline".into()).spawn(move || {
                select! {
                    recv(quit) -> _ => {}
                    default(deadline) => {
                        tracing::error!(?deadline, "the shutdown passed its overall deadline: forcing it");
                        ops.root.force_shutdown();
                    }
                }
            });
            match spawned {
                Ok(t) => self
                    .threads
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(t),
                Err(e) => {
                    tracing::error!(error = %e, "could not start the shutdown deadline thread")
                }
            }
        }
    }

    /// RELOADING, the new config file, the user's hook, the file's
    /// policies, READY.
    pub(crate) fn reload(&self) {
        #[cfg(feature = "systemd")]
        if let Some(n) = &self.notifier
            && let Err(e) = n.reloading()
        {
            tracing::warn!(error = %e, "systemd notification failed");
        }
        tracing::info!("reload requested");
        #[cfg(feature = "config")]
        {
            let hook = self.reload.as_ref().zip(self.hub.upgrade());
            crate::ops::reload::reload(&self.root, self.config.as_ref(), hook);
        }
        self.notify("READY=1\nSTATUS=running");
    }

    /// Stops the operations threads once the tree has ended.
    pub(crate) fn finish(&self) {
        #[cfg(feature = "signals")]
        if let Some(h) = self
            .signal_handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            h.close();
        }
        self.quit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for t in threads {
            let _ = t.join();
        }
    }
}

#[cfg(feature = "systemd")]
/// The notifier `NOTIFY_SOCKET` asks for, if any (a bad one is logged and
/// ignored: the service runs, unannounced).
pub(crate) fn notifier_from_env() -> Option<Arc<Notifier>> {
    match Notifier::from_env() {
        Ok(n) => n.map(Arc::new),
        Err(e) => {
            tracing::warn!(error = %e, "NOTIFY_SOCKET is set but unusable; not notifying");
            None
        }
    }
}

#[cfg(feature = "systemd")]
/// The `STATUS=` line systemd shows for a lifecycle event worth showing.
pub(crate) fn status_line(e: &threadbutler_supervisor::Event) -> Option<String> {
    use threadbutler_supervisor::Event;
    match e {
        Event::Restarting { child, attempt, .. } => {
            Some(format!("STATUS=restarting {child} (attempt {attempt})"))
        }
        Event::HeartbeatMissed { child, .. } => {
            Some(format!("STATUS={child} missed its heartbeat"))
        }
        Event::Abandoned { child, .. } => Some(format!("STATUS={child} abandoned")),
        Event::GaveUp { supervisor, .. } => Some(format!("STATUS={supervisor} gave up")),
        _ => None,
    }
}

/// A signal's name (`"SIGHUP"`), or its number for one without a known
/// name (`"signal 34"`).
#[cfg(feature = "signals")]
fn signal_name(sig: i32) -> std::borrow::Cow<'static, str> {
    match signal_hook::low_level::signal_name(sig) {
        Some(name) => name.into(),
        None => format!("signal {sig}").into(),
    }
}

/// Logs the status tree as one INFO event per node, in the order `Display`
/// draws it: the message is the node's branch of the drawing (`├─ worker`),
/// so the human format still reads as a tree, and the fields (`path`,
/// `kind`, `state`, `restarts`, and `queued`, `busy`, `since_progress_ms`,
/// `heartbeat_ms`, `last_exit` when the node has them) are what JSON output
/// gets. A first event, "status tree", gives the root and the node count.
#[cfg(feature = "signals")]
fn log_status(tree: &StatusNode) {
    let rows = tree.rows();
    tracing::info!(root = %tree.path, nodes = rows.len(), "status tree");
    for (branch, n) in rows {
        tracing::info!(
            path = %n.path,
            kind = n.kind,
            state = %n.state,
            restarts = n.restarts,
            queued = n.queued.map(|q| q as u64),
            busy = n.busy,
            since_progress_ms = n.since_progress_ms,
            heartbeat_ms = n.heartbeat_ms,
            last_exit = n.last_exit.as_deref(),
            "{branch}{}",
            n.name
        );
    }
}
