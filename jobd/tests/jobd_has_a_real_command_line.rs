//! jobd's command line (jobd/src/cli.rs; issue #12 point 5): `--help`
//! covers every subcommand, `submit --help` and `health --help` print help
//! instead of reaching the daemon, `--version` answers, `--socket`
//! overrides the config file, relative paths in the config file resolve
//! against the file's directory (not the working directory), `jobd health`
//! answers for probes, and the last line says how jobd stopped and why the
//! exit code is what it is.

use std::process::{Command, Output};

use integration_tests::PATIENCE;
use integration_tests::daemon::{Process, clean_env, output_text as text};
use integration_tests::jobd::{Jobd, Scratch, Settings};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

fn jobd(args: &[&str]) -> Output {
    let mut cmd = Command::new(JOBD);
    clean_env(&mut cmd).args(args);
    cmd.output().expect("jobd runs")
}

#[test]
fn help_and_version_answer_without_a_daemon() {
    let help = jobd(&["--help"]);
    assert_eq!(help.status.code(), Some(0), "{}", text(&help));
    for covers in [
        "jobd submit",
        "jobd health",
        "--config",
        "--socket",
        "--version",
    ] {
        assert!(
            text(&help).contains(covers),
            "--help covers {covers}: {}",
            text(&help)
        );
    }
    // Nothing listens at the default socket in the test's clean
    // environment: had `--help` been sent as a job, this would exit 2.
    for args in [
        &["submit", "--help"][..],
        &["help", "submit"],
        &["submit", "1 panic", "-h"],
    ] {
        let out = jobd(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("usage: jobd submit"),
            "{args:?}: {}",
            text(&out)
        );
    }
    let health = jobd(&["health", "--help"]);
    assert_eq!(health.status.code(), Some(0));
    assert!(text(&health).contains("--ready"), "{}", text(&health));
    let version = jobd(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("jobd 0."));
    let bad = jobd(&["--frobnicate"]);
    assert_eq!(bad.status.code(), Some(64), "EX_USAGE: {}", text(&bad));
    assert!(text(&bad).contains("--frobnicate"), "{}", text(&bad));
}

#[test]
fn relative_paths_resolve_against_the_config_file_and_socket_overrides_it() {
    let scratch = Scratch::new("cli-rel");
    let config = scratch.file(
        "jobd.toml",
        "[app]\nsocket = \"rel.sock\"\nresults = \"out/../results.tsv\"\nstdin = false\n",
    );
    std::fs::create_dir_all(scratch.join("out")).expect("dir made");
    // Started from another working directory: the paths follow the file.
    let elsewhere = Scratch::new("cli-cwd");
    let mut cmd = Command::new(JOBD);
    clean_env(&mut cmd)
        .current_dir(elsewhere.path())
        .arg("--config")
        .arg(&config);
    let mut daemon = Process::spawn("jobd", &mut cmd, None);
    daemon.wait_out("listening", |l| l.starts_with("jobd: listening on "));
    assert!(scratch.join("rel.sock").exists(), "{}", daemon.transcript());
    assert!(!elsewhere.join("rel.sock").exists());

    // A client finds it through the same file, from anywhere.
    let mut submit = Command::new(JOBD);
    clean_env(&mut submit)
        .current_dir(elsewhere.path())
        .args(["submit", "--config"])
        .arg(&config)
        .args(["r1 sleep 0s", "wait r1", "health live", "health ready"]);
    let out = submit.output().expect("submit runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok r1\ndone r1 ok\nok live\nok ready\n"
    );
    let probe = jobd(&[
        "health",
        "--ready",
        "--socket",
        scratch.join("rel.sock").to_str().expect("UTF-8"),
    ]);
    assert_eq!(probe.status.code(), Some(0), "{}", text(&probe));

    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(), Some(0), "{}", daemon.transcript());
    let transcript = daemon.transcript();
    assert!(
        transcript.contains("jobd: exit 0: stopped on request"),
        "the last line says how it stopped: {transcript}"
    );
    let results = std::fs::read_to_string(scratch.join("results.tsv")).expect("results file");
    assert!(results.starts_with("r1\tok\t"), "{results}");

    // `--socket` wins over the file's `app.socket`.
    let over = scratch.join("over.sock");
    let mut cmd = Command::new(JOBD);
    clean_env(&mut cmd)
        .arg("--config")
        .arg(&config)
        .arg("--socket")
        .arg(&over);
    let mut daemon = Process::spawn("jobd", &mut cmd, None);
    daemon.wait_out("listening", |l| l.starts_with("jobd: listening on "));
    assert!(over.exists(), "{}", daemon.transcript());
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(), Some(0), "{}", daemon.transcript());
}

