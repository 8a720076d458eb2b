//! [`ChildScope`]: a builder right after a child was declared, where that
//! child's options follow.
//!
//! The builder cannot be misread: the options of a child (`restart`,
//! `heartbeat`, `shutdown`, ...) exist only here, right after the child,
//! and a supervisor's own settings (`strategy`, `intensity`,
//! `abandon_after`) exist only on the builder before its first child, so
//! that `.server(..).intensity(..)` does not compile rather than silently
//! setting the supervisor's intensity:
//!
//! ```compile_fail,E0599
//! use std::time::Duration;
//! use threadbutler::prelude::*;
//! # pub struct W;
//! # threadbutler::messages! { pub enum WMsg for W {} }
//! # impl Server for W {
//! #     fn handle(&mut self, msg: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { match msg {} }
//! # }
//! let app = Butler::builder("app")
//!     .server("w", || W)
//!     .intensity(10, Duration::from_secs(1)) // whose? not allowed here
//!     .start();
//! ```
//!
//! Nor does a child's option with no child before it:
//!
//! ```compile_fail,E0599
//! use threadbutler::prelude::*;
//! let app = Butler::builder("app").restart(Restart::Transient).start();
//! ```
//!
//! Written in the order it reads:
//!
//! ```
//! use std::time::Duration;
//! use threadbutler::prelude::*;
//! # pub struct W;
//! # threadbutler::messages! { pub enum WMsg for W {} }
//! # impl Server for W {
//! #     fn handle(&mut self, msg: WMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> { match msg {} }
//! # }
//! let app = Butler::builder("app")
//!     .strategy(Strategy::OneForAll)          // the root supervisor's
//!     .intensity(10, Duration::from_secs(1))  // the root supervisor's
//!     .server("w", || W)
//!         .restart(Restart::Transient)        // w's
//!         .heartbeat(Duration::from_secs(1))  // w's
//!     .signals(threadbutler::Signals::none()) // the application's
//!     .start()?;
//! app.shutdown();
//! app.wait()?;
//! # Ok::<(), threadbutler::Error>(())
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use threadbutler_supervisor::signals::Signals;
use threadbutler_supervisor::{
    Backoff, BoxError, Event, ExitReason, FnChild, Intensity, Life, Restart,
};

use crate::Shutdown;
use crate::butler::Butler;
use crate::butler_builder::ButlerBuilder;
use crate::child_options::ChildOptions;
use crate::dead_letter::DeadLetter;
#[cfg(feature = "async")]
use crate::declaration::async_server_maker;
use crate::declaration::{Pending, Tree, pool_maker, server_maker};
use crate::error::Error;
use crate::hub::Hub;
use crate::instance::{fallible, plain};
use crate::mailbox::Capacity;
use crate::server::Server;
use crate::tree_builder::{SupervisorBuilder, child_option_methods, declare_methods};

/// A builder right after a child was declared: the child's options, then
/// any further declaration (see the module docs).
#[must_use]
pub struct ChildScope<B> {
    pub(crate) builder: B,
}

impl<B: fmt::Debug> fmt::Debug for ChildScope<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildScope")
            .field("builder", &self.builder)
            .finish()
    }
}

impl ChildScope<SupervisorBuilder> {
    fn tree_mut(&mut self) -> &mut Tree {
        self.builder.tree_mut()
    }

    fn scope(self) -> Self {
        self
    }

    declare_methods!(SupervisorBuilder);
    child_option_methods!();
}

impl ChildScope<ButlerBuilder> {
    fn tree_mut(&mut self) -> &mut Tree {
        self.builder.tree_mut()
    }

    fn scope(self) -> Self {
        self
    }

    declare_methods!(ButlerBuilder);
    child_option_methods!();

    /// See [`ButlerBuilder::signals`].
    pub fn signals(self, signals: Signals) -> Self {
        self.builder.signals(signals).scope()
    }

    /// See [`ButlerBuilder::on_reload`].
    pub fn on_reload(self, hook: impl Fn(&Hub) + Send + Sync + 'static) -> Self {
        self.builder.on_reload(hook).scope()
    }

    /// See [`ButlerBuilder::clock`].
    pub fn clock(self, clock: Arc<dyn crate::Clock>) -> Self {
        self.builder.clock(clock).scope()
    }

    /// See [`ButlerBuilder::shutdown_deadline`].
    pub fn shutdown_deadline(self, deadline: Duration) -> Self {
        self.builder.shutdown_deadline(deadline).scope()
    }

    /// See [`ButlerBuilder::default_capacity`].
    pub fn default_capacity(self, capacity: Capacity) -> Self {
        self.builder.default_capacity(capacity).scope()
    }

    /// See [`ButlerBuilder::request_timeout`].
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.builder.request_timeout(timeout).scope()
    }

    /// See [`ButlerBuilder::on_dead_letter`].
    pub fn on_dead_letter(self, sink: impl Fn(DeadLetter) + Send + Sync + 'static) -> Self {
        self.builder.on_dead_letter(sink).scope()
    }

    /// See [`ButlerBuilder::config_file`].
    ///
    /// # Errors
    ///
    /// As [`ButlerBuilder::config_file`].
    pub fn config_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        Ok(self.builder.config_file(path)?.scope())
    }

    /// See [`ButlerBuilder::subscribe`].
    pub fn subscribe(&self) -> Receiver<Event> {
        self.builder.subscribe()
    }

    /// See [`ButlerBuilder::start`].
    ///
    /// # Errors
    ///
    /// As [`ButlerBuilder::start`].
    pub fn start(self) -> Result<Butler, Error> {
        self.builder.start()
    }
}

impl From<ChildScope<ButlerBuilder>> for ButlerBuilder {
    fn from(scope: ChildScope<ButlerBuilder>) -> Self {
        scope.builder
    }
}
