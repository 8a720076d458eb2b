//! Servers forwarding work to each other, as in ThreadButler's forwarding
//! example: no server knows another's thread, only the types it sends.
//!
//! ```text
//! main --Text--> parser --Number--> worker --Factored--> printer --Printed--> main
//! ```
//!
//! The three servers run under a `Butler`; the main thread sends N texts,
//! waits until all N were printed (a client mailbox counts them), then shuts
//! the tree down in reverse start order.
//!
//! `cargo run --example forwarding` paces 20 items so you can watch them;
//! `-- --demo` sends 20 at once and exits.

use std::time::Duration;

use threadbutler::prelude::*;

/// Raw input for the parser.
pub struct Text(pub String);
/// A parsed number for the worker.
pub struct Number(pub u64);
/// The worker's result for the printer.
pub struct Factored {
    n: u64,
    factors: Vec<u64>,
}
/// Tells the main thread one item went all the way through.
pub struct Printed;
/// The main thread's endpoint.
pub struct Main;

threadbutler::messages! { pub enum ParserMsg for Parser { Text } }
threadbutler::messages! { pub enum WorkerMsg for Worker { Number } }
threadbutler::messages! { pub enum PrinterMsg for Printer { Factored } }
threadbutler::messages! { pub enum MainMsg for Main { Printed } }

/// Parses text and forwards the number to the worker.
pub struct Parser;
impl Server for Parser {
    fn handle(&mut self, msg: ParserMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let ParserMsg::Text(Text(s)) = msg;
        ctx.hub().send(Number(s.trim().parse()?))?;
        Ok(())
    }
}

/// Factors the number and forwards the result to the printer.
pub struct Worker;
impl Server for Worker {
    fn handle(&mut self, msg: WorkerMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let WorkerMsg::Number(Number(n)) = msg;
        let (mut rest, mut factors, mut d) = (n, Vec::new(), 2);
        while rest > 1 {
            while rest % d == 0 {
                factors.push(d);
                rest /= d;
            }
            d += 1;
        }
        ctx.hub().send(Factored { n, factors })?;
        Ok(())
    }
}

/// Prints results and tells the main thread.
pub struct Printer;
impl Server for Printer {
    fn handle(&mut self, msg: PrinterMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let PrinterMsg::Factored(Factored { n, factors }) = msg;
        println!("printer: {n} = {factors:?}");
        ctx.hub().send(Printed)?;
        Ok(())
    }
}

fn main() -> Result<(), threadbutler::Error> {
    let demo = std::env::args().any(|a| a == "--demo");
    let (items, pace) = if demo {
        (20u64, Duration::ZERO)
    } else {
        (20, Duration::from_millis(250))
    };

    // Consumers first: the reverse-order shutdown stops the parser first.
    let app = Butler::builder("forwarding")
        .server("printer", || Printer)
        .server("worker", || Worker)
        .server("parser", || Parser)
        .start()?;
    let mut main = app.hub().client::<Main>("main")?;

    for i in 0..items {
        app.hub().send(Text(format!("{}", 1000 + i * 37)))?;
        if !pace.is_zero() {
            let _ = crossbeam_channel::after(pace).recv();
        }
    }
    let mut printed = 0;
    while printed < items {
        match main.recv_timeout(Duration::from_secs(5)) {
            Some(MainMsg::Printed(Printed)) => printed += 1,
            None => break,
        }
    }
    println!("main: {printed} of {items} items arrived");

    app.shutdown();
    let report = app.wait()?;
    if printed < items || !report.is_clean() {
        std::process::exit(1);
    }
    Ok(())
}
