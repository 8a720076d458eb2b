//! Where each mailbox sits in the tree, for the `server` label: a mailbox
//! is registered on the hub by its server's name, the metrics are labelled
//! with its path (`app/db/writer`).
//!
//! Learned two ways: from the status tree at each reading (the nodes that
//! hold a queue: servers, async servers, pools), and from `Started` events
//! as they happen, so that a server added and removed between two readings
//! (never in a tree that was read) is still labelled with its path. A
//! `Started` event does not say whether the child holds a mailbox; the
//! tree does, and a path it shows without a queue (a supervisor) is
//! forgotten. A name learned neither way (a client, outside the tree) is
//! its own label.
//!
//! Costs one lock and a lookup per `Started` event (on the supervisor's
//! thread, never per message) and one per mailbox per reading.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use threadbutler_supervisor::StatusNode;

/// Mailbox name → its child's path, the latest one seen.
#[derive(Debug, Default)]
pub(crate) struct MailboxPaths {
    by_name: Mutex<HashMap<String, String>>,
}

impl MailboxPaths {
    /// A child started at `path`: if it holds a mailbox, the mailbox is
    /// named by the path's last segment.
    pub(crate) fn started(&self, path: &str) {
        let name = path.rsplit('/').next().unwrap_or(path);
        let mut by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        if by_name.get(name).map(String::as_str) != Some(path) {
            by_name.insert(name.to_owned(), path.to_owned());
        }
    }

    /// Learns the path of every node of `tree` that holds a queue, and
    /// forgets the paths it shows without one.
    pub(crate) fn learn(&self, tree: &StatusNode) {
        let mut by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        learn(&mut by_name, tree);
    }

    /// The label of the mailbox `name`: its child's path, or its own name
    /// for a mailbox outside the tree (a client).
    pub(crate) fn path_of(&self, name: &str) -> String {
        self.by_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }
}

fn learn(by_name: &mut HashMap<String, String>, node: &StatusNode) {
    let known = by_name.get(&node.name) == Some(&node.path);
    match (node.queued.is_some(), known) {
        (true, false) => {
            by_name.insert(node.name.clone(), node.path.clone());
        }
        (false, true) => {
            by_name.remove(&node.name);
        }
        _ => {}
    }
    for c in &node.children {
        learn(by_name, c);
    }
}

#[cfg(test)]
mod tests {
    use threadbutler_supervisor::ChildState;

    use super::*;

    fn node(name: &str, path: &str, queue: bool) -> StatusNode {
        let mut n = StatusNode::new(name, path, "server", ChildState::Running);
        n.queued = queue.then_some(0);
        n
    }

    #[test]
    fn a_started_child_is_labelled_by_its_path_until_the_tree_says_it_has_no_mailbox() {
        let paths = MailboxPaths::default();
        // Started and gone before any reading: only its event told.
        paths.started("app/db/writer");
        paths.started("app/db");
        assert_eq!(paths.path_of("writer"), "app/db/writer");
        assert_eq!(paths.path_of("db"), "app/db");
        // A client is its own label.
        assert_eq!(paths.path_of("inbox"), "inbox");

        let mut tree = node("app", "app", false);
        let mut db = node("db", "app/db", false);
        db.children.push(node("reader", "app/db/reader", true));
        tree.children.push(db);
        paths.learn(&tree);
        assert_eq!(paths.path_of("reader"), "app/db/reader");
        // A supervisor holds no mailbox: a client of that name is not it.
        assert_eq!(paths.path_of("db"), "db");
        // Not in this tree any more: the last path seen stays.
        assert_eq!(paths.path_of("writer"), "app/db/writer");
        // Added again elsewhere: the latest path.
        paths.started("app/cache/writer");
        assert_eq!(paths.path_of("writer"), "app/cache/writer");
    }
}
