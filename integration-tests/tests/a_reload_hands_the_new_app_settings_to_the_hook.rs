//! A reload reads the file, gives the program's hook the new `[app]`
//! settings, then applies the policies (runtime-semantics §12.3): the hook
//! sees the new values; an `[app]` table that does not fit the program's
//! type is logged with the file and line and changes nothing (the hook is
//! not called, no policy changes); a hook that refuses changes nothing
//! either; the untyped hook gets the whole new config, and without a
//! config file it gets the default one.

use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};
use integration_tests::logs::{capture, the_line};
use integration_tests::probe::{Probe, ProbeConfig};
use serde::Deserialize;
use threadbutler::config::{Config, HumanDuration};
use threadbutler::prelude::*;

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct Settings {
    greeting: String,
    poll: Option<HumanDuration>,
}

fn file(name: &str, text: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("threadbutler-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

fn heartbeat(app: &Butler) -> Option<u64> {
    app.status().find("app/p").and_then(|n| n.heartbeat_ms)
}

/// A Butler whose typed hook sends what it gets, and refuses a greeting
/// of "no".
fn start(path: &PathBuf) -> (Butler, Receiver<Settings>) {
    let (tx, seen) = unbounded();
    let app = Butler::builder("app")
        .config_file(path)
        .expect("valid")
        .server("p", Probe::factory(ProbeConfig::default()))
        .on_reload_app(move |_: &Hub, s: Settings| {
            if s.greeting == "no" {
                return Err("the greeting is no".into());
            }
            tx.send(s)?;
            Ok(())
        })
        .start()
        .expect("starts");
    (app, seen)
}

#[test]
fn the_hook_sees_the_new_app_values_and_a_bad_one_changes_nothing() {
    let path = file(
        "reload-app",
        "[servers.p]\nheartbeat = \"2s\"\n\n[app]\ngreeting = \"hello\"\n",
    );
    let (app, seen) = start(&path);
    assert_eq!(heartbeat(&app), Some(2000));

    // New [app] values reach the hook; the policies follow.
    std::fs::write(
        &path,
        "[servers.p]\nheartbeat = \"500ms\"\n\n[app]\ngreeting = \"bonjour\"\npoll = \"30s\"\n",
    )
    .expect("writable");
    let ((), logs) = capture(|| app.reload());
    let got = seen.try_recv().expect("the hook ran");
    assert_eq!(
        got,
        Settings {
            greeting: "bonjour".into(),
            poll: Some(HumanDuration(Duration::from_secs(30)))
        }
    );
    assert!(
        logs.iter().any(|l| l.contains("config reloaded")),
        "{logs:#?}"
    );
    assert_eq!(heartbeat(&app), Some(500));

    // A bad [app] value (line 6): logged with the file and line; the hook
    // is not called and the policies the same file sets are not applied.
    std::fs::write(
        &path,
        "[servers.p]\nheartbeat = \"700ms\"\n\n[app]\ngreeting = \"hallo\"\npoll = \"soon\"\n",
    )
    .expect("writable");
    let ((), logs) = capture(|| app.reload());
    let refused = the_line(&logs, "config reload failed; keeping the current policies");
    let at = format!("{}:6: app: ", path.display());
    assert!(refused.contains(&at), "names {at}: {}", refused);
    assert!(refused.contains("expected a duration like"), "{}", refused);
    assert!(seen.try_recv().is_err(), "the hook was not called");
    assert!(
        !logs.iter().any(|l| l.contains("config reloaded")),
        "{logs:#?}"
    );
    assert_eq!(heartbeat(&app), Some(500), "the policies stay");

    // The hook refuses: nothing changes either.
    std::fs::write(
        &path,
        "[servers.p]\nheartbeat = \"700ms\"\n\n[app]\ngreeting = \"no\"\n",
    )
    .expect("writable");
    let ((), logs) = capture(|| app.reload());
    assert!(
        logs.iter().any(|l| l
            .contains("the reload hook refused the new config; keeping the current policies")
            && l.contains("the greeting is no")),
        "{logs:#?}"
    );
    assert_eq!(heartbeat(&app), Some(500), "the policies stay");

    // A missing [app] table: the hook gets the default settings.
    std::fs::write(&path, "[servers.p]\nheartbeat = \"700ms\"\n").expect("writable");
    let ((), _) = capture(|| app.reload());
    assert_eq!(seen.try_recv().expect("the hook ran"), Settings::default());
    assert_eq!(heartbeat(&app), Some(700));

    app.shutdown();
    assert!(app.wait().expect("clean").is_clean());
    std::fs::remove_file(&path).expect("exists");
}

#[test]
fn the_untyped_hook_gets_the_whole_new_config_or_the_default_without_a_file() {
    let path = file("reload-config", "[app]\ndata = \"data/app.db\"\n");
    let (tx, seen) = unbounded::<(Option<PathBuf>, PathBuf, Option<String>)>();
    let hook = move |_: &Hub, config: &Config| -> Result<(), BoxError> {
        let level = config.log.level.clone();
        tx.send((
            config.file().map(PathBuf::from),
            config.resolve_path("data/app.db"),
            level,
        ))?;
        Ok(())
    };
    let app = Butler::builder("app")
        .config_file(&path)
        .expect("valid")
        .on_reload(hook.clone())
        .start()
        .expect("starts");
    std::fs::write(&path, "[log]\nlevel = \"debug\"\n").expect("writable");
    // Every reload of this file runs under `capture`: a log callsite first
    // reached with no subscriber at all would be cached as disabled for the
    // other test's capture too.
    let ((), logs) = capture(|| app.reload());
    assert!(
        logs.iter().any(|l| l.contains("config reloaded")),
        "{logs:#?}"
    );
    let (file, data, level) = seen.try_recv().expect("the hook ran");
    assert_eq!(file.as_deref(), Some(path.as_path()));
    let dir = path.parent().expect("in the temp dir");
    assert_eq!(data, dir.join("data/app.db"), "relative to the file");
    assert_eq!(level.as_deref(), Some("debug"), "the new file's values");
    app.shutdown();
    app.wait().expect("clean");
    std::fs::remove_file(&path).expect("exists");

    // No config file: SIGHUP (here `reload`) still reaches the hook.
    let app = Butler::builder("bare")
        .on_reload(hook)
        .start()
        .expect("starts");
    let ((), logs) = capture(|| app.reload());
    assert!(
        !logs.iter().any(|l| l.contains("config reloaded")),
        "{logs:#?}"
    );
    let (file, data, level) = seen.try_recv().expect("the hook ran");
    assert_eq!((file, level), (None, None));
    assert_eq!(data, PathBuf::from("data/app.db"), "no file: as written");
    app.shutdown();
    app.wait().expect("clean");
}
