//! The bounds a config file is held to hold for the values a program
//! gives in code: a capacity, a pool size or a duration above its bound is
//! a clear error before anything starts (`Error::Config`, exit 78, from
//! `start`; `SpawnError::InvalidCapacity` from a hub), never a panic or an
//! allocation of gigabytes.

use std::time::Duration;

use integration_tests::probe::{Probe, ProbeConfig};
use threadbutler::prelude::*;
use threadbutler::{ButlerBuilder, ChildOptions, ClientOptions, Error, Policy, SpawnError};

/// The detail of the `Error::Config` that `start` returned.
fn refused(builder: impl Into<ButlerBuilder>) -> String {
    match builder.into().start() {
        Err(e @ Error::Config { .. }) => {
            assert_eq!(e.exit_code(), 78);
            e.to_string()
        }
        Err(e) => panic!("not a config error: {e}"),
        Ok(_) => panic!("started"),
    }
}

fn probe() -> impl Fn() -> Probe + Send + Sync + 'static {
    Probe::factory(ProbeConfig::default())
}

#[test]
fn a_capacity_above_the_bound_is_refused_at_start() {
    for n in [100_000_000, 1 << 62, usize::MAX] {
        let e = refused(
            Butler::builder("app")
                .server("p", probe())
                .capacity(Capacity::Bounded(n)),
        );
        assert!(
            e.contains("p: capacity(): a bounded capacity must be at most 1048576"),
            "{e}"
        );
    }
    let e = refused(
        Butler::builder("app")
            .server("p", probe())
            .capacity(Capacity::Bounded(0)),
    );
    assert!(e.contains("at least 1"), "{e}");
    let e = refused(
        Butler::builder("app")
            .default_capacity(Capacity::Bounded(1 << 62))
            .server("p", probe()),
    );
    assert!(
        e.contains("default_capacity(): a bounded capacity must be at most"),
        "{e}"
    );
    // At the bound, it starts.
    let app = Butler::builder("app")
        .server("p", probe())
        .capacity(Capacity::Bounded(Capacity::MAX_BOUNDED))
        .start()
        .expect("at the bound");
    app.shutdown();
    app.wait().expect("clean");
}

#[test]
fn a_pool_above_the_bound_is_refused_at_start() {
    let e = refused(Butler::builder("app").pool("w", 1_000_000_000, probe()));
    assert!(e.contains("pool w: the size must be at most 1024"), "{e}");
    let e = refused(Butler::builder("app").pool("w", 0, probe()));
    assert!(e.contains("pool w: the size must be at least 1"), "{e}");
}

#[test]
fn a_duration_above_the_bound_is_refused_at_start() {
    let year = Policy::MAX_DURATION;
    let long = year + Duration::from_secs(1);
    let cases: Vec<(ButlerBuilder, &str)> = vec![
        (
            Butler::builder("app")
                .server("p", probe())
                .heartbeat(Duration::MAX)
                .into(),
            "child p: heartbeat: must be at most 365days",
        ),
        (
            Butler::builder("app")
                .server("p", probe())
                .start_timeout(long)
                .into(),
            "child p: start_timeout: must be at most 365days",
        ),
        (
            Butler::builder("app")
                .server("p", probe())
                .shutdown(Shutdown::Drain(Duration::MAX))
                .into(),
            "child p: shutdown.drain: must be at most 365days",
        ),
        (
            Butler::builder("app")
                .server("p", probe())
                .backoff(Backoff::exponential(Duration::ZERO, long))
                .into(),
            "child p: backoff: max: must be at most 365days",
        ),
        (
            Butler::builder("app")
                .intensity(1, Duration::MAX)
                .server("p", probe())
                .into(),
            "supervisor app: intensity.period: must be at most 365days",
        ),
        (
            Butler::builder("app").intensity(u32::MAX, Duration::from_secs(1)),
            "supervisor app: intensity.max_restarts: must be at most 100000",
        ),
        (
            Butler::builder("app").abandon_after(Duration::MAX),
            "supervisor app: abandon_after: must be at most 365days",
        ),
        (
            Butler::builder("app")
                .server("p", probe())
                .stack_size(usize::MAX)
                .into(),
            "child p: stack_size: must be at most 1073741824 bytes",
        ),
        (
            Butler::builder("app").shutdown_deadline(Duration::MAX),
            "shutdown_deadline: must be at most 365days",
        ),
        (
            Butler::builder("app").request_timeout(Duration::MAX),
            "request_timeout: must be at most 365days",
        ),
    ];
    for (builder, says) in cases {
        let e = refused(builder);
        assert!(e.contains(says), "{says}: {e}");
    }
}

