//! The names almost every threadbutler program uses: `use threadbutler::prelude::*;`.

pub use crate::{
    Address, Backoff, BoxError, Butler, Capacity, Client, Ctx, DeadLetter, DeadReason, Endpoint,
    Event, ExitReason, Hub, Message, Reply, Restart, Routed, Server, Shutdown, Stage, Strategy,
};
