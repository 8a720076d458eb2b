//! Panics through `tracing`: the hook [`logging::init`](crate::logging::init)
//! installs, so that a panic reaches the configured output (a JSON log
//! file, journald) as one ERROR event instead of plain text on standard
//! error.
//!
//! # Anatomy
//!
//! The hook replaces the previous one (the default hook's "thread '…'
//! panicked at …" text is not printed as well) and logs one ERROR event,
//! "panicked", with the fields `thread` (its name, or `<unnamed>`), `panic`
//! (the message given to `panic!`), `location` (`file:line:column`) and,
//! when `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE` asks for one, `backtrace`.
//!
//! It only logs: unwinding goes on as before, so a server's panic is still
//! caught at its boundary and becomes `ExitReason::Panicked` with its
//! message, and a panic on the main thread still ends the process with
//! exit code 101.
//!
//! # Limitations
//!
//! The hook is process-wide: it replaces any hook installed before
//! `logging::init` (install yours after it to wrap or replace this one). A
//! panic inside the logging itself (a subscriber or writer that panics)
//! aborts the process, as any panic inside a panic hook does.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::panic::PanicHookInfo;

use threadbutler_supervisor::panic_message;

/// Installs the hook. See the module docs.
pub(crate) fn install() {
    std::panic::set_hook(Box::new(hook));
}

fn hook(info: &PanicHookInfo<'_>) {
    let message = panic_message(info.payload());
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_else(|| "<unknown>".to_owned());
    let current = std::thread::current();
    let thread = current.name().unwrap_or("<unnamed>");
    let backtrace = Backtrace::capture();
    if backtrace.status() == BacktraceStatus::Captured {
        tracing::error!(
            thread,
            panic = %message,
            location = %location,
            backtrace = %backtrace,
            "panicked"
        );
    } else {
        tracing::error!(thread, panic = %message, location = %location, "panicked");
    }
}
