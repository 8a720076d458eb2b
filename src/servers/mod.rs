//! Servers and their loops: the `Server` trait, its context, the one life
//! runner and reader, supervised server children, pools, tasks, async
//! servers.

#[cfg(feature = "async")]
pub mod async_server;
pub(crate) mod ctx;
pub(crate) mod ctx_base;
pub(crate) mod factory;
pub(crate) mod life;
pub(crate) mod pool;
pub(crate) mod reader;
pub(crate) mod receive;
pub(crate) mod server;
pub(crate) mod server_child;
pub(crate) mod sync_life;
pub mod task;
