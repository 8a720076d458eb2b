//! The HTTP health probe (feature `health-http`, #13 point 6), asked as a
//! Kubernetes `httpGet` probe would, with a plain `TcpStream`: `/readyz`
//! says 503 `starting` until `start()` returned, 200 `ok` while running,
//! 503 `shutting down` from the instant a shutdown begins while `/livez`
//! stays 200; the listener ends with the tree. An address in use fails the
//! start with nothing started. No client can hold up the probes: a silent
//! or slow one is cut with 408 after 300 ms, a head over 8 KiB gets 431,
//! more than 8 connections at once get `503 busy` at once, and `wait()`
//! cuts the open ones instead of waiting for them. docs/operations.md,
//! "Health probes".
#![cfg(feature = "health-http")]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use integration_tests::PATIENCE;
use integration_tests::events::EventLog;
use integration_tests::probe::{Hang, Probe, ProbeConfig};
use threadbutler::prelude::*;
use threadbutler::{Butler, Error};

/// Connections the endpoint answers at once (docs/operations.md).
const CAP: usize = 8;
/// How long a client has to send its request head by default
/// (docs/operations.md).
const READ_TIMEOUT: Duration = Duration::from_millis(300);
/// The timeout most tests give the endpoint (`health_timeout`): so long
/// that no stall of a loaded test machine makes a silent client's slot
/// come free, or a slow test client's request time out, by accident.
const HOLD: Duration = Duration::from_secs(30);
/// An answer that does not wait for the silent clients comes well within
/// this; one that waited for them would take `HOLD`. Generous, so that a
/// loaded machine does not fail the test (the 300 ms of the default
/// timeout and Kubernetes' 1 s are the design; this is the test's bound).
const ANSWERED_WITHIN: Duration = Duration::from_secs(10);
/// The request of "Request Timeout".
const TOO_SLOW: &str = "request head not received in time\n";

/// A listener on a port the OS chose, held from now on: no other process
/// can take the port before the endpoint listens on it.
fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = l.local_addr().expect("an address");
    (l, addr)
}

/// A running application with a health endpoint whose clients have
/// `timeout`, and the endpoint's address.
fn app(timeout: Duration) -> (Butler, SocketAddr) {
    let (l, addr) = listener();
    let app = Butler::builder("app")
        .health_listener(l)
        .health_timeout(timeout)
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    assert_eq!(app.health_endpoint(), Some(addr));
    (app, addr)
}

/// A client that connects and says nothing.
fn silent(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).expect("the endpoint listens")
}

/// Everything the endpoint sends on `s` until it closes the connection. A
/// reset after the answer (a refused request was never read) ends it too.
fn received(mut s: &TcpStream) -> String {
    s.set_read_timeout(Some(PATIENCE)).expect("a timeout");
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset && !bytes.is_empty() => break,
            Err(e) => panic!(
                "reading the answer after {:?}: {e}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    String::from_utf8(bytes).expect("utf-8")
}

/// The status code and the body of the answer on `s`.
fn answer(s: &TcpStream) -> (u16, String) {
    let answer = received(s);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_else(|| panic!("a head and a body: {answer:?}"));
    (status, body)
}

/// Sends `request` and returns the status code and the body.
fn ask(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("the endpoint listens");
    s.write_all(request.as_bytes()).expect("sent");
    answer(&s)
}

/// `GET path` as the kubelet sends it.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    ask(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: 10.0.0.7:8080\r\nUser-Agent: kube-probe/1.30\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n"
        ),
    )
}

/// `GET path`, answered without waiting for any silent client.
fn probe(addr: SocketAddr, path: &str) -> (u16, String) {
    let began = Instant::now();
    let answer = get(addr, path);
    let took = began.elapsed();
    assert!(took < ANSWERED_WITHIN, "{path} answered after {took:?}");
    answer
}

