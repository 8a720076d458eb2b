//! docs/runtime-semantics.md §5.2, §11.2 and §11.7: a factory that returns
//! `Err` (`try_server`, `try_pool`, `try_async_server`, `Hub::try_spawn`,
//! `Butler::try_add_server`) is a failed start whose reason is
//! `Failed { stage: Init, error }` with the factory's own error; under a
//! supervisor, a refusal on a restart is a failed restart handled by policy.

use std::fmt;
use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::{Count, PATIENCE};
use threadbutler::prelude::*;
use threadbutler::{ChildOptions, Error, SpawnError};

/// The user's own error type, which must reach them intact.
#[derive(Debug)]
pub struct Unreachable {
    pub url: &'static str,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: connection refused", self.url)
    }
}

impl std::error::Error for Unreachable {}

/// Answers with the number of the factory call that built this life.
pub struct Which(pub Reply<usize>);
pub struct Crash;
threadbutler::messages! { pub enum DbMsg for Db { Which, Crash } }

pub struct Db {
    built_by_call: usize,
}

impl Server for Db {
    fn handle(&mut self, msg: DbMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            DbMsg::Which(Which(reply)) => reply.send(self.built_by_call),
            DbMsg::Crash(Crash) => panic!("crash"),
        }
        Ok(())
    }
}

/// A factory that counts its calls and refuses those for which `refuse`
/// says so (calls are numbered from 1).
fn db_factory(
    calls: Count,
    refuse: impl Fn(usize) -> bool + Send + Sync + 'static,
) -> impl Fn() -> Result<Db, Unreachable> + Send + Sync + 'static {
    move || {
        calls.bump();
        let n = calls.get();
        if refuse(n) {
            Err(Unreachable {
                url: "db.local:5432",
            })
        } else {
            Ok(Db { built_by_call: n })
        }
    }
}

/// Asserts that `reason` is the factory's refusal, with the user's error.
fn assert_refusal(reason: &ExitReason) {
    match reason {
        ExitReason::Failed {
            stage: Stage::Init,
            error,
        } => {
            assert_eq!(error.to_string(), "db.local:5432: connection refused");
            let theirs = error
                .downcast_ref::<Unreachable>()
                .expect("the user's own error type, not a copy of its text");
            assert_eq!(theirs.url, "db.local:5432");
        }
        other => panic!("expected the factory's refusal at Init, got {other}"),
    }
}

