//! Dead letters are logged per mailbox and reason: the first of an interval
//! in full, the ones after it as one "N more dead letters" line, written
//! when the interval is over (with no further letter needed) or when the
//! mailbox ends, whichever comes first, so a shutdown loses no count. The
//! sink still gets every letter. (When an interval passes between two
//! letters, and the dead-letter thread on a manual clock, are tested in
//! `src/data/dead_letter_log/`.)

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use integration_tests::daemon::clean_env;
use integration_tests::logs::{JsonLine, capture, json_lines, run};
use integration_tests::{Count, PATIENCE, hub_with_dead_letters};
use threadbutler::prelude::*;

/// A note nobody reads.
pub struct Note;
/// The main thread's mailbox.
pub struct Main;
threadbutler::messages! { pub enum MainMsg for Main { Note } }

#[test]
fn fifty_dead_letters_of_a_dropped_client_are_two_lines() {
    let (builder, dead) = hub_with_dead_letters("app");
    let hub = builder.build();
    let ((), lines) = capture(|| {
        let main = hub.client::<Main>("main").expect("registered");
        for _ in 0..50 {
            hub.send(Note).expect("queued");
        }
        drop(main); // the mailbox ends: its 50 messages are dead letters
    });
    let said: Vec<&String> = lines.iter().filter(|l| l.contains("dead")).collect();
    assert_eq!(said.len(), 2, "{said:#?}");
    assert!(said[0].contains("WARN"), "{}", said[0]);
    assert!(said[0].contains("message dead-lettered"), "{}", said[0]);
    assert!(said[0].contains("message_type=\"Note\""), "{}", said[0]);
    assert!(said[0].contains("reason_kind=\"dropped\""), "{}", said[0]);
    assert!(said[1].contains("WARN"), "{}", said[1]);
    assert!(said[1].contains("49 more dead letters"), "{}", said[1]);
    assert!(said[1].contains("server=\"main\""), "{}", said[1]);
    assert!(said[1].contains("count=49"), "{}", said[1]);
    let window_ms: u64 = said[1]
        .split("window_ms=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a window_ms field: {}", said[1]));
    assert!(window_ms <= 10_000, "at most the interval: {}", said[1]);
    assert_eq!(dead.try_iter().count(), 50, "the sink gets every letter");
}

#[test]
fn a_shutdown_that_gives_up_fifty_messages_logs_two_lines_and_counts_them_all() {
    let run = run(env!("CARGO_BIN_EXE_logs_of_a_run"), "dead-letters", &[]);
    assert_eq!(run.code, Some(75), "work was given up\n{}", run.stderr);
    assert_eq!(run.stdout.trim(), "sink 50", "{}", run.stderr);
    let said: Vec<&JsonLine> = run
        .lines
        .iter()
        .filter(|l| l.message().contains("dead letter") || l.message() == "message dead-lettered")
        .collect();
    assert_eq!(said.len(), 2, "{said:#?}");
    assert_eq!(said[0].message(), "message dead-lettered");
    assert_eq!(said[0].field("server"), "p");
    assert_eq!(said[0].field("message_type"), "Quit");
    assert_eq!(said[0].field("reason"), "queued when the server stopped");
    assert_eq!(said[0].field("reason_kind"), "stopped");
    assert_eq!(said[1].message(), "49 more dead letters");
    assert_eq!(said[1].field("server"), "p");
    assert_eq!(said[1].field("reason_kind"), "stopped");
    assert_eq!(said[1].field("count"), 49);
    assert!(said[1].field("window_ms").as_u64() <= Some(10_000));
    assert!(said.iter().all(|l| l.level() == "WARN"));
    // The stop line says what was left.
    let stopped: Vec<&JsonLine> = run
        .lines
        .iter()
        .filter(|l| l.message().starts_with("stopped: "))
        .collect();
    assert_eq!(stopped.len(), 1, "{}", run.stderr);
    assert_eq!(stopped[0].level(), "WARN", "not a clean stop");
    assert_eq!(stopped[0].field("exit_code"), 75);
    assert_eq!(stopped[0].field("given_up"), 50);
    assert_eq!(stopped[0].field("dead_letters"), 50);
    assert_eq!(
        stopped[0].message(),
        "stopped: exit 75, shut down on request, left 50 queued item(s) given up (app/p: 50)"
    );
}

