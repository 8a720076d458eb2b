//! Operations: signals, systemd, reloads, the config file and its
//! resolution, logging.

#[cfg(feature = "config")]
pub mod config;
#[cfg(feature = "logging")]
pub mod logging;
pub mod operations;
#[cfg(feature = "logging")]
pub(crate) mod panic_log;
#[cfg(feature = "config")]
pub(crate) mod reload;
#[cfg(feature = "config")]
pub(crate) mod resolution;
