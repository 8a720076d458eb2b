//! DESIGN rules 1 and 10, docs/runtime-semantics.md §11.6, §11.12-13: when
//! a `OneForAll` or `RestForOne` parent restarts a nested supervisor
//! because a sibling failed, that stop is a restart, not a final stop, and
//! the nested supervisor passes that on to its children: their mailboxes
//! stay open, what was queued before the restart is handled by the next
//! lives, sends keep working, and nothing is dead-lettered.
//!
//! To have messages queued at the moment of the restart, the grandchild is
//! held in a handler that returns only once its stop has reached it, with
//! work queued behind it; then the sibling fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, after, unbounded};
use integration_tests::PATIENCE;
use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Probe, ProbeConfig};
use threadbutler::prelude::*;

/// Says it arrived, then stays in the handler until its life is asked to
/// stop (or PATIENCE passed).
pub struct Hold(pub Sender<u64>);
/// Counted work.
pub struct Work;
/// How much work was handled, over all lives, and by which life this is.
pub struct Done(pub Reply<(usize, u64)>);
threadbutler::messages! { pub enum LeafMsg for Leaf { Hold, Work, Done } }

pub struct Leaf {
    done: Arc<AtomicUsize>,
}

impl Server for Leaf {
    fn handle(&mut self, msg: LeafMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            LeafMsg::Hold(Hold(arrived)) => {
                let _ = arrived.send(ctx.id());
                let give_up = Instant::now() + PATIENCE;
                while !ctx.should_stop() && Instant::now() < give_up {
                    let _ = after(Duration::from_millis(1)).recv();
                }
            }
            LeafMsg::Work(Work) => {
                self.done.fetch_add(1, Ordering::SeqCst);
            }
            LeafMsg::Done(Done(reply)) => reply.send((self.done.load(Ordering::SeqCst), ctx.id())),
        }
        Ok(())
    }
}

const QUEUED: usize = 5;

/// `app` (with `strategy`) over `trigger` (a probe) and then `inner`, a
/// nested supervisor of one server, `leaf`. `leaf` is held with work
/// queued, `trigger` crashes, and the parent restarts `inner` with it.
fn collateral_restart(strategy: Strategy) {
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    let app = Butler::builder("app")
        .strategy(strategy)
        .intensity(10, Duration::from_secs(60))
        .server("trigger", Probe::factory(ProbeConfig::default()))
        .supervisor("inner", move |s| {
            s.server("leaf", move || Leaf {
                done: Arc::clone(&d),
            })
        })
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    let leaf = app.hub().address::<Leaf>("leaf").expect("registered");
    let trigger = app.hub().address::<Probe>("trigger").expect("registered");

    let (arrived_tx, arrived) = unbounded();
    leaf.send(Hold(arrived_tx)).expect("sent");
    let held_life = arrived.recv_timeout(PATIENCE).expect("leaf is held");
    for _ in 0..QUEUED {
        leaf.send(Work).expect("queued behind the held message");
    }

    trigger.send(Crash).expect("sent");
    events.wait("Restarting", "app/inner");
    let Event::Started { id: new_life, .. } = events.wait("Started", "app/inner/leaf") else {
        unreachable!()
    };
    assert_ne!(new_life, held_life, "the grandchild restarted with inner");
    events.wait("Started", "app/inner");

    let answer = leaf.request(Done);
    let stats = leaf.stats();
    let (handled, by) = match answer {
        Ok(a) => a,
        Err(e) => panic!(
            "the grandchild restarted as collateral refuses its mail ({e}); its mailbox: \
             {stats:?}; events: {:#?}",
            events.lines()
        ),
    };
    assert_eq!(
        handled, QUEUED,
        "what was queued before the restart was handled after it; mailbox {stats:?}"
    );
    assert_eq!(by, new_life, "by the new life");
    leaf.send(Work).expect("sends keep working");
    assert_eq!(
        leaf.request(Done).expect("answers").0,
        QUEUED + 1,
        "and are handled"
    );
    let s = leaf.stats();
    assert_eq!(s.dead_lettered, 0, "nothing was dead-lettered: {s:?}");
    assert_eq!(
        (s.accepted, s.handled, s.queued),
        (QUEUED as u64 + 4, QUEUED as u64 + 4, 0),
        "the Hold, the work, two Done and one more Work, all handled: {s:?}"
    );
    let lines = events.lines();
    assert!(
        !lines
            .iter()
            .any(|l| l == "ShutdownBegan app/inner" || l == "Stopped app/inner/leaf"),
        "a collateral restart is no final stop: {lines:#?}"
    );

    app.shutdown();
    let report = app.wait().expect("a requested shutdown");
    assert!(report.is_clean(), "{report:?}");
}

#[test]
fn one_for_all_restarts_a_nested_supervisor_with_its_mailboxes_open() {
    collateral_restart(Strategy::OneForAll);
}

#[test]
fn rest_for_one_restarts_a_nested_supervisor_with_its_mailboxes_open() {
    collateral_restart(Strategy::RestForOne);
}
