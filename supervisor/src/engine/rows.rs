//! The status rows a supervisor shares with its handles, refreshed by its
//! loop: `status()` reads them without asking the loop anything.
//!
//! # Lock order
//!
//! `Shared::rows`, then a row's `seen`. `Shared::running` is never held
//! with either. A child's own `details()` (user code for a custom `Child`)
//! is called with no lock held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::Policy;
use crate::child::{Child, ChildDetails};
use crate::clock::{self, SharedClock};
use crate::heartbeat::HeartbeatReader;
use crate::status::{ChildState, StatusNode};

use super::slot::Slot;

/// A row of the shared status.
pub(crate) struct Row {
    key: u64,
    heartbeat: Option<Duration>,
    name: Arc<str>,
    path: Arc<str>,
    child: Arc<dyn Child>,
    state: ChildState,
    restarts: u64,
    life: Option<u64>,
    last_exit: Option<String>,
    hb: Option<(u64, HeartbeatReader)>,
    /// The life, progress and instant of the last busy sample that moved.
    seen: Mutex<(u64, u64, Instant)>,
}

/// What a supervisor shares with its handles: the status rows, whether it
/// takes requests, and the policies reloads gave.
pub(crate) struct Shared {
    rows: Mutex<Vec<Row>>,
    pub(crate) running: Mutex<bool>,
    /// Every reload's policies, merged: the supervisor's own and its
    /// children's by name. A later life of this supervisor (after it gave
    /// up and was restarted) starts with them too.
    overrides: Mutex<(Policy, Vec<(String, Policy)>)>,
    clock: Mutex<SharedClock>,
    /// The id of the supervisor's current life.
    life: std::sync::atomic::AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            rows: Mutex::default(),
            running: Mutex::default(),
            overrides: Mutex::default(),
            clock: Mutex::new(clock::system()),
            life: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data refreshed whole by one writer: a panic while it was held
    // leaves nothing half-written that a reader could trip on.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One child as `which_children` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildInfo {
    /// Its name.
    pub name: String,
    /// Its path in the tree.
    pub path: String,
    /// A supervisor or a worker, as OTP says.
    pub kind: ChildKind,
    /// Its state now.
    pub state: ChildState,
    /// The id of its current life, if it has one.
    pub life: Option<u64>,
    /// How often it was restarted.
    pub restarts: u64,
}

/// OTP's two kinds of child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChildKind {
    /// A nested supervisor (or a pool).
    Supervisor,
    /// Anything else: a server, a pool worker, a plain thread.
    Worker,
}

/// What `count_children` counts, as OTP's `count_children/1`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildCounts {
    /// Every child the supervisor has a spec for.
    pub specs: usize,
    /// Those with a life now (starting, running or stopping).
    pub active: usize,
    /// Those that are supervisors.
    pub supervisors: usize,
    /// Those that are not.
    pub workers: usize,
}

impl Shared {
    /// Life `id` of the supervisor is the current one from now on.
    pub(crate) fn take_over(&self, id: u64) {
        self.life.store(id, std::sync::atomic::Ordering::SeqCst);
    }

