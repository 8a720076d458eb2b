//! A child's worker thread: runs one life per command, reports each exit,
//! and waits for the next life until its supervisor lets it go. After a
//! failure it may start the next life itself (see `fast_restart`). Every
//! life of every child runs here, the root supervisor's too (its exit goes
//! to the tree's owner instead of a supervisor).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Sender, unbounded};

use crate::child::{Child, Life, StartNotice, next_life_id};
use crate::clock::SharedClock;
use crate::event::EventBus;
use crate::exit_cell::ExitCell;
use crate::fast_restart::{self, Gate, LocalRestart};
use crate::heartbeat::heartbeat;
use crate::{ExitReason, Stage, StopSignal, panic_message};

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
    pub(crate) id: u64,
    lives: Sender<Life>,
    thread: Option<JoinHandle<()>>,
}

static NEXT_WORKER: AtomicU64 = AtomicU64::new(1);

/// Who a worker is and where it reports.
pub(crate) struct WorkerSetup {
    pub(crate) name: Arc<str>,
    pub(crate) path: Arc<str>,
    pub(crate) key: u64,
    pub(crate) child: Arc<dyn Child>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) events: Sender<WorkerEvent>,
    pub(crate) bus: EventBus,
    pub(crate) gate: Gate,
    pub(crate) clock: SharedClock,
    /// For a child with no supervisor above it (the root): where its exit
    /// goes instead of `events`; the child is retired first, since no one
    /// will run it again.
    pub(crate) orphan: Option<Arc<ExitCell>>,
}

impl Worker {
    /// Spawns a worker thread, named after the child.
    pub(crate) fn spawn(setup: WorkerSetup) -> std::io::Result<Worker> {
        let id = NEXT_WORKER.fetch_add(1, Ordering::Relaxed);
        let (lives, rx) = unbounded::<Life>();
        let mut b = thread::Builder::new().name(setup.name.to_string());
        if let Some(bytes) = setup.stack_size {
            b = b.stack_size(bytes);
        }
        let thread = b.spawn(move || {
            while let Ok(mut life) = rx.recv() {
                loop {
                    let old = life.id;
                    // Whether the life gave its start notice: only a life
                    // that started may be restarted here.
                    let started = Arc::new(AtomicBool::new(false));
                    life.started.also_mark(Arc::clone(&started));
                    let reason = match catch_unwind(AssertUnwindSafe(|| setup.child.run(life))) {
                        Ok(r) => r,
                        Err(p) => ExitReason::Panicked {
                            stage: Stage::Run,
                            message: panic_message(p.as_ref()),
                        },
                    };
                    let started = started.load(Ordering::Acquire);
                    match setup.restart_here(id, old, reason, started) {
                        Ok(next) => life = next,
                        Err(()) => break,
                    }
                }
            }
        })?;
        Ok(Worker {
            id,
            lives,
            thread: Some(thread),
        })
    }

    /// Hands the worker its next life. Gives the life back if the thread is
    /// gone.
    pub(crate) fn run(&self, life: Life) -> Result<(), Box<Life>> {
        self.lives.send(life).map_err(|e| Box::new(e.into_inner()))
    }

    /// Lets the thread end (its life has ended: it is idle or about to be)
    /// and hands back its handle, so that the supervisor can join it when
    /// it is done with everything else: a thread's end runs user code
    /// (thread-local destructors), which the supervisor never waits on in
    /// the middle of its work.
    pub(crate) fn retire(mut self) -> Option<JoinHandle<()>> {
        self.thread.take()
    }
}

impl WorkerSetup {
    /// After life `old` ended with `reason`: the next life if the gate
    /// admits a local restart (recorded in the gate for the supervisor), or
    /// `Err` after reporting the exit to the supervisor.
    fn restart_here(
        &self,
        worker: u64,
        old: u64,
        reason: ExitReason,
        started: bool,
    ) -> Result<Life, ()> {
        let at = self.clock.now();
        let mut gate = fast_restart::lock(&self.gate);
        if gate.admit(self.key, worker, &reason, started, at) {
            let new = next_life_id();
            let stop = Arc::new(StopSignal::new());
            let (writer, reader) = heartbeat();
            gate.made.push(LocalRestart {
                key: self.key,
                old,
                reason,
                new,
                stop: Arc::clone(&stop),
                heartbeat: reader,
                at,
            });
            drop(gate);
            let events = self.events.clone();
            let key = self.key;
            return Ok(Life {
                name: Arc::clone(&self.name),
                path: Arc::clone(&self.path),
                id: new,
                stop,
                heartbeat: writer,
                started: StartNotice::deferrable(move || {
                    let _ = events.send(WorkerEvent::Started { key, id: new });
                }),
                events: self.bus.clone(),
                clock: Arc::clone(&self.clock),
            });
        }
        drop(gate);
        if let Some(exit) = &self.orphan {
            // Whatever its life kept queued for a next life (after giving
            // up or failing to start) is released now.
            self.child.on_retired();
            exit.set(reason);
            return Err(());
        }
        // The supervisor decides; if it is gone, so are we.
        let _ = self.events.send(WorkerEvent::Exited {
            key: self.key,
            id: old,
            reason,
        });
        Err(())
    }
}
