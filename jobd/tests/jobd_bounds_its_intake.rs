//! jobd's intake is bounded: past `max_connections` a client is answered
//! `err busy` and closed; a connection that sends no whole line within
//! `read_timeout` (idle, or trickling a byte at a time) is answered `err
//! idle` and closed, while one blocked on its own `wait` is not idle; and
//! out of file descriptors, the accept loop backs off instead of spinning,
//! logs a few lines instead of millions, and serves again once
//! descriptors are free.
//!
//! The spec is the module doc of jobd/src/lib.rs, "Limits".

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use integration_tests::PATIENCE;
use integration_tests::jobd::{Conn, Jobd, Scratch, Settings, job_count};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

/// Asserts that jobd closed `conn`: no more lines, the end of the stream.
fn assert_closed(conn: &mut Conn) {
    match conn.try_recv() {
        Err(why) => assert!(why.contains("end of stream"), "{why}"),
        Ok(line) => panic!("an answer after the last one: {line:?}"),
    }
}

#[test]
fn past_max_connections_a_client_is_answered_busy_and_closed() {
    let scratch = Scratch::new("maxconn");
    let mut settings = Settings::new(&scratch);
    settings.max_connections = Some(2);
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut a = jobd.connect();
    let mut b = jobd.connect();
    // Both are being served.
    a.status();
    b.status();

    let mut c = jobd.connect();
    assert_eq!(
        c.recv(),
        "err busy: 2 connections open (the limit is 2); try again later"
    );
    assert_closed(&mut c);
    assert_eq!(
        job_count(&a.status(), "refused"),
        1,
        "the busy answer counts"
    );

    // Once jobd has seen b end, a new client is served again.
    drop(b);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut d = jobd.connect();
        // jobd may have closed it already (busy): the answer says which.
        let _ = d.writer().write_all(b"status\n");
        let answer = d.recv();
        if answer.starts_with('{') {
            break;
        }
        assert!(
            answer.starts_with("err busy: 2 connections open"),
            "{answer}"
        );
        assert!(Instant::now() < deadline, "no slot freed after b left");
    }
    drop(a);
    jobd.stop_cleanly();
}

#[test]
fn idle_and_trickling_clients_are_closed_but_a_waiting_one_is_not() {
    let scratch = Scratch::new("idle");
    let mut settings = Settings::new(&scratch);
    settings.read_timeout = Some("1s".into());
    let mut jobd = Jobd::start(JOBD, &settings);
    let idle_answer = "err idle: no complete line in 1s; closing";

    // Sends nothing.
    let mut idle = jobd.connect();
    assert_eq!(idle.recv(), idle_answer);
    assert_closed(&mut idle);

    // A line that never ends, a byte every 20 ms: the limit is per line,
    // so the bytes do not keep it alive.
    let mut trickle = jobd.connect();
    let mut writer = trickle.writer();
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    let trickler = std::thread::spawn(move || {
        let ticks = crossbeam_channel::tick(Duration::from_millis(20));
        let mut sent = 0usize;
        loop {
            crossbeam_channel::select! {
                recv(stopped) -> _ => return sent,
                recv(ticks) -> _ => {
                    if writer.write_all(b" ").is_err() {
                        return sent; // jobd closed it
                    }
                    sent += 1;
                }
            }
        }
    });
    assert_eq!(trickle.recv(), idle_answer);
    assert_closed(&mut trickle);
    drop(stop);
    let sent = trickler.join().expect("the trickler ends");
    eprintln!("{sent} bytes trickled before jobd closed the connection");

    // Blocked on its own `wait` for longer than the limit: not idle. The
    // lines go in one write, so the client's own pace does not matter.
    let mut waiting = jobd.connect();
    waiting
        .writer()
        .write_all(b"w sleep 2500ms\nwait w\nstatus\n")
        .expect("jobd reads");
    assert_eq!(waiting.recv(), "ok w");
    assert_eq!(waiting.recv(), "done w ok");
    assert!(
        waiting.recv().starts_with('{'),
        "status answered after the wait"
    );
    // Then silent: idle.
    assert_eq!(waiting.recv(), idle_answer);
    assert_closed(&mut waiting);

    jobd.stop_cleanly();
}

/// The CPU time (user + system) the process `pid` has used, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // After the command name in parentheses: state is field 3, utime 14,
    // stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("(comm)") + 2..]
        .split_whitespace()
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let tck = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(100);
    ticks as f64 / tck as f64
}

#[test]
fn out_of_file_descriptors_the_accept_loop_backs_off_quietly_and_recovers() {
    let scratch = Scratch::new("emfile");
    let mut settings = Settings::new(&scratch);
    // Logs on stderr, where the test waits for lines.
    settings.code_defaults = true;
    // 64 open files, far below the connection limit (256): accepting runs
    // out of descriptors first.
    let mut jobd = Jobd::start_with_open_files(JOBD, &settings, 64);
    let clients: Vec<UnixStream> = (0..100)
        .map(|_| UnixStream::connect(&settings.socket).expect("the backlog takes it"))
        .collect();
    jobd.wait_err("an `accept failed` line", |l| l.contains("accept failed"));

    // A window of 2 s: a spinning loop burns about that much CPU in it;
    // a backing-off one next to nothing.
    let before = cpu_seconds(jobd.pid());
    let _ = crossbeam_channel::after(Duration::from_secs(2)).recv();
    let spent = cpu_seconds(jobd.pid()) - before;
    jobd.err.poll();
    let accept_lines = |jobd: &Jobd| {
        jobd.err
            .seen
            .iter()
            .filter(|l| l.contains("accept"))
            .count()
    };
    let lines = accept_lines(&jobd);
    let transcript = jobd.transcript();
    eprintln!("out of descriptors: {spent:.3} s of CPU in 2 s, {lines} lines about accept");
    assert!(
        spent < 0.5,
        "jobd used {spent:.2} s of CPU in 2 s out of descriptors\n{transcript}"
    );
    assert!(lines <= 3, "{lines} lines about accept\n{transcript}");

    // Descriptors free again: a new client is served.
    drop(clients);
    let mut conn = jobd.connect();
    conn.status();
    jobd.err.poll();
    let lines = accept_lines(&jobd);
    assert!(
        lines <= 4,
        "{lines} lines about accept\n{}",
        jobd.transcript()
    );
    drop(conn);
    jobd.stop_cleanly();
}
