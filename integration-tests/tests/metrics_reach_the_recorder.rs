//! Metrics (feature `metrics`, #13 point 4): after a known scenario — three
//! requests handled, a panic (restart, dead letter in flight), a heartbeat
//! miss in virtual time, a nested supervisor giving up, a client with two
//! messages unread, and three mailboxes that left the hub between two
//! readings (a removed server, a temporary one that ended, a dropped
//! client) — the recorder holds every listed metric with its labels and
//! values, and nothing else; the mailbox figures are the mailboxes' own
//! counters, the last ones for those that left. The scenario runs in its
//! own process (`src/bin/metrics_scenario.rs`): a recorder is global.
#![cfg(feature = "metrics")]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use threadbutler::{Butler, Error};

#[test]
fn a_known_scenario_leaves_exactly_these_figures_in_the_recorder() {
    let out = Command::new(env!("CARGO_BIN_EXE_metrics_scenario"))
        .output()
        .expect("the helper runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the scenario failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let (stats, figures): (Vec<&str>, Vec<&str>) =
        stdout.lines().partition(|l| l.starts_with("stats "));
    assert_eq!(
        figures,
        [
            "threadbutler_child_exits_total{child=app/counter,reason=panicked} 1",
            "threadbutler_child_exits_total{child=app/counter,reason=shutdown} 1",
            "threadbutler_child_exits_total{child=app/flaky,reason=gave_up} 1",
            "threadbutler_child_exits_total{child=app/flaky,reason=shutdown} 1",
            "threadbutler_child_exits_total{child=app/flaky/fragile,reason=panicked} 1",
            "threadbutler_child_exits_total{child=app/flaky/fragile,reason=shutdown} 1",
            "threadbutler_child_exits_total{child=app/once,reason=normal} 1",
            "threadbutler_child_exits_total{child=app/sitter,reason=heartbeat_missed} 1",
            "threadbutler_child_exits_total{child=app/sitter,reason=shutdown} 1",
            "threadbutler_child_exits_total{child=app/temp,reason=shutdown} 1",
            "threadbutler_child_restarts_total{child=app/counter} 1",
            "threadbutler_child_restarts_total{child=app/flaky} 1",
            "threadbutler_child_restarts_total{child=app/sitter} 1",
            "threadbutler_heartbeat_misses_total{child=app/sitter} 1",
            "threadbutler_mailbox_accepted_total{server=app/counter} 4",
            "threadbutler_mailbox_accepted_total{server=app/flaky/fragile} 1",
            "threadbutler_mailbox_accepted_total{server=app/once} 3",
            "threadbutler_mailbox_accepted_total{server=app/sitter} 1",
            "threadbutler_mailbox_accepted_total{server=app/temp} 5",
            "threadbutler_mailbox_accepted_total{server=inbox} 3",
            "threadbutler_mailbox_accepted_total{server=outbox} 4",
            "threadbutler_mailbox_dead_lettered_total{reason=in_flight,server=app/counter} 1",
            "threadbutler_mailbox_dead_lettered_total{reason=in_flight,server=app/flaky/fragile} 1",
            "threadbutler_mailbox_handled_total{server=app/counter} 3",
            "threadbutler_mailbox_handled_total{server=app/flaky/fragile} 0",
            "threadbutler_mailbox_handled_total{server=app/once} 3",
            "threadbutler_mailbox_handled_total{server=app/sitter} 1",
            "threadbutler_mailbox_handled_total{server=app/temp} 5",
            "threadbutler_mailbox_handled_total{server=inbox} 1",
            "threadbutler_mailbox_handled_total{server=outbox} 4",
            "threadbutler_mailbox_queued{server=app/counter} 0",
            "threadbutler_mailbox_queued{server=app/flaky/fragile} 0",
            "threadbutler_mailbox_queued{server=app/once} 0",
            "threadbutler_mailbox_queued{server=app/sitter} 0",
            "threadbutler_mailbox_queued{server=app/temp} 0",
            "threadbutler_mailbox_queued{server=inbox} 2",
            "threadbutler_mailbox_queued{server=outbox} 0",
            "threadbutler_supervisor_give_ups_total{supervisor=app/flaky} 1",
        ],
        "the recorder after the scenario"
    );

    // Read, not counted twice: each mailbox's figures are its own counters
    // (`MailboxStats`), and the dead letters by reason add up to its count.
    let recorded: BTreeMap<&str, &str> = figures.iter().filter_map(|l| l.split_once(' ')).collect();
    let path = |name: &str| match name {
        "inbox" => "inbox".to_owned(),
        "fragile" => "app/flaky/fragile".to_owned(),
        other => format!("app/{other}"),
    };
    assert_eq!(stats.len(), 4, "{stats:?}");
    for line in stats {
        let f: Vec<&str> = line.split(' ').collect();
        let (name, accepted, handled, dead, queued) = (f[1], f[2], f[3], f[4], f[5]);
        let server = path(name);
        let get = |metric: &str| {
            recorded
                .get(format!("{metric}{{server={server}}}").as_str())
                .copied()
        };
        assert_eq!(
            get("threadbutler_mailbox_accepted_total"),
            Some(accepted),
            "{line}"
        );
        assert_eq!(
            get("threadbutler_mailbox_handled_total"),
            Some(handled),
            "{line}"
        );
        assert_eq!(get("threadbutler_mailbox_queued"), Some(queued), "{line}");
        let dead_by_reason: u64 = recorded
            .iter()
            .filter(|(k, _)| {
                k.starts_with("threadbutler_mailbox_dead_lettered_total{")
                    && k.ends_with(&format!(",server={server}}}"))
            })
            .map(|(_, v)| v.parse::<u64>().expect("a count"))
            .sum();
        assert_eq!(dead_by_reason.to_string(), dead, "{line}");
    }
}

/// Starts an application with metrics every `interval`: the error, or
/// `None` once it started and stopped.
fn start_with_metrics(interval: Duration) -> Option<Error> {
    match Butler::builder("app").metrics(interval).start() {
        Ok(app) => {
            app.shutdown();
            app.wait().expect("a clean shutdown");
            None
        }
        Err(e) => Some(e),
    }
}

#[test]
fn an_interval_under_a_millisecond_or_over_a_year_is_a_configuration_error() {
    for short in [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_micros(999),
    ] {
        let err = start_with_metrics(short).expect("too short");
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("metrics interval must be at least 1ms") && text.contains("metrics()"),
            "{text}"
        );
    }
    let year = threadbutler::Policy::MAX_DURATION;
    let err = start_with_metrics(year + Duration::from_nanos(1)).expect("too long");
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("metrics: must be at most 365days") && text.contains("metrics()"),
        "{text}"
    );
    // The bounds themselves are taken.
    assert_eq!(
        threadbutler::metrics::MIN_INTERVAL,
        Duration::from_millis(1)
    );
    for bound in [threadbutler::metrics::MIN_INTERVAL, year] {
        assert!(start_with_metrics(bound).is_none(), "{bound:?} refused");
    }
}
