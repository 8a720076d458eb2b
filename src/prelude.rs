//! The names almost every threadbutler program uses: `use threadbutler::prelude::*;`.

pub use crate::{
    Address, BoxError, Capacity, Client, Ctx, DeadLetter, DeadReason, Endpoint, ExitReason, Hub,
    Message, Outcome, Reply, Routed, Server, Shutdown, Stage,
};
