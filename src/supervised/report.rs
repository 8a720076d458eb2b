//! [`Report`]: how a supervised application ended, tallied from its
//! events, and the exit code that follows.

use threadbutler_supervisor::{ExitReason, StatusNode};

use crate::data::mailbox::MailboxStats;

/// What the report needs from the events, tallied as they happen.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) shutting_down: bool,
    pub(crate) abandoned: Vec<String>,
    pub(crate) missed: Vec<(String, u64)>,
    pub(crate) exits: Vec<(String, ExitReason)>,
}

/// The exit code of a shutdown that gave up queued work (a drain's
/// deadline, a forced or immediate stop) or left a thread behind: 75,
/// `EX_TEMPFAIL` from `sysexits.h`.
pub const UNCLEAN_EXIT: i32 = 75;

/// How a supervised application ended.
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::{ChildState, Report};
/// # pub struct Add(pub u64);
/// # pub struct Total(pub Reply<u64>);
/// # threadbutler::messages! { pub enum CounterMsg for Counter { Add, Total } }
/// # #[derive(Default)]
/// # pub struct Counter { sum: u64 }
/// # impl Server for Counter {
/// #     fn handle(&mut self, msg: CounterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
/// #         match msg {
/// #             CounterMsg::Add(Add(n)) => self.sum += n,
/// #             CounterMsg::Total(Total(reply)) => reply.send(self.sum),
/// #         }
/// #         Ok(())
/// #     }
/// # }
///
/// let app = Butler::builder("app").server("counter", Counter::default).start()?;
/// app.hub().send(Add(1))?;
/// app.shutdown();
/// let report: Report = app.wait()?;
/// assert!(report.is_clean());
/// assert_eq!(report.exit_code(), 0); // what `report.exit()` would exit with
/// let (_, counter) = report.mailboxes.iter().find(|(name, _)| name == "counter").expect("listed");
/// assert_eq!((counter.handled, counter.dead_lettered), (1, 0)); // drained: nothing lost
/// let row = report.tree.find("app/counter").expect("in the final tree");
/// assert_eq!(row.state, ChildState::Stopped);
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    /// Why the root ended.
    pub reason: ExitReason,
    /// The tree as it was at the end.
    pub tree: StatusNode,
    /// Children left behind during the shutdown because they ignored their
    /// stop (hung lives replaced earlier are not counted).
    pub abandoned: Vec<String>,
    /// Children whose queued work the shutdown gave up, with how many items
    /// were dead-lettered: a drain that missed its deadline or ended early,
    /// a forced shutdown, an `Immediate` stop with work queued, a child not
    /// running when its turn came (every `Drained { left > 0 }`).
    pub drain_deadline_missed: Vec<(String, u64)>,
    /// Every mailbox's final counters, by name: what each server handled
    /// and how many messages became dead letters.
    pub mailboxes: Vec<(String, MailboxStats)>,
    /// How each child's last life ended during the shutdown, by path, in
    /// the order they ended (reverse start order, nested children before
    /// their supervisor). An abandoned child has no entry.
    pub exits: Vec<(String, ExitReason)>,
}

impl Report {
    /// True after a requested shutdown that gave up no queued work and
    /// abandoned no child.
    pub fn is_clean(&self) -> bool {
        !self.reason.is_failure()
            && self.abandoned.is_empty()
            && self.drain_deadline_missed.is_empty()
    }

    /// How the child at `path` (`"app/db/writer"`), or the one child whose
    /// path ends with `/path`, ended during the shutdown.
    pub fn exit_of(&self, path: &str) -> Option<&ExitReason> {
        let suffix = format!("/{path}");
        let found = |exact: bool| {
            self.exits.iter().find(|(p, _)| {
                if exact {
                    p == path
                } else {
                    p.ends_with(&suffix)
                }
            })
        };
        found(true).or_else(|| found(false)).map(|(_, r)| r)
    }

    /// The process exit code: 0 after a clean shutdown; 75 (`EX_TEMPFAIL`)
    /// when the shutdown gave up queued work or abandoned a child (work was
    /// lost or left behind; a retry may do better); 1 if
    /// the tree failed. (`Error::exit_code` gives 78 for a bad config and 1
    /// for a tree that gave up.)
    pub fn exit_code(&self) -> i32 {
        if self.reason.is_failure() {
            1
        } else if self.is_clean() {
            0
        } else {
            UNCLEAN_EXIT
        }
    }

    /// Exits the process with [`exit_code`](Self::exit_code).
    pub fn exit(self) -> ! {
        std::process::exit(self.exit_code())
    }

    /// Flushes the log writer, then exits with
    /// [`exit_code`](Self::exit_code): `process::exit` runs no destructors,
    /// so lines still buffered would be lost otherwise.
    #[cfg(feature = "logging")]
    pub fn exit_flushing(self, logs: crate::ops::logging::LogGuard) -> ! {
        logs.flush();
        self.exit()
    }
}
