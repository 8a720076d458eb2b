//! ThreadButler's own test, kept: a server answers 10 requests with 10
//! replies in order; its start and stop hooks run exactly once each; its
//! thread has ended when the shutdown returns.
//! docs/runtime-semantics.md §4 Request/reply, §5 Lifecycle.

use integration_tests::Count;
use threadbutler::prelude::*;

pub struct Request {
    n: u32,
    reply: Reply<String>,
}

threadbutler::messages! { pub enum ResponderMsg for Responder { Request } }

pub struct Responder {
    started: Count,
    stopped: Count,
    dropped: Count,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.dropped.bump();
    }
}

impl Server for Responder {
    fn on_start(&mut self, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        self.started.bump();
        Ok(())
    }

    fn handle(&mut self, msg: ResponderMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let ResponderMsg::Request(Request { n, reply }) = msg;
        reply.send(format!("Response to: Request {n}"));
        Ok(())
    }

    fn on_stop(&mut self, reason: &ExitReason, _: &mut Ctx<Self>) {
        assert!(matches!(reason, ExitReason::Shutdown), "stopped by request");
        self.stopped.bump();
    }
}

#[test]
fn ten_requests_get_ten_replies_in_order_and_hooks_run_once() {
    let (started, stopped, dropped) = (Count::default(), Count::default(), Count::default());
    let hub = Hub::new();
    let (s, t, d) = (started.clone(), stopped.clone(), dropped.clone());
    hub.spawn("responder", move || Responder {
        started: s.clone(),
        stopped: t.clone(),
        dropped: d.clone(),
    })
    .expect("responder starts");
    assert_eq!(started.get(), 1, "on_start ran before spawn returned");

    let replies: Vec<String> = (0..10)
        .map(|n| hub.request(|reply| Request { n, reply }).expect("a reply"))
        .collect();
    let want: Vec<String> = (0..10)
        .map(|n| format!("Response to: Request {n}"))
        .collect();
    assert_eq!(replies, want);

    let report = hub.shutdown().expect("shutdown");
    assert!(matches!(
        report.exit_of("responder"),
        Some(ExitReason::Shutdown)
    ));
    assert_eq!(started.get(), 1);
    assert_eq!(stopped.get(), 1);
    // The server value was dropped on its thread, which has been joined.
    assert_eq!(dropped.get(), 1);
    let (_, responder) = report
        .mailboxes
        .iter()
        .find(|(name, _)| name == "responder")
        .expect("reported");
    assert_eq!(responder.handled, 10);
}
