//! The stats server: answers `status` with the status tree and the job
//! counts, as one line of JSON.

use std::sync::{Arc, OnceLock, Weak};

use serde::Serialize;
use threadbutler::prelude::*;
use threadbutler::{ChildState, StatusNode};

use crate::cli::Probe;
use crate::ledger::{Counts, Ledger};

/// Asks for the status as JSON.
pub struct Status(pub Reply<String>);

/// Asks whether jobd is live or ready: `ok live`, `ok ready` or
/// `err not ...` with the reason.
pub struct Health(pub Probe, pub Reply<String>);

threadbutler::messages! { pub enum StatsMsg for Stats { Status, Health } }

/// The running application, set once `start()` returned.
pub type AppSlot = Arc<OnceLock<Weak<Butler>>>;

/// Answers `status`.
pub struct Stats {
    ledger: Arc<Ledger>,
    app: AppSlot,
}

impl Stats {
    /// A stats server over `ledger` and the application in `app`.
    pub fn new(ledger: Arc<Ledger>, app: AppSlot) -> Self {
        Stats { ledger, app }
    }
}

#[derive(Serialize)]
struct Answer {
    jobs: Counts,
    /// `null` while jobd is still starting.
    tree: Option<StatusNode>,
}

impl Server for Stats {
    fn handle(&mut self, msg: StatsMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let tree = self
            .app
            .get()
            .and_then(Weak::upgrade)
            .map(|app| app.status());
        match msg {
            StatsMsg::Status(Status(reply)) => {
                let answer = Answer {
                    jobs: self.ledger.counts(),
                    tree,
                };
                reply.send(serde_json::to_string(&answer)?);
            }
            StatsMsg::Health(Health(probe, reply)) => reply.send(health(tree.as_ref(), probe)),
        }
        Ok(())
    }
}

/// The answer to a health probe over the tree (`None` while starting).
///
/// Live: no watched child is busy past its heartbeat (a stuck worker is
/// replaced by the supervisor; a liveness probe failing means jobd could
/// not get it unstuck). Ready: started, and neither the root nor the
/// intake is stopping: jobd takes jobs.
fn health(tree: Option<&StatusNode>, probe: Probe) -> String {
    let Some(tree) = tree else {
        return format!("err not {}: jobd is still starting", probe.word());
    };
    match probe {
        Probe::Live if tree.heartbeats_fresh() => "ok live".into(),
        Probe::Live => {
            let mut stuck = Vec::new();
            stale(tree, &mut stuck);
            format!(
                "err not live: busy past the heartbeat without progress: {}",
                stuck.join(", ")
            )
        }
        Probe::Ready => {
            let intake = tree.children.iter().find(|c| c.name == "intake");
            match (tree.state, intake.map(|i| i.state)) {
                (ChildState::Running, Some(ChildState::Running)) => "ok ready".into(),
                (ChildState::Running, state) => format!(
                    "err not ready: the intake is {}",
                    state.map_or_else(|| "missing".into(), |s| s.to_string())
                ),
                (state, _) => format!("err not ready: jobd is {state} (draining or stopping)"),
            }
        }
    }
}

fn stale(node: &StatusNode, into: &mut Vec<String>) {
    if let (Some(limit), Some(since)) = (node.heartbeat_ms, node.since_progress_ms)
        && node.busy
        && since >= limit
    {
        into.push(format!("{} ({since} ms)", node.path));
    }
    for child in &node.children {
        stale(child, into);
    }
}
