use std::path::Path;
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
    assert!(e.message.contains("at least 1"), "{e}");
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

/// The key, line and message of the error `text` is refused with.
fn where_and_why(text: &str) -> (Option<String>, Option<usize>, String) {
    let e = refused(text);
    (e.key, e.line, e.message)
}

#[test]
fn the_reported_extremes_are_refused_with_key_line_and_bound() {
    // A capacity that allocated 5 GB at start, and one that panicked.
    for n in [
        "40000000",
        "100000000",
        "4611686018427387904",
        "9223372036854775807",
    ] {
        let (key, line, why) = where_and_why(&format!("[servers.db]\n\ncapacity = {n}\n"));
        assert_eq!(
            (key.as_deref(), line),
            (Some("servers.db.capacity"), Some(3)),
            "{why}"
        );
        assert!(why.contains("at most 1048576 messages"), "{n}: {why}");
        assert!(why.contains(&format!("found {n}")), "{n}: {why}");
    }
    // Past i64, TOML itself refuses the number.
    let (_, line, _) = where_and_why("[servers.db]\ncapacity = 18446744073709551616\n");
    assert_eq!(line, Some(2));
    // A pool size that allocated until the process aborted, as an integer
    // and as a float.
    let (key, line, why) = where_and_why("[servers.w]\npool_size = 1000000000\n");
    assert_eq!(
        (key.as_deref(), line),
        (Some("servers.w.pool_size"), Some(2))
    );
    assert!(why.contains("at most 1024"), "{why}");
    let (key, line, why) = where_and_why("[servers.w]\npool_size = 1e9\n");
    assert_eq!(
        (key.as_deref(), line),
        (Some("servers.w.pool_size"), Some(2)),
        "{why}"
    );
    let (_, _, why) = where_and_why("[servers.w]\ncapacity = 1e9\n");
    assert!(why.contains("positive number of messages"), "{why}");
    // Negative numbers.
    for text in [
        "[servers.w]\ncapacity = -1\n",
        "[servers.w]\npool_size = -1\n",
        "[servers.w]\nstack_size = -1\n",
        "[supervisor]\nintensity = { max_restarts = -1, period = \"1s\" }\n",
        "[servers.w]\nheartbeat = \"-1s\"\n",
    ] {
        let (_, line, _) = where_and_why(text);
        assert_eq!(line, Some(2), "{text}");
    }
}

#[test]
fn every_duration_has_a_bound_a_year() {
    let keys = [
        ("heartbeat = \"1000000000y\"", "servers.w.heartbeat"),
        ("start_timeout = \"366days\"", "servers.w.start_timeout"),
        // The drain is the enum's value: its error is placed at `shutdown`.
        (
            "shutdown = { drain = \"1000000000y\" }",
            "servers.w.shutdown",
        ),
        (
            "backoff = { min = \"1s\", max = \"1000000000y\" }",
            "servers.w.backoff.max",
        ),
        (
            "backoff = { min = \"1000000000y\", max = \"1s\" }",
            "servers.w.backoff.min",
        ),
        (
            "backoff = { min = \"1s\", max = \"2s\", reset_after = \"9000h\" }",
            "servers.w.backoff.reset_after",
        ),
        (
            "intensity = { max_restarts = 1, period = \"1000000000y\" }",
            "servers.w.intensity.period",
        ),
        ("abandon_after = \"1000000000y\"", "servers.w.abandon_after"),
    ];
    for (line, key) in keys {
        let (k, at, why) = where_and_why(&format!("[servers.w]\n{line}\n"));
        assert_eq!((k.as_deref(), at), (Some(key), Some(2)), "{line}: {why}");
        assert!(
            why.contains("must be at most 365days (the bound for every duration)"),
            "{line}: {why}"
        );
    }
    let (_, _, why) = where_and_why("[servers.w]\nheartbeat = \"1000000000y\"\n");
    assert!(why.ends_with("found 365250000000days"), "{why}");
    // u64::MAX seconds and beyond: humantime's own overflow, still an error.
    let (k, at, why) = where_and_why("[servers.w]\nheartbeat = \"18446744073709551615s 1s\"\n");
    assert_eq!((k.as_deref(), at), (Some("servers.w.heartbeat"), Some(2)));
    assert!(why.contains("expected a duration like"), "{why}");
    // Zero where zero cannot work.
    for line in [
        "heartbeat = \"0s\"",
        "start_timeout = \"0s\"",
        "intensity = { max_restarts = 1, period = \"0s\" }",
    ] {
        let (_, _, why) = where_and_why(&format!("[servers.w]\n{line}\n"));
        assert!(why.contains("greater than zero"), "{line}: {why}");
    }
    // The bound itself is allowed.
    let c = Config::parse(
        "[servers.w]\nheartbeat = \"365days\"\nintensity = { max_restarts = 100000, period = \"365days\" }\n",
        "app.toml",
    )
    .expect("at the bounds");
    assert_eq!(
        c.server("w").and_then(|w| w.policy.heartbeat),
        Some(threadbutler_supervisor::Policy::MAX_DURATION)
    );
}

