//! The limits every job runs under, from `[app]`: a deadline, a byte limit
//! for file jobs, and an optional root directory that file jobs are
//! confined to.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::settings::Settings;

/// What a job may use, shared by every worker.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLimits {
    /// How long one job may run, from the moment a worker takes it.
    pub timeout: Duration,
    /// How many bytes a file job may read.
    pub max_file_bytes: u64,
    /// The directory file jobs are confined to, canonical (no symlinks,
    /// no `..`); `None`: any file the daemon's user can read.
    pub root: Option<PathBuf>,
}

impl Default for JobLimits {
    fn default() -> Self {
        JobLimits::from(&Settings::default())
    }
}

impl From<&Settings> for JobLimits {
    /// The limits as written, `root` not yet checked: see [`JobLimits::of`].
    fn from(s: &Settings) -> Self {
        JobLimits {
            timeout: s.job_timeout,
            max_file_bytes: s.max_file_bytes,
            root: s.root.clone(),
        }
    }
}

impl JobLimits {
    /// The limits `settings` asks for, with `root` made canonical.
    ///
    /// # Errors
    ///
    /// `root` cannot be resolved (it does not exist, or is not a
    /// directory), naming it.
    pub fn of(settings: &Settings) -> Result<JobLimits, String> {
        let mut limits = JobLimits::from(settings);
        if let Some(root) = &settings.root {
            let canonical = root.canonicalize().map_err(|e| {
                format!(
                    "app.root {}: {e} (file jobs are confined to it)",
                    root.display()
                )
            })?;
            if !canonical.is_dir() {
                return Err(format!("app.root {}: not a directory", root.display()));
            }
            limits.root = Some(canonical);
        }
        Ok(limits)
    }

    /// The clock of one job, started now.
    pub fn start(&self) -> Budget {
        Budget {
            deadline: Instant::now() + self.timeout,
            timeout: self.timeout,
        }
    }
}

/// One job's deadline, checked between chunks and beats.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
    timeout: Duration,
}

impl Budget {
    /// `Err` naming the deadline once it has passed; `done` says how far
    /// the job got ("after 1234 bytes").
    ///
    /// # Errors
    ///
    /// The deadline passed.
    pub fn check(&self, done: impl FnOnce() -> String) -> Result<(), String> {
        if Instant::now() < self.deadline {
            return Ok(());
        }
        Err(format!(
            "deadline of {} (app.job_timeout) passed {}",
            humantime::format_duration(self.timeout),
            done()
        ))
    }

    /// The time left before the deadline (zero once it passed).
    pub fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}
