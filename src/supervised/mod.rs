//! The supervised application: its declaration and builders, the running
//! `Butler` and the hub's root, children added and stopped at run time,
//! reports.

pub(crate) mod app;
pub(crate) mod app_log;
pub(crate) mod butler;
pub(crate) mod butler_builder;
mod butler_operations;
pub(crate) mod butler_scope;
pub(crate) mod child_options;
pub(crate) mod child_scope;
pub(crate) mod declaration;
pub(crate) mod dynamic;
pub(crate) mod fate;
pub(crate) mod hub_app;
pub(crate) mod report;
pub(crate) mod spawn;
pub(crate) mod stop_report;
pub(crate) mod tree_builder;
