//! At INFO a healthy run says three things: that its tree started (how
//! many servers, how long it took), that its shutdown began, and that it
//! stopped (exit code, why, what was left), once however often the report
//! is asked for. Each child's own lifecycle is DEBUG, there for whoever asks
//! for it. Runs `logs_of_a_run quiet` as its own process (logging is
//! global).

use integration_tests::logs::{JsonLine, run};

const HELPER: &str = env!("CARGO_BIN_EXE_logs_of_a_run");

fn with_message<'a>(lines: &'a [JsonLine], message: &str) -> Vec<&'a JsonLine> {
    lines.iter().filter(|l| l.message() == message).collect()
}

#[test]
fn a_clean_run_logs_its_start_its_shutdown_and_its_stop_and_nothing_else() {
    let run = run(HELPER, "quiet", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let shown: Vec<&JsonLine> = run.lines.iter().filter(|l| l.shown_at_info()).collect();
    let messages: Vec<&str> = shown.iter().map(|l| l.message()).collect();
    assert_eq!(
        messages,
        [
            "started 6 servers in ".to_owned() + &shown[0].field("elapsed_ms").to_string() + " ms",
            "shutdown began".to_owned(),
            "stopped: exit 0, shut down on request, nothing left".to_owned(),
        ],
        "{}",
        run.stderr
    );
    assert!(shown.iter().all(|l| l.level() == "INFO"), "{}", run.stderr);

    let started = shown[0];
    assert_eq!(started.field("app"), "app");
    // Two at the root, one in the nested supervisor, three pool workers.
    assert_eq!(started.field("servers"), 6);
    // The nested supervisor and the pool.
    assert_eq!(started.field("supervisors"), 2);
    assert!(started.field("elapsed_ms").is_u64(), "{}", run.stderr);

    assert_eq!(shown[1].field("supervisor"), "app");

    // The report was asked for twice; the stop is said once.
    let stopped = shown[2];
    assert_eq!(stopped.field("app"), "app");
    assert_eq!(stopped.field("exit_code"), 0);
    assert_eq!(stopped.field("reason"), "shut down on request");
    assert_eq!(stopped.field("reason_kind"), "shutdown");
    for nothing in ["abandoned", "given_up", "dead_letters", "queued"] {
        assert_eq!(stopped.field(nothing), 0, "{nothing}: {}", run.stderr);
    }
}

#[test]
fn each_childs_lifecycle_is_there_at_debug() {
    let run = run(HELPER, "quiet", &[("RUST_LOG", "info,threadbutler=debug")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let children = [
        "app/web",
        "app/cache",
        "app/db",
        "app/db/reader",
        "app/workers",
        "app/workers/workers-0",
        "app/workers/workers-1",
        "app/workers/workers-2",
    ];
    for message in [
        "child starting",
        "child started",
        "child exited",
        "child stopped",
    ] {
        let lines = with_message(&run.lines, message);
        assert!(
            lines.iter().all(|l| l.level() == "DEBUG"),
            "{message}: {lines:?}"
        );
        let mut seen: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.field("child").as_str())
            .collect();
        seen.sort_unstable();
        let mut want = children.to_vec();
        if message == "child started" {
            want.push("app"); // the root's own start
        }
        want.sort_unstable();
        assert_eq!(seen, want, "{message}\n{}", run.stderr);
    }
    // The servers' own lives, and the nested supervisors' shutdowns.
    assert_eq!(
        with_message(&run.lines, "server started").len(),
        6,
        "{}",
        run.stderr
    );
    let nested: Vec<&JsonLine> = with_message(&run.lines, "shutdown began")
        .into_iter()
        .filter(|l| l.level() == "DEBUG")
        .collect();
    assert!(!nested.is_empty(), "{}", run.stderr);
    // The INFO lines are the same as without the filter.
    let info: Vec<&str> = run
        .lines
        .iter()
        .filter(|l| l.shown_at_info())
        .map(|l| l.message())
        .collect();
    assert_eq!(info.len(), 3, "{info:?}");
}