#[test]
fn probes_follow_the_tree_from_its_start_to_its_end() {
    let (listener, addr) = listener();
    let (release_tx, release_rx) = bounded::<()>(1);
    let slow = ProbeConfig::default();
    let gate = slow.gate.clone();
    let builder = Butler::builder("app")
        .health_listener(listener)
        .health_timeout(HOLD)
        // A child that takes its time to start, until the test says so.
        .thread("starter", move |mut life| {
            let _ = release_rx.recv_timeout(PATIENCE);
            life.started();
            while !life.stop.is_requested() {
                let _ = life.stop.waker().recv();
            }
            ExitReason::Shutdown
        })
        .server("slow", Probe::factory(slow))
        .shutdown(Shutdown::Drain(Duration::from_secs(30)));
    // While `start()` waits for the starter, a prober asks, then lets it go.
    let mut events = EventLog::new(builder.subscribe());
    let prober = std::thread::spawn(move || {
        events.wait("Starting", "app/starter");
        let answers = (get(addr, "/readyz"), get(addr, "/livez"));
        release_tx.send(()).expect("the starter waits");
        answers
    });
    let app = builder.start().expect("starts");
    let (ready, live) = prober.join().expect("the prober got its answers");
    // Starting: alive, not ready.
    assert_eq!(ready, (503, "starting\n".to_owned()));
    assert_eq!(live, (200, "ok\n".to_owned()));
    assert_eq!(app.health_endpoint(), Some(addr));

    // Running.
    assert_eq!(get(addr, "/livez"), (200, "ok\n".to_owned()));
    assert_eq!(get(addr, "/readyz?verbose=1"), (200, "ok\n".to_owned()));
    let (status, body) = ask(addr, "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""), "HEAD has no body");
    assert_eq!(get(addr, "/metrics").0, 404);
    assert_eq!(
        ask(
            addr,
            "POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        )
        .0,
        405
    );
    assert_eq!(ask(addr, "HELLO?\r\n\r\n").0, 400);

    // Draining: `slow` is busy with a message; the shutdown has begun.
    app.hub().send(Hang).expect("sent");
    gate.wait_arrival();
    app.shutdown();
    assert_eq!(get(addr, "/readyz"), (503, "shutting down\n".to_owned()));
    assert_eq!(get(addr, "/livez"), (200, "ok\n".to_owned()));

    // Ended: the listener went with the tree.
    gate.open(1);
    app.wait().expect("a clean shutdown");
    let refused = TcpStream::connect(addr);
    assert!(refused.is_err(), "still listening after wait: {refused:?}");
}

#[test]
fn a_port_chosen_by_the_os_is_told() {
    let app = Butler::builder("app")
        .health_endpoint("127.0.0.1:0")
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let addr = app.health_endpoint().expect("asked for");
    assert_ne!(addr.port(), 0);
    assert_eq!(get(addr, "/readyz"), (200, "ok\n".to_owned()));
    app.shutdown();
    app.wait().expect("a clean shutdown");
}

#[test]
fn an_address_in_use_fails_the_start_with_nothing_started() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("an address");
    let cfg = ProbeConfig::default();
    let lives = cfg.lives.clone();
    let err = Butler::builder("app")
        .health_endpoint(addr.to_string())
        .server("p", Probe::factory(cfg))
        .start()
        .expect_err("the address is taken");
    assert!(matches!(err, Error::Start { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("the health endpoint cannot listen on {addr}")),
        "{text}"
    );
    assert_eq!(err.exit_code(), 1);
    assert_eq!(lives.get(), 0, "nothing started");

    let err = Butler::builder("app")
        .health_endpoint("no port here")
        .start()
        .expect_err("not an address");
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("\"no port here\""), "{err}");
    assert_eq!(err.exit_code(), 78);
}

#[test]
fn silent_connections_beyond_the_cap_cannot_hold_up_the_probes() {
    let (app, addr) = app(HOLD);
    // More silent clients than there are slots: the first CAP take them.
    let held: Vec<TcpStream> = (0..CAP).map(|_| silent(addr)).collect();
    let over: Vec<TcpStream> = (0..4).map(|_| silent(addr)).collect();
    // The others are answered at once by the accept thread, unread: a
    // reading thread would have waited for a request and answered 408.
    for s in &over {
        assert_eq!(answer(s), (503, "busy\n".to_owned()));
    }
    // So is a probe while every slot is held: a failure the kubelet sees at
    // once, with the reason, not a timeout.
    assert_eq!(probe(addr, "/livez"), (503, "busy\n".to_owned()));
    // The silent ones leave (their timeout cutting them is the next
    // test's): each gives its slot back before its socket closes, so once
    // a client sees the close the probes are answered again.
    for s in &held {
        s.shutdown(std::net::Shutdown::Write).expect("said goodbye");
        assert_eq!(received(s), "", "a client that sent nothing gets nothing");
    }
    assert_eq!(probe(addr, "/livez"), (200, "ok\n".to_owned()));
    assert_eq!(probe(addr, "/readyz"), (200, "ok\n".to_owned()));
    app.shutdown();
    app.wait().expect("a clean shutdown");
}

#[test]
fn a_slow_client_holds_up_no_probe() {
    let (app, addr) = app(HOLD);
    let mut slow = silent(addr);
    slow.write_all(b"GET /liv").expect("half a request line");
    // Answered while the slow one is still waiting for its answer.
    assert_eq!(probe(addr, "/livez"), (200, "ok\n".to_owned()));
    slow.set_nonblocking(true).expect("non-blocking");
    let mut byte = [0u8; 1];
    let pending = slow.read(&mut byte);
    assert!(
        matches!(&pending, Err(e) if e.kind() == ErrorKind::WouldBlock),
        "the slow client was answered before the probe: {pending:?}"
    );
    app.shutdown();
    app.wait().expect("a clean shutdown");
}

#[test]
fn a_slow_client_is_cut_off_with_408_after_the_default_timeout() {
    let (l, addr) = listener();
    let app = Butler::builder("app")
        .health_listener(l)
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let began = Instant::now();
    let mut slow = silent(addr);
    slow.write_all(b"GET /liv").expect("half a request line");
    assert_eq!(answer(&slow), (408, TOO_SLOW.to_owned()));
    let took = began.elapsed();
    assert!(
        took >= READ_TIMEOUT && took < ANSWERED_WITHIN,
        "cut after {took:?}"
    );
    app.shutdown();
    app.wait().expect("a clean shutdown");
}

#[test]
fn a_timeout_outside_its_bounds_is_a_config_error() {
    for t in [Duration::ZERO, Duration::from_secs(3600)] {
        let (l, _) = listener();
        let err = Butler::builder("app")
            .health_listener(l)
            .health_timeout(t)
            .start()
            .expect_err("refused");
        assert_eq!(err.exit_code(), 78, "{err}");
        assert!(
            err.to_string().contains("health_timeout: must be from"),
            "{err}"
        );
    }
}

#[test]
fn a_request_head_over_8_kib_gets_431() {
    let (app, addr) = app(HOLD);
    let mut head = b"GET /livez HTTP/1.1\r\nX-Padding: ".to_vec();
    // 8 KiB exactly, and complete: answered.
    head.resize(8 * 1024 - 4, b'a');
    head.extend_from_slice(b"\r\n\r\n");
    let mut s = silent(addr);
    s.write_all(&head).expect("sent");
    assert_eq!(answer(&s), (200, "ok\n".to_owned()));
    // 8 KiB and not at its end: refused.
    head.truncate(8 * 1024 - 4);
    head.extend_from_slice(b"aaaa");
    let mut s = silent(addr);
    s.write_all(&head).expect("sent");
    assert_eq!(answer(&s), (431, "request head too large\n".to_owned()));
    app.shutdown();
    app.wait().expect("a clean shutdown");
}

#[test]
fn wait_returns_promptly_while_silent_connections_are_open() {
    let (app, addr) = app(HOLD);
    let held: Vec<TcpStream> = (0..CAP).map(|_| silent(addr)).collect();
    // Refused as busy: every one of `held` has its thread now.
    assert_eq!(answer(&silent(addr)), (503, "busy\n".to_owned()));
    let began = Instant::now();
    app.shutdown();
    app.wait().expect("a clean shutdown");
    let took = began.elapsed();
    // Cut by `wait`, not left to their timeout (that would be a 408).
    for s in &held {
        assert_eq!(received(s), "", "cut without an answer");
    }
    assert!(took < ANSWERED_WITHIN, "wait took {took:?}");
    let refused = TcpStream::connect(addr);
    assert!(refused.is_err(), "still listening after wait: {refused:?}");
}
