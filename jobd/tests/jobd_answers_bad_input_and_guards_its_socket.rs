//! jobd answers every bad request line with an `err` naming the problem and
//! keeps the connection working; skips an over-long line without buffering
//! it; drops a line cut short by a disconnect without touching anyone
//! else's jobs; takes jobs on stdin too (answers on stdout) and keeps
//! serving its socket after stdin ends; answers `status` with JSON; and
//! guards its socket: mode 0600 (or what `socket_mode` says), a second
//! jobd on the same path is refused (exit 1) without disturbing the first,
//! and a regular file at the path is refused and kept. Each test ends with
//! SIGTERM and exit 0.
//!
//! The spec is the module doc of jobd/src/lib.rs: "The protocol" (ids,
//! `err` answers, lines over 64 KiB, a line cut short, `status`), "The
//! socket" (mode, a live socket refused, a non-socket refused) and
//! "Output and exit" (exit 1 when it could not start, 0 after a clean
//! drain; docs/runtime-semantics.md §12.6).

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use integration_tests::jobd::{Conn, Jobd, Scratch, Settings, job_count, status_node, word_count};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

/// A file of `text` in `scratch`; its path as a string, and `words=N`.
fn words_file(scratch: &Scratch, text: &str) -> (String, String) {
    let path = scratch.file("words.txt", text);
    let path = path.to_str().expect("a UTF-8 path").to_owned();
    (path, format!("words={}", word_count(text.as_bytes())))
}

/// Asserts that `answer` is an `err` mentioning each of `names`.
fn assert_err(request: &str, answer: &str, names: &[&str]) {
    assert!(
        answer.starts_with("err "),
        "`{request}` answered {answer:?}, not `err ...`"
    );
    for name in names {
        assert!(
            answer.contains(name),
            "the answer to `{request}` names {name:?}: {answer:?}"
        );
    }
}

/// The permission bits of the file at `path`, asserting it is a socket.
fn socket_mode(path: &Path) -> u32 {
    let meta = std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("the socket {}: {e}", path.display()));
    assert!(
        meta.file_type().is_socket(),
        "{} is a socket",
        path.display()
    );
    meta.permissions().mode() & 0o777
}

#[test]
fn bad_requests_get_err_answers_and_the_connection_lives_on() {
    let scratch = Scratch::new("badreq");
    let settings = Settings::new(&scratch);
    let (file, words) = words_file(&scratch, "three little words\n");
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();

    let long_id = "i".repeat(65);
    let bad: [(String, &[&str]); 10] = [
        ("x".into(), &["kind"]),
        ("7 frobnicate".into(), &["7", "frobnicate"]),
        ("8 sleep soon".into(), &["8", "soon"]),
        ("9 sleep 2h".into(), &["9", "1h"]),
        ("10 words".into(), &["10", "PATH"]),
        ("11 panic now".into(), &["11", "panic"]),
        (format!("b@d words {file}"), &["b@d", "id"]),
        (format!("{long_id} words {file}"), &["id"]),
        ("wait".into(), &["wait"]),
        ("wait b@d".into(), &["b@d"]),
    ];
    let mut goods = Vec::new();
    for (n, (request, names)) in bad.iter().enumerate() {
        let answer = conn.ask(request);
        assert_err(request, &answer, names);
        // The connection still works.
        let id = format!("good-{n}");
        conn.submit(&id, &format!("words {file}"));
        goods.push(id);
    }

    // A job id is unique for the run.
    let answer = conn.ask(&format!("good-0 words {file}"));
    assert!(
        answer.starts_with("err good-0: duplicate job id"),
        "a second good-0: {answer:?}"
    );
    // A refused line took no id: `7` is free.
    conn.submit("7", &format!("words {file}"));
    goods.push("7".into());

    // A line over 64 KiB is refused as it streams in; the job it began is
    // not taken, and the next line is read as usual.
    let mut long = format!("big words {file} ").into_bytes();
    long.resize(100 * 1024, b'a');
    conn.write_raw(&long);
    conn.write_raw(b"\n");
    let answer = conn.recv();
    assert!(
        answer.starts_with("err line too long"),
        "a 100 KiB line: {answer:?}"
    );
    conn.submit("big", &format!("words {file}"));
    goods.push("big".into());

    // `wait` for a job never submitted.
    let answer = conn.ask("wait never-submitted");
    assert_err("wait never-submitted", &answer, &["never-submitted"]);

    for id in &goods {
        assert_eq!(conn.wait(id), "ok", "{id}");
    }

    // `status` is one line of JSON: the jobs' counts and the status tree.
    let status = conn.status();
    assert_eq!(
        job_count(&status, "accepted"),
        goods.len() as u64,
        "{status}"
    );
    assert_eq!(job_count(&status, "ok"), goods.len() as u64, "{status}");
    assert_eq!(job_count(&status, "queued"), 0, "{status}");
    assert!(
        job_count(&status, "refused") >= bad.len() as u64,
        "{status}"
    );
    assert_eq!(
        job_count(&status, "refused"),
        bad.len() as u64 + 2,
        "the bad lines, the duplicate good-0 and the 100 KiB line: {status}"
    );
    for child in ["results", "stats", "workers", "intake"] {
        let path = format!("jobd/{child}");
        assert!(
            status_node(&status, &path).is_some(),
            "{path} in the status tree: {status}"
        );
    }
    let workers = status_node(&status, "jobd/workers").expect("the pool");
    let n = workers["children"].as_array().map_or(0, Vec::len);
    assert_eq!(n, settings.pool_size, "the pool's workers: {workers}");

    drop(conn);
    jobd.stop_cleanly();
    let results = jobd.results();
    assert_eq!(results.lines.len(), goods.len(), "{:?}", results.lines);
    for id in &goods {
        assert_eq!(results.only(id).detail, words);
    }
}

