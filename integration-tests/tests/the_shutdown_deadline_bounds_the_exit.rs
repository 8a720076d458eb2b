//! docs/runtime-semantics.md §12.4: with a shutdown deadline, a shutdown
//! that would wait on a stuck drain is forced at the deadline; the stuck
//! server is abandoned after its grace, and the program still gets to exit,
//! with the unclean exit code.

use std::time::Duration;

use integration_tests::PATIENCE;
use integration_tests::probe::{Hang, Probe, ProbeConfig};
use threadbutler::prelude::*;

#[test]
fn a_stuck_drain_is_forced_at_the_deadline_and_the_tree_still_ends() {
    let cfg = ProbeConfig::default();
    let app = Butler::builder("app")
        .shutdown_deadline(Duration::from_millis(100))
        .abandon_after(Duration::from_millis(100))
        .server("p", Probe::factory(cfg.clone()))
        .shutdown(Shutdown::Drain(Duration::from_secs(3600)))
        .start()
        .expect("starts");
    app.hub().send(Hang).expect("sent");
    cfg.gate.wait_arrival();
    app.shutdown();
    // Without the deadline the drain would take an hour: wait on another
    // thread, so that a broken deadline fails this test after PATIENCE
    // instead of hanging it.
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let waiter = std::thread::spawn(move || {
        let _ = done_tx.send(app.wait());
    });
    let report = done_rx
        .recv_timeout(PATIENCE)
        .expect("the deadline forced the shutdown well before the hour-long drain")
        .expect("a requested shutdown");
    waiter.join().expect("waiter");
    assert_eq!(report.abandoned, vec!["app/p".to_owned()]);
    assert_eq!(report.exit_code(), threadbutler::UNCLEAN_EXIT);
    cfg.gate.open(1);
}
