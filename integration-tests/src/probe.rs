//! A server for supervision tests: it records its lives and does on command
//! what a test needs (crash, fail, quit, hang, answer).

use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use threadbutler::prelude::*;

use crate::Gate;

/// Panic in the handler.
pub struct Crash;
/// Return an `Err` from the handler.
pub struct Fail;
/// Stop from inside (`ctx.stop()`): a normal exit.
pub struct Quit;
/// Block at the gate without beating the heartbeat.
pub struct Hang;
/// Answer with who is answering.
pub struct Ping(pub Reply<Pong>);

/// Who answered a [`Ping`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// The server's name.
    pub name: String,
    /// The life's id.
    pub id: u64,
    /// Its thread.
    pub thread: ThreadId,
    /// Messages it handled in this life before this one.
    pub handled: u64,
}

threadbutler::messages! {
    /// Everything a [`Probe`] accepts.
    pub enum ProbeMsg for Probe { Crash, Fail, Quit, Hang, Ping }
}

/// A shared, ordered record of lifecycle hooks: `"start a"`, `"stop a"`.
#[derive(Debug, Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    /// Records one line.
    pub fn write(&self, line: String) {
        self.0.lock().expect("journal lock").push(line);
    }

    /// Everything so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("journal lock").clone()
    }

    /// Forgets everything so far.
    pub fn clear(&self) {
        self.0.lock().expect("journal lock").clear();
    }
}

/// What a [`Probe`] does when it starts.
#[derive(Debug, Clone, Default)]
pub struct ProbeConfig {
    /// Journal its hooks here.
    pub journal: Journal,
    /// Held here by `Hang`.
    pub gate: Gate,
    /// Fail `on_start` for every life after the first this many.
    pub fail_start_after: Option<usize>,
    /// Counts lives started (shared by all lives).
    pub lives: crate::Count,
}

/// The test server.
pub struct Probe {
    cfg: ProbeConfig,
    handled: u64,
}

impl Probe {
    /// A factory for [`Butler`] or [`Hub`]: one probe per life.
    pub fn factory(cfg: ProbeConfig) -> impl Fn() -> Probe + Send + Sync + 'static {
        move || Probe {
            cfg: cfg.clone(),
            handled: 0,
        }
    }
}

impl Server for Probe {
    fn on_start(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let n = self.cfg.lives.get();
        self.cfg.lives.bump();
        if let Some(limit) = self.cfg.fail_start_after
            && n >= limit
        {
            self.cfg
                .journal
                .write(format!("start-failed {}", ctx.name()));
            return Err(format!("{} refuses to start", ctx.name()).into());
        }
        self.cfg.journal.write(format!("start {}", ctx.name()));
        Ok(())
    }

    fn handle(&mut self, msg: ProbeMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            ProbeMsg::Crash(Crash) => panic!("{} crashed on purpose", ctx.name()),
            ProbeMsg::Fail(Fail) => return Err(format!("{} failed on purpose", ctx.name()).into()),
            ProbeMsg::Quit(Quit) => ctx.stop(),
            ProbeMsg::Hang(Hang) => self.cfg.gate.enter(),
            ProbeMsg::Ping(Ping(reply)) => reply.send(Pong {
                name: ctx.name().to_owned(),
                id: ctx.id(),
                thread: thread::current().id(),
                handled: self.handled,
            }),
        }
        self.handled += 1;
        Ok(())
    }

    fn on_stop(&mut self, reason: &ExitReason, ctx: &mut Ctx<Self>) {
        self.cfg
            .journal
            .write(format!("stop {} {}", ctx.name(), reason.kind()));
    }
}