    /// The id of the supervisor's current life.
    pub(crate) fn current_life(&self) -> u64 {
        self.life.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn set_clock(&self, c: SharedClock) {
        *lock(&self.clock) = c;
    }

    fn now(&self) -> Instant {
        let c = Arc::clone(&lock(&self.clock));
        c.now()
    }

    /// Lays a reload's policies over those remembered for this and later
    /// lives: the supervisor's own, and each child's by name.
    pub(crate) fn remember(&self, own: &Policy, children: &[(String, Policy)]) {
        let mut o = lock(&self.overrides);
        o.0.merge(own);
        for (name, p) in children {
            match o.1.iter_mut().find(|(n, _)| n == name) {
                Some((_, q)) => q.merge(p),
                None => o.1.push((name.clone(), *p)),
            }
        }
    }

    /// What reloads gave, merged: the supervisor's own and its children's.
    pub(super) fn overrides(&self) -> (Policy, Vec<(String, Policy)>) {
        lock(&self.overrides).clone()
    }

    pub(crate) fn status(&self, name: &str, path: &str, own_state: ChildState) -> StatusNode {
        let mut node = StatusNode::new(name, path, "supervisor", own_state);
        let mut children: Vec<Arc<dyn Child>> = Vec::new();
        let now = self.now();
        {
            let rows = lock(&self.rows);
            for r in rows.iter() {
                let mut n = StatusNode::new(&r.name, &r.path, "child", r.state);
                n.restarts = r.restarts;
                n.last_exit = r.last_exit.clone();
                if let Some((id, hb)) = &r.hb {
                    let s = hb.sample();
                    let mut seen = lock(&r.seen);
                    // Staleness counts from the first busy sample without
                    // progress: an idle spell is not lack of progress.
                    if seen.0 != *id || seen.1 != s.progress || !s.busy {
                        *seen = (*id, s.progress, now);
                    }
                    n.busy = s.busy;
                    n.heartbeat_ms = r.heartbeat.map(|t| t.as_millis() as u64);
                    n.since_progress_ms =
                        Some(now.saturating_duration_since(seen.2).as_millis() as u64);
                }
                node.children.push(n);
                children.push(Arc::clone(&r.child));
            }
        }
        for (n, child) in node.children.iter_mut().zip(children) {
            let details: ChildDetails = child.details();
            if !details.kind.is_empty() {
                n.kind = details.kind;
            }
            n.queued = details.queued;
            n.children = details.children;
        }
        node
    }

    /// The children as they are now (declared or added at run time).
    pub(crate) fn children(&self) -> Vec<Arc<dyn Child>> {
        lock(&self.rows)
            .iter()
            .map(|r| Arc::clone(&r.child))
            .collect()
    }

    /// The child `name` as it runs now (declared or added at run time).
    pub(crate) fn child(&self, name: &str) -> Option<Arc<dyn Child>> {
        lock(&self.rows)
            .iter()
            .find(|r| &*r.name == name)
            .map(|r| Arc::clone(&r.child))
    }

    /// The heartbeat of child `name`'s current life, if it has one.
    pub(crate) fn heartbeat(&self, name: &str) -> Option<crate::heartbeat::HeartbeatSample> {
        lock(&self.rows)
            .iter()
            .find(|r| &*r.name == name)
            .and_then(|r| r.hb.as_ref())
            .map(|(_, hb)| hb.sample())
    }

    /// The children as values (OTP's `which_children`).
    pub(crate) fn which_children(&self) -> Vec<ChildInfo> {
        let rows: Vec<(ChildInfo, Arc<dyn Child>)> = lock(&self.rows)
            .iter()
            .map(|r| {
                let info = ChildInfo {
                    name: r.name.to_string(),
                    path: r.path.to_string(),
                    kind: ChildKind::Worker,
                    state: r.state,
                    life: r.life,
                    restarts: r.restarts,
                };
                (info, Arc::clone(&r.child))
            })
            .collect();
        rows.into_iter()
            .map(|(mut info, child)| {
                if child.as_supervisor().is_some() {
                    info.kind = ChildKind::Supervisor;
                }
                info
            })
            .collect()
    }

    pub(crate) fn set_running(&self, running: bool) {
        *lock(&self.running) = running;
    }

    pub(crate) fn is_running(&self) -> bool {
        *lock(&self.running)
    }

    /// Refreshes the row of `slot` (at `i`) in place, or every row if they
    /// no longer line up with `slots`.
    pub(super) fn touch(&self, slots: &[Slot], i: usize) {
        let mut rows = lock(&self.rows);
        let lined_up = rows.len() == slots.len();
        match rows.get_mut(i) {
            Some(row) if lined_up && row.key == slots[i].key => {
                let seen = *lock(&row.seen);
                *row = Row::of(&slots[i], seen);
            }
            _ => {
                drop(rows);
                self.publish(slots);
            }
        }
    }

    /// Rebuilds every row, keeping what each had sampled.
    pub(super) fn publish(&self, slots: &[Slot]) {
        let now = self.now();
        let mut rows = lock(&self.rows);
        let old: Vec<Row> = std::mem::take(&mut *rows);
        let mut by_key: Option<HashMap<u64, usize>> = None;
        for (i, s) in slots.iter().enumerate() {
            // Rows are in slot order, so the same position usually matches.
            let at = match old.get(i) {
                Some(r) if r.key == s.key => Some(i),
                _ => by_key
                    .get_or_insert_with(|| {
                        old.iter().enumerate().map(|(j, r)| (r.key, j)).collect()
                    })
                    .get(&s.key)
                    .copied(),
            };
            let seen = at.map(|j| *lock(&old[j].seen)).unwrap_or((0, 0, now));
            rows.push(Row::of(s, seen));
        }
    }
}

impl Row {
    fn of(s: &Slot, seen: (u64, u64, Instant)) -> Row {
        Row {
            key: s.key,
            heartbeat: s.spec.heartbeat,
            name: Arc::clone(&s.spec.name),
            path: Arc::clone(&s.path),
            child: Arc::clone(&s.spec.child),
            state: s.state(),
            restarts: s.restarts,
            life: s.life_id(),
            last_exit: s.last_exit.as_ref().map(ToString::to_string),
            hb: s.life.as_ref().map(|x| (x.id, x.hb.clone())),
            seen: Mutex::new(seen),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Restart, Strategy};

    #[test]
    fn reloads_are_remembered_merged_per_child() {
        let shared = Shared::default();
        let s = Duration::from_secs(1);
        shared.remember(
            &Policy::new().strategy(Strategy::OneForAll),
            &[(
                "db".into(),
                Policy::new().restart(Restart::Transient).heartbeat(s),
            )],
        );
        shared.remember(
            &Policy::new(),
            &[
                ("db".into(), Policy::new().heartbeat(2 * s)),
                ("web".into(), Policy::new().restart(Restart::Temporary)),
            ],
        );
        let (own, children) = shared.overrides();
        assert_eq!(own.strategy, Some(Strategy::OneForAll), "kept");
        assert_eq!(
            children,
            [
                (
                    "db".to_string(),
                    Policy::new().restart(Restart::Transient).heartbeat(2 * s)
                ),
                ("web".to_string(), Policy::new().restart(Restart::Temporary)),
            ]
        );
    }
}