#[test]
fn a_hub_refuses_a_capacity_above_the_bound_without_allocating() {
    pub struct Note;
    pub struct Main;
    threadbutler::messages! { pub enum MainMsg for Main { Note } }
    let hub = Hub::new();
    let huge = ClientOptions::new().capacity(Capacity::Bounded(1 << 62));
    match hub.client_with::<Main>("main", huge) {
        Err(SpawnError::InvalidCapacity { name, .. }) => assert_eq!(name, "main"),
        Err(e) => panic!("not InvalidCapacity: {e}"),
        Ok(_) => panic!("registered"),
    }
    let e = hub
        .server("p", probe())
        .capacity(Capacity::Bounded(100_000_000))
        .spawn()
        .expect_err("refused");
    assert!(
        e.to_string()
            .contains("a bounded capacity must be at most 1048576"),
        "{e}"
    );
    // A child added at run time meets the same bounds.
    let app = Butler::builder("app").start().expect("starts");
    let options = ChildOptions::new().heartbeat(Duration::MAX);
    let e = app
        .add_server("app", "late", probe(), options)
        .expect_err("refused");
    assert!(
        e.to_string().contains("heartbeat: must be at most 365days"),
        "{e}"
    );
    app.shutdown();
    app.wait().expect("clean");
}

#[test]
fn a_capacity_whose_slots_would_take_too_many_bytes_is_refused() {
    // 1 Mi messages is within the count, but 1 Mi slots of a 4 KiB message
    // would allocate 4 GiB when the mailbox is made.
    #[allow(dead_code)] // only its size matters
    pub struct Big(pub [u8; 4096]);
    pub struct Store;
    threadbutler::messages! { pub enum StoreMsg for Store { Big } }
    let hub = Hub::new();
    let options = ClientOptions::new().capacity(Capacity::Bounded(Capacity::MAX_BOUNDED));
    match hub.client_with::<Store>("store", options) {
        Err(e @ SpawnError::InvalidCapacity { .. }) => {
            let text = e.to_string();
            assert!(text.contains("4104 bytes each"), "{text}");
            assert!(text.contains("more than 256 MiB"), "{text}");
        }
        Err(e) => panic!("not InvalidCapacity: {e}"),
        Ok(_) => panic!("registered: 4 GiB allocated"),
    }
    // A capacity that fits the byte bound for this type is fine.
    let options = ClientOptions::new().capacity(Capacity::Bounded(1024));
    hub.client_with::<Store>("store", options)
        .expect("1024 slots of 4 KiB fit");
    // Declared in a tree: start refuses it as configuration (exit 78).
    pub struct Shelf;
    #[allow(dead_code)] // only its size matters
    pub struct Stock(pub [u8; 4096]);
    threadbutler::messages! { pub enum ShelfMsg for Shelf { Stock } }
    impl Server for Shelf {
        fn handle(&mut self, _: ShelfMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
            Ok(())
        }
    }
    let e = Butler::builder("app")
        .server("shelf", || Shelf)
        .capacity(Capacity::Bounded(Capacity::MAX_BOUNDED))
        .start()
        .expect_err("refused");
    assert_eq!(e.exit_code(), 78, "{e}");
    assert!(e.to_string().contains("more than 256 MiB"), "{e}");
}
