//! The worker pool's server: runs one job at a time.

use std::sync::Arc;

use threadbutler::prelude::*;

use crate::job::{Job, JobId};
use crate::ledger::Ledger;
use crate::limits::JobLimits;
use crate::outcome::Outcome;
use crate::results::{Record, Results};

threadbutler::messages! { pub enum WorkMsg for Worker { Job } }

/// One worker of the `workers` pool.
pub struct Worker {
    ledger: Arc<Ledger>,
    limits: Arc<JobLimits>,
    /// The results server's mailbox, looked up once at the start.
    results: Option<Address<Results>>,
}

impl Worker {
    /// A worker booking its jobs in `ledger`, running them under `limits`.
    pub fn new(ledger: Arc<Ledger>, limits: Arc<JobLimits>) -> Self {
        Worker {
            ledger,
            limits,
            results: None,
        }
    }

    fn record(&self, id: JobId, outcome: Outcome) {
        let results = self
            .results
            .as_ref()
            .expect("set by on_start, before any message");
        record(results, id, outcome);
    }
}

/// Sends a settled job's result to the results server. Only the one who
/// settled the job calls it.
pub fn record(results: &Address<Results>, id: JobId, outcome: Outcome) {
    let outcome = outcome.capped();
    if let Err(e) = results.send(Record { id, outcome }) {
        let Record { id, outcome } = e.into_inner();
        // The results server stops last; this means the tree is failing.
        tracing::error!(job = %id, outcome = %outcome, "result lost: the results server is gone");
    }
}

impl Server for Worker {
    fn on_start(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        self.results = Some(ctx.hub().route::<Results>()?);
        Ok(())
    }

    fn handle(&mut self, msg: WorkMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let WorkMsg::Job(Job { id, kind }) = msg;
        self.ledger.start(&id, ctx.id());
        tracing::trace!(job = %id, ?kind, "job started");
        let outcome = match kind.run(&self.limits, &mut || ctx.beat()) {
            Ok(detail) => Outcome::Ok(detail),
            Err(error) => Outcome::Failed(error),
        };
        if self.ledger.settle(&id) {
            self.record(id, outcome);
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
            self.record(id, Outcome::Dead(why.to_string()));
        }
    }
}
