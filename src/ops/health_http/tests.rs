//! The endpoint's threads with limits chosen by the test (a long read
//! timeout, a cap of two), so that which connection holds a slot is decided
//! by the test alone, never by a timeout. The default limits are tested
//! over the public API in integration-tests' health_probes_answer_over_http.rs.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::*;

/// Longer than any test: no connection here is cut by a timeout.
const LONG: Duration = Duration::from_secs(60);

fn endpoint(max_connections: usize) -> HealthEndpoint {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let limits = Limits {
        max_connections,
        read_timeout: LONG,
        write_timeout: LONG,
    };
    HealthEndpoint::listen(listener, HealthSource::new("app"), limits).expect("listens")
}

/// Everything the endpoint sends on `s` until it closes it.
fn answer(mut s: &TcpStream) -> String {
    s.set_read_timeout(Some(LONG)).expect("a timeout");
    let mut text = String::new();
    s.read_to_string(&mut text)
        .expect("an answer, then the close");
    text
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("listening");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: app\r\n\r\n").as_bytes())
        .expect("sent");
    answer(&s)
}

#[test]
fn over_the_cap_a_connection_is_refused_at_once_and_a_freed_slot_serves_again() {
    let endpoint = endpoint(2);
    let addr = endpoint.local_addr();
    // Two silent clients take both slots (accepted in order, held for LONG).
    let first = TcpStream::connect(addr).expect("listening");
    let second = TcpStream::connect(addr).expect("listening");
    // A third is answered by the accept thread without a word from it.
    let third = TcpStream::connect(addr).expect("listening");
    let refused = answer(&third);
    assert!(
        refused.starts_with("HTTP/1.1 503 Service Unavailable\r\n")
            && refused.ends_with("\r\n\r\nbusy\n"),
        "{refused:?}"
    );
    // The first gives up: its close means its slot is free (slots.rs).
    first.shutdown(Shutdown::Write).expect("half-closed");
    assert_eq!(answer(&first), "", "no request, no answer");
    let ok = get(addr, "/livez");
    assert!(
        ok.starts_with("HTTP/1.1 200 OK\r\n") && ok.ends_with("\r\n\r\nok\n"),
        "{ok:?}"
    );

    // Stopping cuts the second at once instead of waiting for its timeout.
    let began = Instant::now();
    endpoint.stop();
    assert!(
        began.elapsed() < LONG / 2,
        "stop waited {:?}",
        began.elapsed()
    );
    assert_eq!(answer(&second), "", "cut without an answer");
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after stop"
    );
}

#[test]
fn a_connection_that_ends_gives_its_slot_back() {
    let endpoint = endpoint(1);
    let addr = endpoint.local_addr();
    // One slot, asked many times in a row: each answer frees it again.
    for _ in 0..20 {
        let ready = get(addr, "/readyz");
        assert!(ready.ends_with("\r\n\r\nstarting\n"), "{ready:?}");
    }
}

#[test]
fn wildcard_addresses_are_reached_on_the_loopback() {
    let v4: SocketAddr = "0.0.0.0:8080".parse().expect("an address");
    assert_eq!(reachable(v4), "127.0.0.1:8080".parse().expect("an address"));
    let v6: SocketAddr = "[::]:8080".parse().expect("an address");
    assert_eq!(reachable(v6), "[::1]:8080".parse().expect("an address"));
    let own: SocketAddr = "10.0.0.7:8080".parse().expect("an address");
    assert_eq!(reachable(own), own);
}
