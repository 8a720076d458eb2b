//! The application's own two log lines: one when its tree has started, one
//! when it has stopped. Everything between is either a failure (WARN,
//! ERROR) or a child's own lifecycle (DEBUG), so a healthy run of a tree of
//! any size says two things at INFO (three with the root's "shutdown
//! began").

use std::time::Duration;

use threadbutler_supervisor::StatusNode;

use crate::supervised::report::Report;

/// How many servers (every thread that runs a server, an async server, a
/// pool worker or a plain thread child) and supervisors (nested ones and
/// pools, the root not counted) the tree holds.
fn count(tree: &StatusNode) -> (usize, usize) {
    fn walk(n: &StatusNode, servers: &mut usize, supervisors: &mut usize) {
        for c in &n.children {
            if matches!(c.kind, "supervisor" | "pool") {
                *supervisors += 1;
                walk(c, servers, supervisors);
            } else {
                *servers += 1;
            }
        }
    }
    let (mut servers, mut supervisors) = (0, 0);
    walk(tree, &mut servers, &mut supervisors);
    (servers, supervisors)
}

/// "started N servers in T": the tree `tree` of the application `app`
/// started, `elapsed` after its `start` was called.
pub(crate) fn started(app: &str, tree: &StatusNode, elapsed: Duration) {
    let (servers, supervisors) = count(tree);
    let elapsed_ms = elapsed.as_millis() as u64;
    let noun = if servers == 1 { "server" } else { "servers" };
    tracing::info!(
        app,
        servers,
        supervisors,
        elapsed_ms,
        "started {servers} {noun} in {elapsed_ms} ms"
    );
}

/// What a shutdown left behind, in a few words: `"nothing left"`, or the
/// abandoned children and the queued work given up.
fn left(report: &Report) -> String {
    let given_up: u64 = report.drain_deadline_missed.iter().map(|(_, n)| n).sum();
    let mut parts = Vec::new();
    if !report.abandoned.is_empty() {
        parts.push(format!(
            "{} abandoned ({})",
            report.abandoned.len(),
            report.abandoned.join(", ")
        ));
    }
    if given_up > 0 {
        let who: Vec<String> = report
            .drain_deadline_missed
            .iter()
            .map(|(child, n)| format!("{child}: {n}"))
            .collect();
        parts.push(format!(
            "{given_up} queued item(s) given up ({})",
            who.join(", ")
        ));
    }
    if parts.is_empty() {
        "nothing left".to_owned()
    } else {
        format!("left {}", parts.join(", "))
    }
}

/// "stopped: exit code, why, what was left", from the application's
/// report: INFO after a clean shutdown, WARN when the exit code is not 0
/// (work given up, a child abandoned, the tree failed).
pub(crate) fn stopped(app: &str, report: &Report) {
    let exit_code = report.exit_code();
    let reason = &report.reason;
    let abandoned = report.abandoned.len();
    let given_up: u64 = report.drain_deadline_missed.iter().map(|(_, n)| n).sum();
    let dead_letters: u64 = report.mailboxes.iter().map(|(_, s)| s.dead_lettered).sum();
    let queued: u64 = report.mailboxes.iter().map(|(_, s)| s.queued).sum();
    let left = left(report);
    // One line, at a level chosen at run time (tracing's macros take a
    // constant level): INFO for a clean exit, WARN otherwise.
    macro_rules! stop_line {
        ($level:ident) => {
            tracing::$level!(
                app,
                exit_code,
                reason = %reason,
                reason_kind = reason.kind(),
                abandoned,
                given_up,
                dead_letters,
                queued,
                "stopped: exit {exit_code}, {reason}, {left}"
            )
        };
    }
    if exit_code == 0 {
        stop_line!(info);
    } else {
        stop_line!(warn);
    }
}

#[cfg(test)]
mod tests {
    use threadbutler_supervisor::ChildState;

    use super::*;

    fn node(name: &str, kind: &'static str, children: Vec<StatusNode>) -> StatusNode {
        let mut n = StatusNode::new(name, name, kind, ChildState::Running);
        n.children = children;
        n
    }

    #[test]
    fn servers_and_pool_workers_are_counted_and_supervisors_apart() {
        let tree = node(
            "app",
            "supervisor",
            vec![
                node("a", "server", vec![]),
                node(
                    "db",
                    "supervisor",
                    vec![node("r", "server", vec![]), node("w", "thread", vec![])],
                ),
                node(
                    "pool",
                    "pool",
                    vec![node("p-0", "server", vec![]), node("p-1", "server", vec![])],
                ),
                node("empty", "supervisor", vec![]),
            ],
        );
        assert_eq!(count(&tree), (5, 3));
    }
}
