//! The settlers outside the tree: the dead-letter sink and the heartbeat
//! watch, which settle the jobs no worker can (see the ledger: only the
//! one who settles a job sends its line).

use std::sync::{Arc, OnceLock};

use threadbutler::prelude::*;

use crate::job::Job;
use crate::ledger::Ledger;
use crate::outcome::Outcome;
use crate::results::Results;
use crate::workers::{WorkMsg, record};

/// A job dead-lettered with its payload (still queued when a drain's
/// deadline passed): its line says so. Jobs in flight at a failure come
/// without payload; the worker's `on_stop` or the heartbeat watch books
/// those.
pub fn dead_letter(dead: DeadLetter, ledger: &Ledger, results: &OnceLock<Address<Results>>) {
    let Some(payload) = dead.payload else { return };
    let Ok(msg) = payload.downcast::<WorkMsg>() else {
        return;
    };
    let WorkMsg::Job(Job { id, .. }) = *msg;
    if ledger.settle(&id) {
        match results.get() {
            Some(results) => record(results, id, Outcome::Dead(dead.reason.to_string())),
            None => tracing::error!(job = %id, "dead letter before start finished: result lost"),
        }
    }
}

/// A hung worker's job is dead: its thread may never return it. The
/// supervisor replaces the worker; the ledger settles the job now, so
/// that it gets its line, once.
pub fn watch_heartbeats(app: &Butler, ledger: &Arc<Ledger>, results: Address<Results>) {
    let (events, ledger) = (app.subscribe(), Arc::clone(ledger));
    let spawned = std::thread::Builder::new()
        .name("jobd-heartbeats".into())
        .spawn(move || {
            for e in events {
                if let Event::HeartbeatMissed { child, id, timeout } = e
                    && let Some(job) = ledger.settle_running(id)
                {
                    tracing::warn!(job = %job, worker = %child, "job dead: its handler hung");
                    let why =
                        format!("heartbeat missed: busy over {timeout:?} without progress (hung)");
                    record(&results, job, Outcome::Dead(why));
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "no heartbeat watch thread: hung jobs will get no line");
    }
}