#[test]
fn health_says_when_jobd_is_not_reachable_and_an_unclean_end_says_why() {
    let scratch = Scratch::new("cli-end");
    let missing = scratch.join("nobody.sock");
    let probe = jobd(&["health", "--socket", missing.to_str().expect("UTF-8")]);
    assert_eq!(probe.status.code(), Some(2), "{}", text(&probe));
    assert!(
        text(&probe).contains("cannot reach jobd"),
        "{}",
        text(&probe)
    );

    // A drain that misses its deadline: exit 75, and the last line says so.
    let mut settings = Settings::new(&scratch);
    settings.drain = "100ms".into();
    settings.pool_size = 1;
    let mut daemon = Jobd::start(JOBD, &settings);
    let mut conn = daemon.connect();
    conn.submit("long", "sleep 30s");
    for i in 0..3 {
        conn.submit(&format!("q{i}"), "sleep 30s");
    }
    daemon.signal("TERM");
    let code = daemon.exit_status_within(PATIENCE).code();
    let transcript = daemon.transcript();
    assert_eq!(code, Some(75), "{transcript}");
    assert!(
        transcript.contains("jobd: exit 75: stopped on request, but not cleanly: "),
        "{transcript}"
    );
    assert!(
        transcript.contains("workers-0 gave up 3 queued item(s)"),
        "it names what was given up: {transcript}"
    );
}

#[test]
fn a_draining_jobd_is_live_but_not_ready() {
    let scratch = Scratch::new("cli-drain");
    let mut settings = Settings::new(&scratch);
    // Logs on stderr, so that the test can wait for the intake's stop.
    settings.code_defaults = true;
    let mut daemon = Jobd::start(JOBD, &settings);
    let socket = settings.socket.to_str().expect("UTF-8").to_owned();
    let probe = |flag: &str| jobd(&["health", flag, "--socket", &socket]);
    let ready = probe("--ready");
    assert_eq!(ready.status.code(), Some(0), "{}", text(&ready));
    assert_eq!(String::from_utf8_lossy(&ready.stdout), "ok ready\n");

    // A job that keeps the drain going while the probes ask.
    let mut conn = daemon.connect();
    conn.submit("slow", "sleep 3s");
    daemon.signal("TERM");
    daemon.wait_err("the intake's stop", |l| {
        l.contains("intake stopped taking jobs")
    });
    let ready = probe("--ready");
    assert_eq!(
        ready.status.code(),
        Some(1),
        "draining: not ready: {}",
        text(&ready)
    );
    assert!(
        String::from_utf8_lossy(&ready.stdout).starts_with("err not ready: "),
        "{}",
        text(&ready)
    );
    let live = probe("--live");
    assert_eq!(
        live.status.code(),
        Some(0),
        "draining is alive: {}",
        text(&live)
    );
    assert_eq!(daemon.exit_code(), Some(0), "{}", daemon.transcript());
}

#[test]
fn a_client_with_a_bad_config_or_socket_path_says_so_with_78() {
    let scratch = Scratch::new("cli-cfg");
    let long = format!("/{}", "s".repeat(120));
    for args in [
        vec!["submit", "--socket", long.as_str(), "status"],
        vec!["health", "--socket", long.as_str()],
    ] {
        let out = jobd(&args);
        assert_eq!(out.status.code(), Some(78), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("121 bytes"), "{}", text(&out));
    }
    let bad = scratch.file("bad.toml", "[app]\nsocket_mode = \"0400\"\n");
    let out = jobd(&["health", "--config", bad.to_str().expect("UTF-8")]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(text(&out).contains("bad.toml"), "{}", text(&out));
}
