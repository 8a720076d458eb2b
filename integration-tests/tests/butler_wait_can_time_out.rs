//! `Butler::wait_timeout`: like `wait`, but gives up after a timeout and
//! leaves the Butler as it was (docs/runtime-semantics.md §11.8 for what
//! `wait` reports).

use std::time::{Duration, Instant};

use integration_tests::PATIENCE;
use integration_tests::events::EventLog;
use threadbutler::Error;
use threadbutler::prelude::*;

pub struct Echo(pub u32, pub Reply<u32>);
pub struct Crash;
threadbutler::messages! { pub enum EchoerMsg for Echoer { Echo, Crash } }

pub struct Echoer;

impl Server for Echoer {
    fn handle(&mut self, msg: EchoerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            EchoerMsg::Echo(Echo(n, reply)) => reply.send(n),
            EchoerMsg::Crash(Crash) => panic!("crash"),
        }
        Ok(())
    }
}

#[test]
fn a_running_tree_times_out_and_the_butler_stays_usable() {
    let app = Butler::builder("app")
        .server("echoer", || Echoer)
        .start()
        .expect("starts");
    let timeout = Duration::from_millis(50);
    let began = Instant::now();
    assert!(
        app.wait_timeout(timeout).is_none(),
        "nothing asked it to end"
    );
    assert!(began.elapsed() >= timeout, "it waited the whole timeout");

    // Nothing was torn down by the timeout: the tree serves, and can be
    // waited for again.
    assert_eq!(app.hub().request(|r| Echo(7, r)).expect("answered"), 7);
    assert!(app.wait_timeout(Duration::ZERO).is_none());
    app.shutdown();
    let report = app
        .wait_timeout(PATIENCE)
        .expect("ended in time")
        .expect("a requested shutdown");
    assert!(report.is_clean());
    let (_, echoer) = report
        .mailboxes
        .iter()
        .find(|(name, _)| name == "echoer")
        .expect("listed");
    assert_eq!(echoer.handled, 1);

    // Once ended, every wait gives the same answer at once.
    assert!(app.wait_timeout(Duration::ZERO).is_some());
    assert!(app.wait().expect("the same report").is_clean());
}

#[test]
fn a_tree_that_gave_up_is_reported_as_a_failure() {
    let app = Butler::builder("app")
        .intensity(0, Duration::from_secs(60))
        .server("echoer", || Echoer)
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    events.wait("GaveUp", "app");
    match app.wait_timeout(PATIENCE) {
        Some(Err(Error::Failed {
            reason: ExitReason::GaveUp {
                max_restarts: 0, ..
            },
        })) => {}
        other => panic!("expected the root's giving up, got {other:?}"),
    }
    let err = app.wait().expect_err("still the same failure");
    assert_eq!(err.exit_code(), 1);
}
