//! jobd killed with SIGKILL while it writes results leaves only whole lines
//! in its results file, and starts again on the same paths: the socket file
//! left by the killed run is found stale and replaced, a torn last line (as
//! a crash inside a write could leave) is cut off, the lines already
//! written are kept byte for byte, and new results are appended after them.
//!
//! The spec is the module doc of jobd/src/lib.rs: "The results file"
//! (append-only, lines written whole, a torn last line cut off at start)
//! and "The socket" (a socket file left by a killed run is stale and
//! replaced). SIGTERM then exits 0 ("Output and exit";
//! docs/runtime-semantics.md §12.6).

use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::time::Instant;

use integration_tests::jobd::{Jobd, Scratch, Settings, fnv1a64, word_count};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");
const JOBS: usize = 3_000;

#[test]
fn jobd_killed_hard_leaves_only_whole_result_lines() {
    let began = Instant::now();
    let scratch = Scratch::new("killed");
    let settings = Settings::new(&scratch);
    let text = "killed hard\nwhole lines only\n";
    let file = scratch.file("words.txt", text);
    let file = file.to_str().expect("a UTF-8 path").to_owned();
    let words = format!("words={}", word_count(text.as_bytes()));
    let hash = format!("fnv1a64={:016x}", fnv1a64(text.as_bytes()));

    // --- the first run, killed while it writes ------------------------------------
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();
    // Quick jobs, every third one sleeping a millisecond, so that results
    // are still being written when the middle one is done.
    let job = |i: usize| match i % 3 {
        0 => format!("k{i} sleep 1ms"),
        1 => format!("k{i} words {file}"),
        _ => format!("k{i} hash {file}"),
    };
    let middle = format!("k{}", JOBS / 2);
    let mut lines: Vec<String> = (0..JOBS).map(|i| format!("{}\n", job(i))).collect();
    lines.push(format!("wait {middle}\n"));
    let feeder = conn.feed(lines);
    for i in 0..JOBS {
        assert_eq!(
            conn.recv(),
            format!("ok k{i}"),
            "jobs are answered in order"
        );
    }
    assert_eq!(
        conn.recv(),
        format!("done {middle} ok"),
        "the middle job's line is written"
    );
    feeder.join().expect("the feeder wrote every line");
    jobd.kill_hard();
    let transcript = jobd.transcript();

    // Whole lines only (read_results checks), each a job of ours, once,
    // with its right result.
    let first = jobd.results();
    let mut seen = std::collections::HashSet::new();
    for line in &first.lines {
        let i: usize = line
            .id
            .strip_prefix('k')
            .and_then(|n| n.parse().ok())
            .filter(|i| *i < JOBS)
            .unwrap_or_else(|| panic!("a line of no job of ours: {line:?}"));
        assert!(seen.insert(i), "{} has two lines", line.id);
        let good = line.outcome == "ok"
            && match i % 3 {
                0 => line.detail.starts_with("slept="),
                1 => line.detail == words,
                _ => line.detail == hash,
            };
        assert!(good, "{} ({}) left {line:?}", line.id, job(i));
    }
    first.only(&middle);
    let written_before_kill = first.lines.len();
    drop(conn);

    // The killed run left its socket file behind.
    let socket = &settings.socket;
    let meta = std::fs::symlink_metadata(socket).unwrap_or_else(|e| {
        panic!(
            "the killed run's socket {}: {e}\n{transcript}",
            socket.display()
        )
    });
    assert!(
        meta.file_type().is_socket(),
        "{} is a socket",
        socket.display()
    );

    // A crash inside a write could tear the last line: make one.
    let torn = "torn-1\tok\twords=";
    let mut results = std::fs::OpenOptions::new()
        .append(true)
        .open(&settings.results)
        .expect("the results file opens");
    results
        .write_all(torn.as_bytes())
        .expect("torn line written");
    drop(results);

    // --- the second run, on the same paths ----------------------------------------
    let mut jobd = Jobd::start(JOBD, &settings);
    let after_start = jobd.results();
    assert!(
        after_start.raw.starts_with(&first.raw),
        "at start the torn line is cut off and every whole line kept\n{}",
        jobd.transcript()
    );
    // Every job acknowledged before the kill without a line is replayed
    // from the journal (jobd/src/lib.rs, "Durability").
    let unwritten: Vec<usize> = (0..JOBS).filter(|i| !seen.contains(i)).collect();
    let mut conn = jobd.connect();
    let waits: Vec<String> = unwritten.iter().map(|i| format!("wait k{i}\n")).collect();
    let feeder = conn.feed(waits);
    for i in &unwritten {
        assert_eq!(conn.recv(), format!("done k{i} ok"), "a replayed job ran");
    }
    feeder.join().expect("the feeder wrote every line");
    let replayed = jobd.results();
    conn.submit("after-1", &format!("words {file}"));
    assert_eq!(conn.wait("after-1"), "ok");
    let appended = jobd.results();
    assert_eq!(
        appended.raw,
        format!("{}after-1\tok\t{words}\n", replayed.raw),
        "the new result is appended after the old lines"
    );

    jobd.signal("TERM");
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(0), "a clean drain exits 0\n{transcript}");
    assert_eq!(
        jobd.results().raw,
        appended.raw,
        "the drain wrote nothing more"
    );
    let n = unwritten.len() + 1;
    let seen = &jobd.out.seen;
    assert!(
        seen.iter().any(|l| l.starts_with(&format!(
            "jobd: stopped: {n} jobs (ok {n}, failed 0, dead 0)"
        ))),
        "stdout counts this run's jobs, the replayed ones too
{transcript}"
    );
    let last = seen.last().map_or("", String::as_str);
    assert!(
        last.starts_with("jobd: exit 0: "),
        "the last line says how it ended
{transcript}"
    );
    eprintln!(
        "{written_before_kill} of {JOBS} result lines written before SIGKILL; {:?} in all",
        began.elapsed()
    );
}
