//! Running the reference daemon `jobd` (the `jobd` crate's binary; its
//! tests in `jobd/tests/` pass `env!("CARGO_BIN_EXE_jobd")`) as a process: a scratch directory for its socket,
//! results file, logs and config; its stdout and stderr as they arrive
//! (the [`Stream`](crate::daemon::Stream)s of [`crate::daemon`]); clients on its Unix socket;
//! signals; its exit status; and its results file and log, parsed.
//!
//! Nothing here sleeps: every wait is on a line (from a pipe, or from the
//! socket with a read timeout), a stream's end or a deadline, and every
//! deadline is [`PATIENCE`](crate::PATIENCE).

mod conn;
mod process;
mod results;
mod settings;
mod status;

pub use conn::Conn;
pub use process::Jobd;
pub use results::{ResultLine, Results, fnv1a64, parse_result_line, read_results, word_count};
pub use settings::Settings;
pub use status::{job_count, status_node, worker_states};

use std::path::{Path, PathBuf};

/// A directory of its own for one test: `jobd-TAG-PID` in the temp
/// directory, emptied when made. Removed on drop, unless the test is
/// failing (the socket, results, logs and config are then kept to look at).
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A fresh directory named after `tag` and this process. Keep `tag`
    /// short: a Unix socket's path is limited to about 100 bytes.
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("jobd-{tag}-{}", std::process::id()));
        // A leftover of an earlier run with the same pid.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory created");
        Scratch { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `text` to the file `name` inside it; returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, text).expect("scratch file written");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
