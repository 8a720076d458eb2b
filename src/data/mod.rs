//! The data path: messages, mailboxes and their counters, addresses,
//! requests and replies, the hub that routes by type, clients. Nothing here
//! knows of supervision.

pub(crate) mod address;
pub(crate) mod answer_cell;
pub mod async_request;
pub(crate) mod client;
pub(crate) mod counters;
pub(crate) mod dead_letter;
pub(crate) mod dead_letter_log;
pub(crate) mod hub;
pub(crate) mod mailbox;
pub(crate) mod message;
pub(crate) mod reply;
pub(crate) mod send_error;
pub(crate) mod spin;
