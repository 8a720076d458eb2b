//! The main thread as a client of a server, as in ThreadButler's stdin
//! example: it reads lines, sends each to the `shouter` server, and prints
//! the answer the server sends back to the main thread's mailbox.
//!
//! ```text
//! main (client) --Line--> shouter --Shouted--> main (client)
//! ```
//!
//! `cargo run --example client_server_stdin` reads standard input until EOF
//! (Ctrl-D); `-- --demo` sends a fixed list of lines instead and exits.

use std::io::BufRead;
use std::time::Duration;

use threadbutler::prelude::*;

/// A line for the shouter.
pub struct Line(pub String);
/// The shouter's answer, for the main thread.
pub struct Shouted {
    line: String,
    words: usize,
}
/// The main thread's endpoint.
pub struct Main;

threadbutler::messages! { pub enum ShouterMsg for Shouter { Line } }
threadbutler::messages! { pub enum MainMsg for Main { Shouted } }

/// Upper-cases each line and sends it back to the main thread.
pub struct Shouter;

impl Server for Shouter {
    fn handle(&mut self, msg: ShouterMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        let ShouterMsg::Line(Line(text)) = msg;
        let words = text.split_whitespace().count();
        ctx.hub().send(Shouted {
            line: text.to_uppercase(),
            words,
        })?;
        Ok(())
    }
}

const DEMO_LINES: [&str; 4] = [
    "hello from the main thread",
    "servers answer by message",
    "no shared state",
    "goodbye",
];

fn main() -> Result<(), threadbutler::Error> {
    let demo = std::env::args().any(|a| a == "--demo");
    let hub = Hub::builder("client_server").build();
    let mut main = hub.client::<Main>("main")?;
    hub.spawn("shouter", || Shouter)?;

    let lines: Box<dyn Iterator<Item = String>> = if demo {
        Box::new(DEMO_LINES.iter().map(|s| s.to_string()))
    } else {
        eprintln!("type lines; Ctrl-D ends");
        Box::new(std::io::stdin().lock().lines().map_while(Result::ok))
    };

    for line in lines {
        hub.send(Line(line))?;
        match main.recv_timeout(Duration::from_secs(5)) {
            Some(MainMsg::Shouted(Shouted { line, words })) => {
                println!("shouter: {line}  ({words} words)");
            }
            None => {
                eprintln!("no answer within 5 s");
                break;
            }
        }
    }

    let report = hub.shutdown()?;
    println!(
        "done ({})",
        if report.is_clean() {
            "clean"
        } else {
            "unclean"
        }
    );
    if !report.is_clean() {
        std::process::exit(1);
    }
    Ok(())
}
