//! The ledger's rules, one test each.

use std::sync::Arc;

use super::*;

#[test]
fn a_job_is_settled_once_whoever_comes_first() {
    let ledger = Ledger::default();
    let id: JobId = Arc::from("7");
    ledger.admit(&id).expect("a new id");
    assert!(ledger.admit(&id).unwrap_err().contains("duplicate"));
    ledger.start(&id, 41);
    assert_eq!(ledger.settle_running(40), None, "another life");
    assert_eq!(ledger.settle_running(41).as_deref(), Some("7"));
    assert!(!ledger.settle(&id), "the hung handler returning late");
    assert_eq!(ledger.counts().writing, 1, "settled, its line on the way");
    let waiter = ledger.wait(&id).expect("accepted");
    ledger.written(&id, Outcome::Dead("heartbeat missed".into()));
    assert_eq!(waiter.try_recv().as_deref(), Ok("done 7 dead"));
    let c = ledger.counts();
    assert_eq!(
        (c.accepted, c.queued, c.running, c.writing, c.dead),
        (1, 0, 0, 0, 1)
    );
}

#[test]
fn at_the_end_every_unsettled_job_is_settled_dead() {
    let ledger = Ledger::default();
    let ids: Vec<JobId> = ["q", "r", "s"].into_iter().map(Arc::from).collect();
    for id in &ids {
        ledger.admit(id).expect("new");
    }
    ledger.start(&ids[1], 5);
    assert!(ledger.settle(&ids[2]));
    let mut last: Vec<(String, &str)> = ledger
        .settle_all()
        .iter()
        .map(|(id, o)| (id.to_string(), o.word()))
        .collect();
    last.sort();
    assert_eq!(last, [("q".into(), "dead"), ("r".into(), "dead")]);
    assert!(ledger.settle_all().is_empty(), "once");
    let c = ledger.counts();
    assert_eq!((c.queued, c.running), (0, 0));
    assert_eq!(
        (c.accepted, c.writing),
        (3, 3),
        "all three lines on the way"
    );
}

#[test]
fn a_refused_send_is_withdrawn() {
    let ledger = Ledger::default();
    let id: JobId = Arc::from("8");
    ledger.admit(&id).expect("a new id");
    ledger.withdraw(&id);
    let c = ledger.counts();
    assert_eq!((c.accepted, c.queued, c.refused), (0, 0, 1));
    assert!(ledger.wait(&id).is_err());
    assert_eq!(ledger.counts().accepted, 0);
    ledger.admit(&id).expect("withdrawn ids may be sent again");
}

#[test]
fn a_hash_hit_is_confirmed_in_the_results_file() {
    let path = std::env::temp_dir().join(format!("jobd-ledger-{}.tsv", std::process::id()));
    std::fs::write(&path, "old\tok\tdone\n").expect("temp dir is writable");
    let ledger = Ledger::new(path.clone());
    ledger.load_settled("old", Word::Ok);
    // `ghost` is known by its hash only (as a collision would be): the
    // file has no line for it, so it is a new id.
    ledger.load_settled("ghost", Word::Ok);
    let old: JobId = Arc::from("old");
    let ghost: JobId = Arc::from("ghost");
    assert!(ledger.admit(&old).unwrap_err().contains("duplicate"));
    ledger.admit(&ghost).expect("no line: a new id");
    assert!(
        ledger.admit(&ghost).unwrap_err().contains("duplicate"),
        "now live"
    );
    let c = ledger.counts();
    assert_eq!((c.accepted, c.refused), (1, 2));
    let _ = std::fs::remove_file(path);
}
