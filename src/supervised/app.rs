//! A running application: its root supervisor, the tally its shutdown
//! report is made from, and its operations (signals, systemd, the overall
//! deadline).
//!
//! A [`Butler`](crate::Butler) is one of these, and so is the implicit root
//! a [`Hub`] starts for the servers spawned on it without a declared tree:
//! both stop, drain, report and exit by the same code, so a shutdown means
//! the same thing everywhere (DESIGN rule 11).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

#[cfg(feature = "signals")]
use threadbutler_supervisor::signals::Signals;
use threadbutler_supervisor::{Event, EventBus, ExitReason, Supervisor, SupervisorSpec};

use crate::data::hub::Hub;
use crate::error::Error;
use crate::ops::health::{Health, HealthSource};
#[cfg(feature = "health-http")]
use crate::ops::health_http::HealthEndpoint;
#[cfg(feature = "metrics")]
use crate::ops::metrics::{Exporter, MetricsSetup};
use crate::ops::operations::Ops;
#[cfg(feature = "config")]
use crate::ops::reload::ReloadHook;
#[cfg(feature = "config")]
use crate::ops::reload::Reloader;
use crate::supervised::app_log;
use crate::supervised::fate::Fate;
use crate::supervised::report::{Report, Tally};

/// How an application is run besides its tree.
pub(crate) struct Running {
    /// Tell systemd (when `NOTIFY_SOCKET` is set).
    #[cfg_attr(not(feature = "systemd"), allow(dead_code))]
    pub(crate) notify: bool,
    #[cfg(feature = "signals")]
    pub(crate) signals: Signals,
    #[cfg(feature = "config")]
    pub(crate) reloader: Option<Reloader>,
    #[cfg(feature = "config")]
    pub(crate) reload: Option<ReloadHook>,
    pub(crate) deadline: Option<Duration>,
    /// Where health is read from, if made before the start (for an HTTP
    /// probe bound early); made by the start otherwise.
    pub(crate) health: Option<Arc<HealthSource>>,
    /// The HTTP probe, already listening.
    #[cfg(feature = "health-http")]
    pub(crate) health_endpoint: Option<HealthEndpoint>,
    /// Metrics to export.
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Option<MetricsSetup>,
}

impl Default for Running {
    /// A hub's implicit root: no signals, no systemd, no reload.
    fn default() -> Self {
        Running {
            notify: false,
            #[cfg(feature = "signals")]
            signals: Signals::none(),
            #[cfg(feature = "config")]
            reloader: None,
            #[cfg(feature = "config")]
            reload: None,
            deadline: None,
            health: None,
            #[cfg(feature = "health-http")]
            health_endpoint: None,
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }
}

/// Stops a tree whose start failed after its children started (its
/// operations could not be set up), and says why.
fn undo_start(root: &Supervisor, ops: &Ops, why: String) -> Error {
    root.force_shutdown();
    root.wait();
    ops.finish();
    Error::Start {
        reason: ExitReason::failed(threadbutler_supervisor::Stage::Init, why.into()),
    }
}

/// A running application. See the module docs.
pub(crate) struct App {
    pub(crate) root: Arc<Supervisor>,
    pub(crate) ops: Arc<Ops>,
    tally: Arc<Mutex<Tally>>,
    /// The fates of the servers spawned on the hub, by name, for `join`.
    pub(crate) spawned: Mutex<HashMap<Arc<str>, Arc<Fate>>>,
    /// The root's path, which its children's paths start with.
    root_path: String,
    /// Queued work given up, by child path, since the child was added: what
    /// a `join` reports.
    given_up: Arc<Mutex<HashMap<String, u64>>>,
    /// Set by the first report: the "stopped" line is logged once, however
    /// often the report is asked for.
    stop_logged: AtomicBool,
    health: Arc<HealthSource>,
    #[cfg(feature = "health-http")]
    pub(crate) health_endpoint: Option<HealthEndpoint>,
    #[cfg(feature = "metrics")]
    metrics: Option<Exporter>,
}

impl App {
    /// Starts the tree `spec` on `hub`, with its events on `bus`; returns
    /// once every child started.
    ///
    /// # Errors
    ///
    /// [`Error::Start`] naming the child that failed and why (the ones
    /// already started were stopped in reverse order), or signal handling
    /// that could not be set up.
    #[cfg_attr(not(feature = "config"), allow(unused_variables))]
    pub(crate) fn start(
        spec: SupervisorSpec,
        bus: EventBus,
        hub: &Hub,
        running: Running,
    ) -> Result<Arc<App>, Error> {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let given_up = Arc::new(Mutex::new(HashMap::<String, u64>::new()));
        let g = Arc::clone(&given_up);
        bus.tap(move |e| {
            if let Event::Drained { child, left } = e
                && *left > 0
            {
                *g.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(child.to_string())
                    .or_default() += left;
            }
        });
        let t = Arc::clone(&tally);
        let root_path = spec.name().to_owned();
        let own_path = root_path.clone();
        bus.tap(move |e| {
            let mut t = t.lock().unwrap_or_else(PoisonError::into_inner);
            match e {
                // The report is about the shutdown: a hung life replaced long
                // before it is supervision doing its job, not an unclean end.
                Event::ShutdownBegan { supervisor } if **supervisor == *root_path => {
                    t.shutting_down = true
                }
                Event::Abandoned { child, .. } if t.shutting_down => {
                    t.abandoned.push(child.to_string())
                }
                Event::Drained { child, left } if t.shutting_down && *left > 0 => {
                    t.missed.push((child.to_string(), *left))
                }
                Event::Exited { child, reason, .. } if t.shutting_down => {
                    t.exits.push((child.to_string(), reason.clone()))
                }
                _ => {}
            }
        });
        let health = running
            .health
            .unwrap_or_else(|| HealthSource::new(spec.name()));
        health.watch(&bus);
        #[cfg(feature = "metrics")]
        if let Some(m) = &running.metrics {
            m.watch(&bus);
        }
        #[cfg(feature = "systemd")]
        let notifier = if running.notify {
            crate::ops::operations::notifier_from_env()
        } else {
            None
        };
        #[cfg(feature = "systemd")]
        if let Some(n) = &notifier {
            let n = Arc::clone(n);
            bus.tap(move |e| {
                if let Some(status) = crate::ops::operations::status_line(e) {
                    let _ = n.send(&status);
                }
            });
        }
        let root =
            Arc::new(Supervisor::start(spec, bus).map_err(|reason| Error::Start { reason })?);
        let ops = Ops::new(
            Arc::clone(&root),
            #[cfg(feature = "config")]
            hub.downgrade(),
            #[cfg(feature = "systemd")]
            notifier,
            #[cfg(feature = "config")]
            running.reloader,
            #[cfg(feature = "config")]
            running.reload,
            running.deadline,
        );
        if let Err(e) = ops.started(
            #[cfg(feature = "signals")]
            &running.signals,
        ) {
            return Err(undo_start(
                &root,
                &ops,
                format!("could not set up signal handling: {e}"),
            ));
        }
        #[cfg(feature = "metrics")]
        let metrics = match running.metrics {
            Some(m) => match m.start(Arc::clone(&root), hub.downgrade()) {
                Ok(exporter) => Some(exporter),
                Err(e) => {
                    return Err(undo_start(
                        &root,
                        &ops,
                        format!("could not start the metrics thread: {e}"),
                    ));
                }
            },
            None => None,
        };
        health.started(Arc::clone(&root));
        Ok(Arc::new(App {
            root,
            ops,
            tally,
            spawned: Mutex::default(),
            root_path: own_path,
            given_up,
            stop_logged: AtomicBool::new(false),
            health,
            #[cfg(feature = "health-http")]
            health_endpoint: running.health_endpoint,
            #[cfg(feature = "metrics")]
            metrics,
        }))
    }

