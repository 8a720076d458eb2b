//! What the library logs on the current thread, captured for tests that
//! check what it says (a refused reload names its file and line).

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// Runs `f` with every `tracing` event of this thread written as a plain
/// text line; returns its result and the lines.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || Lines(Arc::clone(&sink)))
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let bytes = buffer.lock().unwrap_or_else(PoisonError::into_inner);
    let lines = String::from_utf8_lossy(&bytes)
        .lines()
        .map(String::from)
        .collect();
    (result, lines)
}

struct Lines(Arc<Mutex<Vec<u8>>>);

impl io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut b = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        b.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
