//! `max_files` in the `[log]` table keeps the newest rolled files: the
//! appender deletes the oldest when a file starts, the first one included,
//! so files left from earlier runs (dated names, as the appender writes
//! them) are pruned at start. The directory is relative, so it is the
//! config file's: the helper runs from another working directory. Each
//! scenario runs `log_keeps_max_files` as its own process (logging is
//! global).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory for one scenario, holding `app.toml` with `log`.
fn scenario(name: &str, log: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("threadbutler-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp is writable");
    let config = dir.join("app.toml");
    std::fs::write(&config, format!("[log]\nformat = \"json\"\n\n{log}\n")).expect("written");
    (dir, config)
}

/// Runs the helper from `/`, not from the config file's directory.
fn run(config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_log_keeps_max_files"))
        .arg(config)
        .current_dir("/")
        .env_remove("RUST_LOG")
        .output()
        .expect("the helper runs")
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the log directory exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn files_left_from_earlier_days_are_pruned_to_max_files_in_the_files_directory() {
    let (dir, config) = scenario(
        "max-files",
        "output = { dir = \"logs\", rotation = \"daily\", prefix = \"tb.log\", max_files = 3 }",
    );
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("writable");
    // Not the appender's names, though they share its prefix: never counted,
    // even when older than every log.
    let others = [
        "other.txt",
        "tb.log.toml",
        "tb.log.bak",
        "tb.log.2020-01-01.gz",
    ];
    for name in others {
        std::fs::write(logs.join(name), "not a log\n").expect("writable");
    }
    let old: Vec<String> = (1..=5).map(|d| format!("tb.log.2020-01-0{d}")).collect();
    for name in &old {
        std::fs::write(logs.join(name), "{}\n").expect("writable");
    }

    let out = run(&config);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let left = names(&logs);
    let ours: Vec<&String> = left
        .iter()
        .filter(|n| n.starts_with("tb.log") && !others.contains(&n.as_str()))
        .collect();
    assert_eq!(ours.len(), 3, "max_files = 3 keeps three: {left:?}");
    let new: Vec<&&String> = ours.iter().filter(|n| !old.contains(n)).collect();
    assert_eq!(new.len(), 1, "today's file is one of them: {left:?}");
    let text = std::fs::read_to_string(logs.join(new[0])).expect("readable");
    assert!(text.contains("the newest file"), "{text}");
    for name in others {
        assert!(
            left.contains(&name.to_owned()),
            "other files stay, {name} too: {left:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_max_files_every_file_stays() {
    let (dir, config) = scenario(
        "all-files",
        "output = { dir = \"logs\", rotation = \"daily\", prefix = \"tb.log\" }",
    );
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("writable");
    for d in 1..=5 {
        std::fs::write(logs.join(format!("tb.log.2020-01-0{d}")), "{}\n").expect("writable");
    }
    let out = run(&config);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(names(&logs).len(), 6, "{:?}", names(&logs));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_that_cannot_be_created_names_the_file_and_line() {
    let (dir, config) = scenario("no-dir", "output = { dir = \"blocker/logs\" }");
    std::fs::write(dir.join("blocker"), "a file, not a directory\n").expect("writable");
    let out = run(&config);
    assert_eq!(out.status.code(), Some(78), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "{}:4: log.output.dir {}: cannot be created",
        config.display(),
        dir.join("blocker/logs").display()
    );
    assert!(err.contains(&want), "names {want}: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
