//! jobd's `main`: the command line, the tree, the heartbeat watch, the
//! dead-letter sink, and the end.

use std::io::{BufReader, IsTerminal};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use threadbutler::config::LogConfig;
use threadbutler::prelude::*;
use threadbutler::{ButlerBuilder, Error, Report, Signals};

use crate::cli::{self, Command, Run};
use crate::demo::DemoDir;
use crate::ending;
use crate::settlers::{dead_letter, watch_heartbeats};

use crate::intake::Intake;
use crate::journal::Journal;
use crate::ledger::Ledger;
use crate::limits::JobLimits;
use crate::results::{Results, SharedBatch};
use crate::session::{Desk, serve};
use crate::settings::Settings;
use crate::stats::{AppSlot, Stats};
use crate::workers::Worker;

/// Parses the command line, runs what it asks for, exits with its code.
pub fn main() -> ! {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jobd: {e}\n(jobd --help tells the usage)");
            std::process::exit(cli::USAGE_EXIT)
        }
    };
    let code = match command {
        Command::Help(text) => {
            println!("{text}");
            0
        }
        Command::Version => {
            println!("jobd {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Command::Submit { target, lines } => crate::submit::main(&target, lines),
        Command::Health { target, probe } => crate::submit::health(&target, probe),
        Command::Run(options) => daemon(options),
    };
    std::process::exit(code)
}

/// Runs the daemon; returns the exit code, having printed the last line.
fn daemon(mut options: Run) -> i32 {
    if options.check {
        return check(&options);
    }
    let demo = match options.demo.then(DemoDir::new).transpose() {
        Ok(demo) => demo,
        Err(e) => {
            eprintln!("jobd: the demo's directory: {e}");
            return 1;
        }
    };
    if let Some(demo) = &demo
        && options.config.is_none()
    {
        options.config = Some(demo.config());
    }
    let (ending, logs) = match run(&options, demo.as_ref()) {
        Ok((outcome, logs, unwritten)) => (ending::of_run(&outcome, unwritten), Some(logs)),
        Err(e) => (ending::of_error(&e), None),
    };
    if ending.code == 0 {
        println!("{}", ending.line);
    } else {
        eprintln!("{}", ending.line);
    }
    if let Some(logs) = logs {
        logs.flush();
    }
    ending.code
}

type Ran = (Result<Report, Error>, threadbutler::logging::LogGuard, u64);

/// The builder with the config file's policies, jobd's settings and the
/// log setup, every relative path anchored at the config file.
fn load(options: &Run) -> Result<(ButlerBuilder, Settings, LogConfig), Error> {
    let config = options.config.as_deref();
    let mut builder = Butler::builder("jobd").signals(Signals::graceful());
    if let Some(path) = config {
        builder = builder.config_file(path)?; // a bad file: exit 78, file:line on stderr
    }
    let mut settings: Settings = builder.app_config()?.unwrap_or_default();
    if let Some(config) = builder.config() {
        settings.anchor(config);
    }
    if let Some(socket) = &options.socket {
        settings.socket = socket.clone();
    }
    // A socket path too long for `sun_path` (a default in a long TMPDIR, one
    // anchored at the config file's directory, or given on the command line)
    // is a config error, like one in the file.
    crate::settings::check_socket_path(&settings.socket)
        .map_err(|detail| Error::Config { detail })?;
    settings
        .check_distinct_files()
        .map_err(|detail| Error::Config { detail })?;
    // A bad `root` is a config error, found by `--check` too.
    JobLimits::of(&settings).map_err(|detail| Error::Config { detail })?;
    // The library made a relative log directory the config file's.
    let log = builder.config().map(|c| c.log.clone()).unwrap_or_default();
    Ok((builder, settings, log))
}

/// `jobd --check`: loads the config file as a run would, starts nothing.
fn check(options: &Run) -> i32 {
    match load(options) {
        Ok((_, settings, _)) => {
            let file = options
                .config
                .as_ref()
                .map_or_else(|| "the code defaults".into(), |c| c.display().to_string());
            println!(
                "jobd: {file} is valid: socket {}, results {}",
                settings.socket.display(),
                settings.results.display()
            );
            0
        }
        Err(e) => {
            let ending = ending::of_error(&e);
            eprintln!("{}", ending.line);
            ending.code
        }
    }
}

fn run(options: &Run, demo: Option<&DemoDir>) -> Result<Ran, Error> {
    let config = options.config.as_deref();
    let (builder, settings, log) = load(options)?;
    let logs = threadbutler::logging::init("jobd", &log)?;
    let limits = Arc::new(JobLimits::of(&settings).map_err(|detail| Error::Config { detail })?);
    let ledger = Arc::new(Ledger::new(settings.results.clone()));
    let mut files = Files::claim(&settings, &ledger)?;
    let (socket, journal) = (Arc::clone(&files.socket), settings.journal_path());
    // Set once `start()` returned: for `status`, and for the dead-letter sink.
    let app_slot = AppSlot::default();
    let results_slot = Arc::new(OnceLock::<Address<Results>>::new());
    // Code defaults; the config file overrides any of them by name (or path).
    let builder = builder
        .on_dead_letter({
            let (ledger, results) = (ledger.clone(), results_slot.clone());
            move |dead| dead_letter(dead, &ledger, &results)
        })
        .server("journal", {
            let mode = settings.file_mode.0;
            move || Journal::new(journal.clone(), mode)
        })
        .server("results", {
            let (path, ledger) = (settings.results.clone(), ledger.clone());
            let batch = SharedBatch::default();
            let file_mode = settings.file_mode.0;
            move || Results::new(path.clone(), ledger.clone(), batch.clone()).with_mode(file_mode)
        })
        .shutdown(Shutdown::Drain(Duration::from_secs(10)))
        .server("stats", {
            let (ledger, app) = (ledger.clone(), app_slot.clone());
            move || Stats::new(ledger.clone(), app.clone())
        })
        .pool("workers", 4, {
            let (ledger, limits) = (ledger.clone(), limits.clone());
            move || Worker::new(ledger.clone(), limits.clone())
        })
        .heartbeat(Duration::from_secs(2))
        .backoff(Backoff::exponential(
            Duration::from_millis(10),
            Duration::from_secs(1),
        ))
        .shutdown(Shutdown::Drain(Duration::from_secs(30)))
        .pool_intensity(100, Duration::from_secs(10))
        .server(
            "intake",
            Intake::factory(socket.clone(), ledger.clone(), &settings),
        )
        .shutdown_deadline(Duration::from_secs(60));
    let app = Arc::new(builder.start()?);
    let results = app
        .hub()
        .route::<Results>()
        .map_err(|e| failed(e.to_string()))?;
    let _ = results_slot.set(results.clone());
    let replay = files.replay.take().unwrap_or_default();
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

    greet(&settings, config, demo.is_none());
    match demo {
        Some(demo) => demo.feed(&app, &settings.socket),
        None if settings.stdin && !std::io::stdin().is_terminal() => {
            let desk = Desk::of(app.hub(), Arc::clone(&ledger))
                .map_err(|e| failed(e.to_string()))?
                .test_kinds(settings.test_kinds);
            read_stdin(desk);
        }
        None => {}
    }

    let outcome = app.wait();
    drop(files);
    let c = ledger.counts();
    println!(
        "jobd: stopped: {} jobs (ok {}, failed {}, dead {}); {} lines refused",
        c.accepted, c.ok, c.failed, c.dead, c.refused
    );
    if let Some(demo) = demo {
        demo.print_results(&settings.results);
    }
    // Settled jobs whose line is not in the file (a failing disk).
    Ok((outcome, logs, c.writing))
}

/// What jobd holds for the whole run, claimed before anything starts:
/// the socket (its lock first, so that a second jobd stops before it
/// touches anything), the results file's and the journal's locks, and the
/// jobs an earlier run journaled without a result line.
struct Files {
    socket: Arc<crate::socket::Socket>,
    _results: crate::lock::Lock,
    _journal: crate::lock::Lock,
    replay: Option<crate::replay::Replay>,
}

impl Files {
    fn claim(settings: &Settings, ledger: &Ledger) -> Result<Files, Error> {
        let mode = settings.file_mode.0;
        let claim = crate::socket::claim(&settings.socket, mode).map_err(failed)?;
        let results =
            crate::lock::Lock::own_file(&settings.results, mode, "results file", "app.results")
                .map_err(failed)?;
        let mut journal =
            crate::lock::Lock::own_file(&settings.journal_path(), mode, "journal", "app.journal")
                .map_err(failed)?;
        // Before the intake opens: the ids of the results file, and the
        // jobs an earlier run journaled without a result line.
        let replay =
            crate::replay::load(&settings.results, &mut journal, mode, ledger).map_err(failed)?;
        // Bound last: nobody connects while the replay reads the files.
        let socket = crate::socket::bind(claim, settings.socket_mode.0).map_err(failed)?;
        Ok(Files {
            socket: Arc::new(socket),
            _results: results,
            _journal: journal,
            replay: Some(replay),
        })
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        // The socket file goes (if it is still ours); the locks are let go.
        self.socket.remove();
    }
}

/// What jobd says once it listens.
fn greet(settings: &Settings, config: Option<&std::path::Path>, hints: bool) {
    println!(
        "jobd: listening on {} (mode {:04o}); results in {}",
        settings.socket.display(),
        settings.socket_mode.0,
        settings.results.display()
    );
    if !hints {
        return;
    }
    let with = config
        .map(|c| format!(" --config {}", c.display()))
        .unwrap_or_default();
    println!("jobd: submit a job: cargo run -p jobd -- submit{with} '1 words README.md' 'wait 1'");
    println!(
        "jobd: kinds: ID hash PATH | ID words PATH | ID sleep 2s | ID panic | ID hang; also `status`, `health live|ready`"
    );
    println!("jobd: Ctrl-C or SIGTERM drains the queue and stops");
}

fn failed(detail: String) -> Error {
    Error::Start {
        reason: ExitReason::failed(Stage::Init, detail.into()),
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
