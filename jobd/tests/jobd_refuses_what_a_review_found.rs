//! Defects a review found after the first fixes of issue #12, each as a
//! process: the demo's scratch directory cannot be prepared by someone
//! else, a socket whose first bind would not fit is a config error caught
//! by `--check` too, two of jobd's files on one path are a config error,
//! and `test_kinds = false` refuses the jobs that hang or panic on purpose.

use std::process::Command;

use integration_tests::daemon::{clean_env, output_text as text};
use integration_tests::jobd::{Jobd, Scratch, Settings};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

#[test]
fn the_demo_never_writes_through_a_prepared_directory() {
    let scratch = Scratch::new("demo-link");
    let victim = scratch.file("precious.txt", "mine\n");
    // The demo's first choice of directory, made by someone else with a
    // link where the demo writes its words file.
    let out = clean_env(&mut Command::new("sh"))
        .env("TMPDIR", scratch.path())
        .env("VICTIM", &victim)
        .arg("-c")
        .arg(r#"d="$TMPDIR/jobd-demo-$$-0"; mkdir "$d" && ln -s "$VICTIM" "$d/words.txt" && exec "$0" --demo"#)
        .arg(JOBD)
        .output()
        .expect("jobd runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&victim).expect("still there"),
        "mine\n",
        "the linked file is untouched"
    );
    assert!(text(&out).contains("jobd-demo-"), "{}", text(&out));
}

#[test]
fn a_socket_whose_first_bind_would_not_fit_is_a_config_error() {
    let scratch = Scratch::new("deep");
    // 107 bytes in all, but a directory of about 100: the first bind at
    // DIR/.jobd-PID/s would not fit in sun_path.
    let base = scratch.path().display().to_string();
    let pad = 107 - base.len() - "/j.sock".len() - 1;
    let dir = format!("{base}/{}", "d".repeat(pad));
    let socket = format!("{dir}/j.sock");
    assert_eq!(socket.len(), 107);
    std::fs::create_dir_all(&dir).expect("dir made");
    let config = scratch.file(
        "jobd.toml",
        &format!("[app]\nresults = \"{base}/r.tsv\"\nsocket = \"{socket}\"\nstdin = false\n"),
    );
    for check in [true, false] {
        let mut cmd = Command::new(JOBD);
        clean_env(&mut cmd).arg("--config").arg(&config);
        if check {
            cmd.arg("--check");
        }
        let out = cmd.output().expect("jobd runs");
        assert_eq!(out.status.code(), Some(78), "check={check}: {}", text(&out));
        assert!(text(&out).contains("binds it first"), "{}", text(&out));
    }
    assert!(!scratch.join("r.tsv").exists(), "nothing was made");
}

#[test]
fn two_of_jobds_files_on_one_path_are_a_config_error() {
    let scratch = Scratch::new("same");
    let results = scratch.join("r.tsv");
    let config = scratch.file(
        "jobd.toml",
        &format!(
            "[app]\nsocket = \"{}\"\nresults = \"{}\"\njournal = \"{}\"\nstdin = false\n",
            scratch.join("s").display(),
            results.display(),
            results.display()
        ),
    );
    let out = Command::new(JOBD)
        .args(["--check", "--config"])
        .arg(&config)
        .output()
        .expect("jobd runs");
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(
        text(&out).contains("app.results and app.journal are one file"),
        "{}",
        text(&out)
    );
    // And a `root` that does not exist is found by `--check`, not at start.
    let config = scratch.file(
        "root.toml",
        "[app]\nroot = \"no-such-dir\"\nresults = \"r2.tsv\"\nsocket = \"s2\"\n",
    );
    let out = Command::new(JOBD)
        .args(["--check", "--config"])
        .arg(&config)
        .output()
        .expect("jobd runs");
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
}

#[test]
fn test_kinds_off_refuses_panic_and_hang() {
    let scratch = Scratch::new("kinds");
    let mut settings = Settings::new(&scratch);
    settings.code_defaults = true;
    settings.test_kinds = Some(false);
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();
    for job in ["p1 panic", "h1 hang"] {
        let answer = conn.ask(job);
        assert!(
            answer.ends_with("the panic and hang kinds are off here (app.test_kinds = false)"),
            "{answer}"
        );
    }
    assert_eq!(conn.ask("s1 sleep 0s"), "ok s1");
    jobd.stop_cleanly();
}

#[test]
fn a_client_that_leaves_while_it_waits_frees_its_connection() {
    let scratch = Scratch::new("waitgone");
    let mut settings = Settings::new(&scratch);
    settings.max_connections = Some(2);
    let jobd = Jobd::start(JOBD, &settings);
    let mut first = jobd.connect();
    first.submit("long", "sleep 10s");
    // A second client waits for the long job, then leaves.
    let mut second = jobd.connect();
    second.send("wait long");
    drop(second);
    // Its slot comes free while the job still runs: a third client is
    // served (not answered `err busy`) before the job ends.
    let deadline = std::time::Instant::now() + integration_tests::PATIENCE;
    let status = loop {
        let mut conn = jobd.connect();
        // A connection past the limit is answered `err busy ...` and
        // closed at once: the request may not even be read.
        let _ = std::io::Write::write_all(&mut conn.writer(), b"status\n");
        let answer = conn.try_recv();
        match answer {
            Ok(json) if json.starts_with('{') => {
                break serde_json::from_str::<serde_json::Value>(&json).expect("status is JSON");
            }
            _ => assert!(
                std::time::Instant::now() < deadline,
                "the waiting client's slot was never freed"
            ),
        }
    };
    assert_eq!(
        integration_tests::jobd::job_count(&status, "running"),
        1,
        "served while the long job runs: {status}"
    );
    drop(first);
    jobd.signal("KILL");
}
