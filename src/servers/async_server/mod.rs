//! Async servers (cargo feature `async`): handlers are `async`, each server
//! runs a current-thread tokio runtime on its own thread.
//!
//! # Anatomy
//!
//! A life of an async server is run by the same life runner as a sync
//! server's (`life.rs`: the order of events, the exit reason, the dead
//! letter of the message in flight, the logs). What is its own is how the
//! hooks are called (`child.rs`): the life builds a current-thread runtime
//! and a `LocalSet` on the child's worker thread, and drives each hook, the
//! loop included (`serve.rs`), to its end there. It reads its mailbox
//! through the same reader as a sync server. The mailbox is the same hub
//! mailbox as a sync server's; its wake callback notifies the runtime (a
//! `tokio::sync::Notify`), so an idle server sleeps in the runtime without
//! polling. A stop request reaches it through a small blocking task that
//! waits on the stop signal and notifies the runtime too.
//!
//! Messages are handled one at a time, in order, like a sync server's;
//! [`AsyncCtx::spawn`] runs futures concurrently beside the loop. A drain
//! handles the queue, then waits for the spawned futures (ThreadButler
//! dropped them); past the drain deadline the stop turns immediate and the
//! rest are aborted. A panic or `Err` in a handler or in a spawned future is
//! a server failure, handled by the supervisor's policy like any other;
//! after a panic in a hook or a handler, which unwinds through the runtime
//! mid-`await`, `on_stop` does not run (a spawned future's panic is caught
//! by the runtime, and `on_stop` does run after it).
//!
//! ```
//! use threadbutler::prelude::*;
//! use threadbutler::async_server::{AsyncCtx, AsyncServer};
//!
//! pub struct Double(pub u64, pub Reply<u64>);
//! pub struct Doubler;
//! threadbutler::messages! { pub enum DoublerMsg for Doubler { Double } }
//!
//! impl AsyncServer for Doubler {
//!     async fn handle(&mut self, msg: DoublerMsg, _ctx: &mut AsyncCtx<Self>) -> Result<(), BoxError> {
//!         let DoublerMsg::Double(Double(n, reply)) = msg;
//!         reply.send(n * 2);
//!         Ok(())
//!     }
//! }
//!
//! let app = Butler::builder("app").async_server("doubler", || Doubler).start()?;
//! assert_eq!(app.hub().request(|r| Double(21, r))?, 42);
//! app.shutdown();
//! app.wait()?;
//! # Ok::<(), threadbutler::Error>(())
//! ```

mod child;
mod ctx;
mod serve;
mod server;

pub(crate) use child::AsyncServerChild;
pub use ctx::AsyncCtx;
pub use server::AsyncServer;

#[cfg(test)]
mod tests;
