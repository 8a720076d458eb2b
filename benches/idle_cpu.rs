//! CPU used by a supervisor over 5 s while it watches 100 idle servers,
//! read from the kernel's per-thread accounting (`/proc/self/task/*/stat`),
//! against a raw baseline: a thread blocked in `recv` for the same time.
//! Target: under 1% of one core.
//!
//! Run with `cargo bench -p threadbutler-benches --bench idle_cpu`. Linux only (it prints a note and
//! exits elsewhere). Two variants: no heartbeats (the supervisor should not
//! wake at all), and a 1 s heartbeat on every server (it samples every
//! 0.5 s).

use std::fs;
use std::thread;
use std::time::Duration;

use threadbutler::prelude::*;

/// Idles until stopped.
pub struct Idle;
/// Never sent.
pub struct Nothing;
threadbutler::messages! { pub enum IdleMsg for Idle { Nothing } }
impl Server for Idle {
    fn handle(&mut self, _: IdleMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

const WINDOW: Duration = Duration::from_secs(5);

/// User + system CPU time, in clock ticks, of the threads named `name`
/// (or, with a trailing `*`, whose name starts with the rest).
fn thread_ticks(name: &str) -> Option<u64> {
    let mut total = None;
    for entry in fs::read_dir("/proc/self/task").ok()? {
        // A thread that ended since the listing is skipped.
        let Ok(entry) = entry else { continue };
        let dir = entry.path();
        let Ok(comm) = fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        let comm = comm.trim_end();
        let matches = match name.strip_suffix('*') {
            Some(prefix) => comm.starts_with(prefix),
            None => comm == name,
        };
        if !matches {
            continue;
        }
        let Ok(stat) = fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // Fields after the ")" that closes the command name: state is 3rd
        // overall, utime the 14th and stime the 15th.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        total = Some(total.unwrap_or(0) + ticks);
    }
    total
}

/// Like [`thread_ticks`], once a thread of that name shows: a new thread
/// names itself after it started, so the first look may miss it.
fn ticks_once_named(name: &str) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(t) = thread_ticks(name) {
            return t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a thread named {name} is running"
        );
        thread::yield_now();
    }
}

/// Clock ticks per second (USER_HZ): 100 on every Linux we run on.
const HZ: f64 = 100.0;

fn main() {
    if fs::metadata("/proc/self/task").is_err() {
        println!("idle_cpu: /proc is not available; nothing measured");
        return;
    }
    // Baseline: a raw thread blocked in recv.
    let (tx, rx) = crossbeam_channel::bounded::<()>(1);
    let t = thread::Builder::new()
        .name("raw-idle".into())
        .spawn(move || {
            let _ = rx.recv();
        })
        .expect("spawn");
    let before = ticks_once_named("raw-idle");
    let _ = crossbeam_channel::after(WINDOW).recv();
    let after = ticks_once_named("raw-idle");
    drop(tx);
    let _ = t.join();
    report("raw thread blocked in recv", after - before);

    for heartbeat in [None, Some(Duration::from_secs(1))] {
        let mut b = Butler::builder("sup");
        for i in 0..100 {
            let idle = b.server(&format!("idle{i}"), || Idle);
            b = match heartbeat {
                Some(h) => idle.heartbeat(h).into(),
                None => idle.into(),
            };
        }
        let app = b.start().expect("starts");
        let before = ticks_once_named("sup");
        let servers_before = ticks_once_named("idle*");
        let _ = crossbeam_channel::after(WINDOW).recv();
        let after = ticks_once_named("sup");
        let servers_after = ticks_once_named("idle*");
        app.shutdown();
        app.wait().expect("clean");
        let label = match heartbeat {
            None => "supervisor, 100 idle servers, no heartbeat".to_owned(),
            Some(h) => format!("supervisor, 100 idle servers, heartbeat {h:?}"),
        };
        report(&label, after - before);
        report(
            &format!("{label}: the 100 server threads together"),
            servers_after - servers_before,
        );
    }
}

fn report(label: &str, ticks: u64) {
    let secs = ticks as f64 / HZ;
    let pct = secs / WINDOW.as_secs_f64() * 100.0;
    println!(
        "idle_cpu/{label}: {ticks} ticks = {secs:.3} s CPU over {:?} = {pct:.3}% of one core (resolution 10 ms = 0.2%)",
        WINDOW
    );
}