    /// The path of the root's child `name`.
    fn path_of(&self, name: &str) -> String {
        format!("{}/{name}", self.root_path)
    }

    /// How much queued work the stops of the root's child `name` gave up
    /// since it was added.
    pub(crate) fn given_up(&self, name: &str) -> u64 {
        let g = self.given_up.lock().unwrap_or_else(PoisonError::into_inner);
        g.get(&self.path_of(name)).copied().unwrap_or(0)
    }

    /// A new child `name` of the root: its own count starts now.
    pub(crate) fn forget_given_up(&self, name: &str) {
        let mut g = self.given_up.lock().unwrap_or_else(PoisonError::into_inner);
        g.remove(&self.path_of(name));
    }

    /// Whether the tree is live and ready.
    pub(crate) fn health(&self) -> Health {
        self.health.health()
    }

    /// Begins an orderly shutdown; returns at once.
    pub(crate) fn shutdown(&self) {
        self.ops.begin_shutdown();
        self.root.shutdown();
    }

    /// Cuts a shutdown short: remaining drains become immediate stops.
    pub(crate) fn force_shutdown(&self) {
        self.ops.begin_shutdown();
        self.root.force_shutdown();
    }

    /// Waits until the tree ended and reports how.
    pub(crate) fn wait(&self, hub: &Hub) -> Result<Report, Error> {
        let reason = self.root.wait();
        self.report(reason, hub)
    }

    /// Like [`wait`](Self::wait), for at most `timeout`.
    pub(crate) fn wait_timeout(
        &self,
        hub: &Hub,
        timeout: Duration,
    ) -> Option<Result<Report, Error>> {
        let reason = self.root.wait_timeout(timeout)?;
        Some(self.report(reason, hub))
    }

    /// The report of a tree that ended for `reason`.
    fn report(&self, reason: ExitReason, hub: &Hub) -> Result<Report, Error> {
        self.ops.finish();
        // The tree has ended: the last figures, and no more probes.
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.metrics {
            m.finish();
        }
        #[cfg(feature = "health-http")]
        if let Some(h) = &self.health_endpoint {
            h.stop();
        }
        let tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        let report = Report {
            reason,
            tree: self.root.status(),
            abandoned: tally.abandoned.clone(),
            drain_deadline_missed: tally.missed.clone(),
            mailboxes: hub
                .names()
                .into_iter()
                .filter_map(|n| hub.stats(&n).map(|s| (n.to_string(), s)))
                .collect(),
            exits: tally.exits.clone(),
        };
        if !self.stop_logged.swap(true, Ordering::SeqCst) {
            app_log::stopped(&self.root_path, &report);
        }
        if report.reason.is_failure() {
            Err(Error::Failed {
                reason: report.reason,
            })
        } else {
            Ok(report)
        }
    }
}
