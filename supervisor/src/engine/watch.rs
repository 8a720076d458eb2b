//! Heartbeat checks: a life busy without progress for its timeout is hung
//! (§11.14), whether it runs or drains.

use std::sync::Arc;
use std::time::Instant;

use crate::event::Event;
use crate::{ExitReason, StopIntent, StopMode};

use super::slot::{Phase, Then};
use super::state::Engine;

impl Engine {
    /// Samples every watched heartbeat due; a hung running life is stopped
    /// (queue kept) and handled as a `HeartbeatMissed` failure once it
    /// ended or was abandoned; a hung draining life is stopped at once, and
    /// the drain's promise may replace it.
    pub(super) fn check_heartbeats(&mut self, now: Instant) {
        let mut hung = Vec::new();
        for s in self.slots.iter_mut() {
            let draining = matches!(&s.phase, Phase::Stopping(st) if st.mode == StopMode::Drain);
            if !(matches!(s.phase, Phase::Running) || draining) {
                continue;
            }
            let (Some(timeout), Some(life)) = (s.spec.heartbeat, s.life.as_mut()) else {
                continue;
            };
            if life.hung(now, timeout) {
                hung.push((s.key, life.id, timeout));
            }
        }
        for (key, id, timeout) in hung {
            let Some(i) = self.slot_of(key) else { continue };
            // Book local restarts first: the hung life may have ended and
            // been replaced since it was sampled; then it is not hung.
            self.hold(i);
            if self.slots[i].life_id() != Some(id) {
                self.sync_gate(i);
                continue;
            }
            let reason = ExitReason::HeartbeatMissed { timeout };
            self.emit(Event::HeartbeatMissed {
                child: Arc::clone(&self.slots[i].path),
                id,
                timeout,
            });
            match &mut self.slots[i].phase {
                Phase::Stopping(st) => {
                    st.report_as = Some(reason);
                    st.mode = StopMode::Immediate;
                    st.deadline = crate::clock::after(now, self.grace);
                    if let Some(life) = &self.slots[i].life {
                        life.stop.request(StopMode::Immediate);
                    }
                    self.touch(i);
                }
                _ => self.begin_stop(
                    i,
                    StopIntent::Restart,
                    Then::Decide(reason.clone()),
                    Some(reason),
                ),
            }
        }
    }
}
