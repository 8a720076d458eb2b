//! Panics through `tracing`: the hook [`logging::init`](crate::logging::init)
//! installs, so that a panic reaches the configured output (a JSON log
//! file, journald) as one ERROR event instead of plain text on standard
//! error.
//!
//! # Anatomy
//!
//! The hook stands in for the previous one (the default hook's "thread '…'
//! panicked at …" text is not printed as well) and logs one ERROR event,
//! "panicked", with the fields `thread` (its name, or `<unnamed>`), `panic`
//! (the message given to `panic!`), `location` (`file:line:column`) and,
//! when `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE` asks for one, `backtrace`.
//!
//! Where that event would be lost, the previous hook runs instead: when
//! the configured filter turns ERROR events of this crate off, and in a
//! build with `panic = "abort"` (the process ends before the log writer's
//! thread writes the line).
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
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic must never leave no trace: when the event would be
        // filtered out (`level = "off"`, `threadbutler=off`), or when the
        // process aborts at once (`panic = "abort"`: the writer thread
        // never gets to write the line), the previous hook (by default,
        // the text on stderr) speaks instead.
        if cfg!(panic = "abort") || !tracing::enabled!(tracing::Level::ERROR) {
            previous(info);
        } else {
            hook(info);
        }
    }));
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
