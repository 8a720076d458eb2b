//! Logging to rolling files through the non-blocking writer: what is logged
//! at INFO (the start, a panic, the restart that follows, the stop) reaches
//! the file as whole JSON lines, flushed before the process exits. Runs as its own process (logging is global).

use std::process::Command;

#[test]
fn a_crash_and_restart_are_logged_as_json_lines_and_flushed_before_exit() {
    let dir = std::env::temp_dir().join(format!("threadbutler-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(env!("CARGO_BIN_EXE_log_to_files"))
        .arg(&dir)
        .env_remove("RUST_LOG")
        .status()
        .expect("the helper runs");
    assert_eq!(status.code(), Some(0), "a clean shutdown exits 0");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the log directory exists")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one file with rotation = never: {files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("readable");
    assert!(text.ends_with('\n'), "the last line is whole");
    let mut messages = Vec::new();
    for line in text.lines() {
        assert!(
            line.starts_with('{') && line.ends_with('}'),
            "a JSON object per line: {line}"
        );
        if let Some(m) = line.split("\"message\":\"").nth(1) {
            messages.push(m.split('"').next().unwrap_or_default().to_owned());
        }
    }
    // At INFO: the start, the failure and what followed it, the shutdown,
    // the stop. Each child's own lifecycle is DEBUG, not in the file.
    for want in [
        "started 1 server in ",
        "panicked",
        "child exited",
        "child restarting",
        "message dead-lettered",
        "shutdown began",
        "stopped: exit 0, ",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(want)),
            "missing {want:?} in {messages:?}"
        );
    }
    for absent in ["child started", "child stopped", "server started"] {
        assert!(
            !messages.iter().any(|m| m == absent),
            "{absent:?} is DEBUG: {messages:?}"
        );
    }
    // The panic went through the subscriber, with where it happened.
    let panic = text
        .lines()
        .find(|l| l.contains("\"message\":\"panicked\""))
        .expect("the panic's line");
    assert!(
        panic.contains("\"location\":\"integration-tests/src/probe.rs:"),
        "{panic}"
    );
    // The last event of the run is in the file: the buffer was flushed.
    assert!(
        messages
            .last()
            .is_some_and(|m| m.starts_with("stopped: exit 0, ")),
        "flushed before exit: {messages:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
