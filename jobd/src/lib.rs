//! `jobd`: the reference daemon. A job server that runs for real, takes
//! signals, and loses nothing.
//!
//! ```text
//! cargo run -p jobd                          # defaults; prints how to submit
//! cargo run -p jobd -- --config jobd/jobd.toml
//! cargo run -p jobd -- submit '1 words README.md' '2 sleep 1s' status
//! cargo run -p jobd -- --demo                # feeds itself, drains, exits 0
//! ```
//!
//! # What runs
//!
//! | child | kind | what it does |
//! |---|---|---|
//! | `results` | server | appends one line per job to the results file; writes out each batch, syncs on drain |
//! | `stats` | server | answers `status` with the status tree and the job counts as JSON |
//! | `workers` | pool | runs jobs; a panic or a hang costs one worker a restart, never a job twice |
//! | `intake` | server | owns the Unix socket: accepts connections, one reader thread each |
//!
//! They start in that order and stop in reverse: on SIGTERM or Ctrl-C the
//! intake stops taking jobs first, the workers drain the queue, and the
//! results file is synced last. Restart, backoff, heartbeat and drain
//! policies, the pool's size and restart intensity, and logging come from the
//! config file (`jobd/jobd.toml` documents every key); the socket and
//! the results file from its `[app]` table.
//!
//! # The protocol
//!
//! Newline-delimited UTF-8 lines, on the socket or on stdin (read when stdin
//! is not a terminal; the answers then go to stdout). One answer line per
//! request line:
//!
//! | request | answer |
//! |---|---|
//! | `ID hash PATH` | `ok ID` once queued; the result line holds the file's FNV-1a 64 hash |
//! | `ID words PATH` | `ok ID`; the result line holds the word count |
//! | `ID sleep DURATION` | `ok ID`; the job sleeps (`"250ms"`, `"2s"`; at most 1 h), beating its heartbeat |
//! | `ID panic` | `ok ID`; the job panics (a bug): its worker restarts, the job is dead |
//! | `ID hang` | `ok ID`; the job blocks for good without a heartbeat: the worker is replaced, the job is dead |
//! | `wait ID` | `done ID OUTCOME` once the job's line is in the results file (at once if it already is) |
//! | `status` | one line of JSON: `{"jobs": {...counts...}, "tree": {...status tree...}}` |
//! | anything else | `err REASON`, naming the problem; the connection stays open |
//!
//! An `ID` is 1 to 64 characters of `A-Z a-z 0-9 _ . : -`, unique for the
//! run: a second job with an ID already seen is refused (`err ID: duplicate
//! job id ...`). A line over 64 KiB is refused (`err line too long ...`)
//! without being buffered: the rest of it is skipped. A line cut short by a
//! disconnect is dropped; it touches no one else's jobs. During a shutdown,
//! jobs are refused (`err ID: not accepted: jobd is shutting down`).
//!
//! # The results file
//!
//! Append-only, one line per accepted job, tab-separated:
//! `ID\tok\tDETAIL`, `ID\tfailed\tERROR` (the job ran and failed, e.g. an
//! unreadable file) or `ID\tdead\tREASON` (it never finished: it panicked,
//! hung, was still queued when a drain's deadline passed, or was still
//! running when jobd stopped). Every accepted job gets exactly one line:
//! a job is settled once, by whoever sees its end first (its worker, the
//! worker's `on_stop` after a panic, the heartbeat watch, the dead-letter
//! sink, or, last, the results server as it stops). A disk that refuses
//! writes loses nothing silently: the lines wait (`status` counts them as
//! `writing`) and are tried again with each new result and at the drain;
//! what still cannot be written is logged by id and makes the exit 75. Lines are written whole; at start a
//! torn last line left by a crash (a line without its newline) is cut off.
//!
//! # The socket
//!
//! Created with mode 0600 (`socket_mode` in `[app]`): it is bound in a
//! private directory, given its mode, then renamed into place, so it is never
//! reachable with a wider mode. A socket file left by a killed run is found
//! stale (nothing answers) and replaced; one that answers belongs to a
//! running jobd and the start is refused (exit 1), as is a path that is not a
//! socket.
//!
//! # Output and exit
//!
//! Stdout: `jobd: listening on PATH (mode 0600); results in PATH` once
//! started, then how to submit; at the end `jobd: stopped: N jobs (ok A,
//! failed B, dead C); R lines refused`. Exit code: 0 after a clean drain, 75 when a drain
//! missed its deadline or a worker was abandoned during it, 78 for a bad
//! config, 1 when it could not start or the tree gave up.

mod batch;
mod daemon;
mod intake;
mod job;
mod journal;
mod ledger;
mod line_reader;
mod replay;
mod results;
mod settings;
mod socket;
mod stats;
mod submit;
mod workers;

/// Runs jobd with the command line's arguments and exits with its code.
pub fn main() -> ! {
    daemon::main()
}