#[test]
fn a_refusing_factory_fails_the_start_with_its_own_error() {
    let calls = Count::default();
    let err = Butler::builder("app")
        .try_server("db", db_factory(calls.clone(), |_| true))
        .start()
        .expect_err("the factory refused");
    match &err {
        Error::Start {
            reason: ExitReason::ChildStartFailed { child, reason },
        } => {
            assert_eq!(&**child, "app/db");
            assert_refusal(reason);
        }
        other => panic!("expected a failed start, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the application did not start: child app/db failed to start: \
         init failed: db.local:5432: connection refused"
    );
    assert_eq!(calls.get(), 1, "a failed start is not retried");
}

#[test]
fn a_factory_that_builds_starts_the_server() {
    let calls = Count::default();
    let app = Butler::builder("app")
        .try_server("db", db_factory(calls.clone(), |_| false))
        .start()
        .expect("the factory built the server");
    assert_eq!(app.hub().request(Which).expect("answered"), 1);
    app.shutdown();
    assert!(app.wait().expect("a requested shutdown").is_clean());
}

#[test]
fn a_standalone_factory_that_refuses_is_a_failed_spawn_and_frees_the_name() {
    let hub = Hub::new();
    let calls = Count::default();
    let err = hub
        .try_spawn("db", db_factory(calls.clone(), |n| n == 1))
        .expect_err("the factory refused");
    match &err {
        SpawnError::StartFailed { name, reason } => {
            assert_eq!(name, "db");
            assert_refusal(reason);
        }
        other => panic!("expected StartFailed, got {other:?}"),
    }
    assert!(hub.names().is_empty(), "nothing is left registered");

    let db = hub
        .try_server("db", db_factory(calls, |n| n == 1))
        .capacity(Capacity::Bounded(4))
        .spawn()
        .expect("the second call builds");
    assert_eq!(db.request(Which).expect("answered"), 2);
    assert!(hub.shutdown().expect("from the test thread").is_clean());
}

#[test]
fn a_pool_whose_worker_refuses_does_not_start() {
    let calls = Count::default();
    let err = Butler::builder("app")
        .try_pool("workers", 3, db_factory(calls.clone(), |n| n == 2))
        .start()
        .expect_err("the second worker's factory refused");
    let Error::Start {
        reason: ExitReason::ChildStartFailed { child, reason },
    } = &err
    else {
        panic!("expected a failed start, got {err:?}")
    };
    assert_eq!(&**child, "app/workers");
    let ExitReason::ChildStartFailed { child, reason } = &**reason else {
        panic!("expected the pool to name its worker, got {reason}")
    };
    assert_eq!(&**child, "app/workers/workers-1");
    assert_refusal(reason);
    assert_eq!(calls.get(), 2, "the third worker was never built");
}

#[test]
fn a_factory_that_refuses_on_a_restart_is_a_failed_restart_and_the_next_one_serves() {
    let calls = Count::default();
    let app = Butler::builder("app")
        .intensity(5, Duration::from_secs(60))
        .try_server("db", db_factory(calls.clone(), |n| n == 2))
        .start()
        .expect("the first call builds");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    // Sent while the server is down: kept in the mailbox for the life that
    // finally starts (DESIGN rule 1).
    assert_eq!(
        app.hub()
            .request_timeout(Which, PATIENCE)
            .expect("answered by the third life"),
        3
    );
    let panicked = events.wait("Exited", "app/db");
    assert!(
        matches!(
            panicked,
            Event::Exited {
                reason: ExitReason::Panicked { .. },
                ..
            }
        ),
        "{panicked}"
    );
    match events.wait("Exited", "app/db") {
        Event::Exited { reason, .. } => assert_refusal(&reason),
        other => panic!("{other}"),
    }
    events.wait("Started", "app/db");
    let row = app
        .status()
        .find("app/db")
        .cloned()
        .expect("a child of app");
    assert_eq!(row.restarts, 2, "the refused restart counts as one");
    app.shutdown();
    assert!(app.wait().expect("a requested shutdown").is_clean());
}

#[test]
fn a_factory_that_keeps_refusing_makes_the_supervisor_give_up() {
    let calls = Count::default();
    let app = Butler::builder("app")
        .intensity(2, Duration::from_secs(60))
        .try_server("db", db_factory(calls.clone(), |n| n > 1))
        .start()
        .expect("the first call builds");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    events.wait("GaveUp", "app");
    let err = app
        .wait_timeout(PATIENCE)
        .expect("the tree ended")
        .expect_err("the root gave up");
    assert!(
        matches!(
            err,
            Error::Failed {
                reason: ExitReason::GaveUp {
                    max_restarts: 2,
                    ..
                }
            }
        ),
        "{err}"
    );
    assert_eq!(
        calls.get(),
        3,
        "the first life, then two refused restarts; the third restart exceeds the intensity"
    );
}

#[test]
fn a_server_added_at_run_time_may_refuse_and_its_name_stays_free() {
    let calls = Count::default();
    let app = Butler::builder("app").start().expect("empty tree");
    let err = app
        .try_add_server(
            "app",
            "db",
            db_factory(calls.clone(), |n| n == 1),
            ChildOptions::new(),
        )
        .expect_err("the factory refused");
    match &err {
        Error::Spawn(SpawnError::StartFailed { name, reason }) => {
            assert_eq!(name, "db");
            assert_refusal(reason);
        }
        other => panic!("expected StartFailed, got {other:?}"),
    }
    assert!(app.hub().address::<Db>("db").is_none(), "no mailbox left");
    let db = app
        .try_add_server(
            "app",
            "db",
            db_factory(calls, |n| n == 1),
            ChildOptions::new(),
        )
        .expect("the second call builds");
    assert_eq!(db.request(Which).expect("answered"), 2);
    app.shutdown();
    assert!(app.wait().expect("a requested shutdown").is_clean());
}

#[cfg(feature = "async")]
mod async_servers {
    use super::*;
    use threadbutler::async_server::{AsyncCtx, AsyncServer};

    pub struct Nothing;
    threadbutler::messages! { pub enum AsyncDbMsg for AsyncDb { Nothing } }
    pub struct AsyncDb;

    impl AsyncServer for AsyncDb {
        async fn handle(&mut self, _: AsyncDbMsg, _: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
            Ok(())
        }
    }

    #[test]
    fn an_async_server_factory_may_refuse_too() {
        let err = Butler::builder("app")
            .try_async_server("db", || {
                Err::<AsyncDb, _>(Unreachable {
                    url: "db.local:5432",
                })
            })
            .start()
            .expect_err("the factory refused");
        let Error::Start {
            reason: ExitReason::ChildStartFailed { child, reason },
        } = &err
        else {
            panic!("expected a failed start, got {err:?}")
        };
        assert_eq!(&**child, "app/db");
        assert_refusal(reason);
    }
}
