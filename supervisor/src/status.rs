//! The live status tree: `status()` returns it, `Display` draws it like
//! `pstree`, serde serialises it (feature `serde`; for a status endpoint or
//! a log line).

use std::fmt;

/// What a child is doing, as its supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum ChildState {
    /// Started and not yet confirmed.
    Starting,
    /// Running.
    Running,
    /// Waiting out its backoff before a restart.
    Restarting,
    /// Being stopped.
    Stopping,
    /// Stopped for good.
    Stopped,
    /// Left behind after it ignored its stop.
    Abandoned,
}

impl fmt::Display for ChildState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChildState::Starting => "starting",
            ChildState::Running => "running",
            ChildState::Restarting => "restarting",
            ChildState::Stopping => "stopping",
            ChildState::Stopped => "stopped",
            ChildState::Abandoned => "abandoned",
        })
    }
}

/// One node of the status tree.
///
/// ```
/// use threadbutler_supervisor::*;
///
/// let idle = FnChild::new(|mut life| {
///     life.heartbeat.set_busy(false); // waiting for work (so no "busy" in the tree)
///     life.started();
///     while !life.stop.is_requested() {
///         let _ = life.stop.waker().recv();
///     }
///     ExitReason::Shutdown
/// });
/// let root = Supervisor::start(SupervisorSpec::new("app").child(ChildSpec::new("idle", idle)), EventBus::new())
///     .expect("starts");
/// let status: StatusNode = root.status();
/// let row = status.find("app/idle").expect("a child of app");
/// assert_eq!((row.kind, row.state, row.restarts), ("thread", ChildState::Running, 0));
/// assert_eq!(status.to_string(), "app [supervisor running]\n└─ idle [thread running]\n");
/// # #[cfg(feature = "serde")] {
/// let json = serde_json::to_value(&status)?; // for a status endpoint (feature `serde`)
/// assert_eq!(json["children"][0]["state"], "running");
/// # }
/// root.shutdown();
/// root.wait();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct StatusNode {
    /// The child's name.
    pub name: String,
    /// Its path in the tree.
    pub path: String,
    /// `"supervisor"`, `"server"`, `"thread"`, ...
    pub kind: &'static str,
    /// Its state.
    pub state: ChildState,
    /// How often it was restarted.
    pub restarts: u64,
    /// Why its last life ended, if one did.
    pub last_exit: Option<String>,
    /// How much work waits for it (a server's queued messages), if it has
    /// a queue.
    pub queued: Option<usize>,
    /// True while it works; false while it waits for work.
    pub busy: bool,
    /// Milliseconds since its progress count last moved (as last sampled).
    pub since_progress_ms: Option<u64>,
    /// Its heartbeat timeout in milliseconds, if its heartbeat is watched.
    pub heartbeat_ms: Option<u64>,
    /// A supervisor's children, in start order.
    pub children: Vec<StatusNode>,
}

impl StatusNode {
    /// A node with the given name, path, kind and state, and nothing else.
    pub fn new(name: &str, path: &str, kind: &'static str, state: ChildState) -> Self {
        StatusNode {
            name: name.to_owned(),
            path: path.to_owned(),
            kind,
            state,
            restarts: 0,
            last_exit: None,
            queued: None,
            busy: false,
            since_progress_ms: None,
            heartbeat_ms: None,
            children: Vec::new(),
        }
    }

    /// The node at `path` below (or at) this one.
    pub fn find(&self, path: &str) -> Option<&StatusNode> {
        if self.path == path {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(path))
    }

    /// True unless some watched child in this subtree is busy and has made
    /// no progress for its heartbeat timeout or longer: the condition for
    /// telling a service manager's watchdog that all is well.
    pub fn heartbeats_fresh(&self) -> bool {
        let stale = match (self.heartbeat_ms, self.since_progress_ms) {
            (Some(limit), Some(since)) => self.busy && since >= limit,
            _ => false,
        };
        !stale && self.children.iter().all(StatusNode::heartbeats_fresh)
    }

