//! docs/runtime-semantics.md §7 Failures: a panic or `Err` ends that server
//! with an exit reason holding the panic text or error; the message in flight
//! is dead-lettered exactly once and never retried; the program goes on.

use integration_tests::{Count, hub_with_dead_letters};
use threadbutler::prelude::*;

pub struct Job(pub u32);
threadbutler::messages! { pub enum FragileMsg for Fragile { Job } }

pub struct Fragile {
    calls_for_3: Count,
    fail_with_err: bool,
}

impl Server for Fragile {
    fn handle(&mut self, msg: FragileMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let FragileMsg::Job(Job(n)) = msg;
        if n == 3 {
            self.calls_for_3.bump();
            if self.fail_with_err {
                return Err(format!("job {n} is invalid").into());
            }
            panic!("job {n} is cursed");
        }
        Ok(())
    }
}

fn run(fail_with_err: bool) -> (threadbutler::StopReport, Vec<DeadLetter>, usize) {
    let calls = Count::default();
    let (builder, dead) = hub_with_dead_letters("fragile");
    let hub = builder.build();
    let c = calls.clone();
    let addr = hub
        .spawn("fragile", move || Fragile {
            calls_for_3: c.clone(),
            fail_with_err,
        })
        .expect("starts");
    // Another server on the same hub keeps running: the program goes on.
    let bystander = hub.spawn("bystander", move || Fragile {
        calls_for_3: Count::default(),
        fail_with_err: false,
    });
    let bystander = bystander.expect("bystander starts");
    let mut accepted = 0;
    for n in 1..=6 {
        if addr.send(Job(n)).is_ok() {
            accepted += 1;
        }
    }
    let report = hub.join("fragile").expect("known");
    bystander.send(Job(1)).expect("the bystander still runs");
    let report_all = hub.shutdown().expect("shutdown");
    assert!(matches!(
        report_all.exit_of("bystander"),
        Some(ExitReason::Shutdown)
    ));
    assert_eq!(
        report.mailbox.expect("a server has a mailbox").accepted,
        accepted
    );
    (report, dead.try_iter().collect(), calls.get())
}

#[test]
fn a_panic_dead_letters_the_message_in_flight_exactly_once() {
    let (report, letters, calls) = run(false);
    match &report.reason {
        Some(ExitReason::Panicked { stage, message }) => {
            assert_eq!(*stage, Stage::Handle);
            assert_eq!(message, "job 3 is cursed");
        }
        other => panic!("expected a panic exit, got {other:?}"),
    }
    assert_eq!(calls, 1, "the failing message is never retried");
    let in_flight: Vec<_> = letters
        .iter()
        .filter(|d| matches!(d.reason, DeadReason::InFlight(_)))
        .collect();
    assert_eq!(in_flight.len(), 1);
    assert_eq!(in_flight[0].message_type, "Job");
    assert!(in_flight[0].payload.is_none(), "the handler consumed it");
    match &in_flight[0].reason {
        DeadReason::InFlight(ExitReason::Panicked { message, .. }) => {
            assert_eq!(message, "job 3 is cursed")
        }
        other => panic!("unexpected reason {other:?}"),
    }
    // Jobs 1 and 2 were handled; everything after 3 that got in is dead.
    assert_eq!(report.mailbox.expect("a server has a mailbox").handled, 2);
    let s = report.mailbox.expect("a server has a mailbox");
    assert_eq!(s.accepted, s.handled + s.dead_lettered);
    assert_eq!(s.dead_lettered as usize, letters.len());
}

#[test]
fn an_err_ends_the_server_with_the_error() {
    let (report, letters, calls) = run(true);
    match &report.reason {
        Some(ExitReason::Failed { stage, error }) => {
            assert_eq!(*stage, Stage::Handle);
            assert_eq!(error.to_string(), "job 3 is invalid");
        }
        other => panic!("expected a failed exit, got {other:?}"),
    }
    assert_eq!(calls, 1);
    assert_eq!(
        letters
            .iter()
            .filter(|d| matches!(d.reason, DeadReason::InFlight(_)))
            .count(),
        1
    );
}

pub struct Broken;
pub struct Ping;
threadbutler::messages! { pub enum BrokenMsg for Broken { Ping } }
impl Server for Broken {
    fn on_start(&mut self, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Err("no database".into())
    }
    fn handle(&mut self, _: BrokenMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_failed_start_is_an_error_naming_the_server_and_cause_and_frees_the_name() {
    let hub = Hub::new();
    match hub.spawn("broken", || Broken) {
        Err(threadbutler::SpawnError::StartFailed { name, reason }) => {
            assert_eq!(name, "broken");
            assert_eq!(reason.to_string(), "on_start failed: no database");
        }
        other => panic!("expected StartFailed, got {other:?}"),
    }
    assert!(hub.names().is_empty(), "nothing is left registered");
}

pub struct PanicsInFactory;
threadbutler::messages! { pub enum PifMsg for PanicsInFactory { Job(crate::Job2) } }
pub struct Job2;
impl Server for PanicsInFactory {
    fn handle(&mut self, _: PifMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_panicking_factory_is_a_failed_start() {
    let hub = Hub::new();
    let r = hub.spawn::<PanicsInFactory, _>("pif", || panic!("config missing"));
    match r {
        Err(threadbutler::SpawnError::StartFailed {
            reason: ExitReason::Panicked { stage, message },
            ..
        }) => {
            assert_eq!(stage, Stage::Init);
            assert_eq!(message, "config missing");
        }
        other => panic!("expected StartFailed, got {other:?}"),
    }
}
