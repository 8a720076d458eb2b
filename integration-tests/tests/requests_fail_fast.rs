//! docs/runtime-semantics.md §4 Request/reply: a request to a stopped server
//! errors at once; a reply dropped by a failing server errors at once; only
//! a server that is alive but silent costs the timeout.

use std::time::{Duration, Instant};

use threadbutler::RequestError;
use threadbutler::prelude::*;

pub struct Ask(pub Reply<u32>);
pub struct AskAndDie(pub Reply<u32>);
pub struct Ignore(pub Reply<u32>);
/// Answers every ignored request, late, with 13.
pub struct AnswerLate;
threadbutler::messages! { pub enum OracleMsg for Oracle { Ask, AskAndDie, Ignore, AnswerLate } }

#[derive(Default)]
pub struct Oracle {
    ignored: Vec<Reply<u32>>,
}

impl Server for Oracle {
    fn handle(&mut self, msg: OracleMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            OracleMsg::Ask(Ask(r)) => r.send(42),
            OracleMsg::AskAndDie(AskAndDie(_r)) => panic!("died holding the reply"),
            OracleMsg::Ignore(Ignore(r)) => self.ignored.push(r),
            OracleMsg::AnswerLate(AnswerLate) => {
                for r in self.ignored.drain(..) {
                    r.send(13);
                }
            }
        }
        Ok(())
    }
}

/// Far longer than any of these calls may take when they fail fast.
const LONG: Duration = Duration::from_secs(60);

#[test]
fn a_request_to_a_stopped_server_errors_at_once() {
    let hub = Hub::new();
    let addr = hub.spawn("oracle", Oracle::default).expect("starts");
    assert_eq!(addr.request(Ask).expect("alive"), 42);
    hub.stop("oracle").expect("stopped");
    let t = Instant::now();
    let r = hub.request_timeout(Ask, LONG);
    assert!(matches!(r, Err(RequestError::NoRoute(Ask(_), _))), "{r:?}");
    let r = addr.request_timeout(Ask, LONG);
    assert!(matches!(r, Err(RequestError::Closed(_))), "{r:?}");
    assert!(
        t.elapsed() < LONG / 2,
        "errored without waiting for the timeout"
    );
}

#[test]
fn a_reply_dropped_by_a_failing_server_errors_at_once() {
    let hub = Hub::new();
    hub.spawn("oracle", Oracle::default).expect("starts");
    let t = Instant::now();
    let r = hub.request_timeout(AskAndDie, LONG);
    assert!(matches!(r, Err(RequestError::Dropped)), "{r:?}");
    assert!(
        t.elapsed() < LONG / 2,
        "errored without waiting for the timeout"
    );
    let report = hub.join("oracle").expect("known");
    assert!(matches!(report.reason, Some(ExitReason::Panicked { .. })));
}

#[test]
fn an_unanswered_request_times_out() {
    let hub = Hub::new();
    hub.spawn("oracle", Oracle::default).expect("starts");
    let r = hub.request_timeout(Ignore, Duration::from_millis(20));
    assert!(matches!(r, Err(RequestError::Timeout)), "{r:?}");
    hub.shutdown().expect("shutdown");
}

#[test]
fn the_hub_default_request_timeout_applies() {
    let hub = Hub::builder("short")
        .request_timeout(Duration::from_millis(20))
        .build();
    hub.spawn("oracle", Oracle::default).expect("starts");
    let r = hub.request(Ignore);
    assert!(matches!(r, Err(RequestError::Timeout)), "{r:?}");
    hub.shutdown().expect("shutdown");
}

#[test]
fn a_late_answer_to_a_timed_out_request_never_reaches_a_later_one() {
    let hub = Hub::new();
    hub.spawn("oracle", Oracle::default).expect("starts");
    for _ in 0..3 {
        let r = hub.request_timeout(Ignore, Duration::from_millis(5));
        assert!(matches!(r, Err(RequestError::Timeout)), "{r:?}");
    }
    // The late answers (13) go out while this thread asks again (42).
    hub.send(AnswerLate).expect("sent");
    for _ in 0..10 {
        assert_eq!(hub.request(Ask).expect("answered"), 42);
    }
    hub.shutdown().expect("shutdown");
}

#[test]
fn a_request_given_back_unsent_does_not_disturb_later_requests() {
    let hub = Hub::new();
    hub.spawn("oracle", Oracle::default).expect("starts");
    hub.stop("oracle").expect("stopped");
    // Not sent: the message (holding its Reply) comes back to us.
    let kept = match hub.request(Ask) {
        Err(RequestError::NoRoute(m, _)) => m,
        other => panic!("expected NoRoute, got {other:?}"),
    };
    let hub2 = Hub::new();
    hub2.spawn("oracle", Oracle::default).expect("starts");
    let a = hub2.address::<Oracle>("oracle").expect("registered");
    // Dropping the returned Reply while a new request is in flight on this
    // thread must not be taken for the new request's answer.
    let dropper = std::thread::spawn(move || drop(kept));
    assert_eq!(a.request(Ask).expect("answered"), 42);
    dropper.join().expect("dropper");
    assert_eq!(a.request(Ask).expect("answered"), 42);
    hub2.shutdown().expect("shutdown");
}
