//! The HTTP health probe (feature `health-http`, #13 point 6), asked as a
//! Kubernetes `httpGet` probe would, with a plain `TcpStream`: `/readyz`
//! says 503 `starting` until `start()` returned, 200 `ok` while running,
//! 503 `shutting down` from the instant a shutdown begins while `/livez`
//! stays 200; the listener ends with the tree. An address in use fails the
//! start with nothing started. docs/operations.md, "Health probes".
#![cfg(feature = "health-http")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crossbeam_channel::bounded;
use integration_tests::PATIENCE;
use integration_tests::events::EventLog;
use integration_tests::probe::{Hang, Probe, ProbeConfig};
use threadbutler::prelude::*;
use threadbutler::{Butler, Error};

/// Sends `request` and returns the status code and the body.
fn ask(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("the endpoint listens");
    s.set_read_timeout(Some(PATIENCE)).expect("a timeout");
    s.write_all(request.as_bytes()).expect("sent");
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .expect("an answer, then the close");
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

/// A port nobody listens on now.
fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("a port");
    l.local_addr().expect("an address")
}

#[test]
fn probes_follow_the_tree_from_its_start_to_its_end() {
    let addr = free_port();
    let (release_tx, release_rx) = bounded::<()>(1);
    let slow = ProbeConfig::default();
    let gate = slow.gate.clone();
    let builder = Butler::builder("app")
        .health_endpoint(addr.to_string())
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