#[test]
fn a_line_cut_short_by_a_disconnect_is_dropped_and_touches_no_other_job() {
    let scratch = Scratch::new("cutline");
    let settings = Settings::new(&scratch);
    let (file, words) = words_file(&scratch, "cut short\n");
    let mut jobd = Jobd::start(JOBD, &settings);

    let mut steady = jobd.connect();
    let mut cut = jobd.connect();
    let mut ids = Vec::new();
    for i in 0..50 {
        let id = format!("s{i}");
        steady.submit(&id, &format!("words {file}"));
        ids.push(id);
    }
    cut.write_raw(format!("cut-1 words {file}").as_bytes());
    for i in 50..100 {
        let id = format!("s{i}");
        steady.submit(&id, &format!("words {file}"));
        ids.push(id);
    }
    drop(cut);
    for id in &ids {
        assert_eq!(steady.wait(id), "ok", "{id}");
    }
    // The cut line was dropped, not taken: its id is still free.
    steady.submit("cut-1", "sleep 1ms");
    assert_eq!(steady.wait("cut-1"), "ok");

    drop(steady);
    jobd.stop_cleanly();
    let results = jobd.results();
    assert_eq!(results.lines.len(), ids.len() + 1, "{:?}", results.lines);
    for id in &ids {
        assert_eq!(results.only(id).detail, words);
    }
    assert!(
        results.only("cut-1").detail.starts_with("slept="),
        "the cut line did not run"
    );
}

#[test]
fn jobs_from_stdin_are_answered_on_stdout_and_stdin_may_end() {
    let scratch = Scratch::new("stdin");
    let settings = Settings::new(&scratch);
    let (file, words) = words_file(&scratch, "from standard input\n");
    let mut jobd = Jobd::start(JOBD, &settings);

    /// Sends `request` on stdin; the next answer on stdout starts with
    /// `answer`.
    fn ask(jobd: &mut Jobd, request: &str, answer: &str) {
        jobd.send_stdin(request);
        let lines = jobd.wait_out(answer, |l| l.starts_with(answer));
        let before = &lines[..lines.len() - 1];
        assert!(
            !before
                .iter()
                .any(|l| ["ok ", "err ", "done "].iter().any(|p| l.starts_with(p))),
            "no other answer came first: {lines:?}"
        );
    }
    ask(&mut jobd, &format!("in-1 words {file}"), "ok in-1");
    ask(&mut jobd, &format!("in-2 words {file}"), "ok in-2");
    ask(&mut jobd, "wait in-1", "done in-1 ok");
    ask(&mut jobd, "wait in-2", "done in-2 ok");
    ask(
        &mut jobd,
        &format!("in-1 words {file}"),
        "err in-1: duplicate job id",
    );
    jobd.send_stdin("status");
    let lines = jobd.wait_out("the status JSON", |l| l.starts_with('{'));
    let status: serde_json::Value = serde_json::from_str(lines.last().expect("a line"))
        .expect("`status` on stdin answers JSON");
    assert_eq!(job_count(&status, "accepted"), 2, "{status}");

    // The end of stdin ends only the stdin reader: the socket still serves
    // (a daemon's stdin is often /dev/null).
    jobd.close_stdin();
    let mut conn = jobd.connect();
    conn.submit("sock-1", &format!("words {file}"));
    assert_eq!(conn.wait("sock-1"), "ok");
    drop(conn);

    jobd.stop_cleanly();
    let results = jobd.results();
    assert_eq!(results.lines.len(), 3, "{:?}", results.lines);
    for id in ["in-1", "in-2", "sock-1"] {
        assert_eq!(results.only(id).detail, words);
    }
}

