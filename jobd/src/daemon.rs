//! jobd's `main`: the command line, the tree, the heartbeat watch, the
//! dead-letter sink, and the end.

use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use threadbutler::prelude::*;
use threadbutler::{Error, Report, Signals};

use crate::intake::{Desk, Intake, serve};
use crate::job::Job;
use crate::journal::Journal;
use crate::ledger::{Ledger, Outcome};
use crate::results::{Results, SharedBatch};
use crate::settings::Settings;
use crate::stats::{AppSlot, Stats};
use crate::workers::{WorkMsg, Worker, record};

const USAGE: &str = "usage: jobd [--config FILE] [--demo]\n       jobd submit [--socket PATH | --config FILE] [LINE...]";

/// Parses the command line, runs, exits with the code.
pub fn main() -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("submit") {
        std::process::exit(crate::submit::main(&args[1..]));
    }
    let (mut config, mut demo) = (None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" => match it.next() {
                Some(p) => config = Some(PathBuf::from(p)),
                None => usage("--config needs a file"),
            },
            "--demo" => demo = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    match run(config.as_deref(), demo) {
        Ok((report, logs, 0)) => report.exit_flushing(logs),
        Ok((report, logs, unwritten)) => {
            // Results lost to the disk: not a clean end, whatever the drain
            // did.
            eprintln!("jobd: {unwritten} results could not be written (see the log)");
            let code = report.exit_code().max(threadbutler::UNCLEAN_EXIT);
            logs.flush();
            std::process::exit(code)
        }
        Err(e) => {
            eprintln!("jobd: {e}");
            std::process::exit(e.exit_code())
        }
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("jobd: {problem}\n{USAGE}");
    std::process::exit(64) // EX_USAGE
}

