//! Health: is the tree live, is it ready? What a liveness and a readiness
//! probe (Kubernetes, a load balancer, a script) ask, answered from the
//! status tree without any server's help.
//!
//! # Anatomy
//!
//! - **Live** holds while the root supervisor runs and every watched
//!   heartbeat in the tree is fresh (the same test as the systemd
//!   watchdog's: [`StatusNode::heartbeats_fresh`]). A failing liveness
//!   probe makes Kubernetes restart the container: the answer for a
//!   process whose root gave up, or whose server is stuck in a handler.
//! - **Ready** holds once `start()` has returned and until a shutdown
//!   begins (by [`Butler::shutdown`](crate::Butler::shutdown), a signal,
//!   or the root giving up): a failing readiness probe takes the process
//!   out of its Service's endpoints, so no new work arrives while it
//!   drains.
//!
//! [`Butler::health`](crate::Butler::health) gives the value; with the
//! feature `health-http`, `ButlerBuilder::health_endpoint` answers
//! `GET /livez` and `GET /readyz` with it (docs/operations.md, "Health
//! probes").
//!
//! # Limitations
//!
//! Staleness counts from the first look at the status tree that found a
//! child busy without progress (as for the systemd watchdog): a stuck
//! server is seen from the second probe on, once its heartbeat timeout has
//! passed between the two. Its supervisor finds it on its own and replaces
//! it (runtime-semantics §11.14); liveness fails while the stuck life is
//! still there, for example one that ignores its stop.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use threadbutler_supervisor::{Event, EventBus, ExitReason, StatusNode, Supervisor};

/// Whether the tree is live and ready, and why not when it is not.
///
/// `live` is false exactly when `not_live` says why, and likewise for
/// `ready`.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::HealthIssue;
/// # pub struct Ping;
/// # threadbutler::messages! { pub enum WMsg for W { Ping } }
/// # pub struct W;
/// # impl Server for W {
/// #     fn handle(&mut self, _: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { Ok(()) }
/// # }
///
/// let app = Butler::builder("app").server("w", || W).start()?;
/// let health = app.health();
/// assert!(health.live && health.ready);
/// app.shutdown(); // readiness goes at once
/// let health = app.health();
/// assert!(!health.ready);
/// assert!(matches!(health.not_ready, Some(HealthIssue::ShuttingDown)));
/// app.wait()?;
/// let health = app.health(); // the root has ended: not live either
/// assert!(matches!(health.not_live, Some(HealthIssue::Ended { .. })));
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Health {
    /// The root supervisor runs and every watched heartbeat is fresh.
    pub live: bool,
    /// `start()` has returned and no shutdown has begun.
    pub ready: bool,
    /// Why `live` is false.
    pub not_live: Option<HealthIssue>,
    /// Why `ready` is false.
    pub not_ready: Option<HealthIssue>,
}

/// Why a tree is not live or not ready.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HealthIssue {
    /// `start()` has not returned yet (not ready; live, as far as known).
    Starting,
    /// A shutdown began: requested, or by a signal (not ready).
    ShuttingDown,
    /// The root supervisor exceeded its restart intensity and is stopping
    /// its children (not ready); the process will exit non-zero.
    GivingUp,
    /// The root supervisor has ended (neither live nor ready).
    Ended {
        /// Why it ended.
        reason: ExitReason,
    },
    /// A watched child has been busy without progress for its heartbeat
    /// timeout or longer (not live).
    StaleHeartbeat {
        /// The child's path.
        child: String,
        /// Milliseconds since its progress count last moved.
        since_progress_ms: u64,
        /// Its heartbeat timeout in milliseconds.
        heartbeat_ms: u64,
    },
}

impl fmt::Display for HealthIssue {
    /// One line, as the HTTP probes answer it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthIssue::Starting => f.write_str("starting"),
            HealthIssue::ShuttingDown => f.write_str("shutting down"),
            HealthIssue::GivingUp => {
                f.write_str("the root supervisor gave up and is stopping its children")
            }
            HealthIssue::Ended { reason } => write!(f, "the root supervisor ended: {reason}"),
            HealthIssue::StaleHeartbeat {
                child,
                since_progress_ms,
                heartbeat_ms,
            } => write!(
                f,
                "heartbeat stale: {child} busy without progress for {since_progress_ms} ms \
                 (timeout {heartbeat_ms} ms)"
            ),
        }
    }
}

/// Where the root is in its life, as health sees it.
#[derive(Debug, Clone)]
pub(crate) enum Phase {
    Starting,
    Running,
    ShuttingDown,
    GivingUp,
    Ended(ExitReason),
}

/// The health of a tree in `phase` whose status is `tree` (none while
/// starting, or once ended).
pub(crate) fn assess(phase: Phase, tree: Option<&StatusNode>) -> Health {
    let not_live = match (&phase, tree.and_then(stale)) {
        (Phase::Ended(reason), _) => Some(HealthIssue::Ended {
            reason: reason.clone(),
        }),
        (_, Some(n)) => Some(HealthIssue::StaleHeartbeat {
            child: n.path.clone(),
            since_progress_ms: n.since_progress_ms.unwrap_or_default(),
            heartbeat_ms: n.heartbeat_ms.unwrap_or_default(),
        }),
        _ => None,
    };
    let not_ready = match phase {
        Phase::Starting => Some(HealthIssue::Starting),
        Phase::Running => None,
        Phase::ShuttingDown => Some(HealthIssue::ShuttingDown),
        Phase::GivingUp => Some(HealthIssue::GivingUp),
        Phase::Ended(reason) => Some(HealthIssue::Ended { reason }),
    };
    Health {
        live: not_live.is_none(),
        ready: not_ready.is_none(),
        not_live,
        not_ready,
    }
}

