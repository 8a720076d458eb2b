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
//! | `intake` | server | owns the Unix socket: accepts connections (at most `max_connections`), one thread each |
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
//! # Limits
//!
//! Every key is in `[app]` (`jobd/jobd.toml` shows the defaults).
//!
//! - **Connections** (`max_connections`, 256): one more is answered
//!   `err busy: N connections open (the limit is M); try again later` and
//!   closed; it counts as `refused`.
//! - **Idle or trickling clients** (`read_timeout`, `"60s"`): each request
//!   line must arrive whole within it, counted from the previous answer
//!   (per line, not per byte; a client blocked on its `wait ID` is not
//!   idle). Past it: `err idle: no complete line in 60s; closing`, and the
//!   connection is closed. A client that takes no answer for that long is
//!   closed too.
//! - **Out of file descriptors or memory**: the accept loop backs off
//!   (10 ms doubling to 1 s) and logs at most one `accept failed` line per
//!   10 s, counting the failures since the last one.
//! - **Jobs** (`job_timeout`, `"10m"`): a job running longer is settled
//!   `failed` (`deadline of 10m (app.job_timeout) passed after N bytes of
//!   PATH`); the clock starts when a worker takes the job.
//! - **Files** (`max_file_bytes`, 1 GiB): `hash` and `words` read regular
//!   files only (`failed`: `PATH is a FIFO, not a regular file`, likewise a
//!   directory, device or socket; a FIFO never blocks the worker), of at
//!   most that many bytes (`failed`, naming the limit).
//! - **Who can read what** (`root`, none): anyone who can reach the socket
//!   (its owner; its group with `socket_mode = "0660"`) can have jobd hash
//!   and count the words of files, and so learn their hash, word count and
//!   whether they exist. Without `root` that is **any file jobd's user can
//!   read**. With `root`, only regular files inside that directory: a path
//!   (relative ones start at the root) is resolved (symlinks, `..`) and
//!   refused unless it stays inside (`failed`: `PATH is outside the root
//!   ...`); the file actually opened is checked again.
//!
//! # Shutdown and the intake
//!
//! On SIGTERM the intake stops taking jobs but keeps serving: every job
//! already accepted keeps its `ok ID` (answers are flushed before a
//! connection is closed), and until jobd exits every job line on an open
//! or a new connection is answered `err ID: not accepted: jobd is shutting
//! down` (`status` and `wait` are still answered). A connection is closed
//! when its client ends it or goes idle, or when jobd exits.
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

mod accept;
mod batch;
mod connections;
mod daemon;
mod intake;
mod job;
mod job_file;
mod ledger;
mod limits;
mod line_reader;
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
