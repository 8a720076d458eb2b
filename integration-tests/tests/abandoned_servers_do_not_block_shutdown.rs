//! docs/runtime-semantics.md §6 Stopping, "Abandonment": a server that
//! ignores its stop past the grace is reported Abandoned and the shutdown
//! goes on; it takes no further message.

use std::time::Duration;

use integration_tests::{Gate, hub_with_dead_letters};
use threadbutler::prelude::*;

pub struct Stuck;
pub struct Later;
threadbutler::messages! { pub enum StubbornMsg for Stubborn { Stuck, Later } }

pub struct Stubborn {
    gate: Gate,
    handled_later: integration_tests::Count,
}

impl Server for Stubborn {
    fn handle(&mut self, msg: StubbornMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            StubbornMsg::Stuck(Stuck) => self.gate.enter(),
            StubbornMsg::Later(Later) => self.handled_later.bump(),
        }
        Ok(())
    }
}

pub struct Fine;
threadbutler::messages! { pub enum FineMsg for FineServer { Fine } }
pub struct FineServer;
impl Server for FineServer {
    fn handle(&mut self, _: FineMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_server_that_ignores_stop_is_abandoned_and_the_shutdown_goes_on() {
    let gate = Gate::new();
    let later = integration_tests::Count::default();
    let (builder, dead) = hub_with_dead_letters("abandon");
    let hub = builder.abandon_after(Duration::from_millis(30)).build();
    hub.spawn("fine", || FineServer).expect("starts");
    let (g, l) = (gate.clone(), later.clone());
    let addr = hub
        .server("stubborn", move || Stubborn {
            gate: g.clone(),
            handled_later: l.clone(),
        })
        .shutdown(Shutdown::Drain(Duration::from_millis(30)))
        .spawn()
        .expect("starts");
    addr.send(Stuck).expect("sent");
    gate.wait_arrival();
    addr.send(Later).expect("queued behind the stuck one");

    let report = hub
        .shutdown()
        .expect("shutdown returns despite the stuck server");
    assert_eq!(report.abandoned, ["abandon/stubborn"]);
    assert!(report.exit_of("stubborn").is_none(), "no life ended");
    assert!(
        report
            .drain_deadline_missed
            .iter()
            .any(|(path, left)| path == "abandon/stubborn" && *left > 0),
        "{report:?}"
    );
    assert!(matches!(report.exit_of("fine"), Some(ExitReason::Shutdown)));
    assert!(!report.is_clean());
    let d = dead
        .recv_timeout(integration_tests::PATIENCE)
        .expect("Later was dead-lettered");
    assert_eq!(d.message_type, "Later");

    // Let the stuck handler finish: the abandoned thread takes nothing more.
    gate.open(1);
    integration_tests::wait_until("the abandoned thread ends", || addr.stats().handled == 1);
    assert_eq!(
        later.get(),
        0,
        "the abandoned thread took no further message"
    );
}
