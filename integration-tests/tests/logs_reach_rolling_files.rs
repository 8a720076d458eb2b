//! Logging to rolling files through the non-blocking writer: every
//! lifecycle event reaches the file as a whole JSON line, flushed before the
//! process exits. Runs as its own process (logging is global).

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
    for want in [
        "child started",
        "child exited",
        "child restarting",
        "message dead-lettered",
        "shutdown began",
        "child stopped",
    ] {
        assert!(
            messages.iter().any(|m| m == want),
            "missing {want:?} in {messages:?}"
        );
    }
    // The last event of the run is in the file: the buffer was flushed.
    assert!(text.contains("child stopped"), "flushed before exit");
    let _ = std::fs::remove_dir_all(&dir);
}
