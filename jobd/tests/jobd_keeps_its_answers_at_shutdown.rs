//! At shutdown jobd keeps its answers: clients pipelining jobs while
//! SIGTERM arrives get, for every line they sent, either `ok ID` (and the
//! job has its result line) or `err ID: not accepted: jobd is shutting
//! down` (and it has none); no connection ends before its answers. A
//! client connecting during the drain gets the same refusal for its jobs,
//! and `status` still answers.
//!
//! The spec is the module doc of jobd/src/lib.rs, "Shutdown and the
//! intake". Three runs, the signal at a different point of the flood in
//! each. A job sleeping 3 s, queued last before the signal, keeps the
//! drain (and so jobd) going while the clients read their last answers.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Sender, bounded, unbounded};
use integration_tests::PATIENCE;
use integration_tests::jobd::{Conn, Jobd, Scratch, Settings};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");
const CLIENTS: usize = 4;
/// A client that never sees a refusal stops here.
const CAP: usize = 50_000;

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    ok: Vec<String>,
    refused: Vec<String>,
    /// Answers that were neither.
    wrong: Vec<String>,
    /// Lines sent that got no answer (the connection ended first), and why.
    lost: Vec<(String, String)>,
}

/// A client pipelining `sleep 1ms` jobs until it sees a refusal; it says
/// on `warm` when `threshold` jobs were accepted.
fn client(socket: &Path, name: String, threshold: usize, warm: Sender<()>) -> Seen {
    let mut conn = Conn::open(socket);
    let mut writer = conn.writer();
    let refused = Arc::new(AtomicBool::new(false));
    // Each id goes to the reader before its line goes out.
    let (ids_tx, ids) = unbounded::<String>();
    let feeder = {
        let refused = Arc::clone(&refused);
        std::thread::spawn(move || {
            for i in 0..CAP {
                if refused.load(Ordering::Acquire) {
                    return;
                }
                let id = format!("{name}-{i}");
                let line = format!("{id} sleep 1ms\n");
                let _ = ids_tx.send(id);
                if writer.write_all(line.as_bytes()).is_err() {
                    return; // the reader reports what got no answer
                }
            }
        })
    };
    let mut seen = Seen::default();
    for id in ids {
        match conn.try_recv() {
            Ok(answer) if answer == format!("ok {id}") => {
                seen.ok.push(id);
                if seen.ok.len() == threshold {
                    let _ = warm.send(());
                }
            }
            Ok(answer) if answer == format!("err {id}: not accepted: jobd is shutting down") => {
                refused.store(true, Ordering::Release);
                seen.refused.push(id);
            }
            Ok(answer) => seen.wrong.push(format!("{id}: {answer}")),
            Err(why) => {
                refused.store(true, Ordering::Release);
                seen.lost.push((id, why));
            }
        }
    }
    feeder.join().expect("the feeder ends");
    seen
}

#[test]
fn clients_pipelining_through_sigterm_get_an_answer_for_every_line() {
    for (run, threshold) in [10, 150, 400].into_iter().enumerate() {
        let scratch = Scratch::new(&format!("keepans{run}"));
        let settings = Settings::new(&scratch);
        let mut jobd = Jobd::start(JOBD, &settings);

        let (warm_tx, warm) = bounded::<()>(CLIENTS);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|k| {
                let (socket, warm) = (settings.socket.clone(), warm_tx.clone());
                std::thread::spawn(move || client(&socket, format!("r{run}c{k}"), threshold, warm))
            })
            .collect();
        for _ in 0..CLIENTS {
            warm.recv_timeout(PATIENCE)
                .expect("every client gets its first jobs accepted");
        }
        let mut main = jobd.connect();
        main.submit("hold", "sleep 3s");
        jobd.signal("TERM");

        let seen: Vec<Seen> = clients
            .into_iter()
            .map(|c| c.join().expect("a client ends"))
            .collect();
        for (k, s) in seen.iter().enumerate() {
            assert!(
                s.lost.is_empty(),
                "run {run} client {k}: {} lines got no answer, first {:?} ({} ok, {} refused before)\n{}",
                s.lost.len(),
                s.lost.first(),
                s.ok.len(),
                s.refused.len(),
                jobd.transcript()
            );
            assert!(s.wrong.is_empty(), "run {run} client {k}: {:?}", s.wrong);
            assert!(
                !s.refused.is_empty(),
                "run {run} client {k} was still pipelining at the signal"
            );
        }
        // A client that connects during the drain.
        let mut late = jobd.connect();
        assert_eq!(
            late.ask("late sleep 1ms"),
            "err late: not accepted: jobd is shutting down"
        );
        assert!(late.ask("status").starts_with('{'), "status still answers");
        drop((late, main));

        let code = jobd.exit_code();
        let transcript = jobd.transcript();
        assert_eq!(code, Some(0), "a clean drain\n{transcript}");
        let results = jobd.results();
        let by_id = results.by_id();
        for s in &seen {
            for id in &s.ok {
                let lines = by_id.get(id.as_str()).map_or(0, Vec::len);
                assert_eq!(lines, 1, "accepted job {id} has {lines} result lines");
            }
            let refused: HashSet<&str> = s.refused.iter().map(String::as_str).collect();
            assert!(
                !results
                    .lines
                    .iter()
                    .any(|l| refused.contains(l.id.as_str())),
                "a refused job has a result line"
            );
        }
        assert_eq!(results.only("hold").outcome, "ok");
        assert!(!results.by_id().contains_key("late"));
        eprintln!(
            "run {run}: accepted {:?}, refused {:?}",
            seen.iter().map(|s| s.ok.len()).collect::<Vec<_>>(),
            seen.iter().map(|s| s.refused.len()).collect::<Vec<_>>()
        );
    }
}
