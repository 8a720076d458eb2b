//! A child's worker thread: runs one life per command, reports each exit,
//! and waits for the next life until its supervisor lets it go.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Sender, unbounded};

use crate::child::{Child, Life};
use crate::{ExitReason, Stage, panic_message};

/// What a worker tells its supervisor.
#[derive(Debug)]
pub(crate) enum WorkerEvent {
    Started {
        key: u64,
        id: u64,
    },
    Exited {
        key: u64,
        id: u64,
        reason: ExitReason,
    },
}

/// The supervisor's handle on a worker thread. Dropping it lets the thread
/// end after its current life (if any).
#[derive(Debug)]
pub(crate) struct Worker {
    lives: Sender<Life>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Spawns a worker for the child with supervisor key `key`.
    pub(crate) fn spawn(
        name: &str,
        key: u64,
        child: Arc<dyn Child>,
        stack_size: Option<usize>,
        events: Sender<WorkerEvent>,
    ) -> std::io::Result<Worker> {
        let (lives, rx) = unbounded::<Life>();
        let mut b = thread::Builder::new().name(name.to_owned());
        if let Some(bytes) = stack_size {
            b = b.stack_size(bytes);
        }
        let thread = b.spawn(move || {
            while let Ok(life) = rx.recv() {
                let id = life.id;
                let reason = match catch_unwind(AssertUnwindSafe(|| child.run(life))) {
                    Ok(r) => r,
                    Err(p) => ExitReason::Panicked {
                        stage: Stage::Run,
                        message: panic_message(p.as_ref()),
                    },
                };
                if events
                    .send(WorkerEvent::Exited { key, id, reason })
                    .is_err()
                {
                    return; // the supervisor is gone
                }
            }
        })?;
        Ok(Worker {
            lives,
            thread: Some(thread),
        })
    }

    /// Hands the worker its next life. Gives the life back if the thread is
    /// gone.
    pub(crate) fn run(&self, life: Life) -> Result<(), Box<Life>> {
        self.lives.send(life).map_err(|e| Box::new(e.into_inner()))
    }

    /// Lets the thread end and waits for it: only for a worker whose life
    /// has ended (it is idle or about to be).
    pub(crate) fn retire(mut self) {
        let t = self.thread.take();
        drop(self);
        if let Some(t) = t {
            let _ = t.join();
        }
    }
}
