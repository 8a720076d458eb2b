//! docs/runtime-semantics.md §5 Lifecycle, "Loops": the default loop, the
//! tick loop and a custom loop all end on a stop request.

use std::time::Duration;

use crossbeam_channel::{Sender, unbounded};
use integration_tests::PATIENCE;
use threadbutler::prelude::*;
use threadbutler::{RecvTimeoutError, TryRecvError};

pub struct Note(pub u32);

// A tick server: periodic work, plus messages.
threadbutler::messages! { pub enum TickerMsg for Ticker { Note } }
pub struct Ticker {
    ticks: Sender<()>,
    notes: Sender<u32>,
}
impl Server for Ticker {
    fn tick_interval(&self) -> Option<Duration> {
        Some(Duration::from_millis(5))
    }
    fn on_tick(&mut self, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let _ = self.ticks.send(());
        Ok(())
    }
    fn handle(&mut self, msg: TickerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let TickerMsg::Note(Note(n)) = msg;
        let _ = self.notes.send(n);
        Ok(())
    }
}

#[test]
fn a_tick_server_ticks_handles_messages_and_stops() {
    let (ticks_tx, ticks) = unbounded();
    let (notes_tx, notes) = unbounded();
    let hub = Hub::new();
    hub.spawn("ticker", move || Ticker {
        ticks: ticks_tx.clone(),
        notes: notes_tx.clone(),
    })
    .expect("starts");
    for _ in 0..3 {
        ticks.recv_timeout(PATIENCE).expect("a tick");
    }
    hub.send(Note(7)).expect("sent");
    assert_eq!(notes.recv_timeout(PATIENCE).expect("handled"), 7);
    let report = hub.stop("ticker").expect("known");
    assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
}

// A server that owns its loop: it polls an outside source (here a plain
// channel standing in for stdin or a socket) and its mailbox in turn.
pub struct Line(pub u32);
threadbutler::messages! { pub enum PollerMsg for Poller { Line } }
pub struct Poller {
    outside: crossbeam_channel::Receiver<u32>,
    seen: Sender<String>,
}
impl Server for Poller {
    fn handle(&mut self, msg: PollerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        let PollerMsg::Line(Line(n)) = msg;
        let _ = self.seen.send(format!("mail {n}"));
        Ok(())
    }

    fn run(&mut self, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        while !ctx.should_stop() {
            if let Ok(line) = self.outside.try_recv() {
                let _ = self.seen.send(format!("outside {line}"));
            }
            match ctx.recv_timeout(Duration::from_millis(2)) {
                Ok(msg) => self.handle(msg, ctx)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Stopped) => break,
            }
        }
        // Drain what the stop leaves us, as a custom loop should.
        loop {
            match ctx.try_recv() {
                Ok(msg) => self.handle(msg, ctx)?,
                Err(TryRecvError::Empty) => {} // a drain ends with Stopped, not Empty
                Err(TryRecvError::Stopped) => return Ok(()),
            }
        }
    }
}

#[test]
fn a_custom_loop_reads_its_own_source_and_its_mailbox_and_obeys_stop() {
    let (outside_tx, outside) = unbounded();
    let (seen_tx, seen) = unbounded();
    let hub = Hub::new();
    let addr = hub
        .spawn("poller", move || Poller {
            outside: outside.clone(),
            seen: seen_tx.clone(),
        })
        .expect("starts");
    outside_tx.send(1).expect("outside");
    assert_eq!(seen.recv_timeout(PATIENCE).expect("seen"), "outside 1");
    addr.send(Line(2)).expect("mail");
    assert_eq!(seen.recv_timeout(PATIENCE).expect("seen"), "mail 2");
    let report = hub.stop("poller").expect("known");
    assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
    assert_eq!(report.mailbox.expect("a server has a mailbox").handled, 1);
}

// A zero tick interval is bad input: a failed start with a clear reason.
threadbutler::messages! { pub enum ZeroMsg for ZeroTicker { Zero } }
pub struct Zero;
pub struct ZeroTicker;
impl Server for ZeroTicker {
    fn tick_interval(&self) -> Option<Duration> {
        Some(Duration::ZERO)
    }
    fn handle(&mut self, _: ZeroMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_zero_tick_interval_fails_the_start() {
    let hub = Hub::new();
    let err = hub.spawn("zero", || ZeroTicker).expect_err("rejected");
    assert!(
        err.to_string()
            .contains("tick_interval must be greater than zero"),
        "{err}"
    );
}
