//! [`AsyncServer`]: what an async server's life runs.

use std::future::Future;

use threadbutler_supervisor::{BoxError, ExitReason};

use super::ctx::AsyncCtx;
use crate::data::message::Endpoint;

/// A server whose handlers are async. See the [module docs](crate::async_server).
///
/// Declared with [`ButlerBuilder::async_server`](crate::ButlerBuilder::async_server)
/// (feature `async`); its hooks are `async fn`s:
///
/// ```
/// use std::collections::HashMap;
/// use threadbutler::prelude::*;
/// use threadbutler::async_server::{AsyncCtx, AsyncServer};
///
/// pub struct Lookup(pub &'static str, pub Reply<Option<u32>>);
/// threadbutler::messages! { pub enum DirectoryMsg for Directory { Lookup } }
///
/// #[derive(Default)]
/// pub struct Directory { ids: HashMap<&'static str, u32> }
///
/// impl AsyncServer for Directory {
///     async fn on_start(&mut self, _ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
///         self.ids.insert("ada", 1); // a real one would await its database here
///         Ok(())
///     }
///
///     async fn handle(&mut self, msg: DirectoryMsg, _ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
///         let DirectoryMsg::Lookup(Lookup(name, reply)) = msg;
///         reply.send(self.ids.get(name).copied());
///         Ok(())
///     }
/// }
///
/// let app = Butler::builder("app").async_server("directory", Directory::default).start()?;
/// assert_eq!(app.hub().request(|r| Lookup("ada", r))?, Some(1));
/// assert_eq!(app.hub().request(|r| Lookup("bob", r))?, None);
/// app.shutdown();
/// app.wait()?;
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub trait AsyncServer: Endpoint + Sized + 'static {
    /// Handles one message; the next is taken when this future completes.
    ///
    /// # Errors
    ///
    /// An `Err` ends the server (`ExitReason::Failed`); the message is
    /// dead-lettered.
    fn handle(
        &mut self,
        msg: Self::Msg,
        ctx: &mut AsyncCtx<Self>,
    ) -> impl Future<Output = Result<(), BoxError>>;

    /// Runs once before the first message.
    ///
    /// # Errors
    ///
    /// An `Err` is a failed start.
    fn on_start(&mut self, ctx: &mut AsyncCtx<Self>) -> impl Future<Output = Result<(), BoxError>> {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs once when the server ends after a successful start (but not
    /// after a panic in a hook or a handler).
    fn on_stop(
        &mut self,
        reason: &ExitReason,
        ctx: &mut AsyncCtx<Self>,
    ) -> impl Future<Output = ()> {
        let _ = (reason, ctx);
        async {}
    }
}