    fn line(&self) -> String {
        let mut s = format!("{} [{} {}]", self.name, self.kind, self.state);
        if self.restarts > 0 {
            s += &format!(" restarts={}", self.restarts);
        }
        if let Some(d) = self.queued {
            s += &format!(" queued={d}");
        }
        if self.busy {
            s += " busy";
        }
        if let Some(ms) = self.since_progress_ms
            && self.busy
        {
            s += &format!(" progress={ms}ms ago");
        }
        if let Some(e) = &self.last_exit {
            s += &format!(" last_exit=\"{e}\"");
        }
        s
    }

    /// Every node of the tree in drawing order, each with the branch drawn
    /// before it (`""` for this node, then `"├─ "`, `"│  └─ "`, ...): the
    /// rows of the `Display` drawing, for a program that writes them its
    /// own way (one log event per node, a table).
    ///
    /// ```
    /// use threadbutler_supervisor::{ChildState, StatusNode};
    ///
    /// let mut app = StatusNode::new("app", "app", "supervisor", ChildState::Running);
    /// app.children.push(StatusNode::new("w", "app/w", "server", ChildState::Running));
    /// let rows: Vec<(String, &str)> = app.rows().into_iter().map(|(b, n)| (b, n.path.as_str())).collect();
    /// assert_eq!(rows, [("".to_owned(), "app"), ("└─ ".to_owned(), "app/w")]);
    /// ```
    pub fn rows(&self) -> Vec<(String, &StatusNode)> {
        let mut out = vec![(String::new(), self)];
        self.rows_below("", &mut out);
        out
    }

    fn rows_below<'a>(&'a self, prefix: &str, out: &mut Vec<(String, &'a StatusNode)>) {
        let n = self.children.len();
        for (i, c) in self.children.iter().enumerate() {
            let last = i + 1 == n;
            out.push((format!("{prefix}{}", if last { "└─ " } else { "├─ " }), c));
            c.rows_below(
                &format!("{prefix}{}", if last { "   " } else { "│  " }),
                out,
            );
        }
    }
}

impl fmt::Display for StatusNode {
    /// ```text
    /// app [supervisor running]
    /// ├─ counter [server running] queued=0
    /// └─ db [supervisor running]
    ///    ├─ reader [server running] queued=2 busy
    ///    └─ writer [server restarting] restarts=1 last_exit="handle panicked: disk full"
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (branch, node) in self.rows() {
            writeln!(f, "{branch}{}", node.line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> StatusNode {
        let mut root = StatusNode::new("app", "app", "supervisor", ChildState::Running);
        let mut db = StatusNode::new("db", "app/db", "supervisor", ChildState::Running);
        let mut w = StatusNode::new("writer", "app/db/writer", "server", ChildState::Restarting);
        w.restarts = 1;
        w.last_exit = Some("handle panicked: disk full".into());
        db.children.push(StatusNode::new(
            "reader",
            "app/db/reader",
            "server",
            ChildState::Running,
        ));
        db.children.push(w);
        root.children.push(StatusNode::new(
            "counter",
            "app/counter",
            "server",
            ChildState::Running,
        ));
        root.children.push(db);
        root
    }

    #[test]
    fn display_draws_a_pstree() {
        let want = "\
app [supervisor running]
├─ counter [server running]
└─ db [supervisor running]
   ├─ reader [server running]
   └─ writer [server restarting] restarts=1 last_exit=\"handle panicked: disk full\"
";
        assert_eq!(tree().to_string(), want);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serialises_to_json_and_finds_by_path() {
        let t = tree();
        let json = serde_json::to_value(&t).expect("serialisable");
        assert_eq!(json["children"][1]["children"][1]["state"], "restarting");
        assert_eq!(json["children"][1]["children"][1]["restarts"], 1);
        assert_eq!(t.find("app/db/writer").map(|n| n.restarts), Some(1));
    }
}
