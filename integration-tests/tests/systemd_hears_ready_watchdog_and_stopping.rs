//! The systemd notification protocol, heard from the manager's side: the
//! test binds the datagram socket that `NOTIFY_SOCKET` names, runs `opsd`
//! (src/bin/opsd.rs) as a process with `WATCHDOG_USEC`, and reads what it
//! sends: `READY=1` after the start, `WATCHDOG=1` at half the interval only
//! while every watched heartbeat is fresh, `STOPPING=1` at shutdown.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration_tests::PATIENCE;
use integration_tests::daemon::Opsd;

/// Runs `opsd` with the test's notification socket and watchdog interval.
fn start(config: &Path, socket: &Path, watchdog_usec: &str) -> Opsd {
    let socket = socket.to_str().expect("a UTF-8 temp path");
    // WATCHDOG_PID stays unset (Opsd::start removes it): the watchdog is the
    // process's own.
    Opsd::start(
        env!("CARGO_BIN_EXE_opsd"),
        Some(config),
        &[("NOTIFY_SOCKET", socket), ("WATCHDOG_USEC", watchdog_usec)],
    )
}

/// Files in the temp directory, removed on drop.
struct TempFiles(Vec<PathBuf>);

impl TempFiles {
    fn path(&mut self, test: &str, ext: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("opsd-{}-{test}.{ext}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        self.0.push(p.clone());
        p
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The service manager's end of `NOTIFY_SOCKET`.
struct Manager {
    socket: UnixDatagram,
    /// Every datagram so far, with when it arrived.
    heard: Vec<(Instant, String)>,
}

impl Manager {
    fn bind(path: &Path) -> Manager {
        Manager {
            socket: UnixDatagram::bind(path).expect("bound"),
            heard: Vec::new(),
        }
    }

    /// The next datagram, if one arrives before `deadline`.
    fn next_before(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        self.socket
            .set_read_timeout(Some(left))
            .expect("timeout set");
        let mut buf = [0u8; 4096];
        match self.socket.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.heard.push((Instant::now(), text.clone()));
                Some(text)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("receiving: {e}"),
        }
    }

    /// Waits for a datagram with the line `line`; returns the datagrams
    /// before it and it. Panics after [`PATIENCE`].
    fn expect(&mut self, line: &str) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut got = Vec::new();
        loop {
            let Some(d) = self.next_before(deadline) else {
                panic!("no {line:?} from opsd; heard: {:?}", self.heard);
            };
            let hit = d.lines().any(|l| l == line);
            got.push(d);
            if hit {
                return got;
            }
        }
    }

    /// Every datagram until `deadline`.
    fn all_until(&mut self, deadline: Instant) -> Vec<String> {
        let mut got = Vec::new();
        while let Some(d) = self.next_before(deadline) {
            got.push(d);
        }
        got
    }
}

fn pings(datagrams: &[String]) -> usize {
    datagrams.iter().filter(|d| *d == "WATCHDOG=1").count()
}

// --- the scenarios ----------------------------------------------------------

#[test]
fn ready_then_watchdog_pings_that_stop_while_a_server_hangs_then_stopping() {
    let mut files = TempFiles(Vec::new());
    let socket = files.path("hang", "sock");
    let config = files.path("hang", "toml");
    std::fs::write(
        &config,
        "[supervisor]\nabandon_after = \"3s\"\n\n[servers.worker]\nheartbeat = \"100ms\"\n",
    )
    .expect("written");
    let mut systemd = Manager::bind(&socket);
    // WATCHDOG_USEC=200000: a ping every 100 ms while all is well.
    let mut d = start(&config, &socket, "200000");

    // READY=1 comes first, once the tree started.
    let first = systemd.expect("READY=1");
    assert_eq!(first.len(), 1, "READY=1 is the first thing said: {first:?}");
    d.expect_out("ready");

    // Pings while idle. The bound is loose on purpose: ~20 are due in 2 s.
    let idle = systemd.all_until(Instant::now() + Duration::from_secs(2));
    assert!(pings(&idle) >= 3, "pings while all is well: {idle:?}");

    // The worker hangs. Its supervisor finds the heartbeat stale (within
    // 1.5 x 100 ms), says so on the socket, stops the hung life and waits
    // `abandon_after` (3 s) for it before abandoning and replacing it. The
    // STATUS line is sent when that wait begins, on the same socket as the
    // pings, so what comes after it was sent after it.
    d.send("hang");
    d.expect_out("sent hang");
    systemd.expect("STATUS=opsd/worker missed its heartbeat");
    let stale_seen = Instant::now();
    // The watchdog thread samples on its own 100 ms clock: a sample that saw
    // the last progress late may still ping once just after the supervisor's
    // verdict. Allow 500 ms for that on a slow machine, then expect silence
    // for 1 s, which ends 1.5 s before the 3 s wait for the hung life can.
    let settling = systemd.all_until(stale_seen + Duration::from_millis(500));
    let silence = systemd.all_until(stale_seen + Duration::from_millis(1500));
    assert_eq!(
        pings(&silence),
        0,
        "no ping while a heartbeat is stale: {silence:?} (just before: {settling:?})"
    );
    d.expect_out("event HeartbeatMissed opsd/worker");

    // The hung life is abandoned and replaced: pings resume.
    systemd.expect("STATUS=opsd/worker abandoned");
    d.expect_out("event Started opsd/worker");
    systemd.expect("WATCHDOG=1");

    // SIGTERM: STOPPING=1, and the process exits.
    d.signal("TERM");
    systemd.expect("STOPPING=1");
    let code = d.exit_code();
    let transcript = d.transcript();
    assert_eq!(
        code,
        Some(0),
        "the hang was before the shutdown, which drained cleanly\n{transcript}"
    );
}

#[test]
fn a_job_shorter_than_the_heartbeat_keeps_the_watchdog_fed_after_an_idle_spell() {
    let mut files = TempFiles(Vec::new());
    let socket = files.path("idle-then-busy", "sock");
    let config = files.path("idle-then-busy", "toml");
    std::fs::write(&config, "[servers.worker]\nheartbeat = \"2s\"\n").expect("written");
    let mut systemd = Manager::bind(&socket);
    let mut d = start(&config, &socket, "200000");
    systemd.expect("READY=1");
    d.expect_out("ready");
    // Idle for longer than the heartbeat timeout: 25 pings, about 2.5 s.
    for _ in 0..25 {
        systemd.expect("WATCHDOG=1");
    }
    // A 1.5 s job: busy, but well within its 2 s heartbeat, so the tree is
    // healthy (the supervisor does not call it hung) and the pings go on.
    d.send("jobs 1 1500");
    d.expect_out("queued 1");
    let during = systemd.all_until(Instant::now() + Duration::from_secs(1));
    let transcript = d.transcript();
    assert!(
        pings(&during) >= 2,
        "pings during a job within its heartbeat: {during:?}\n{transcript}"
    );
    d.signal("TERM");
    systemd.expect("STOPPING=1");
    assert_eq!(d.exit_code(), Some(0));
}
