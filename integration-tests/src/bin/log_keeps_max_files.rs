//! Helper process for `old_log_files_are_pruned_to_max_files.rs`: loads the
//! config file given as the first argument (its `[log]` table names a
//! relative directory and a `max_files`), sets up logging from it, logs one
//! line and exits 0; a config or logging error is printed and exits 78.
//! One scenario per process: logging is global.

use threadbutler::config::Config;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: log_keeps_max_files CONFIG");
    let config = Config::load(&path).unwrap_or_else(|e| {
        eprintln!("log_keeps_max_files: {e}");
        std::process::exit(78)
    });
    let logs = threadbutler::logging::init("tb", &config.log).unwrap_or_else(|e| {
        eprintln!("log_keeps_max_files: {e}");
        std::process::exit(e.exit_code())
    });
    tracing::info!("the newest file");
    logs.flush();
}
