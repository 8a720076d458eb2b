//! docs/runtime-semantics.md §1 Routing: the type decides the mailbox; a type
//! served by several named instances must be sent through an address.

use threadbutler::prelude::*;
use threadbutler::{NoRoute, SendError};

pub struct Incr;
pub struct Get(pub Reply<u32>);
threadbutler::messages! { pub enum CellMsg for Cell { Incr, Get } }

#[derive(Default)]
pub struct Cell(u32);
impl Server for Cell {
    fn handle(&mut self, msg: CellMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            CellMsg::Incr(Incr) => self.0 += 1,
            CellMsg::Get(Get(r)) => r.send(self.0),
        }
        Ok(())
    }
}

#[test]
fn several_named_instances_of_one_server_type_run_side_by_side() {
    let hub = Hub::new();
    let a = hub.spawn("a", Cell::default).expect("a");
    let b = hub.spawn("b", Cell::default).expect("b");
    a.send(Incr).expect("a");
    a.send(Incr).expect("a");
    b.send(Incr).expect("b");
    assert_eq!(a.request(Get).expect("a"), 2);
    assert_eq!(b.request(Get).expect("b"), 1);
    // By type alone the hub cannot choose, and says so.
    match hub.send(Incr) {
        Err(SendError::NoRoute(Incr, NoRoute::Ambiguous { names, .. })) => {
            assert_eq!(names.len(), 2)
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    // Named lookup finds each; a wrong endpoint type finds nothing.
    assert_eq!(
        hub.address::<Cell>("b")
            .expect("b")
            .request(Get)
            .expect("b"),
        1
    );
    struct Other;
    threadbutler::messages! { enum OtherMsg for Other { Nothing } }
    struct Nothing;
    assert!(hub.address::<Other>("b").is_none());
    hub.shutdown().expect("shutdown");
}

#[test]
fn a_name_is_unique_while_its_server_lives_and_free_after() {
    let hub = Hub::new();
    hub.spawn("cell", Cell::default).expect("first");
    assert!(matches!(
        hub.spawn("cell", Cell::default),
        Err(threadbutler::SpawnError::NameTaken { .. })
    ));
    hub.stop("cell").expect("stopped");
    let again = hub
        .spawn("cell", Cell::default)
        .expect("the name is free again");
    again.send(Incr).expect("sent");
    assert_eq!(hub.request(Get).expect("routed to the new one"), 1);
    hub.shutdown().expect("shutdown");
}

#[test]
fn a_zero_capacity_is_rejected() {
    let hub = Hub::new();
    let r = hub
        .server("cell", Cell::default)
        .capacity(Capacity::Bounded(0))
        .spawn();
    assert!(matches!(
        r,
        Err(threadbutler::SpawnError::InvalidCapacity { .. })
    ));
}

#[test]
fn an_unbounded_mailbox_never_reports_full() {
    let hub = Hub::new();
    let a = hub
        .server("cell", Cell::default)
        .capacity(Capacity::Unbounded)
        .spawn()
        .expect("starts");
    for _ in 0..10_000 {
        a.try_send(Incr).expect("never full");
    }
    assert_eq!(a.request(Get).expect("get"), 10_000);
    hub.shutdown().expect("shutdown");
}
