//! A running jobd: a [`Process`] started on a config file, with its log,
//! results and socket at hand.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use super::{Conn, Results, Settings, read_results};
use crate::PATIENCE;
use crate::daemon::{Process, clean_env, log_lines};

/// A running `jobd` (see [`Process`], which it derefs to). Its stdin is a
/// pipe held open (jobd reads requests from it).
pub struct Jobd {
    process: Process,
    /// Its settings (paths of the socket, results file and log).
    pub settings: Settings,
}

impl std::ops::Deref for Jobd {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for Jobd {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

impl Jobd {
    /// Writes `settings`' config file and runs `exe` (`env!("CARGO_BIN_EXE_jobd")`
    /// in a test) with `--config` on it, without waiting for anything.
    pub fn spawn(exe: &str, settings: &Settings) -> Jobd {
        let mut cmd = Command::new(exe);
        clean_env(&mut cmd).arg("--config").arg(settings.write());
        Jobd {
            process: Process::spawn("jobd", &mut cmd, Some(settings.log_file())),
            settings: settings.clone(),
        }
    }

    /// As [`spawn`](Self::spawn), run through `sh -c 'SETUP; exec jobd
    /// ...'`: `setup` changes what jobd inherits (its umask, a resource
    /// limit, an ignored signal).
    pub fn spawn_with_shell(exe: &str, settings: &Settings, setup: &str) -> Jobd {
        let mut cmd = Command::new("sh");
        clean_env(&mut cmd)
            .arg("-c")
            .arg(format!("{setup}; exec \"$0\" \"$@\""))
            .arg(exe)
            .arg("--config")
            .arg(settings.write());
        Jobd {
            process: Process::spawn("jobd", &mut cmd, Some(settings.log_file())),
            settings: settings.clone(),
        }
    }

    /// As [`spawn`](Self::spawn), with the process's umask set to `umask`
    /// first, so that the modes of the files jobd creates can be checked
    /// against it.
    pub fn spawn_with_umask(exe: &str, settings: &Settings, umask: u32) -> Jobd {
        Jobd::spawn_with_shell(exe, settings, &format!("umask {umask:03o}"))
    }

    /// Waits for `jobd: listening on ...` on stdout (see
    /// [`start`](Self::start)).
    pub fn wait_listening(&mut self) {
        self.wait_out("`jobd: listening on`", |l| {
            l.starts_with("jobd: listening on ")
        });
    }

    /// As [`spawn`](Self::spawn), then waits for `jobd: listening on ...`
    /// on stdout: the socket is then ready for clients.
    pub fn start(exe: &str, settings: &Settings) -> Jobd {
        let jobd = Jobd::spawn(exe, settings);
        jobd.listening()
    }

    /// As [`start`](Self::start), with jobd's limit of open files lowered
    /// to `files` (`ulimit -n` in a shell that then execs jobd, so the pid
    /// is jobd's).
    pub fn start_with_open_files(exe: &str, settings: &Settings, files: u32) -> Jobd {
        Jobd::spawn_with_shell(exe, settings, &format!("ulimit -n {files}")).listening()
    }

    fn listening(mut self) -> Jobd {
        self.wait_out("`jobd: listening on`", |l| {
            l.starts_with("jobd: listening on ")
        });
        self
    }

    /// A new client on its socket.
    pub fn connect(&self) -> Conn {
        Conn::open(&self.settings.socket)
    }

    /// SIGKILL, then waits for the process to end; asserts that the signal
    /// ended it.
    pub fn kill_hard(&mut self) {
        self.signal("KILL");
        let status = self.exit_status_within(PATIENCE);
        assert_eq!(
            status.signal(),
            Some(9),
            "SIGKILL ended jobd: {status:?}\n{}",
            self.transcript()
        );
    }

    /// Its peak resident set size so far, in KiB (`VmHWM` in
    /// `/proc/PID/status`; Linux).
    pub fn peak_rss_kib(&self) -> u64 {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmHWM in {path}:\n{status}"))
    }

    /// SIGTERM, then asserts that jobd drained cleanly (exit 0).
    pub fn stop_cleanly(&mut self) {
        self.signal("TERM");
        let code = self.exit_code();
        let transcript = self.transcript();
        assert_eq!(code, Some(0), "a clean drain exits 0\n{transcript}");
    }

    /// The log file's lines (without colour codes).
    pub fn log(&self) -> Vec<String> {
        log_lines(&self.settings.log_file())
    }

    /// The results file, checked to hold whole lines only (see
    /// [`read_results`]).
    pub fn results(&self) -> Results {
        read_results(&self.settings.results)
    }
}
