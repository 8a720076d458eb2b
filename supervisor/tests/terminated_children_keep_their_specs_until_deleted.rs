//! OTP's child API, typed: `terminate_child` stops a child and keeps its
//! spec (and policy does not restart it, however long the clock runs),
//! `restart_child` starts it again, `delete_child` drops a stopped one;
//! `which_children` and `count_children` say what is there.

mod common;

use common::*;
use threadbutler_supervisor::*;

const A: &str = "app/a";
const TRANSIENT: &str = "app/t";

struct Tree {
    vt: Vt,
    a: Puppet,
    t: Puppet,
    inner: Puppet,
}

fn tree() -> Tree {
    let (a, a_child) = Puppet::new();
    let (t, t_child) = Puppet::new();
    let (inner, inner_child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .child(ChildSpec::new("a", a_child)) // Permanent
        .child(ChildSpec::new("t", t_child).restart(Restart::Transient))
        .child(ChildSpec::supervisor(
            SupervisorSpec::new("sub").child(ChildSpec::new("inner", inner_child)),
        ));
    let mut vt = Vt::start(spec);
    for p in [A, TRANSIENT, "app/sub/inner", "app/sub"] {
        vt.events.take("Started", p);
    }
    a.next_life();
    t.next_life();
    inner.next_life();
    Tree { vt, a, t, inner }
}

/// Calls `f` with the root's handle on a helper thread, bounded by PATIENCE.
fn ask<T: Send + 'static>(
    vt: &Vt,
    what: &str,
    f: impl FnOnce(&SupervisorRef) -> T + Send + 'static,
) -> T {
    let app = vt.app.clone();
    within(what, move || f(&app))
}

