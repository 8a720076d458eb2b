//! The supervision engine: one event loop per supervisor, on the
//! supervisor's own thread, over per-child states with deadlines.
//!
//! # Anatomy
//!
//! The files read top-down: the values first, then the steps over them,
//! then the loop. No file imports one listed after it.
//!
//! | file | holds |
//! |---|---|
//! | `requests.rs` | what handles ask (add, remove, terminate, restart, delete a child; reload) and the answers |
//! | `slot.rs` | a child's slot, its life and its phase (idle, due, starting, running, stopping, abandoned) |
//! | `plans.rs` | OTP's decisions as pure functions (restart or retire; which group) and the plans over several children (a group restart, a closing) |
//! | `rows.rs` | the status rows shared with handles |
//! | `state.rs` | one life of a supervisor: its slots, gate, rows and events, and the bookkeeping every step shares |
//! | `start.rs` | starting a life, its notice, its failure or timeout; the initial start |
//! | `stopping.rs` | stopping a life: drain, immediate, abandon, the drain's promise |
//! | `watch.rs` | heartbeat checks |
//! | `restart.rs` | carrying out a restart: intensity, backoff, groups |
//! | `closing.rs` | the end of a life of the supervisor: shutdown, giving up, a failed start, a stop by its parent |
//! | `control.rs` | carrying out the handles' requests |
//! | `reconfigure.rs` | applying reloaded policies (the supervisor's own and its children's, each a `Policy`) |
//! | `event_loop.rs` | the loop: wait for a worker event, a control request, the own stop, a clock jump or the next deadline; then do what is due |
//!
//! # Invariants
//!
//! 1. The loop never waits on one child (DESIGN rule 9). Starting,
//!    stopping, draining, abandoning and backing off are phases with
//!    deadlines; the loop blocks only in one select over worker events,
//!    control requests, its own stop signal and (for a virtual clock) the
//!    clock's jumps, until the earliest deadline. While one child takes its
//!    time, every other child's events, heartbeats, status and requests are
//!    served.
//! 2. Per child, OTP's order holds: a life has ended or been abandoned
//!    before its successor starts.
//! 3. Per group: the initial start and a group restart start their children
//!    in declaration order, each after the one before it started; a group
//!    restart stops the others in reverse order, one after another, before
//!    any starts; a closing (shutdown, giving up) stops in reverse start
//!    order, one after another, except that a child already stopping is not
//!    waited for in turn (its deadline runs already).
//! 4. Only restarts by policy count towards intensity; a stop through the
//!    API or a shutdown never restarts and never counts, except the drain's
//!    own restarts (§11.5, §11.16).
//! 5. Each life has a unique id; an event about a life that is not its
//!    slot's current one (an abandoned life finishing late) is ignored.
//! 6. A stop says why (DESIGN rule 10): lives stopped for a restart, and
//!    every child of a supervisor that gives up or is itself stopped for a
//!    restart, keep their queued work; only a final stop finishes it.
//! 7. Time is read from the tree's clock only (DESIGN rule 12); with no
//!    deadline pending (no backoff, no heartbeat watched, nothing starting
//!    or stopping) the loop blocks with no timeout: an idle tree causes no
//!    wake-up.
//! 8. Every transition is published to the status rows before its event is
//!    emitted: whoever waits on an event sees a status at least as new.
//! 9. No reload is lost to a life between lives: a reload remembers its
//!    policies in the shared state, then sends them only if the supervisor
//!    runs; a life applies what is remembered when it begins and again when
//!    it goes live, after marking itself running. Whichever comes second
//!    sees the other: a reload that found a life starting takes effect
//!    before that life takes requests.
//!
//! # Lock order
//!
//! The fast-restart gate, then nothing: the loop never holds the gate while
//! it takes another lock or emits. The status rows (see `rows.rs`) are
//! taken alone.

mod closing;
mod control;
mod event_loop;
mod plans;
mod reconfigure;
mod requests;
mod restart;
mod rows;
mod slot;
mod start;
mod state;
mod stopping;
mod watch;

pub(crate) use requests::Control;
pub use requests::{ChildError, RemoveReport};
pub(crate) use rows::Shared;
pub use rows::{ChildCounts, ChildInfo, ChildKind};
pub(crate) use state::{Engine, EngineSetup};
