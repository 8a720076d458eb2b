//! Helper process for `logs_reach_rolling_files.rs`: sets up JSON logging to
//! rolling files in the directory given as the first argument, runs a tree
//! whose server crashes once (the panic is logged by the hook
//! `logging::init` installs), shuts down and exits through
//! `Report::exit_flushing`. One scenario per process: logging is global.

use std::time::Duration;

use integration_tests::events::EventLog;
use integration_tests::probe::{Crash, Ping, Probe, ProbeConfig};
use threadbutler::config::{Config, LogOutput};
use threadbutler::prelude::*;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: log_to_files DIR");
    let text = format!(
        "[log]\nlevel = \"info\"\nformat = \"json\"\noutput = {{ dir = {dir:?}, rotation = \"never\", prefix = \"tb.log\" }}\n"
    );
    let config = Config::parse(&text, "inline.toml").expect("valid config");
    assert!(matches!(config.log.output, Some(LogOutput::Files { .. })));
    let logs = threadbutler::logging::init("tb", &config.log).expect("logging starts");
    let app = Butler::builder("app")
        .intensity(5, Duration::from_secs(60))
        .server("p", Probe::factory(ProbeConfig::default()))
        .start()
        .expect("starts");
    let mut events = EventLog::new(app.subscribe());
    app.hub().send(Crash).expect("sent");
    app.hub().request(Ping).expect("restarted");
    events.wait("Started", "app/p");
    app.shutdown();
    let report = app.wait().expect("clean");
    report.exit_flushing(logs)
}
