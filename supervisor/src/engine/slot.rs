//! A child's slot in its supervisor: the spec, the life it runs now, and the
//! phase that life (or its absence) is in.
//!
//! # Phases
//!
//! ```text
//!            ┌────────────── start failed / ended, restart due ──────────────┐
//!            ▼                                                               │
//!  Idle ──▶ Due ──(at, and the one before it started)──▶ Starting ──▶ Running ┤
//!   ▲        ▲                                             │            │    │
//!   │        └──────────── stopped, restart due ───────────┴─▶ Stopping ◀┘    │
//!   └───────────────────────── stopped for good ◀───────────────┤             │
//!                                      Abandoned ◀── ignored its stop ┘        │
//! ```
//!
//! # Invariants
//!
//! 1. A slot has a life exactly while it is `Starting`, `Running` or
//!    `Stopping`; an `Abandoned` slot's last life is left behind and its
//!    worker thread with it.
//! 2. `Starting` and `Stopping` carry their deadline; `Due` carries the
//!    instant it may start (none while a group restart still stops the
//!    others) and the child that must have started first.
//! 3. Only a `Running` slot may be restarted by its worker on its own (the
//!    gate's per-child flag follows the phase; see `fast_restart`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::heartbeat::HeartbeatReader;
use crate::spec::ChildSpec;
use crate::status::ChildState;
use crate::worker::Worker;
use crate::{ExitReason, StopIntent, StopMode, StopSignal};

use super::requests::{ChildError, RemoveReport};

/// One life of a child, as its supervisor sees it.
pub(super) struct Lived {
    pub(super) id: u64,
    pub(super) stop: Arc<StopSignal>,
    pub(super) hb: HeartbeatReader,
    pub(super) started_at: Instant,
    /// True once its start notice arrived.
    pub(super) started: bool,
    /// Progress as last sampled, and since when it has been busy without
    /// moving.
    pub(super) watch: (u64, Option<Instant>),
}

impl Lived {
    pub(super) fn new(id: u64, stop: Arc<StopSignal>, hb: HeartbeatReader, at: Instant) -> Self {
        Lived {
            id,
            stop,
            hb,
            started_at: at,
            started: false,
            watch: (0, None),
        }
    }

    /// Samples the heartbeat at `now`: true if the life has been busy
    /// without progress for `timeout` (the two-sample rule of §9.2).
    pub(super) fn hung(&mut self, now: Instant, timeout: Duration) -> bool {
        let sample = self.hb.sample();
        if !sample.busy {
            self.watch = (sample.progress, None);
            return false;
        }
        match self.watch {
            (progress, Some(since)) if progress == sample.progress => {
                now.saturating_duration_since(since) >= timeout
            }
            _ => {
                self.watch = (sample.progress, Some(now));
                false
            }
        }
    }

    /// When this life should be sampled next, watched with `timeout`.
    pub(super) fn next_sample(&self, now: Instant, timeout: Duration) -> Instant {
        let step = crate::clock::after(now, sample_step(timeout));
        self.watch
            .1
            .map_or(step, |since| crate::clock::after(since, timeout).min(step))
    }
}

/// How often a heartbeat with `timeout` is sampled: at half of it, so that
/// a hang is seen within 1.5x.
pub(super) fn sample_step(timeout: Duration) -> Duration {
    (timeout / 2).max(Duration::from_millis(1))
}

/// Where a slot is in its lifecycle. See the module docs.
pub(super) enum Phase {
    /// Not running and not due to: never started, stopped, or retired.
    Idle,
    /// To start at `at` (`None`: held while a group restart stops the
    /// others), once the slot `after` is no longer starting.
    Due {
        at: Option<Instant>,
        after: Option<u64>,
    },
    /// A life was handed to the worker; its start notice is awaited.
    Starting {
        deadline: Instant,
    },
    Running,
    Stopping(Stopping),
    /// Its last life ignored its stop and was left behind.
    Abandoned,
}

/// A stop in progress.
pub(super) struct Stopping {
    pub(super) intent: StopIntent,
    /// The mode asked for now: a drain first, then immediate.
    pub(super) mode: StopMode,
    /// When the current mode runs out: a drain's timeout, then the grace.
    pub(super) deadline: Instant,
    /// For a final drain that keeps its promise (§11.16): the drain's own
    /// deadline, which lives started to go on draining share.
    pub(super) promise: Option<Instant>,
    /// Reported as the exit reason instead of the life's own (a missed
    /// heartbeat, a start timeout).
    pub(super) report_as: Option<ExitReason>,
    /// The life was stopped for a restart that a final stop cancelled: its
    /// successor is owed to the queue, failure or not.
    pub(super) owed: bool,
    /// What to do once the life ended or was abandoned.
    pub(super) then: Then,
}

/// What a stop leads to.
pub(super) enum Then {
    /// A policy decision on this reason (a missed heartbeat).
    Decide(ExitReason),
    /// A failed start with this reason (a start timeout).
    StartFailed(ExitReason),
    /// Nothing: a group restart or the closing goes on from here.
    Rest,
    /// `remove_child`: drop the slot and answer.
    Remove(Sender<Option<RemoveReport>>),
    /// `terminate_child`: keep the slot stopped and answer.
    Terminate(Sender<Result<(), ChildError>>),
}

