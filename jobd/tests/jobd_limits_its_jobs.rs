//! jobd's jobs have limits: a job past `job_timeout` is settled `failed`
//! naming the deadline (an endless file no longer holds a worker, and
//! jobd stops promptly on SIGTERM); only regular files are read (a FIFO,
//! a directory, a device and a socket are refused with what they are, and
//! the FIFO hangs no worker); a file over `max_file_bytes` fails naming
//! the limit; with `root`, paths outside it (directly, through `..` or a
//! symlink) are refused while those inside are read.
//!
//! The spec is the module doc of jobd/src/lib.rs, "Limits".

use std::process::Command;

use integration_tests::jobd::{Conn, Jobd, Scratch, Settings, fnv1a64, job_count};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

/// Submits `ID JOB`, waits for it, and returns its result line's outcome
/// and detail.
fn run(jobd: &Jobd, conn: &mut Conn, id: &str, job: &str) -> (String, String) {
    conn.submit(id, job);
    let outcome = conn.wait(id);
    let line = jobd.results().only(id).clone();
    assert_eq!(line.outcome, outcome);
    (line.outcome, line.detail)
}

/// Asserts that `(outcome, detail)` is `failed` with each of `names` in
/// the detail.
fn assert_failed(job: &str, (outcome, detail): &(String, String), names: &[&str]) {
    assert_eq!(outcome, "failed", "{job}: {detail}");
    for name in names {
        assert!(detail.contains(name), "{job}: {detail:?} names {name:?}");
    }
}

#[test]
fn a_job_past_its_deadline_fails_and_jobd_stops_promptly() {
    let scratch = Scratch::new("deadline");
    let mut settings = Settings::new(&scratch);
    settings.job_timeout = Some("300ms".into());
    settings.max_file_bytes = Some(1 << 40);
    // A sparse 64 GiB regular file: endless for a 300 ms job.
    let endless = scratch.join("endless.bin");
    std::fs::File::create(&endless)
        .and_then(|f| f.set_len(64 << 30))
        .expect("a sparse file");
    let endless = endless.display().to_string();
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();

    let hashed = run(&jobd, &mut conn, "endless", &format!("hash {endless}"));
    assert_failed(
        "hash endless",
        &hashed,
        &["deadline of 300ms", "passed after", " bytes of ", &endless],
    );
    let slept = run(&jobd, &mut conn, "nap", "sleep 30s");
    assert_failed("sleep 30s", &slept, &["deadline of 300ms", "sleeping"]);
    let zero = run(&jobd, &mut conn, "zero", "hash /dev/zero");
    assert_failed(
        "hash /dev/zero",
        &zero,
        &["is a character device, not a regular file"],
    );

    // Twice as many endless files as workers, running as SIGTERM comes:
    // the drain still ends, each job failed at its deadline.
    let busy = 2 * settings.pool_size;
    for w in 0..busy {
        conn.submit(&format!("busy{w}"), &format!("words {endless}"));
    }
    conn.status_until("a worker is busy", |s| job_count(s, "running") > 0);
    drop(conn);
    jobd.stop_cleanly();
    let results = jobd.results();
    for w in 0..busy {
        let line = results.only(&format!("busy{w}"));
        assert_eq!(line.outcome, "failed", "{line:?}");
        assert!(line.detail.contains("deadline"), "{line:?}");
    }
}

#[test]
fn only_regular_files_are_read_and_a_fifo_hangs_no_worker() {
    let scratch = Scratch::new("regular");
    let mut settings = Settings::new(&scratch);
    // One worker: a hung FIFO would hold up every job after it.
    settings.pool_size = 1;
    let fifo = scratch.join("fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo made {}", fifo.display());
    let text = scratch.file("text.txt", "four words in here\n");
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();

    let cases = [
        (
            "fifo",
            format!("hash {}", fifo.display()),
            "is a FIFO, not a regular file",
        ),
        (
            "dir",
            format!("words {}", scratch.path().display()),
            "is a directory, not a regular file",
        ),
        (
            "null",
            "hash /dev/null".to_owned(),
            "is a character device, not a regular file",
        ),
        (
            "sock",
            format!("hash {}", settings.socket.display()),
            "is a socket, not a regular file",
        ),
    ];
    for (id, job, says) in &cases {
        let got = run(&jobd, &mut conn, id, job);
        assert_failed(job, &got, &[says]);
    }
    // The one worker is free: the next job runs.
    let (outcome, detail) = run(
        &jobd,
        &mut conn,
        "text",
        &format!("words {}", text.display()),
    );
    assert_eq!((outcome.as_str(), detail.as_str()), ("ok", "words=4"));
    let log = jobd.log();
    assert!(
        !log.iter().any(|l| l.contains("heartbeat missed")),
        "no worker hung"
    );
    drop(conn);
    jobd.stop_cleanly();
}

#[test]
fn file_jobs_stay_inside_the_root_and_under_max_file_bytes() {
    let scratch = Scratch::new("root");
    let mut settings = Settings::new(&scratch);
    let root = scratch.join("root");
    std::fs::create_dir(&root).expect("root made");
    settings.root = Some(root.clone());
    settings.max_file_bytes = Some(10);
    let ten = "0123456789";
    std::fs::write(root.join("ten.txt"), ten).expect("written");
    std::fs::write(root.join("eleven.txt"), "0123456789a").expect("written");
    let secret = scratch.file("secret.txt", "s");
    std::os::unix::fs::symlink(&secret, root.join("out")).expect("a link out");
    std::os::unix::fs::symlink(root.join("ten.txt"), root.join("in")).expect("a link in");
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();

    let hash = format!("fnv1a64={:016x}", fnv1a64(ten.as_bytes()));
    for (id, path) in [
        ("abs", root.join("ten.txt").display().to_string()),
        ("rel", "ten.txt".to_owned()),
        ("link-in", root.join("in").display().to_string()),
    ] {
        let got = run(&jobd, &mut conn, id, &format!("hash {path}"));
        assert_eq!(got, ("ok".to_owned(), hash.clone()), "{id}: hash {path}");
    }
    for (id, path) in [
        ("outside", secret.display().to_string()),
        ("dotdot", root.join("../secret.txt").display().to_string()),
        ("rel-dotdot", "../secret.txt".to_owned()),
        ("link-out", root.join("out").display().to_string()),
    ] {
        let job = format!("hash {path}");
        let got = run(&jobd, &mut conn, id, &job);
        assert_failed(&job, &got, &["is outside the root", "app.root"]);
    }
    let job = format!("words {}", root.join("eleven.txt").display());
    let got = run(&jobd, &mut conn, "eleven", &job);
    assert_failed(
        &job,
        &got,
        &["11 bytes", "the limit of 10", "app.max_file_bytes"],
    );
    drop(conn);
    jobd.stop_cleanly();
}