#[test]
fn counts_have_bounds_too() {
    let (k, _, why) =
        where_and_why("[supervisor]\nintensity = { max_restarts = 4294967295, period = \"1s\" }\n");
    assert_eq!(k.as_deref(), Some("supervisor.intensity.max_restarts"));
    assert!(why.contains("at most 100000"), "{why}");
    let (k, _, why) = where_and_why("[servers.w]\nstack_size = 1099511627776\n");
    assert_eq!(k.as_deref(), Some("servers.w.stack_size"));
    assert!(why.contains("at most 1073741824 bytes"), "{why}");
    let (k, _, why) =
        where_and_why("[servers.w]\nbackoff = { min = \"1s\", max = \"2s\", jitter = 1e300 }\n");
    assert_eq!(k.as_deref(), Some("servers.w.backoff"));
    assert!(why.contains("jitter"), "{why}");
    let at_bound = format!(
        "[servers.w]\ncapacity = {}\npool_size = {}\n",
        crate::Capacity::MAX_BOUNDED,
        crate::MAX_POOL_SIZE
    );
    let c = Config::parse(&at_bound, "app.toml").expect("at the bounds");
    let w = c.server("w").expect("listed");
    assert_eq!(
        (w.capacity, w.pool_size),
        (
            Some(CapacityConfig::Bounded(crate::Capacity::MAX_BOUNDED)),
            Some(crate::MAX_POOL_SIZE)
        )
    );
}

#[cfg(feature = "logging")]
#[test]
fn a_bad_level_is_refused_at_load_with_its_line() {
    let e = refused("[log]\nformat = \"json\"\nlevel = \"nonsense[[\"\n");
    assert_eq!(
        (e.key.as_deref(), e.line),
        (Some("log.level"), Some(3)),
        "{e}"
    );
    assert!(e.message.contains("expected a filter like"), "{e}");
    assert!(e.to_string().starts_with("app.toml:3: log.level: "), "{e}");
    let c = Config::parse("[log]\nlevel = \"warn,threadbutler=debug\"\n", "app.toml")
        .expect("a filter");
    assert_eq!(c.log.level.as_deref(), Some("warn,threadbutler=debug"));
}

#[test]
fn max_files_is_read_and_bounded() {
    let c = Config::parse(
        "[log]\noutput = { dir = \"/var/log/app\", max_files = 7 }\n",
        "app.toml",
    )
    .expect("valid");
    assert!(matches!(
        c.log.output,
        Some(LogOutput::Files {
            max_files: Some(7),
            rotation: Rotation::Daily,
            ..
        })
    ));
    for (n, says) in [("0", "at least 1"), ("10001", "at most 10000")] {
        let e = refused(&format!(
            "[log]\n\noutput = {{ dir = \"/tmp\", max_files = {n} }}\n"
        ));
        assert_eq!(
            (e.key.as_deref(), e.line),
            (Some("log.output.max_files"), Some(3)),
            "{e}"
        );
        assert!(e.message.contains(says), "{e}");
    }
    let e = refused("[log]\noutput = { dir = \"/tmp\", rotation = \"never\", max_files = 1 }\n");
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("max_files needs rotation"), "{e}");
    for prefix in ["", "logs/app", ".."] {
        let e = refused(&format!(
            "[log]\noutput = {{ dir = \"/tmp\", prefix = {prefix:?} }}\n"
        ));
        assert_eq!(e.line, Some(2), "{e}");
        assert!(
            e.message
                .contains("prefix must be the start of a file name"),
            "{e}"
        );
    }
    let e = refused("[log]\noutput = { dir = \"/tmp\", keep = 3 }\n");
    assert!(e.message.contains("keep"), "{e}");
    let e = refused("[log]\noutput = \"stdout\"\n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn relative_paths_are_relative_to_the_files_directory() {
    let text = "[log]\noutput = { dir = \"logs\" }\n";
    let c = Config::parse(text, "/etc/app/app.toml").expect("valid");
    let Some(LogOutput::Files { dir, .. }) = &c.log.output else {
        panic!("files: {:?}", c.log.output);
    };
    assert_eq!(dir, Path::new("/etc/app/logs"));
    assert_eq!(c.file(), Some(Path::new("/etc/app/app.toml")));
    assert_eq!(c.dir(), Some(Path::new("/etc/app")));
    assert_eq!(c.resolve_path("data/x"), Path::new("/etc/app/data/x"));
    assert_eq!(c.resolve_path("/srv/x"), Path::new("/srv/x"));
    // An absolute directory stays as written.
    let c = Config::parse(
        "[log]\noutput = { dir = \"/var/log\" }\n",
        "/etc/app/app.toml",
    )
    .expect("valid");
    assert!(
        matches!(&c.log.output, Some(LogOutput::Files { dir, .. }) if dir == Path::new("/var/log"))
    );
    // A file named relative to the working directory: its directory is
    // made absolute at load, so a later chdir does not move it.
    let c = Config::parse("", "conf/app.toml").expect("valid");
    let cwd = std::env::current_dir().expect("a working directory");
    assert_eq!(c.dir(), Some(cwd.join("conf").as_path()));
    // And the file a reload reads again is the same one.
    assert_eq!(c.absolute_file(), Some(cwd.join("conf/app.toml").as_path()));
    assert_eq!(
        c.file(),
        Some(Path::new("conf/app.toml")),
        "errors name it as given"
    );
    // No file: paths are left as they are.
    assert_eq!(Config::default().resolve_path("x"), Path::new("x"));
    assert_eq!(Config::default().dir(), None);
}

#[test]
fn a_loaded_file_gives_its_app_table_typed() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        poll: HumanDuration,
    }
    let c = Config::parse(
        "[servers.w]\nheartbeat = \"1s\"\n\n[app]\npoll = \"2s\"\n",
        "a.toml",
    )
    .expect("valid");
    assert_eq!(
        c.app_config::<Settings>().expect("fits"),
        Some(Settings {
            poll: HumanDuration(Duration::from_secs(2))
        })
    );
    let c = Config::parse("[app]\n\npoll = 2\n", "a.toml").expect("the framework takes any table");
    let e = c.app_config::<Settings>().expect_err("not a duration");
    assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("app")), "{e}");
    assert!(e.to_string().starts_with("a.toml:3"), "{e}");
}
