//! A job that cannot finish within the drain (a sleep longer than the
//! drain's deadline, a hang that starts just before SIGTERM) still gets its
//! one line: `dead`, unfinished when jobd stopped. jobd's results server
//! stops last and settles every job nobody settled (jobd/src/lib.rs, "The
//! results file"). Workers abandoned during the shutdown make the exit 75
//! (docs/runtime-semantics.md §12.6, §11.16).

use integration_tests::jobd::{Jobd, Scratch, Settings, job_count};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

#[test]
fn jobs_cut_short_by_the_drain_are_booked_dead_and_the_exit_says_unclean() {
    let scratch = Scratch::new("cutshort");
    let mut settings = Settings::new(&scratch);
    settings.pool_size = 2;
    settings.drain = "500ms".into();
    // Long enough that the hang is not seen before the drain ends.
    settings.heartbeat = "30s".into();
    let mut jobd = Jobd::start(JOBD, &settings);
    let mut conn = jobd.connect();
    conn.submit("long", "sleep 1h");
    conn.submit("stuck", "hang");
    conn.submit("queued", "sleep 1ms");
    conn.status_until("both workers are busy", |s| job_count(s, "running") == 2);

    jobd.signal("TERM");
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(75), "workers were abandoned\n{transcript}");
    let results = jobd.results();
    for id in ["long", "stuck"] {
        let line = results.only(id);
        assert_eq!(line.outcome, "dead", "{line:?}\n{transcript}");
        assert!(
            line.detail.contains("unfinished when jobd stopped"),
            "{line:?}"
        );
    }
    let queued = results.only("queued");
    assert_eq!(queued.outcome, "dead", "{queued:?}");
    assert!(queued.detail.contains("drain deadline"), "{queued:?}");
    assert_eq!(results.lines.len(), 3, "one line each");
}
