use std::time::Duration;

use threadbutler_supervisor::{Backoff, Intensity, Restart, Shutdown, Strategy};

use super::*;

const FULL: &str = r#"
[supervisor]
strategy = "rest_for_one"
intensity = { max_restarts = 5, period = "10s" }
abandon_after = "2s"

[servers.counter]
restart = "transient"
shutdown = { drain = "250ms" }
heartbeat = "1s"
backoff = { min = "10ms", max = "1s", jitter = 0.1, reset_after = "1m" }
capacity = "unbounded"
pool_size = 4

[servers.db]
shutdown = "immediate"
capacity = 16

[servers."db/reader"]
start_timeout = "2s"

[log]
level = "debug"
format = "json"
output = { dir = "/var/log/app", rotation = "hourly" }
"#;

#[test]
fn a_full_file_loads_with_human_durations() {
    let c = Config::parse(FULL, "app.toml").expect("valid");
    assert_eq!(c.supervisor.strategy, Some(Strategy::RestForOne));
    let i = c.supervisor.intensity.expect("set");
    assert_eq!((i.max_restarts, i.period), (5, Duration::from_secs(10)));
    assert_eq!(c.supervisor_line(FULL), Some(2));
    let s = c.server("counter").expect("listed");
    assert_eq!(s.policy.restart, Some(Restart::Transient));
    assert!(
        matches!(s.policy.shutdown, Some(Shutdown::Drain(d)) if d == Duration::from_millis(250))
    );
    let b: Backoff = s.policy.backoff.expect("set");
    assert_eq!(
        (b.min, b.max, b.reset_after),
        (
            Duration::from_millis(10),
            Duration::from_secs(1),
            Duration::from_secs(60)
        )
    );
    assert_eq!(s.capacity, Some(CapacityConfig::Unbounded));
    assert_eq!(s.pool_size, Some(4));
    assert_eq!(
        c.server("db").and_then(|d| d.capacity),
        Some(CapacityConfig::Bounded(16))
    );
    assert_eq!(
        c.server("db/reader").and_then(|r| r.policy.start_timeout),
        Some(Duration::from_secs(2))
    );
    assert_eq!(c.server_line("db/reader", FULL), Some(19));
    assert!(c.server("nobody").is_none());
    assert_eq!(c.log.format, Some(LogFormat::Json));
    assert!(matches!(
        &c.log.output,
        Some(LogOutput::Files {
            rotation: Rotation::Hourly,
            ..
        })
    ));
}

#[test]
fn log_settings_are_checked_too() {
    let c = Config::parse("[log]\noutput = \"stderr\"\n", "app.toml").expect("valid");
    assert_eq!(c.log.output, Some(LogOutput::Stream(StreamName::Stderr)));
    let e = refused("[log]\nformat = \"xml\"\n");
    assert_eq!(e.line, Some(2), "{e}");
    let e = refused("[log]\nlevle = \"info\"\n");
    assert!(e.message.contains("levle"), "{e}");
}

#[test]
fn an_empty_file_changes_nothing() {
    let c = Config::parse("", "empty.toml").expect("valid");
    assert!(c.servers.is_empty());
    assert!(c.supervisor.is_empty());
    assert_eq!(c.supervisor_line(""), None);
}

fn refused(text: &str) -> ConfigError {
    Config::parse(text, "app.toml").expect_err("must be refused")
}

#[test]
fn an_unknown_key_is_refused_with_its_line() {
    let e = refused("[servers.db]\nrestart = \"permanent\"\nretsart = 3\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("retsart"), "{e}");
    let e = refused("[supervisr]\n");
    assert_eq!(e.line, Some(1), "{e}");
}

#[test]
fn a_bad_duration_is_refused_with_what_was_expected() {
    let e = refused("[servers.db]\n\nheartbeat = \"fast\"\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("expected a duration like"), "{e}");
}

#[test]
fn impossible_policies_are_refused_with_key_and_line() {
    let e = refused("[servers.db]\nbackoff = { min = \"2s\", max = \"1s\" }\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("servers.db.backoff")),
        "{e}"
    );
    assert!(e.message.contains("below min"), "{e}");
    let e = refused("[supervisor]\nintensity = { max_restarts = 1, period = \"0s\" }\n");
    assert_eq!(e.key.as_deref(), Some("supervisor.intensity.period"), "{e}");
    let e = refused("[servers.db]\ncapacity = 0\n");
    assert!(e.message.contains("positive number"), "{e}");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("servers.db.capacity"))
    );
    let e = refused("[servers.db]\npool_size = 0\n");
    assert_eq!(e.key.as_deref(), Some("servers.db.pool_size"), "{e}");
    let e = refused("[servers.db]\nbackoff = { min = \"1s\", max = \"2s\", jitter = 2.0 }\n");
    assert!(e.message.contains("jitter"), "{e}");
    let e = refused("[servers.db]\nrestart = \"sometimes\"\n");
    assert_eq!(e.line, Some(2), "{e}");
    let e = refused("[servers.\"db/reader\"]\nstack_size = 0\n");
    assert_eq!(
        e.to_string(),
        "app.toml:2: servers.\"db/reader\".stack_size: must be greater than zero"
    );
    let e = refused("[servers]\ndb = 3\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("servers.db")));
}

#[test]
fn a_dotted_table_is_refused_with_the_quoted_path_to_write() {
    let e = refused(
        "[servers.db]\nrestart = \"transient\"\n\n[servers.db.reader]\nheartbeat = \"1s\"\n",
    );
    assert_eq!(e.key.as_deref(), Some("servers.db.reader"), "{e}");
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("[servers.\"db/reader\"]"), "{e}");
    // Tables that are policy values are fine.
    let c = Config::parse(
        "[servers.db.backoff]\nmin = \"1s\"\nmax = \"2s\"\n",
        "app.toml",
    )
    .expect("a backoff written as a table");
    assert!(c.server("db").and_then(|d| d.policy.backoff).is_some());
}

#[test]
fn the_display_is_file_line_key_message() {
    let e = refused("[servers.db]\nheartbeat = \"0s\"\n");
    assert_eq!(
        e.to_string(),
        "app.toml:2: servers.db.heartbeat: must be greater than zero"
    );
}

#[test]
fn the_supervisor_table_is_a_policy() {
    let c = Config::parse(
        "[supervisor]\nabandon_after = \"1s\"\nintensity = { max_restarts = 0, period = \"1m\" }\n",
        "app.toml",
    )
    .expect("valid");
    assert_eq!(c.supervisor.abandon_after, Some(Duration::from_secs(1)));
    assert_eq!(
        c.supervisor.intensity,
        Some(Intensity {
            max_restarts: 0,
            period: Duration::from_secs(60)
        })
    );
}
