//! Operations: signals, systemd, reloads, the config file and its
//! resolution, logging.

pub mod config;
pub mod logging;
pub mod operations;
pub(crate) mod reload;
pub(crate) mod resolution;
