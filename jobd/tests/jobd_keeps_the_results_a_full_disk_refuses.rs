//! A results file that refuses writes (here a file already as large as
//! jobd's file size limit, `ulimit -f`: every write fails with "file too
//! large", as on a full disk) costs no result silently: jobd keeps the
//! lines, tries them again with each new result and at the drain, logs the
//! ids it could not write, and exits 75 rather than 0
//! (jobd/src/results.rs, "Nothing is lost to a failing disk";
//! docs/runtime-semantics.md §12.6 for the code).

use integration_tests::jobd::{Jobd, Scratch, Settings, job_count};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

/// The file size limit: 2048 blocks of 512 bytes (POSIX `ulimit -f`).
const LIMIT: usize = 2048 * 512;

#[test]
fn results_a_full_disk_refuses_are_kept_retried_and_reported() {
    let scratch = Scratch::new("devfull");
    let mut settings = Settings::new(&scratch);
    // Whole lines of earlier runs, 64 bytes each, up to the limit exactly.
    let earlier: String = (0..LIMIT / 64)
        .map(|n| format!("{:<63}\n", format!("old-{n:06}\tok\tslept=0ms")))
        .collect();
    assert_eq!(earlier.len(), LIMIT);
    settings.results = scratch.file("results.tsv", &earlier);
    // SIGXFSZ ignored: a write past the limit then fails (EFBIG) instead
    // of killing jobd.
    let mut jobd = Jobd::spawn_with_shell(JOBD, &settings, "trap '' XFSZ; ulimit -f 2048");
    jobd.wait_listening();
    let mut conn = jobd.connect();
    conn.submit("one", "sleep 1ms");
    conn.submit("two", "panic");
    // Both ran (and settled); neither line could be written: they wait.
    let status = conn.status_until("both lines wait for the disk", |s| {
        job_count(s, "writing") == 2
    });
    assert_eq!(
        job_count(&status, "ok") + job_count(&status, "dead"),
        0,
        "{status}"
    );

    jobd.signal("TERM");
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(75), "results were lost\n{transcript}");
    assert!(
        transcript.contains("jobd: exit 75: stopped on request, but not cleanly: 2 result line(s) could not be written"),
        "{transcript}"
    );
    let log = jobd.log().join("\n");
    assert!(log.contains("cannot write the results file"), "{log}");
    let lost = log
        .lines()
        .find(|l| l.contains("results that could not be written"))
        .unwrap_or_else(|| panic!("the lost ids are logged\n{log}"));
    assert!(
        lost.contains("\"one\"") && lost.contains("\"two\""),
        "{lost}"
    );
    assert_eq!(
        std::fs::read_to_string(&settings.results).expect("the results file"),
        earlier,
        "nothing torn was left in the file"
    );
}
