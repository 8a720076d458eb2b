//! Operations: signals, systemd, reloads, the config file and its
//! resolution, logging, health, metrics.

#[cfg(feature = "config")]
pub mod config;
pub(crate) mod health;
#[cfg(feature = "health-http")]
pub(crate) mod health_http;
#[cfg(feature = "logging")]
mod log_dir;
#[cfg(feature = "logging")]
mod log_retention;
#[cfg(feature = "logging")]
pub mod logging;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod operations;
#[cfg(feature = "logging")]
pub(crate) mod panic_log;
#[cfg(feature = "config")]
pub(crate) mod reload;
#[cfg(feature = "config")]
pub(crate) mod resolution;