/// Someone waiting for a slot's start.
pub(super) enum Waiter {
    /// `add_child`: a slot that does not start is dropped.
    Add(Sender<Result<(), ExitReason>>),
    /// `restart_child`.
    Restart(Sender<Result<(), ChildError>>),
}

impl Waiter {
    /// Answers with how the start went.
    pub(super) fn answer(self, name: &str, result: Result<(), ExitReason>) {
        match self {
            Waiter::Add(tx) => {
                let _ = tx.send(result);
            }
            Waiter::Restart(tx) => {
                let _ = tx.send(result.map_err(|reason| ChildError::StartFailed {
                    name: name.to_owned(),
                    reason,
                }));
            }
        }
    }
}

/// A child and everything its supervisor keeps about it.
pub(super) struct Slot {
    pub(super) key: u64,
    pub(super) spec: ChildSpec,
    pub(super) path: Arc<str>,
    pub(super) worker: Option<Worker>,
    pub(super) life: Option<Lived>,
    pub(super) phase: Phase,
    /// Consecutive restarts, for the backoff (reset after `reset_after`).
    pub(super) attempts: u32,
    pub(super) restarts: u64,
    pub(super) last_exit: Option<ExitReason>,
    pub(super) last_ran: Duration,
    /// Added at run time, not part of the spec.
    pub(super) dynamic: bool,
    /// Someone waits for this slot's next start (`add_child`, `restart_child`).
    pub(super) waiter: Option<Waiter>,
    /// Started to go on with a final drain: drain again once started.
    pub(super) resume: Option<Stopping>,
    /// Stopped for good with its work finished (retired): it runs again only
    /// through `restart_child`.
    pub(super) retired: bool,
    /// Told it stops for good (`on_final_stop`), and its queue's fate
    /// reported.
    pub(super) finalized: bool,
    /// A `Drained { left }` was said for the queue its final stop left.
    pub(super) left_reported: bool,
    /// Queued work given up since its removal was asked for (what a
    /// `RemoveReport` says).
    pub(super) given_up: u64,
    /// Stopped by `terminate_child`: nothing but `restart_child` starts it.
    pub(super) held: bool,
    /// The id of the life that ended last.
    pub(super) ended_id: Option<u64>,
}

impl Slot {
    pub(super) fn new(key: u64, spec: ChildSpec, path: Arc<str>) -> Self {
        Slot {
            key,
            spec,
            path,
            worker: None,
            life: None,
            phase: Phase::Idle,
            attempts: 0,
            restarts: 0,
            last_exit: None,
            last_ran: Duration::ZERO,
            dynamic: false,
            waiter: None,
            resume: None,
            retired: false,
            held: false,
            finalized: false,
            left_reported: false,
            given_up: 0,
            ended_id: None,
        }
    }

    /// Running, starting, or waiting to start: part of a group restart.
    pub(super) fn is_live(&self) -> bool {
        matches!(
            self.phase,
            Phase::Due { .. } | Phase::Starting { .. } | Phase::Running
        )
    }

    /// A life is being started or stopped: a deadline is running.
    pub(super) fn in_transition(&self) -> bool {
        matches!(self.phase, Phase::Starting { .. } | Phase::Stopping(_))
    }

    /// The life's id, if it has one.
    pub(super) fn life_id(&self) -> Option<u64> {
        self.life.as_ref().map(|l| l.id)
    }

    /// Takes the life that ended, noting how long it ran.
    pub(super) fn end_life(&mut self, now: Instant) -> Option<Lived> {
        let life = self.life.take()?;
        self.ended_id = Some(life.id);
        self.last_ran = now.saturating_duration_since(life.started_at);
        Some(life)
    }

    /// Counts one restart: the consecutive attempts (for the backoff; they
    /// start again after the last life ran `reset_after`) and the total.
    /// Returns the attempt's number.
    pub(super) fn count_restart(&mut self) -> u32 {
        if self.last_ran >= self.spec.backoff.reset_after {
            self.attempts = 0;
        }
        self.attempts = self.attempts.saturating_add(1);
        self.restarts += 1;
        self.attempts
    }

    /// The state the status tree shows.
    pub(super) fn state(&self) -> ChildState {
        match self.phase {
            Phase::Idle => ChildState::Stopped,
            Phase::Due { .. } => ChildState::Restarting,
            Phase::Starting { .. } => ChildState::Starting,
            Phase::Running => ChildState::Running,
            Phase::Stopping(_) => ChildState::Stopping,
            Phase::Abandoned => ChildState::Abandoned,
        }
    }
}

/// What a stop came to.
pub(super) enum Ended {
    /// The life ended, with its own reason.
    Exited(ExitReason),
    /// It ignored its stop past the grace and was left behind.
    Abandoned,
    /// There was no life to stop.
    NotRunning,
}