#[test]
fn the_socket_is_owner_only_and_a_second_jobd_on_it_is_refused() {
    let scratch = Scratch::new("second");
    let settings = Settings::new(&scratch);
    let (file, _) = words_file(&scratch, "only one jobd per socket\n");
    let mut first = Jobd::start(JOBD, &settings);
    assert_eq!(socket_mode(&settings.socket), 0o600, "the socket's mode");
    let mut conn = first.connect();
    conn.submit("one", &format!("words {file}"));
    assert_eq!(conn.wait("one"), "ok");

    // As if the first jobd were in the middle of writing a line: the
    // second must not touch a running jobd's results file (nor cut that
    // "torn" line off).
    let before = std::fs::read(&settings.results).expect("results");
    let mut results = std::fs::OpenOptions::new()
        .append(true)
        .open(&settings.results)
        .expect("the results file opens");
    results.write_all(b"two\tok").expect("written");

    let mut second = Jobd::spawn(JOBD, &settings);
    let code = second.exit_code();
    let transcript = second.transcript();
    assert_eq!(code, Some(1), "a second jobd cannot start\n{transcript}");
    let socket = settings.socket.display().to_string();
    assert!(
        second
            .err
            .seen
            .iter()
            .any(|l| l.contains(&socket) && l.contains("is in use by another jobd")),
        "stderr names the socket and the running jobd\n{transcript}"
    );
    let after = std::fs::read(&settings.results).expect("results");
    assert_eq!(
        String::from_utf8_lossy(&after),
        format!("{}two\tok", String::from_utf8_lossy(&before)),
        "the refused jobd left the running one's results file alone"
    );
    // The first jobd's "write" ends.
    results.set_len(before.len() as u64).expect("truncated");
    drop(results);

    // The first is unaffected: its socket, its mode, its jobs.
    assert_eq!(socket_mode(&settings.socket), 0o600, "the socket's mode");
    conn.submit("two", &format!("words {file}"));
    assert_eq!(conn.wait("two"), "ok");
    let mut fresh = first.connect();
    fresh.submit("three", &format!("words {file}"));
    assert_eq!(fresh.wait("three"), "ok");
    drop((conn, fresh));

    first.stop_cleanly();
    let results = first.results();
    let ids: Vec<&str> = results.lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["one", "two", "three"]);
    assert!(
        !settings.socket.exists(),
        "a clean stop removes the socket file"
    );
}

#[test]
fn socket_mode_sets_the_sockets_permissions() {
    let scratch = Scratch::new("mode");
    let mut settings = Settings::new(&scratch);
    settings.socket_mode = "0660".into();
    let mut jobd = Jobd::start(JOBD, &settings);
    assert_eq!(socket_mode(&settings.socket), 0o660, "the socket's mode");
    let mut conn: Conn = jobd.connect();
    conn.submit("m", "sleep 1ms");
    assert_eq!(conn.wait("m"), "ok");
    drop(conn);
    jobd.stop_cleanly();
}

#[test]
fn a_regular_file_at_the_socket_path_is_refused_and_kept() {
    let scratch = Scratch::new("regular");
    let mut settings = Settings::new(&scratch);
    settings.socket = scratch.file("not-a-socket", "precious\n");
    let mut jobd = Jobd::spawn(JOBD, &settings);
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(1), "jobd cannot start\n{transcript}");
    let path = settings.socket.display().to_string();
    assert!(
        jobd.err
            .seen
            .iter()
            .any(|l| l.contains(&path) && l.contains("not a socket")),
        "stderr names the path and why\n{transcript}"
    );
    assert_eq!(
        std::fs::read_to_string(&settings.socket).expect("the file is kept"),
        "precious\n"
    );
}

#[test]
fn a_removed_socket_file_does_not_hold_up_the_stop() {
    // The intake's stop never waits for the accept loop (it keeps
    // answering `shutting down` until jobd exits), so a socket file that is
    // gone holds nothing up.
    let scratch = Scratch::new("rmsock");
    let settings = Settings::new(&scratch);
    let mut jobd = Jobd::start(JOBD, &settings);
    std::fs::remove_file(&settings.socket).expect("the socket file exists");
    jobd.stop_cleanly();
}