/// The first node (in start order) whose own heartbeat is stale, by the
/// one definition of staleness, [`StatusNode::heartbeats_fresh`]: a
/// subtree that is not fresh while all its children's are is stale itself.
fn stale(node: &StatusNode) -> Option<&StatusNode> {
    if node.heartbeats_fresh() {
        return None;
    }
    node.children.iter().find_map(stale).or(Some(node))
}

/// What health is read from: the root once started, and whether it began
/// to end on its own. Shared by the application and its HTTP probe.
#[derive(Debug)]
pub(crate) struct HealthSource {
    root_path: Arc<str>,
    root: OnceLock<Arc<Supervisor>>,
    shutting_down: AtomicBool,
    giving_up: AtomicBool,
}

impl HealthSource {
    /// A source for the tree whose root is named `root_path`, not started.
    pub(crate) fn new(root_path: &str) -> Arc<HealthSource> {
        Arc::new(HealthSource {
            root_path: Arc::from(root_path),
            root: OnceLock::new(),
            shutting_down: AtomicBool::new(false),
            giving_up: AtomicBool::new(false),
        })
    }

    /// Hears the root's own `ShutdownBegan` and `GaveUp` on `bus` (weakly:
    /// the bus outlives nothing because of this).
    pub(crate) fn watch(self: &Arc<HealthSource>, bus: &EventBus) {
        let source: Weak<HealthSource> = Arc::downgrade(self);
        bus.tap(move |e| {
            let Some(s) = source.upgrade() else { return };
            match e {
                Event::ShutdownBegan { supervisor } if *supervisor == s.root_path => {
                    s.shutting_down.store(true, Ordering::SeqCst)
                }
                Event::GaveUp { supervisor, .. } if *supervisor == s.root_path => {
                    s.giving_up.store(true, Ordering::SeqCst)
                }
                _ => {}
            }
        });
    }

    /// The tree has started: ready from now on.
    pub(crate) fn started(&self, root: Arc<Supervisor>) {
        if self.root.set(root).is_ok() {
            tracing::debug!(root = %self.root_path, "ready");
        }
    }

    /// The tree's health now.
    pub(crate) fn health(&self) -> Health {
        let Some(root) = self.root.get() else {
            return assess(Phase::Starting, None);
        };
        if let Some(reason) = root.exit_reason() {
            return assess(Phase::Ended(reason), None);
        }
        let phase = if self.giving_up.load(Ordering::SeqCst) {
            Phase::GivingUp
        } else if root.is_shutting_down() || self.shutting_down.load(Ordering::SeqCst) {
            Phase::ShuttingDown
        } else {
            Phase::Running
        };
        assess(phase, Some(&root.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadbutler_supervisor::ChildState;

    fn tree(worker_busy_ms: Option<u64>) -> StatusNode {
        let mut root = StatusNode::new("app", "app", "supervisor", ChildState::Running);
        let mut db = StatusNode::new("db", "app/db", "supervisor", ChildState::Running);
        let mut w = StatusNode::new("writer", "app/db/writer", "server", ChildState::Running);
        w.heartbeat_ms = Some(1000);
        w.since_progress_ms = Some(worker_busy_ms.unwrap_or(0));
        w.busy = worker_busy_ms.is_some();
        db.children.push(w);
        root.children.push(db);
        root
    }

    #[test]
    fn a_running_tree_with_fresh_heartbeats_is_live_and_ready() {
        let h = assess(Phase::Running, Some(&tree(Some(999))));
        assert!(h.live && h.ready, "{h:?}");
        assert!(h.not_live.is_none() && h.not_ready.is_none());
    }

    #[test]
    fn a_stale_heartbeat_names_the_child_and_only_costs_liveness() {
        let h = assess(Phase::Running, Some(&tree(Some(1500))));
        assert!(!h.live && h.ready, "{h:?}");
        let issue = h.not_live.expect("a reason");
        assert!(
            matches!(&issue, HealthIssue::StaleHeartbeat { child, since_progress_ms: 1500, heartbeat_ms: 1000 } if child == "app/db/writer"),
            "{issue:?}"
        );
        assert_eq!(
            issue.to_string(),
            "heartbeat stale: app/db/writer busy without progress for 1500 ms (timeout 1000 ms)"
        );
    }

    #[test]
    fn an_idle_child_is_never_stale() {
        let mut t = tree(None);
        t.children[0].children[0].since_progress_ms = Some(60_000);
        assert!(assess(Phase::Running, Some(&t)).live);
    }

    #[test]
    fn a_source_whose_tree_has_not_started_is_live_and_starting() {
        let h = HealthSource::new("app").health();
        assert!(h.live && !h.ready, "{h:?}");
        assert!(matches!(h.not_ready, Some(HealthIssue::Starting)), "{h:?}");
    }

    #[test]
    fn starting_and_stopping_cost_readiness_only_until_the_root_ended() {
        for (phase, want) in [
            (Phase::Starting, "starting"),
            (Phase::ShuttingDown, "shutting down"),
            (
                Phase::GivingUp,
                "the root supervisor gave up and is stopping its children",
            ),
        ] {
            let h = assess(phase, Some(&tree(None)));
            assert!(h.live && !h.ready, "{h:?}");
            assert_eq!(h.not_ready.map(|i| i.to_string()).as_deref(), Some(want));
        }
        let h = assess(Phase::Ended(ExitReason::Shutdown), None);
        assert!(!h.live && !h.ready, "{h:?}");
        assert_eq!(
            h.not_live.map(|i| i.to_string()).as_deref(),
            Some("the root supervisor ended: shut down on request")
        );
    }
}
