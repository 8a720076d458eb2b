//! Policies from a TOML file, by child name or path (`.config_file(path)?`).
//! The example writes a small file to the temp directory: `cache` becomes
//! `temporary` (the code says permanent; the file wins), `store` gets a
//! 250 ms backoff and a mailbox of 2, and `db/reader` (the server `reader`
//! of the nested supervisor `db`) a heartbeat. It crashes `cache` and
//! `store`, then fills `store`'s mailbox, printing `app.status()` to show
//! the effect. Then it reloads the file: once changed (the reload hook gets
//! the new `[app]` greeting, then the new heartbeat is in force), once with
//! a table naming no declared child (refused whole: the hook is not called,
//! nothing changes). Last, a bad file (`heartbeat = "soon"`) and a number
//! above its bound (`capacity = 100000000`) are refused at load with the
//! file and line, and `err.exit_code()` is 78. Every key is described in
//! `examples/config.toml`.
//!
//! Run it with `cargo run --example with_config` (`-- --demo` is the same:
//! it always stops by itself).

use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use threadbutler::TrySendError;
use threadbutler::prelude::*;

const CONFIG: &str = r#"[supervisor]
intensity = { max_restarts = 5, period = "10s" }

[servers.cache]
restart = "temporary"       # a failure stops it for good

[servers.store]
restart = "permanent"
backoff = { min = "250ms", max = "2s" }
capacity = 2

[servers."db/reader"]      # a nested child, by its path below the root
heartbeat = "2s"

[app]                       # the program's own settings
greeting = "hello"
"#;

/// The `[app]` table.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Settings {
    greeting: String,
}

/// Makes the handler panic.
pub struct Crash;
/// Does nothing.
pub struct Ping;
/// Holds the handler until the channel receives (says `held` first).
pub struct Hold(pub Sender<()>, pub Receiver<()>);
threadbutler::messages! { pub enum NodeMsg for Node { Crash, Ping, Hold } }

/// A server that can crash or be held busy.
pub struct Node;

impl Server for Node {
    fn handle(&mut self, msg: NodeMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            NodeMsg::Crash(Crash) => panic!("asked to crash"),
            NodeMsg::Ping(Ping) => {}
            NodeMsg::Hold(Hold(held, release)) => {
                let _ = held.send(());
                let _ = release.recv();
            }
        }
        Ok(())
    }
}

fn temp_file(name: &str, text: &str) -> std::io::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("with_config-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Waits for the event `kind` about `child`, printing the ones it passes.
fn wait_for(events: &Receiver<Event>, kind: &str, child: &str) -> Result<(), BoxError> {
    loop {
        let event = events.recv_timeout(Duration::from_secs(5))?;
        println!("  event: {event}");
        if event.kind() == kind && event.subject() == child {
            return Ok(());
        }
    }
}

fn main() -> Result<(), BoxError> {
    std::panic::set_hook(Box::new(|_| {})); // the crashes are expected
    let good = temp_file("good", CONFIG)?;
    let app = Butler::builder("app")
        .config_file(&good)?
        .server("cache", || Node)
        .restart(Restart::Permanent) // overridden by the file
        .server("store", || Node)
        .supervisor("db", |db| db.server("reader", || Node))
        // Each reload hands the hook the new file's [app] table, before
        // its policies are applied.
        .on_reload_app(|_, s: Settings| {
            println!("reload hook: greeting = {:?}", s.greeting);
            Ok(())
        })
        .start()?;
    let events = app.subscribe();
    println!("started with {}:\n{}", good.display(), app.status());

    let node = |name: &str| app.hub().address::<Node>(name).ok_or("no such server");
    println!("crash cache (temporary in the file):");
    node("cache")?.send(Crash)?;
    wait_for(&events, "Stopped", "app/cache")?;
    println!("crash store (permanent, 250 ms backoff):");
    node("store")?.send(Crash)?;
    wait_for(&events, "Started", "app/store")?;

    // Capacity 2: with the handler held, two messages queue, the third is refused.
    let (held_tx, held) = bounded(1);
    let (release, release_rx) = bounded(1);
    node("store")?.send(Hold(held_tx, release_rx))?;
    held.recv_timeout(Duration::from_secs(5))?;
    for i in 1..=3 {
        match node("store")?.try_send(Ping) {
            Ok(()) => println!("try_send #{i} to store: queued"),
            Err(TrySendError::Full(_)) => println!("try_send #{i} to store: Full (capacity 2)"),
            Err(e) => return Err(e.to_string().into()),
        }
    }
    println!(
        "cache is gone from the tree (temporary), store restarted once:\n{}",
        app.status()
    );
    release.send(())?;

    // A reload (SIGHUP with `Signals::graceful()`) reads the file again.
    let reader_heartbeat = || {
        app.status()
            .find("app/db/reader")
            .and_then(|r| r.heartbeat_ms)
    };
    println!("db/reader's heartbeat: {:?} ms", reader_heartbeat());
    std::fs::write(
        &good,
        CONFIG
            .replace("\"2s\"", "\"500ms\"")
            .replace("hello", "bonjour"),
    )?;
    app.reload();
    println!(
        "reloaded: db/reader's heartbeat: {:?} ms",
        reader_heartbeat()
    );
    std::fs::write(
        &good,
        format!("{CONFIG}\n[servers.nobody]\nheartbeat = \"1s\"\n"),
    )?;
    app.reload(); // refused whole (the log says where): nothing changes
    println!(
        "a file naming nobody is refused: db/reader's heartbeat stays {:?} ms",
        reader_heartbeat()
    );

    app.shutdown();
    app.wait()?;
    std::fs::remove_file(&good)?;

    for (name, text) in [
        (
            "bad",
            "[servers.store]\nrestart = \"permanent\"\nheartbeat = \"soon\"\n",
        ),
        ("huge", "[servers.store]\ncapacity = 100000000\n"),
    ] {
        let bad = temp_file(name, text)?;
        match Butler::builder("app").config_file(&bad) {
            Ok(_) => return Err("the bad file was accepted".into()),
            Err(err) => {
                println!("bad file refused: {err}");
                println!("err.exit_code() = {}", err.exit_code());
                assert_eq!(err.exit_code(), 78);
            }
        }
        std::fs::remove_file(&bad)?;
    }
    Ok(())
}
