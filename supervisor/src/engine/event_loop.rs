//! The loop: wait for a worker event, a control request, the own stop, a
//! jump of a virtual clock or the next deadline; then do what is due.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Select;

use crate::child::StartNotice;
use crate::event::Event;
use crate::worker::WorkerEvent;
use crate::{ExitReason, StopMode};

use super::requests::Control;
use super::slot::{Ended, Phase};
use super::state::Engine;

/// What woke the loop.
enum Woke {
    Event(WorkerEvent),
    Control(Control),
    Other,
}

impl Engine {
    /// Runs this life of the supervisor: start the children, give the
    /// notice once all started, supervise until stopped or giving up.
    pub(crate) fn run(mut self, started: StartNotice) -> ExitReason {
        self.begin_initial_start(started);
        let reason = loop {
            if let Some(r) = self.step() {
                break r;
            }
            let deadline = self.next_deadline();
            self.heartbeat.set_busy(false);
            let woke = self.wait(deadline);
            self.heartbeat.set_busy(true);
            self.heartbeat.bump();
            match woke {
                Woke::Event(ev) => self.on_worker_event(ev),
                Woke::Control(c) => self.on_control(c),
                Woke::Other => {}
            }
        };
        self.end_life();
        // Every child is done: now the threads retired on the way may be
        // waited for (their ends run thread-local destructors).
        for t in std::mem::take(&mut self.retired_threads) {
            let _ = t.join();
        }
        reason
    }

    /// Does everything that is due now; the reason once this life is over.
    fn step(&mut self) -> Option<ExitReason> {
        self.book_local_restarts();
        self.check_own_stop();
        let now = self.now();
        self.expire(now);
        self.check_heartbeats(now);
        self.advance_group();
        self.start_due(now);
        self.advance_startup();
        self.advance_closing()
    }

    /// The earliest instant at which something is due: a start or stop
    /// deadline, a backoff's end, a heartbeat sample.
    fn next_deadline(&self) -> Option<Instant> {
        let now = self.now();
        let mut d: Option<Instant> = None;
        let mut take = |t: Instant| d = Some(d.map_or(t, |x| x.min(t)));
        for (i, s) in self.slots.iter().enumerate() {
            match &s.phase {
                // Due and free to start (past its time: at once).
                Phase::Due {
                    at: Some(at),
                    after,
                } if self.closing.is_none() && self.may_follow(i, *after) => take(*at),
                Phase::Starting { deadline } => take(*deadline),
                Phase::Stopping(st) => take(st.deadline),
                _ => {}
            }
            let watched = matches!(s.phase, Phase::Running)
                || matches!(&s.phase, Phase::Stopping(st) if st.mode == StopMode::Drain);
            if watched && let (Some(timeout), Some(life)) = (s.spec.heartbeat, &s.life) {
                take(life.next_sample(now, timeout));
            }
        }
        d
    }

    fn wait(&self, deadline: Option<Instant>) -> Woke {
        if deadline.is_some_and(|d| d <= self.now()) {
            return Woke::Other;
        }
        let mut sel = Select::new();
        let ev = sel.recv(&self.ev_rx);
        // A superseded life takes no requests: they are the current one's.
        let ctl = if self.superseded() {
            usize::MAX
        } else {
            sel.recv(&self.control)
        };
        let stop = sel.recv(self.stop.waker());
        let jump = self.jumps.as_ref().map(|j| sel.recv(j));
        let op = match (deadline, &self.jumps) {
            // A virtual clock: its jumps wake us to look again.
            (_, Some(_)) | (None, None) => sel.select(),
            (Some(d), None) => match sel.select_deadline(d) {
                Ok(op) => op,
                Err(_) => return Woke::Other,
            },
        };
        let i = op.index();
        if i == ev {
            // We hold a sender: the channel cannot be disconnected.
            op.recv(&self.ev_rx).map_or(Woke::Other, Woke::Event)
        } else if i == ctl {
            // The `SupervisorChild` holds the sender while the engine runs.
            op.recv(&self.control).map_or(Woke::Other, Woke::Control)
        } else if i == stop {
            let _ = op.recv(self.stop.waker());
            Woke::Other
        } else {
            debug_assert_eq!(Some(i), jump);
            if let Some(j) = &self.jumps {
                let _ = op.recv(j);
            }
            Woke::Other
        }
    }

    /// A worker reports a start or an exit.
    fn on_worker_event(&mut self, ev: WorkerEvent) {
        // Local restarts come before anything their new lives report.
        self.book_local_restarts();
        match ev {
            WorkerEvent::Started { key, id } => {
                if let Some(i) = self.slot_of(key) {
                    self.on_started(i, id);
                }
            }
            WorkerEvent::Exited { key, id, reason } => {
                let Some(i) = self.slot_of(key) else { return };
                if self.slots[i].life_id() != Some(id) {
                    return; // an abandoned life ending late
                }
                let now = self.now();
                self.slots[i].end_life(now);
                match self.slots[i].phase {
                    Phase::Starting { .. } => self.start_failed(i, reason, true),
                    Phase::Stopping(_) => self.stop_ended(i, Ended::Exited(reason)),
                    _ => {
                        self.emit(Event::Exited {
                            child: Arc::clone(&self.slots[i].path),
                            id,
                            reason: reason.clone(),
                        });
                        self.ended(i, reason);
                    }
                }
            }
        }
    }
}
