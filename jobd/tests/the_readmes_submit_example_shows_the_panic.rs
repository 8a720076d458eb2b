//! The README's second Quick start command, run as written against a jobd:
//! its answers show what the text after it promises (job `3` panics its
//! worker, its line says `dead`, the worker restarts) without the reader
//! asking twice.

use std::path::Path;
use std::process::Command;

use integration_tests::daemon::{Process, clean_env};
use integration_tests::jobd::{Scratch, Settings, worker_states};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The arguments of the README's `submit` command, split as a shell
/// splits words with single quotes.
fn readme_submit_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run -p jobd -- submit "))
        .expect("the README shows a submit command");
    let rest = line
        .strip_prefix("cargo run -p jobd -- submit ")
        .expect("found so");
    let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in rest.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => words.extend((!word.is_empty()).then(|| std::mem::take(&mut word))),
            c => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

#[test]
fn the_readmes_submit_example_shows_the_panic() {
    let lines = readme_submit_lines();
    assert!(lines.iter().any(|l| l.ends_with(" panic")), "{lines:?}");
    let scratch = Scratch::new("readme");
    let settings = Settings::new(&scratch);
    // jobd and its client both run from the repository's root, as the
    // README's reader runs them: the jobs' relative paths are the daemon's.
    let mut cmd = Command::new(JOBD);
    clean_env(&mut cmd)
        .current_dir(ROOT)
        .arg("--config")
        .arg(settings.write());
    let mut jobd = Process::spawn("jobd", &mut cmd, Some(settings.log_file()));
    jobd.wait_out("listening", |l| l.starts_with("jobd: listening on "));

    // From the repository's root, as the README's reader runs it.
    let out = clean_env(&mut Command::new(JOBD))
        .current_dir(ROOT)
        .arg("submit")
        .arg("--socket")
        .arg(&settings.socket)
        .args(&lines)
        .output()
        .expect("submit runs");
    let answers = String::from_utf8_lossy(&out.stdout);
    assert!(
        answers.lines().any(|a| a == "done 1 ok"),
        "the README's own words are counted:\n{answers}"
    );
    assert!(
        answers.lines().any(|a| a == "done 3 dead"),
        "the panicked job's outcome is in the answers:\n{answers}"
    );
    let status: serde_json::Value =
        serde_json::from_str(answers.lines().last().expect("status is the last answer"))
            .unwrap_or_else(|e| {
                panic!(
                    "status is JSON ({e}):\n{answers}\n{}{:?}",
                    String::from_utf8_lossy(&out.stderr),
                    out.status
                )
            });
    assert!(
        worker_states(&status).len() == settings.pool_size,
        "every worker is there after the restart: {status}"
    );
    jobd.signal("TERM");
    assert_eq!(jobd.exit_code(), Some(0), "{}", jobd.transcript());
}