fn run(
    config: Option<&Path>,
    demo: bool,
) -> Result<(Report, threadbutler::logging::LogGuard, usize), Error> {
    let mut builder = Butler::builder("jobd").signals(Signals::graceful());
    if let Some(path) = config {
        builder = builder.config_file(path)?; // a bad file: exit 78, file:line on stderr
    }
    let mut settings: Settings = builder.app_config()?.unwrap_or_default();
    let demo_dir =
        demo.then(|| std::env::temp_dir().join(format!("jobd-demo-{}", std::process::id())));
    if let Some(dir) = &demo_dir
        && config.is_none()
    {
        std::fs::create_dir_all(dir).map_err(|e| failed(format!("{}: {e}", dir.display())))?;
        settings.socket = dir.join("jobd.sock");
        settings.results = dir.join("results.tsv");
    }
    let log = builder.config().map(|c| c.log.clone()).unwrap_or_default();
    let logs = threadbutler::logging::init("jobd", &log)?;
    let mode = settings.socket_mode.0;
    let socket = Arc::new(crate::socket::bind(&settings.socket, mode).map_err(failed)?);

    let ledger = Arc::new(Ledger::new(settings.results.clone()));
    let journal = settings.journal_path();
    // Before the intake opens: the ids of the results file, and the jobs an
    // earlier run journaled without a result line.
    let replay = crate::replay::load(&settings.results, &journal, &ledger).map_err(failed)?;
    // Set once `start()` returned: for `status`, and for the dead-letter sink.
    let app_slot = AppSlot::default();
    let results_slot = Arc::new(OnceLock::<Address<Results>>::new());
    // The demo sees its hung job in 0.3-0.45 s and gives up on it 0.3 s later.
    let quick = demo && config.is_none();
    let heartbeat = Duration::from_millis(if quick { 300 } else { 2000 });
    if quick {
        // The root supervisor's own setting: before its first child.
        builder = builder.abandon_after(Duration::from_millis(300));
    }
    // Code defaults; the config file overrides any of them by name (or path).
    let builder = builder
        .on_dead_letter({
            let (ledger, results) = (ledger.clone(), results_slot.clone());
            move |dead| dead_letter(dead, &ledger, &results)
        })
        .server("journal", move || Journal::new(journal.clone()))
        .server("results", {
            let (path, ledger) = (settings.results.clone(), ledger.clone());
            let batch = SharedBatch::default();
            move || Results::new(path.clone(), ledger.clone(), batch.clone())
        })
        .shutdown(Shutdown::Drain(Duration::from_secs(10)))
        .server("stats", {
            let (ledger, app) = (ledger.clone(), app_slot.clone());
            move || Stats::new(ledger.clone(), app.clone())
        })
        .pool("workers", 4, {
            let ledger = ledger.clone();
            move || Worker::new(ledger.clone())
        })
        .heartbeat(heartbeat)
        .backoff(Backoff::exponential(
            Duration::from_millis(10),
            Duration::from_secs(1),
        ))
        .shutdown(Shutdown::Drain(Duration::from_secs(30)))
        .pool_intensity(100, Duration::from_secs(10))
        .server("intake", {
            let (socket, ledger) = (socket.clone(), ledger.clone());
            move || Intake::new(socket.clone(), ledger.clone())
        })
        .shutdown_deadline(Duration::from_secs(60));
    let app = Arc::new(builder.start()?);
    let results = app
        .hub()
        .route::<Results>()
        .map_err(|e| failed(e.to_string()))?;
    let _ = results_slot.set(results.clone());
    let replayed = replay.len();
    if !replay.is_empty() {
        let workers = app
            .hub()
            .route::<Worker>()
            .map_err(|e| failed(e.to_string()))?;
        replay.resume(workers, results.clone(), Arc::clone(&ledger));
        println!("jobd: replayed {replayed} jobs accepted before a crash");
    }
    let _ = app_slot.set(Arc::downgrade(&app));
    watch_heartbeats(&app, &ledger, results);

    println!(
        "jobd: listening on {} (mode {mode:04o}); results in {}",
        settings.socket.display(),
        settings.results.display()
    );
    if !demo {
        let with = config
            .map(|c| format!(" --config {}", c.display()))
            .unwrap_or_default();
        println!(
            "jobd: submit a job: cargo run -p jobd -- submit{with} '1 words README.md' 'wait 1'"
        );
        println!(
            "jobd: kinds: ID hash PATH | ID words PATH | ID sleep 2s | ID panic | ID hang; also `status`"
        );
        println!("jobd: Ctrl-C or SIGTERM drains the queue and stops");
        if settings.stdin && !std::io::stdin().is_terminal() {
            let desk =
                Desk::of(app.hub(), Arc::clone(&ledger)).map_err(|e| failed(e.to_string()))?;
            read_stdin(desk);
        }
    } else {
        let events = app.subscribe();
        if let Err(e) = feed_demo(&settings.socket, demo_dir.as_deref()) {
            eprintln!("jobd: the demo's client failed: {e}");
        }
        // The hung worker is given up on (abandoned) and replaced 0.3 s after
        // its heartbeat miss; a shutdown before that would be unclean (75).
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let abandoned = std::iter::from_fn(|| events.recv_deadline(deadline).ok())
            .find(|e| matches!(e, Event::Abandoned { .. } | Event::GaveUp { .. }));
        println!(
            "demo> {}",
            abandoned.map_or_else(|| "no abandonment within 20 s".into(), |e| e.to_string())
        );
        app.shutdown();
    }

    let outcome = app.wait();
    socket.remove();
    let c = ledger.counts();
    println!(
        "jobd: stopped: {} jobs (ok {}, failed {}, dead {}); {} lines refused",
        c.accepted, c.ok, c.failed, c.dead, c.refused
    );
    if demo {
        print_results(&settings.results);
        if let Some(dir) = &demo_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    match outcome {
        // Settled jobs whose line is not in the file (a failing disk).
        Ok(report) => Ok((report, logs, c.writing as usize)),
        Err(e) => {
            logs.flush();
            Err(e)
        }
    }
}

fn failed(detail: String) -> Error {
    Error::Start {
        reason: ExitReason::failed(Stage::Init, detail.into()),
    }
}

/// A job dead-lettered with its payload (still queued when a drain's
/// deadline passed): its line says so. Jobs in flight at a failure come
/// without payload; the worker's `on_stop` or the heartbeat watch books
/// those.
fn dead_letter(dead: DeadLetter, ledger: &Ledger, results: &OnceLock<Address<Results>>) {
    let Some(payload) = dead.payload else { return };
    let Ok(msg) = payload.downcast::<WorkMsg>() else {
        return;
    };
    let WorkMsg::Job(Job { id, .. }) = *msg;
    if ledger.settle(&id) {
        match results.get() {
            Some(results) => record(results, id, Outcome::Dead(dead.reason.to_string())),
            None => tracing::error!(job = %id, "dead letter before start finished: result lost"),
        }
    }
}

/// A hung worker's job is dead: its thread may never return it. The
/// supervisor replaces the worker; the ledger settles the job now, so
/// that it gets its line, once.
fn watch_heartbeats(app: &Butler, ledger: &Arc<Ledger>, results: Address<Results>) {
    let (events, ledger) = (app.subscribe(), Arc::clone(ledger));
    let spawned = std::thread::Builder::new()
        .name("jobd-heartbeats".into())
        .spawn(move || {
            for e in events {
                if let Event::HeartbeatMissed { child, id, timeout } = e
                    && let Some(job) = ledger.settle_running(id)
                {
                    tracing::warn!(job = %job, worker = %child, "job dead: its handler hung");
                    let why =
                        format!("heartbeat missed: busy over {timeout:?} without progress (hung)");
                    record(&results, job, Outcome::Dead(why));
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "no heartbeat watch thread: hung jobs will get no line");
    }
}

/// Jobs from stdin, answers to stdout; the thread ends with stdin.
fn read_stdin(desk: Desk) {
    let spawned = std::thread::Builder::new()
        .name("jobd-stdin".into())
        .spawn(move || {
            // Refusals at shutdown come from the closed pool mailbox.
            let never = std::sync::atomic::AtomicBool::new(false);
            if let Err(e) = serve(
                BufReader::new(std::io::stdin()),
                std::io::stdout(),
                &desk,
                &never,
            ) {
                tracing::warn!(error = %e, "stdin intake ended on an error");
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "no stdin thread: jobs on stdin are not read");
    }
}

/// The demo's client: every kind of job, a bad line, then waits for all.
fn feed_demo(socket: &Path, dir: Option<&Path>) -> Result<(), String> {
    let dir = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let text = dir.join("words.txt");
    std::fs::write(&text, "the quick brown fox\njumps over the lazy dog\n")
        .map_err(|e| format!("{}: {e}", text.display()))?;
    let t = text.display();
    let requests = [
        format!("d1 words {t}"),
        format!("d2 hash {t}"),
        "d3 sleep 100ms".to_owned(),
        "d4 panic".to_owned(),
        "d5 hang".to_owned(),
        "d6 words /nonexistent/file".to_owned(),
        "d7 frobnicate".to_owned(),
        "wait d1".to_owned(),
        "wait d2".to_owned(),
        "wait d3".to_owned(),
        "wait d4".to_owned(),
        "wait d5".to_owned(),
        "wait d6".to_owned(),
        "status".to_owned(),
    ];
    crate::submit::exchange(socket, &requests, Duration::from_secs(20), |r, answer| {
        let shown = match answer.char_indices().nth(160) {
            Some((cut, _)) => format!("{}...", &answer[..cut]),
            None => answer.to_owned(),
        };
        println!("demo> {r}\n      {shown}");
    })
}

fn print_results(path: &Path) {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            println!("jobd: {}:", path.display());
            for line in text.lines() {
                println!("  {line}");
            }
        }
        Err(e) => println!("jobd: cannot read {}: {e}", path.display()),
    }
}
