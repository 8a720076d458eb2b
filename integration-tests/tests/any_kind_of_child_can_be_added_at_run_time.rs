//! docs/runtime-semantics.md §11.26: children are added to a running tree
//! with the builder's own declarations (a pool, a nested supervisor, a
//! thread, a server with its options), in order; a failure leaves nothing
//! of the call behind.

use threadbutler::prelude::*;
use threadbutler::{ChildState, Error, SpawnError};

pub struct Double(pub u32, pub Reply<u32>);
threadbutler::messages! { pub enum WorkerMsg for Worker { Double } }
pub struct Worker;
impl Server for Worker {
    fn handle(&mut self, msg: WorkerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let WorkerMsg::Double(Double(n, reply)) = msg;
        reply.send(n * 2);
        Ok(())
    }
}

pub struct Get(pub Reply<&'static str>);
threadbutler::messages! { pub enum StoreMsg for Store { Get } }
pub struct Store;
impl Server for Store {
    fn handle(&mut self, msg: StoreMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let StoreMsg::Get(Get(reply)) = msg;
        reply.send("stored");
        Ok(())
    }
}

pub struct Ping;
threadbutler::messages! { pub enum RefuserMsg for Refuser { Ping } }
pub struct Refuser;
impl Server for Refuser {
    fn handle(&mut self, _: RefuserMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_pool_and_a_nested_supervisor_join_a_running_tree() {
    let app = Butler::builder("app").start().expect("starts");
    app.add_children("app", |more| {
        more.pool("workers", 2, || Worker)
            .restart(Restart::Transient)
            .supervisor("db", |db| db.server("store", || Store))
    })
    .expect("added");
    let status = app.status();
    assert_eq!(status.find("app/workers").map(|n| n.kind), Some("pool"));
    assert_eq!(
        status.find("app/workers/workers-1").map(|n| n.state),
        Some(ChildState::Running)
    );
    assert_eq!(status.find("app/db").map(|n| n.kind), Some("supervisor"));
    assert_eq!(app.hub().request(|r| Double(4, r)).expect("answered"), 8);
    assert_eq!(app.hub().request(Get).expect("answered"), "stored");

    // A nested supervisor takes children too, and a removal stops them.
    app.add_children("app/db", |db| db.server("replica", || Refuser))
        .expect("added");
    assert!(app.status().find("app/db/replica").is_some());
    let report = app.remove_child("app", "db").expect("removed");
    assert!(report.is_clean(), "{report:?}");
    assert!(
        app.hub().address::<Store>("store").is_none(),
        "gone with db"
    );
    app.shutdown();
    app.wait().expect("a requested shutdown");
}

#[test]
fn a_failed_start_removes_what_the_call_added() {
    let app = Butler::builder("app").start().expect("starts");
    let err = app
        .add_children("app", |more| {
            more.server("store", || Store)
                .try_server("refuser", || Err::<Refuser, _>("not today"))
        })
        .expect_err("the second refuses");
    assert!(
        matches!(&err, Error::Spawn(SpawnError::StartFailed { name, .. }) if name == "refuser"),
        "{err}"
    );
    assert!(app.status().children.is_empty(), "{:?}", app.status());
    assert!(app.hub().names().is_empty(), "{:?}", app.hub().names());
    // The names are free again.
    app.add_children("app", |more| more.server("store", || Store))
        .expect("added");
    app.shutdown();
    app.wait().expect("a requested shutdown");
}

#[test]
fn a_taken_name_or_a_misused_declaration_is_refused_before_anything_starts() {
    let app = Butler::builder("app")
        .server("store", || Store)
        .start()
        .expect("starts");
    let taken = app.add_children("app", |more| more.server("store", || Store));
    assert!(
        matches!(taken, Err(Error::Spawn(SpawnError::NameTaken { .. }))),
        "{taken:?}"
    );
    let misused = app.add_children("app", |more| more.pool("empty", 0, || Store));
    assert!(matches!(misused, Err(Error::Config { .. })), "{misused:?}");
    assert_eq!(app.status().children.len(), 1);
    app.shutdown();
    app.wait().expect("a requested shutdown");
}

#[test]
fn a_hub_adds_children_to_its_implicit_root() {
    let hub = Hub::builder("svc").build();
    hub.add_children(|more| more.pool("workers", 2, || Worker))
        .expect("added");
    assert_eq!(
        hub.status().find("svc/workers").map(|n| n.kind),
        Some("pool")
    );
    assert_eq!(hub.request(|r| Double(5, r)).expect("answered"), 10);
    let report = hub.shutdown().expect("a requested shutdown");
    assert!(report.is_clean(), "{report:?}");
}

#[test]
fn a_supervisors_own_settings_are_refused_where_only_children_are_declared() {
    let app = Butler::builder("app").start().expect("starts");
    let refused = app.add_children("app", |more| {
        more.strategy(Strategy::OneForAll).server("store", || Store)
    });
    assert!(
        matches!(&refused, Err(Error::Config { detail }) if detail.contains("children only")),
        "{refused:?}"
    );
    assert!(app.status().children.is_empty(), "nothing added");
    app.shutdown();
    app.wait().expect("a requested shutdown");
}
