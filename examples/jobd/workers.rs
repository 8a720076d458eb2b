//! The worker pool's server: runs one job at a time.

use std::sync::Arc;

use threadbutler::prelude::*;

use super::job::{Job, JobId};
use super::ledger::{Ledger, Outcome};
use super::results::Record;

threadbutler::messages! { pub enum WorkMsg for Worker { Job } }

/// One worker of the `workers` pool.
pub struct Worker {
    ledger: Arc<Ledger>,
}

impl Worker {
    /// A worker booking its jobs in `ledger`.
    pub fn new(ledger: Arc<Ledger>) -> Self {
        Worker { ledger }
    }
}

/// Sends a settled job's result to the results server. Only the one who
/// settled the job calls it.
pub fn record(hub: &Hub, id: JobId, outcome: Outcome) {
    if let Err(e) = hub.send(Record { id, outcome }) {
        let Record { id, outcome } = e.into_inner();
        // The results server stops last; this means the tree is failing.
        tracing::error!(job = %id, outcome = %outcome, "result lost: the results server is gone");
    }
}

impl Server for Worker {
    fn handle(&mut self, msg: WorkMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let WorkMsg::Job(Job { id, kind }) = msg;
        self.ledger.start(&id, ctx.id());
        tracing::trace!(job = %id, ?kind, "job started");
        let outcome = match kind.run(&mut || ctx.beat()) {
            Ok(detail) => Outcome::Ok(detail),
            Err(error) => Outcome::Failed(error),
        };
        if self.ledger.settle(&id) {
            record(ctx.hub(), id, outcome);
        } else {
            // Declared dead while it ran (it hung past its heartbeat, then
            // returned after all): its line is written already.
            tracing::warn!(job = %id, outcome = %outcome, "late outcome dropped: the job was settled as dead");
        }
        Ok(())
    }

    fn on_stop(&mut self, why: &ExitReason, ctx: &mut Ctx<Self>) {
        // After a panic the job in hand was dead-lettered by the framework
        // without its payload (the handler consumed it); the ledger knows
        // which job it was.
        if let Some(id) = self.ledger.settle_running(ctx.id()) {
            tracing::warn!(job = %id, reason = %why, "job dead: its worker failed");
            record(ctx.hub(), id, Outcome::Dead(why.to_string()));
        }
    }
}
