//! How every kind of server is built: a [`Factory`], called on the
//! server's own thread at every (re)start.

use std::sync::Arc;

use threadbutler_supervisor::BoxError;

/// Builds a server; called on its own thread at every (re)start. An `Err`
/// is a failed start at [`Stage::Init`](crate::Stage::Init) with that
/// error. Plain factories (`Fn() -> S`) and fallible ones
/// (`Fn() -> Result<S, E>`) both become one of these, so every kind of
/// server has one way to be built.
pub(crate) type Factory<S> = Arc<dyn Fn() -> Result<S, BoxError> + Send + Sync>;

/// A factory that cannot refuse.
pub(crate) fn plain<S, F>(factory: F) -> Factory<S>
where
    F: Fn() -> S + Send + Sync + 'static,
{
    Arc::new(move || Ok(factory()))
}

/// A factory that may refuse: its error becomes the failed start's.
pub(crate) fn fallible<S, E, F>(factory: F) -> Factory<S>
where
    E: Into<BoxError>,
    F: Fn() -> Result<S, E> + Send + Sync + 'static,
{
    Arc::new(move || factory().map_err(Into::into))
}