#[test]
fn a_count_is_per_mailbox() {
    let count = Count::default();
    let c = count.clone();
    let hub = Hub::builder("app")
        .on_dead_letter(move |_| c.bump())
        .build();
    let ((), lines) = capture(|| {
        let first = hub.client::<Main>("main").expect("registered");
        for _ in 0..3 {
            hub.send(Note).expect("queued");
        }
        drop(first);
        // A new mailbox of the same name: its own first line.
        let second = hub.client::<Main>("main").expect("registered again");
        for _ in 0..2 {
            hub.send(Note).expect("queued");
        }
        drop(second);
    });
    let said: Vec<&String> = lines.iter().filter(|l| l.contains("dead")).collect();
    assert_eq!(said.len(), 4, "{said:#?}");
    assert!(said[0].contains("message dead-lettered"));
    assert!(said[1].contains("2 more dead letters"));
    assert!(said[2].contains("message dead-lettered"));
    assert!(said[3].contains("1 more dead letters"));
    assert_eq!(count.get(), 5);
}

/// How long a window counts (`INTERVAL` in `src/data/dead_letter_log/`).
const INTERVAL: Duration = Duration::from_secs(10);

#[test]
fn a_burst_then_silence_is_counted_when_its_window_is_over() {
    // One scenario per process: the subscriber is global. This test waits
    // (on the log line, with a deadline) for the real 10 s window.
    let mut child = clean_env(&mut Command::new(env!("CARGO_BIN_EXE_logs_of_a_run")))
        .arg("dead-letter-burst")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the helper runs");
    let started = Instant::now();
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = unbounded();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Everything the helper logs until its count line: no further letter,
    // and the tree still runs (it waits for the go below to stop).
    let mut before = Vec::new();
    while !before
        .iter()
        .any(|l: &String| l.contains("more dead letters"))
    {
        let line = rx
            .recv_deadline(started + INTERVAL + PATIENCE)
            .unwrap_or_else(|_| panic!("no count line; the helper said:\n{}", before.join("\n")));
        before.push(line);
    }
    let waited = started.elapsed();
    writeln!(child.stdin.take().expect("piped"), "go").expect("the helper reads");
    let out = child.wait_with_output().expect("the helper ends");
    let after: Vec<String> = rx.iter().collect();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{}\n{}", before.join("\n"), after.join("\n"));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(stdout, "thread running\nthread gone\n", "{all}");
    assert!(
        waited >= INTERVAL,
        "the count waited for its window: {waited:?}"
    );

    let is_dead_letter = |l: &&JsonLine| {
        l.message() == "message dead-lettered" || l.message().contains("more dead letters")
    };
    let before = json_lines(&before.join("\n"));
    let said: Vec<&JsonLine> = before.iter().filter(is_dead_letter).collect();
    assert_eq!(said.len(), 2, "{said:#?}");
    assert_eq!(said[0].message(), "message dead-lettered");
    assert_eq!(said[0].field("server"), "p");
    assert_eq!(said[0].field("message_type"), "Fail");
    assert_eq!(said[0].field("reason_kind"), "in_flight");
    assert_eq!(said[1].message(), "49 more dead letters");
    assert_eq!(said[1].field("server"), "p");
    assert_eq!(said[1].field("reason_kind"), "in_flight");
    assert_eq!(said[1].field("count"), 49);
    assert_eq!(said[1].field("window_ms"), 10_000);
    assert!(said.iter().all(|l| l.level() == "WARN"));

    // The shutdown that follows has no count left to log.
    let after = json_lines(&after.join("\n"));
    assert!(!after.iter().any(|l| is_dead_letter(&l)), "{after:#?}");
    let stopped: Vec<&JsonLine> = after
        .iter()
        .filter(|l| l.message().starts_with("stopped: "))
        .collect();
    assert_eq!(stopped.len(), 1, "{after:#?}");
    assert_eq!(stopped[0].field("dead_letters"), 50);
}
