//! The README's first Quick start command, `cargo run -p jobd`:
//! jobd with its code's defaults (here only its paths are set, so that the
//! test does not touch the user's socket) prints how to submit a job, runs
//! one, and stops cleanly on Ctrl-C (SIGINT, `Signals::graceful()`,
//! docs/runtime-semantics.md §12.2): exit 0, its socket removed; its
//! INFO log is a handful of lines.

use integration_tests::jobd::{Jobd, Scratch, Settings};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

#[test]
fn jobd_with_its_defaults_says_how_to_submit_and_stops_on_ctrl_c() {
    let scratch = Scratch::new("defaults");
    let mut settings = Settings::new(&scratch);
    settings.code_defaults = true;
    let text = scratch.file("words.txt", "three small words\n");

    let mut jobd = Jobd::start(JOBD, &settings);
    let told = jobd.wait_out("how to submit", |l| l.contains("Ctrl-C"));
    let told = told.join("\n");
    assert!(told.contains("jobd: submit a job: "), "{told}");
    assert!(told.contains(" submit --config "), "{told}");
    let mut conn = jobd.connect();
    conn.submit("1", &format!("words {}", text.display()));
    assert_eq!(conn.wait("1"), "ok");

    jobd.signal("INT");
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(0), "a clean drain\n{transcript}");
    assert!(
        transcript.contains("jobd: stopped: 1 jobs (ok 1, failed 0, dead 0)"),
        "{transcript}"
    );
    // Logs go to stderr by default: the shutdown is there.
    assert!(transcript.contains("shutdown began"), "{transcript}");
    // Quiet logs (#13): one line for the start of the tree, one for its
    // end, and the few that say what jobd itself does; each child's
    // lifecycle is DEBUG. (It was 31 INFO lines before "how to submit".)
    let info: Vec<&str> = transcript
        .lines()
        .filter(|l| l.contains(" INFO "))
        .collect();
    assert!(
        info.iter().any(|l| l.contains("started 8 servers in ")),
        "{transcript}"
    );
    assert!(
        info.iter().any(|l| l.contains("stopped: exit 0, ")),
        "{transcript}"
    );
    assert!(
        info.len() <= 8,
        "{} INFO lines for a start, one job and a stop:\n{}",
        info.len(),
        info.join("\n")
    );
    assert!(!settings.socket.exists(), "a clean stop removes its socket");
    let results = jobd.results();
    assert_eq!(results.lines.len(), 1);
    assert_eq!(results.lines[0].detail, "words=3");
}
