//! A panic goes through `tracing` once `logging::init` ran: one ERROR line
//! in the configured format (JSON here) with the thread, the message, the
//! location and, when asked for, the backtrace; not the default hook's
//! text on standard error. A server's caught panic still becomes its exit
//! reason. Each scenario runs `logs_of_a_run` as its own process (the panic
//! hook is global).

use integration_tests::logs::{JsonLine, Run, run};

const HELPER: &str = env!("CARGO_BIN_EXE_logs_of_a_run");

/// The one "panicked" line of the run.
fn the_panic(run: &Run) -> &JsonLine {
    let panics: Vec<&JsonLine> = run
        .lines
        .iter()
        .filter(|l| l.message() == "panicked")
        .collect();
    assert_eq!(panics.len(), 1, "one panic line\n{}", run.stderr);
    assert_eq!(panics[0].level(), "ERROR");
    panics[0]
}

/// Standard error holds JSON lines only: no "thread 'p' panicked at ..."
/// and no "note: run with `RUST_BACKTRACE=1`".
fn no_default_hook_text(run: &Run) {
    assert!(
        run.stderr.lines().all(|l| l.starts_with('{')),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked at"), "{}", run.stderr);
    assert!(!run.stderr.contains("note: run with"), "{}", run.stderr);
}

#[test]
fn a_servers_panic_is_one_json_line_and_still_its_exit_reason() {
    let run = run(HELPER, "server-panic", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let panic = the_panic(&run);
    assert_eq!(panic.field("panic"), "p crashed on purpose");
    assert_eq!(panic.field("thread"), "p");
    let location = panic.field("location").as_str().unwrap_or_default();
    assert!(
        location.starts_with("integration-tests/src/probe.rs:"),
        "{location}"
    );
    assert!(panic.field("backtrace").is_null(), "not asked for");
    no_default_hook_text(&run);
    // Caught at the server's boundary as before.
    assert_eq!(
        run.stdout.trim(),
        "exit handle panicked: p crashed on purpose"
    );
}

#[test]
fn the_backtrace_is_a_field_when_asked_for() {
    let run = run(HELPER, "server-panic", &[("RUST_BACKTRACE", "1")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let panic = the_panic(&run);
    let backtrace = panic.field("backtrace").as_str().unwrap_or_default();
    assert!(
        backtrace.contains("Probe"),
        "the handler's frame: {backtrace}"
    );
    no_default_hook_text(&run);
}

#[test]
fn a_main_thread_panic_is_logged_and_flushed_before_the_process_ends() {
    let run = run(HELPER, "main-panic", &[]);
    assert_eq!(run.code, Some(101), "{}", run.stderr);
    let panic = the_panic(&run);
    assert_eq!(panic.field("panic"), "the main thread gave up");
    assert_eq!(panic.field("thread"), "main");
    let location = panic.field("location").as_str().unwrap_or_default();
    assert!(location.contains("logs_of_a_run.rs:"), "{location}");
    no_default_hook_text(&run);
}

#[test]
fn a_panic_whose_event_is_filtered_out_still_reaches_stderr() {
    // With every event filtered out the log would say nothing: the
    // previous (default) hook speaks instead.
    for filter in ["off", "info,threadbutler=off"] {
        let run = run(HELPER, "main-panic", &[("RUST_LOG", filter)]);
        assert_eq!(run.code, Some(101), "{}", run.stderr);
        assert!(
            run.stderr.contains("panicked at") && run.stderr.contains("the main thread gave up"),
            "RUST_LOG={filter}: the default hook's text\n{}",
            run.stderr
        );
        assert!(
            !run.lines.iter().any(|l| l.message() == "panicked"),
            "RUST_LOG={filter}: not logged twice\n{}",
            run.stderr
        );
    }
}