fn names(vt: &Vt) -> Vec<String> {
    vt.app
        .which_children()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

#[test]
fn which_children_lists_kinds_and_states_in_start_order() {
    let Tree { vt, .. } = tree();
    let kids = vt.app.which_children();
    let got: Vec<(&str, &str, ChildKind, ChildState, bool)> = kids
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.path.as_str(),
                c.kind,
                c.state,
                c.life.is_some(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("a", "app/a", ChildKind::Worker, ChildState::Running, true),
            ("t", "app/t", ChildKind::Worker, ChildState::Running, true),
            (
                "sub",
                "app/sub",
                ChildKind::Supervisor,
                ChildState::Running,
                true
            ),
        ]
    );
    let n = vt.app.count_children();
    assert_eq!(
        (n.specs, n.active, n.supervisors, n.workers),
        (3, 3, 1, 2),
        "{n:?}"
    );
    let sub = vt.root.supervisor("app/sub").expect("a nested supervisor");
    let inner = sub.which_children();
    assert_eq!(inner.len(), 1);
    assert_eq!(
        (inner[0].path.as_str(), inner[0].kind, inner[0].state),
        ("app/sub/inner", ChildKind::Worker, ChildState::Running)
    );
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn terminate_keeps_the_spec_restart_starts_it_and_delete_drops_it() {
    let Tree { mut vt, a, .. } = tree();
    let first = vt.info("a").life.expect("running");

    // terminate_child: stopped, kept, not active.
    ask(&vt, "terminate_child", |app| app.terminate_child("a")).expect("terminated");
    assert_eq!(a.next_stop(), first);
    let exited = vt.events.take("Exited", A);
    assert_eq!(id_of(&exited), first);
    assert!(
        matches!(reason_of(&exited), ExitReason::Shutdown),
        "{exited}"
    );
    let row = vt.info("a");
    assert_eq!((row.state, row.life), (ChildState::Stopped, None));
    assert_eq!(
        names(&vt),
        ["a", "t", "sub"],
        "the spec is kept, in its place"
    );
    let n = vt.app.count_children();
    assert_eq!((n.specs, n.active), (3, 2), "{n:?}");

    // Policy does not restart it (it is Permanent), however long we wait.
    vt.advance(secs(3600));
    vt.events.assert_none(
        "Starting",
        A,
        "a terminated child is not restarted by policy",
    );
    a.assert_no_new_life();
    assert_eq!(vt.state_of("a"), ChildState::Stopped);

    // restart_child: returns once it started.
    ask(&vt, "restart_child", |app| app.restart_child("a")).expect("restarted");
    let second = a.next_life().id;
    assert_ne!(second, first);
    let row = vt.info("a");
    assert_eq!((row.state, row.life), (ChildState::Running, Some(second)));
    assert_eq!(id_of(&vt.events.take("Started", A)), second);
    let n = vt.app.count_children();
    assert_eq!((n.specs, n.active), (3, 3), "{n:?}");

    // A running child can be neither restarted nor deleted.
    let again = ask(&vt, "restart_child", |app| app.restart_child("a"));
    assert!(
        matches!(&again, Err(ChildError::Running { name }) if name == "a"),
        "{again:?}"
    );
    let del = ask(&vt, "delete_child", |app| app.delete_child("a"));
    assert!(
        matches!(&del, Err(ChildError::Running { name }) if name == "a"),
        "{del:?}"
    );
    assert_eq!(vt.info("a").life, Some(second), "refusals change nothing");

    // Terminated, it can be deleted: gone from which_children.
    ask(&vt, "terminate_child", |app| app.terminate_child("a")).expect("terminated");
    ask(&vt, "delete_child", |app| app.delete_child("a")).expect("deleted");
    assert_eq!(names(&vt), ["t", "sub"]);
    let n = vt.app.count_children();
    assert_eq!((n.specs, n.active, n.workers), (2, 2, 1), "{n:?}");
    let gone = ask(&vt, "restart_child", |app| app.restart_child("a"));
    assert!(
        matches!(&gone, Err(ChildError::NotFound { name }) if name == "a"),
        "{gone:?}"
    );
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn unknown_names_are_not_found() {
    let Tree { vt, .. } = tree();
    let t = ask(&vt, "terminate_child", |app| app.terminate_child("ghost"));
    let r = ask(&vt, "restart_child", |app| app.restart_child("ghost"));
    let d = ask(&vt, "delete_child", |app| app.delete_child("ghost"));
    for (call, res) in [("terminate", t), ("restart", r), ("delete", d)] {
        assert!(
            matches!(&res, Err(ChildError::NotFound { name }) if name == "ghost"),
            "{call}_child: {res:?}"
        );
    }
    // A grandchild is not a child.
    let inner = ask(&vt, "terminate_child", |app| app.terminate_child("inner"));
    assert!(
        matches!(inner, Err(ChildError::NotFound { .. })),
        "{inner:?}"
    );
    assert_eq!(names(&vt), ["a", "t", "sub"]);
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn a_transient_child_that_ended_normally_stays_stopped_until_restart_child() {
    let Tree { mut vt, t, .. } = tree();
    let first = t.exit_normally();
    let exited = vt.events.take("Exited", TRANSIENT);
    assert_eq!(id_of(&exited), first);
    assert!(matches!(reason_of(&exited), ExitReason::Normal), "{exited}");
    vt.events.take("Stopped", TRANSIENT);
    let row = vt.info("t");
    assert_eq!((row.state, row.life), (ChildState::Stopped, None));
    vt.advance(secs(3600));
    vt.events.assert_none(
        "Starting",
        TRANSIENT,
        "a Transient child is not restarted after a normal exit",
    );
    assert_eq!(vt.app.count_children().active, 2);

    ask(&vt, "restart_child", |app| app.restart_child("t")).expect("restarted");
    let second = t.next_life().id;
    let row = vt.info("t");
    assert_eq!((row.state, row.life), (ChildState::Running, Some(second)));
    assert_eq!(vt.app.count_children().active, 3);
    // Alive again, it is supervised again: a failure is restarted.
    assert_eq!(t.fail(), second);
    vt.events.take("Restarting", TRANSIENT);
    vt.events.take("Started", TRANSIENT);
    assert_ne!(t.next_life().id, second);
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}

#[test]
fn a_nested_supervisor_can_be_terminated_and_restarted_whole() {
    let Tree { mut vt, inner, .. } = tree();
    let sub = vt.root.supervisor("app/sub").expect("a nested supervisor");
    let first = sub.which_children()[0].life.expect("inner runs");
    ask(&vt, "terminate_child", |app| app.terminate_child("sub")).expect("terminated");
    assert_eq!(inner.next_stop(), first);
    let row = vt.info("sub");
    assert_eq!(
        (row.kind, row.state, row.life),
        (ChildKind::Supervisor, ChildState::Stopped, None)
    );
    ask(&vt, "restart_child", |app| app.restart_child("sub")).expect("restarted");
    assert_ne!(inner.next_life().id, first, "its children start again");
    vt.events.take("Started", "app/sub");
    assert_eq!(vt.state_of("sub"), ChildState::Running);
    assert!(matches!(vt.shutdown(), ExitReason::Shutdown));
}
