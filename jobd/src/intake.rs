//! The intake: the server that owns the socket's accept loop (accept.rs)
//! and its connections (connections.rs), each of which runs a session
//! (session.rs).

use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_channel::{Receiver, Sender, bounded};

use threadbutler::prelude::*;

use crate::accept::accept_loop;
use crate::connections::Connections;
use crate::ledger::Ledger;
use crate::session::Desk;
use crate::settings::Settings;
use crate::socket::Socket;

// The intake takes no messages: its work comes from the socket.
threadbutler::messages! { pub enum IntakeMsg for Intake {} }

/// The intake server. Its first start spawns the accept loop, which runs
/// until jobd exits; a stop turns the intake to refusing: open and new
/// connections are still served (and `wait` and `status` answered), but
/// every job is answered `err ID: not accepted: jobd is shutting down`. So
/// no connection is cut while its answers wait to be written: each is
/// closed when its client ends it (or goes idle), its answers flushed
/// first. A later start (a restart) takes jobs again.
pub struct Intake {
    shared: Arc<Shared>,
}

/// What every life of the intake shares.
struct Shared {
    /// `[app] test_kinds`.
    test_kinds: bool,
    socket: Arc<Socket>,
    ledger: Arc<Ledger>,
    connections: Arc<Connections>,
    /// Cuts the accept loop's backoff short; its disconnection (the
    /// intake's declaration is dropped, as jobd exits) ends the loop.
    wake: Sender<()>,
    /// The other end, until the first start hands it to the accept loop.
    waker: Mutex<Option<Receiver<()>>>,
}

impl Intake {
    /// The factory of the intake's lives on `socket`, booking jobs in
    /// `ledger`, with the connection limits of `settings`.
    pub fn factory(
        socket: Arc<Socket>,
        ledger: Arc<Ledger>,
        settings: &Settings,
    ) -> impl Fn() -> Intake + Send + Sync + 'static {
        let (wake, waker) = bounded(1);
        let shared = Arc::new(Shared {
            socket,
            connections: Arc::new(Connections::new(
                settings.max_connections.get(),
                settings.read_timeout,
                Arc::clone(&ledger),
            )),
            ledger,
            test_kinds: settings.test_kinds,
            wake,
            waker: Mutex::new(Some(waker)),
        });
        move || Intake {
            shared: Arc::clone(&shared),
        }
    }
}

impl Server for Intake {
    fn on_start(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let shared = &self.shared;
        let desk = Desk::of(ctx.hub(), Arc::clone(&shared.ledger))?.test_kinds(shared.test_kinds);
        shared.connections.set_stopping(false);
        // Only the first life finds the waker: the accept loop outlives
        // every life.
        let mut waker = shared.waker.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(wake) = waker.take() {
            let spawned = shared.socket.listener.try_clone().and_then(|listener| {
                let connections = Arc::clone(&shared.connections);
                let wake = wake.clone();
                std::thread::Builder::new()
                    .name("jobd-acceptor".into())
                    .spawn(move || {
                        accept_loop(&listener, &wake, |s| connections.take(s, &desk));
                        tracing::debug!("the accept loop ended");
                    })
            });
            if let Err(e) = spawned {
                *waker = Some(wake);
                return Err(e.into());
            }
        }
        tracing::info!(
            socket = %shared.socket.path.display(),
            open = shared.connections.open(),
            "intake taking jobs"
        );
        Ok(())
    }

    fn handle(&mut self, msg: IntakeMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {}
    }

    fn on_stop(&mut self, why: &ExitReason, _: &mut Ctx<Self>) {
        let shared = &self.shared;
        shared.connections.set_stopping(true);
        // A backoff in progress ends now: new connections get their
        // answer without waiting it out.
        let _ = shared.wake.try_send(());
        tracing::info!(
            reason = %why,
            open = shared.connections.open(),
            "intake stopped taking jobs: open and new connections are answered `shutting down` until jobd exits"
        );
    }
}
