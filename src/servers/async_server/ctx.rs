//! [`AsyncCtx`]: an async server's view of itself, passed to every hook.
//!
//! It holds the same base as a sync server's [`Ctx`](crate::Ctx)
//! (`ctx_base.rs`: name, id, hub, mailbox, stop, reader, and the accessors
//! written once for both), and the futures the server spawned.

use std::fmt;
use std::future::Future;

use threadbutler_supervisor::BoxError;
use tokio::task::JoinSet;

use crate::data::message::Endpoint;
use crate::servers::ctx_base::{CtxBase, ctx_base_accessors};

/// An async server's handle on itself, the hub and its spawned futures.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::async_server::{AsyncCtx, AsyncServer};
/// # pub struct Fetch(pub u32);
/// # pub struct Fetched(pub String);
/// # pub struct Fetcher;
/// # pub struct Main;
/// # threadbutler::messages! { pub enum FetcherMsg for Fetcher { Fetch } }
/// # threadbutler::messages! { pub enum MainMsg for Main { Fetched } }
///
/// impl AsyncServer for Fetcher {
///     async fn handle(&mut self, msg: FetcherMsg, ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
///         let FetcherMsg::Fetch(Fetch(n)) = msg;
///         let (hub, name) = (ctx.hub().clone(), ctx.name().to_owned());
///         // Runs beside the loop: the next message does not wait for it.
///         ctx.spawn(async move {
///             hub.send(Fetched(format!("{name} fetched {n}")))?;
///             Ok(())
///         });
///         Ok(())
///     }
/// }
///
/// let app = Butler::builder("app").async_server("fetcher", || Fetcher).start()?;
/// let mut main = app.hub().client::<Main>("main")?;
/// app.hub().send(Fetch(4))?;
/// let MainMsg::Fetched(Fetched(text)) = main.recv();
/// assert_eq!(text, "fetcher fetched 4");
/// app.shutdown(); // a drain also waits for the spawned futures
/// app.wait()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct AsyncCtx<S: Endpoint> {
    pub(super) base: CtxBase<S>,
    pub(super) tasks: JoinSet<Result<(), BoxError>>,
}

impl<S: Endpoint> AsyncCtx<S> {
    pub(super) fn new(base: CtxBase<S>) -> Self {
        AsyncCtx {
            base,
            tasks: JoinSet::new(),
        }
    }

    ctx_base_accessors!(S);

    /// Runs `fut` concurrently on this server's runtime. A drain waits for
    /// it; an `Err` or a panic in it ends the server as a failure.
    pub fn spawn(&mut self, fut: impl Future<Output = Result<(), BoxError>> + 'static) {
        self.tasks.spawn_local(fut);
    }

    /// Futures spawned and not finished yet.
    pub fn in_flight(&self) -> usize {
        self.tasks.len()
    }
}

impl<S: Endpoint> fmt::Debug for AsyncCtx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncCtx")
            .field("name", &self.base.name)
            .field("id", &self.base.id)
            .field("in_flight", &self.tasks.len())
            .finish_non_exhaustive()
    }
}
