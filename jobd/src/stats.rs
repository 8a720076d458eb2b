//! The stats server: answers `status` with the status tree and the job
//! counts, as one line of JSON.

use std::sync::{Arc, OnceLock, Weak};

use serde::Serialize;
use threadbutler::StatusNode;
use threadbutler::prelude::*;

use crate::ledger::{Counts, Ledger};

/// Asks for the status as JSON.
pub struct Status(pub Reply<String>);

threadbutler::messages! { pub enum StatsMsg for Stats { Status } }

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
        let StatsMsg::Status(Status(reply)) = msg;
        let tree = self
            .app
            .get()
            .and_then(Weak::upgrade)
            .map(|app| app.status());
        let answer = Answer {
            jobs: self.ledger.counts(),
            tree,
        };
        reply.send(serde_json::to_string(&answer)?);
        Ok(())
    }
}
