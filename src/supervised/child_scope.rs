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
//!     .on_dead_letter(|_| {})                 // the application's
//!     .start()?;
//! app.shutdown();
//! app.wait()?;
//! # Ok::<(), threadbutler::Error>(())
//! ```

use std::fmt;

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
