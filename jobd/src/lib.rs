//! `jobd`: the reference daemon. A job server that runs for real, takes
//! signals, and loses nothing.
//!
//! ```text
//! cargo run -p jobd                          # defaults; prints how to submit
//! cargo run -p jobd -- --config jobd/jobd.toml
//! cargo run -p jobd -- submit '1 words README.md' '2 sleep 1s' status
//! cargo run -p jobd -- --demo                # feeds itself, drains, exits 0
//! cargo run -p jobd -- health --ready         # a probe: exit 0 while started and not draining
//! cargo run -p jobd -- --help                 # every subcommand and option
//! ```
//!
//! # The command line
//!
//! `jobd [--config FILE] [--socket PATH] [--demo]` runs the daemon;
//! `jobd --check --config FILE` checks the file's keys, values and paths
//! (exit 0, or 78 naming the problem) without starting anything;
//! `jobd submit [--config FILE | --socket PATH] [--] [LINE...]` sends
//! request lines (from stdin without LINE) and prints the answers;
//! `jobd health [--live | --ready]` asks a running jobd for a probe (exit 0
//! healthy, 1 not, 2 unreachable); `--help` (also per subcommand) and
//! `--version`. A bad command line exits 64. Relative paths in the config
//! file (`app.socket`, `app.results`, `app.journal`, `app.root`, the log
//! directory) resolve against
//! the file's directory, not the working directory; `--socket` overrides
//! `app.socket`.
//!
//! # What runs
//!
//! | child | kind | what it does |
//! |---|---|---|
//! | `journal` | server | makes each job durable before it is acknowledged: group commit, one `fsync` per batch |
//! | `results` | server | appends one line per job to the results file; writes out each batch, syncs on drain |
//! | `stats` | server | answers `status` with the status tree and the job counts as JSON |
//! | `workers` | pool | runs jobs; a panic or a hang costs one worker a restart, never a job twice |
//! | `intake` | server | owns the Unix socket: accepts connections (at most `max_connections`), one thread each |
//!
//! They start in that order and stop in reverse: on SIGTERM or Ctrl-C the
//! intake stops taking jobs first, the workers drain the queue, the
//! results file is synced, and the journal is closed last. Restart, backoff, heartbeat and drain
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
//! | `health live`, `health ready` | `ok live` / `ok ready`, or `err not ...: REASON` (see "Health") |
//! | anything else | `err REASON`, naming the problem; the connection stays open |
//!
//! An `ID` is 1 to 64 characters of `A-Z a-z 0-9 _ . : -`, unique per
//! results file, across runs: a job with an ID that is queued, running or
//! has a line in the results file (from this run or an earlier one) is
//! refused (`err ID: duplicate job id ...`); `wait ID` answers for an id of
//! an earlier run too. `ok ID` means the job is durable in the journal (see
//! "Durability"); a job the journal cannot take is refused (`err ID: not
//! accepted: ...`). A line over 64 KiB is refused (`err line too long ...`)
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
//! It is jobd's own file or it is not used: it is opened without following
//! a symbolic link (`O_NOFOLLOW`), and the open file must be a regular file
//! owned by jobd's user with exactly one link (no second name that could
//! be someone else's file). A link, a hard-linked file, a FIFO, a device, a
//! directory or someone else's file is refused at start (exit 1, stderr
//! names the path and what it is) and left as it was; the torn-line repair
//! works only on the file so opened. A missing file is created with mode
//! 0600 exactly, whatever the umask (`file_mode` in `[app]`, which also
//! sets the mode of the journal and of the socket's lock file); an existing
//! file with a wider mode is used as it is, with a warning in the log (jobd
//! does not change the mode of a file it did not create: chmod it).
//!
//! One jobd per results file: it holds an exclusive lock on it (`flock`)
//! for the whole run. A second jobd on the same results file stops at start
//! (exit 1) with `jobd: ... PATH is in use by another jobd (pid N); stop it
//! or choose another app.results`, having changed nothing.
//!
//! A result's detail is cut to 512 bytes (on a character boundary, ending
//! with `...`).
//!
//! # Durability
//!
//! A job is answered `ok ID` only once its line is in the intake journal
//! (`[app] journal`, by default the results file's path with `.journal`
//! added) and synced with `fsync` (`sync_data`). Group commit: the journal
//! writes every job handed to it while its previous sync ran with one write
//! and one sync, and a client that pipelines gets the answers of what it
//! sent together after one sync. A journal that cannot write or sync
//! refuses the jobs of that batch (`err ID: not accepted: the journal ...
//! cannot take it: ...`), cuts what it wrote of them, and takes jobs again
//! once it can.
//!
//! At start, before the socket opens, jobd reads the results file and the
//! journal: every journaled job without a result line (jobd was killed, or
//! the machine lost power, before its line was written) is replayed: queued
//! again, or booked `dead` with why when its line cannot be rebuilt. The
//! log says `replayed=N`, and stdout `jobd: replayed N jobs accepted before
//! a crash` when N > 0. The journal is then compacted to those jobs (temp
//! file, `fsync`, rename, `fsync` of the directory), so it grows within a
//! run and not across runs. Every id of the results file is taken (see the
//! protocol): a replayed job still gets exactly one line.
//!
//! What `fsync` covers and what it does not:
//! - It covers acknowledged jobs against a crash of jobd (SIGKILL, a panic
//!   that ends the process, OOM) and against a power loss or kernel crash.
//! - Result lines are written at once but synced only at the drain (and,
//!   before the journal is compacted, at start). After a power loss, lines
//!   written since the last sync may be gone: their jobs are replayed and
//!   run again, and still end with one line each. A job that ran, touched
//!   the outside world and lost its line to a power loss runs twice.
//! - A job journaled but not yet answered when jobd died is replayed as
//!   well: the client saw no `ok`, and the job runs.
//! - `fsync` is only as good as the storage under it: a disk whose write
//!   cache is volatile and ignores flushes, or a filesystem (some network
//!   and FUSE filesystems, some virtual disks) that acknowledges `fsync`
//!   without making the data durable, can lose journaled jobs.
//!
//! # Memory
//!
//! A settled job costs the ledger about 20 bytes whatever its detail: a
//! 64-bit hash of its id (keyed per process) and its outcome word. A hash
//! hit when a job is submitted is confirmed by reading the results file, so
//! a collision never refuses a new id (a resubmitted id costs one read of
//! the file). Measured bounds (jobd/tests/jobd_memory_stays_bounded.rs):
//! peak RSS under 64 MiB for 200,000 jobs of short lines, and for 6,000
//! failed jobs naming 4 KiB paths plus 2,000 lines naming 64 KiB paths. A
//! file job's path is at most 4,096 bytes (`PATH_MAX`: no file has a longer
//! one), so a queued job stays small; a longer one is refused (`err ID: the
//! path is N bytes, longer than the 4096-byte limit ...`).
//!
//! # The socket
//!
//! Created with mode 0600 (`socket_mode` in `[app]`): it is bound in a
//! private directory, given its mode, then renamed into place, so it is never
//! reachable with a wider mode. A socket file left by a killed run is found
//! stale (nothing answers) and replaced; one that answers belongs to a
//! running jobd and the start is refused (exit 1), as is a path that is not a
//! socket (a symbolic link included: it is never followed nor removed).
//!
//! One jobd per socket: before it looks at the socket path, jobd takes an
//! exclusive lock on the lock file `PATH.lock` beside it (created like the
//! results file, holding jobd's pid), held for the whole run and removed at
//! the end if it is still this run's. A second jobd, even one started at
//! the same instant, stops at start (exit 1) with `jobd: ... PATH is in use
//! by another jobd (pid N); stop it or choose another app.socket`, without
//! touching the first one's socket. The lock is the kernel's: a killed jobd
//! leaves a lock file that the next one simply takes.
//!
//! A socket's path has at most 107 bytes on Linux (`sun_path` holds 108,
//! with the final NUL), and since jobd binds it first at
//! `DIR/.jobd-PID/s` (then renames it into place), its directory has at
//! most 91. A longer `socket` in the config file is a config error (exit
//! 78, with the file and line); so is one that comes out too long from a
//! long `TMPDIR`, `--socket` or a deep config directory, naming the path
//! and its length. The socket, its lock file, the results file, the
//! journal and the journal's compaction copy must be five paths: two on
//! one is a config error too.
//!
//! `[app] test_kinds` (on by default, off in `jobd/deploy/`) takes the
//! `panic` and `hang` kinds, which exist to try the supervision out; off,
//! they are refused (`err ID: not accepted: the panic and hang kinds are
//! off here ...`), since a client sending `hang` jobs could keep the
//! liveness probe failing.
//!
//! # Output and exit
//!
//! Stdout: `jobd: listening on PATH (mode 0600); results in PATH` once
//! started, then how to submit; at the end `jobd: stopped: N jobs (ok A,
//! failed B, dead C); R lines refused`, and last one line saying how it
//! stopped and why the exit code is what it is (`jobd: exit 75: stopped on
//! request, but not cleanly: jobd/workers/workers-0 gave up 3 queued
//! item(s) ...`; on stderr unless the code is 0). Exit code: 0 after a clean
//! drain, 75 when a drain missed its deadline, a worker was abandoned during
//! it, or result lines could not be written, 78 for a bad config, 64 for a
//! bad command line, 1 when it could not start or the tree gave up.
//!
//! # Health
//!
//! `health live` answers `ok live` while no worker is busy past its
//! heartbeat without progress (a stuck job is replaced by the supervisor;
//! a failing liveness probe means that did not help); `health ready`
//! answers `ok ready` while the tree and the intake run (not starting, not
//! draining). Otherwise `err not live: ...` / `err not ready: ...` with the
//! reason. `jobd health` is the probe command for systemd and Kubernetes
//! (`deploy/`).

mod accept;
mod batch;
mod cli;
mod connections;
mod daemon;
mod demo;
mod ending;
mod intake;
pub mod job;
mod job_file;
pub mod journal;
pub mod ledger;
mod limits;
mod line_reader;
mod lock;
mod outcome;
mod own_file;
mod replay;
mod results;
mod session;
mod settings;
mod settlers;
mod socket;
mod stats;
mod submit;
mod workers;

/// Runs jobd with the command line's arguments and exits with its code.
pub fn main() -> ! {
    daemon::main()
}
