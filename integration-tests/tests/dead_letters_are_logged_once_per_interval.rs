//! Dead letters are logged per mailbox and reason: the first of an interval
//! in full, the ones after it as one "N more dead letters" line, written at
//! the latest when the mailbox ends, so a shutdown loses no count. The sink
//! still gets every letter. (When an interval passes between two letters
//! is tested with made-up instants in `src/data/dead_letter_log/`.)

use integration_tests::logs::{JsonLine, capture, run};
use integration_tests::{Count, hub_with_dead_letters};
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
