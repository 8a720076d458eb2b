//! Carrying out OTP's restart decisions (see `plans.rs`): a child that
//! ended is restarted or retired; a restart counts towards the intensity,
//! waits out its backoff, and takes its group along.

use std::sync::Arc;

use crate::clock::after;
use crate::event::Event;
use crate::fast_restart;
use crate::{ExitReason, Restart, StopIntent, Strategy};

use super::plans::{Group, decide, group_of};
use super::slot::{Phase, Then};
use super::state::Engine;

impl Engine {
    /// The life of slot `i` ended on its own (or was ended for a missed
    /// heartbeat, or did not start): restart it by policy, or retire it.
    pub(super) fn ended(&mut self, i: usize, reason: ExitReason) {
        self.slots[i].last_exit = Some(reason.clone());
        self.slots[i].phase = Phase::Idle;
        self.sync_gate(i);
        if self.closing.is_some() {
            self.touch(i);
            return; // the closing decides what becomes of it
        }
        let key = self.slots[i].key;
        if let Some(g) = &mut self.group
            && g.members.contains(&key)
        {
            // A group restart already under way takes it along.
            g.to_stop.retain(|k| *k != key);
            self.slots[i].phase = Phase::Due {
                at: None,
                after: None,
            };
            self.touch(i);
            return;
        }
        if !decide(self.slots[i].spec.restart, &reason) {
            self.retire(i);
            return;
        }
        self.restart_from(i);
    }

    /// Retires slot `i`: it will not run again unless `restart_child` says
    /// so. `Temporary` specs are dropped.
    pub(super) fn retire(&mut self, i: usize) {
        let s = &mut self.slots[i];
        s.phase = Phase::Idle;
        s.retired = true;
        let child = Arc::clone(&s.spec.child);
        let worker = s.worker.take();
        let path = Arc::clone(&s.path);
        let temporary = s.spec.restart == Restart::Temporary;
        if let Some(w) = worker {
            self.retired_thread(w.retire());
        }
        if temporary {
            self.remove_slot(i);
        } else {
            self.sync_gate(i);
        }
        // The status shows it retired before anyone can see it retired
        // (a joiner woken by `on_retired`, a `Stopped` subscriber).
        self.publish();
        child.on_retired();
        self.emit(Event::Stopped { child: path });
    }

    /// Counts one restart in the intensity window if it allows one more;
    /// false (and nothing counted) if not.
    pub(super) fn admit_restart(&self) -> bool {
        let now = self.now();
        fast_restart::lock(&self.gate).window.try_record(now)
    }

    /// Applies the strategy after slot `i` ended with a restart due: counts
    /// the restart, then schedules it (and its group's) after the backoff.
    pub(super) fn restart_from(&mut self, i: usize) {
        let now = self.now();
        let (admitted, intensity) = {
            let mut g = fast_restart::lock(&self.gate);
            (g.window.record(now), g.window.intensity())
        };
        if !admitted {
            // It was to restart: the closing stops it like the others.
            self.slots[i].phase = Phase::Due {
                at: None,
                after: None,
            };
            self.emit(Event::GaveUp {
                supervisor: Arc::clone(&self.path),
                max_restarts: intensity.max_restarts,
                period: intensity.period,
            });
            self.begin_closing(
                false,
                ExitReason::GaveUp {
                    max_restarts: intensity.max_restarts,
                    period: intensity.period,
                },
            );
            return;
        }
        let attempt = self.slots[i].count_restart();
        let delay = self.slots[i]
            .spec
            .backoff
            .delay(attempt, self.rng.next_unit());
        let key = self.slots[i].key;
        if self.strategy == Strategy::OneForOne {
            self.slots[i].phase = Phase::Due {
                at: Some(after(now, delay)),
                after: None,
            };
            self.emit(Event::Restarting {
                child: Arc::clone(&self.slots[i].path),
                attempt,
                delay,
            });
            return;
        }
        let members = group_of(self.strategy, &self.slots, i);
        self.slots[i].phase = Phase::Due {
            at: None,
            after: None,
        };
        self.touch(i);
        let at = after(now, delay);
        let g = self.group.get_or_insert_with(|| Group {
            members: Vec::new(),
            to_stop: Vec::new(),
            counted: Vec::new(),
            at,
            delay,
            attempt,
        });
        g.at = g.at.max(at);
        g.delay = delay;
        g.attempt = attempt;
        g.counted.push(key);
        for k in members {
            if !g.members.contains(&k) {
                g.members.push(k);
            }
            if k != key && !g.to_stop.contains(&k) {
                g.to_stop.push(k);
            }
        }
        let order = |k: &u64| self.slots.iter().position(|s| s.key == *k);
        g.members.sort_by_key(order);
        g.to_stop.sort_by_key(order);
    }

    fn group_stopped(&mut self, k: u64) {
        if let Some(g) = &mut self.group {
            g.to_stop.retain(|x| *x != k);
        }
    }

    /// Moves a group restart on: stops the next member (in reverse order),
    /// and once all stopped, schedules every member's start in order.
    pub(super) fn advance_group(&mut self) {
        while let Some(&k) = self.group.as_ref().and_then(|g| g.to_stop.last()) {
            let Some(j) = self.slot_of(k) else {
                self.group_stopped(k);
                continue;
            };
            let held = self.slots[j].held;
            match &mut self.slots[j].phase {
                Phase::Running | Phase::Starting { .. } => {
                    return self.begin_stop(j, StopIntent::Restart, Then::Rest, None);
                }
                Phase::Stopping(st) => {
                    // Already on its way to a restart of its own: the group's
                    // restart replaces it.
                    if matches!(st.then, Then::Decide(_) | Then::StartFailed(_)) {
                        st.then = Then::Rest;
                    }
                    return;
                }
                Phase::Idle | Phase::Abandoned if !held => {
                    // Stopped for the group: it waits for the group's start
                    // (not stopped: `restart_child` cannot take it).
                    self.slots[j].phase = Phase::Due {
                        at: None,
                        after: None,
                    };
                    self.touch(j);
                    self.group_stopped(k);
                }
                _ => self.group_stopped(k),
            }
        }
        let Some(g) = self.group.take() else { return };
        let mut before = None;
        for k in g.members {
            let Some(j) = self.slot_of(k) else { continue };
            let waiting = matches!(
                self.slots[j].phase,
                Phase::Due { .. } | Phase::Idle | Phase::Abandoned
            );
            if self.slots[j].held || !waiting {
                continue;
            }
            if !g.counted.contains(&k) && self.slots[j].spec.restart == Restart::Temporary {
                self.retire(j);
                continue;
            }
            let attempt = if g.counted.contains(&k) {
                g.attempt
            } else {
                self.slots[j].restarts += 1;
                self.slots[j].attempts.max(1)
            };
            self.slots[j].phase = Phase::Due {
                at: Some(g.at),
                after: before,
            };
            before = Some(k);
            self.emit(Event::Restarting {
                child: Arc::clone(&self.slots[j].path),
                attempt,
                delay: g.delay,
            });
        }
    }
}
