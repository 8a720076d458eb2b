//! Request/reply to an async server against the same to a sync server
//! (feature `async`): `cargo bench -p threadbutler-benches --features async --bench async_request`.
//! Both are asked from the bench thread with a blocking `request`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use threadbutler::async_server::{AsyncCtx, AsyncServer};
use threadbutler::prelude::*;

/// Answers with the value it was given.
pub struct Echo(pub u64, pub Reply<u64>);
/// Answers for the async server.
pub struct AEcho(pub u64, pub Reply<u64>);

threadbutler::messages! { pub enum SyncEchoMsg for SyncEcho { Echo } }
threadbutler::messages! { pub enum AsyncEchoMsg for AsyncEcho { AEcho } }

/// The sync echo server.
pub struct SyncEcho;
impl Server for SyncEcho {
    fn handle(&mut self, msg: SyncEchoMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let SyncEchoMsg::Echo(Echo(n, r)) = msg;
        r.send(n);
        Ok(())
    }
}

/// The async echo server.
pub struct AsyncEcho;
impl AsyncServer for AsyncEcho {
    async fn handle(&mut self, msg: AsyncEchoMsg, _: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
        let AsyncEchoMsg::AEcho(AEcho(n, r)) = msg;
        r.send(n);
        Ok(())
    }
}

fn async_vs_sync(c: &mut Criterion) {
    let app = Butler::builder("bench")
        .server("sync", || SyncEcho)
        .async_server("async", || AsyncEcho)
        .start()
        .expect("starts");
    let sync = app.hub().address::<SyncEcho>("sync").expect("registered");
    let asy = app.hub().address::<AsyncEcho>("async").expect("registered");
    let mut g = c.benchmark_group("async_vs_sync_request");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let mut i = 0u64;
    g.bench_function("sync_server_request", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            sync.request(|r| Echo(black_box(i), r)).expect("answered")
        })
    });
    g.bench_function("async_server_request", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            asy.request(|r| AEcho(black_box(i), r)).expect("answered")
        })
    });
    g.finish();
    app.shutdown();
    app.wait().expect("clean");
}

criterion_group!(benches, async_vs_sync);
criterion_main!(benches);
