//! docs/runtime-semantics.md §9 Heartbeats: a server publishes a progress
//! count (one per finished message and per `ctx.beat()`) and a busy flag
//! (set while it works, clear while it waits for mail).

use integration_tests::{Gate, wait_until};
use threadbutler::prelude::*;

pub struct Long(pub u32);
pub struct Quick;
threadbutler::messages! { pub enum BeaterMsg for Beater { Long, Quick } }

pub struct Beater {
    gate: Gate,
}

impl Server for Beater {
    fn handle(&mut self, msg: BeaterMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            BeaterMsg::Long(Long(beats)) => {
                for _ in 0..beats {
                    ctx.beat();
                }
                self.gate.enter();
            }
            BeaterMsg::Quick(Quick) => {}
        }
        Ok(())
    }
}

#[test]
fn progress_counts_messages_and_beats_and_busy_tracks_work() {
    let gate = Gate::new();
    let hub = Hub::new();
    let g = gate.clone();
    let addr = hub
        .spawn("beater", move || Beater { gate: g.clone() })
        .expect("starts");

    wait_until("the server is idle", || {
        !hub.heartbeat("beater").expect("known").busy
    });
    let idle = hub.heartbeat("beater").expect("known");
    assert_eq!(idle.progress, 0);

    addr.send(Quick).expect("sent");
    wait_until("one message finished", || {
        hub.heartbeat("beater").expect("known").progress == 1
    });

    addr.send(Long(3)).expect("sent");
    gate.wait_arrival();
    let working = hub.heartbeat("beater").expect("known");
    assert!(working.busy, "busy inside a handler");
    assert_eq!(working.progress, 4, "one message and three beats");
    let again = hub.heartbeat("beater").expect("known");
    assert!(
        again.is_hung_since(&working),
        "busy with no progress looks hung to a watchdog"
    );

    gate.open(1);
    wait_until("idle again", || {
        let s = hub.heartbeat("beater").expect("known");
        !s.busy && s.progress == 5
    });
    hub.shutdown().expect("shutdown");
}
