//! jobd's memory per settled job is bounded and small: a settled job is
//! kept as a hash of its id and its outcome word, and a failure's detail is
//! cut to 512 bytes. 200,000 jobs keep jobd's peak RSS (`VmHWM`) under the
//! bound the crate doc of jobd/src/lib.rs states ("Memory"), and 6,000
//! failed jobs naming 64 KiB paths under the bound it states for lines near
//! the 64 KiB limit (queued jobs hold their line). Issue #12, point 2: 157
//! MB for 2,000 such failed jobs, growing with every job for the whole
//! run (6,000 would have kept over 750 MB of details).

use std::thread;

use integration_tests::jobd::{Conn, Jobd, Scratch, Settings, job_count};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");
/// The bounds of jobd/src/lib.rs, "Memory": short lines, and lines near
/// the 64 KiB limit.
const BOUND_KIB: u64 = 64 * 1024;
const CONNECTIONS: usize = 4;

/// Submits every job of `lines` (one `Vec` per connection, pipelined) and
/// asserts that each is answered `ok ID`.
fn submit_all(jobd: &Jobd, lines: Vec<Vec<String>>) {
    let clients: Vec<_> = lines
        .into_iter()
        .map(|lines| {
            let mut conn: Conn = jobd.connect();
            thread::spawn(move || {
                let n = lines.len();
                let ids: Vec<String> = lines
                    .iter()
                    .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
                    .collect();
                let feeder = conn.feed(lines);
                for id in ids.iter().take(n) {
                    let answer = conn.recv();
                    // An `x` job names a path no file can have: refused.
                    if id.starts_with('x') {
                        assert!(
                            answer.starts_with(&format!("err {id}: the path is ")),
                            "{answer}"
                        );
                    } else {
                        assert_eq!(answer, format!("ok {id}"));
                    }
                }
                feeder.join().expect("every line written");
            })
        })
        .collect();
    for c in clients {
        c.join().expect("a client got every answer");
    }
}

/// Waits until all `n` jobs have their line; returns jobd's peak RSS.
fn settled_peak(jobd: &mut Jobd, n: u64, outcome: &str) -> u64 {
    let mut conn = jobd.connect();
    let status = conn.status_until("every job has its line", |s| job_count(s, outcome) == n);
    assert_eq!(job_count(&status, "accepted"), n, "{status}");
    let peak = jobd.peak_rss_kib();
    drop(conn);
    jobd.signal("TERM");
    assert_eq!(jobd.exit_code(), Some(0), "{}", jobd.transcript());
    peak
}

#[test]
fn two_hundred_thousand_jobs_stay_under_the_bound() {
    const JOBS: usize = 200_000;
    let scratch = Scratch::new("mem200k");
    let mut jobd = Jobd::start(JOBD, &Settings::new(&scratch));
    let lines = (0..CONNECTIONS)
        .map(|c| {
            (0..JOBS / CONNECTIONS)
                .map(|i| format!("m{c}-{i} sleep 0s\n"))
                .collect()
        })
        .collect();
    submit_all(&jobd, lines);
    let peak = settled_peak(&mut jobd, JOBS as u64, "ok");
    let results = jobd.results();
    assert_eq!(results.lines.len(), JOBS);
    eprintln!("{JOBS} jobs: peak RSS {} KiB", peak);
    assert!(
        peak < BOUND_KIB,
        "peak RSS {peak} KiB over {BOUND_KIB} KiB for {JOBS} jobs"
    );
}

#[test]
fn failed_jobs_with_long_paths_stay_under_the_bound() {
    // The case (2,000 failed jobs naming 64 KiB paths took 157 MB):
    // such a path is refused at the door (no file can have it), and jobs
    // naming the longest path there can be (4 KiB) fail with their detail
    // cut to 512 bytes.
    const JOBS: usize = 6_000;
    const REFUSED: usize = 2_000;
    let scratch = Scratch::new("mem4k");
    let mut jobd = Jobd::start(JOBD, &Settings::new(&scratch));
    let lines = (0..CONNECTIONS)
        .map(|c| {
            let long = (0..REFUSED / CONNECTIONS).map(|i| {
                let path = format!("/{}{c}-{i}", "p".repeat(64 * 1024 - 40));
                format!("x{c}-{i} words {path}\n")
            });
            let failing = (0..JOBS / CONNECTIONS).map(|i| {
                let path = format!("/{}{c}-{i}", "p".repeat(4096 - 40));
                format!("f{c}-{i} words {path}\n")
            });
            long.chain(failing).collect()
        })
        .collect();
    submit_all(&jobd, lines);
    let peak = settled_peak(&mut jobd, JOBS as u64, "failed");
    let results = jobd.results();
    assert_eq!(results.lines.len(), JOBS, "the 64 KiB paths were refused");
    for line in &results.lines {
        assert!(
            line.detail.len() <= 512 && line.detail.ends_with("..."),
            "a failure's detail is cut to 512 bytes: {} bytes",
            line.detail.len()
        );
    }
    eprintln!(
        "{JOBS} failed jobs with 4 KiB paths, {REFUSED} lines with 64 KiB paths: peak RSS {peak} KiB"
    );
    assert!(
        peak < BOUND_KIB,
        "peak RSS {peak} KiB over {BOUND_KIB} KiB for {JOBS} failed jobs"
    );
}
