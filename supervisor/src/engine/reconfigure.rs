//! Applying reloaded policies to a running supervisor.

use crate::fast_restart;
use crate::{RestartWindow, Strategy};

use super::policy_change::Reconfigure;
use super::state::Engine;

impl Engine {
    /// Applies new policies and remembers them for later lives; returns the
    /// names of children it does not have.
    pub(super) fn reconfigure(&mut self, change: Reconfigure) -> Vec<String> {
        let unknown = self.apply_policies(&change);
        for (name, _) in &change.children {
            if !unknown.contains(name) {
                tracing::info!(supervisor = %self.path, child = %name, "child policies reloaded");
            }
        }
        self.shared.remember(change);
        self.publish();
        unknown
    }

    /// Applies new policies; returns the names of children not found.
    pub(super) fn apply_policies(&mut self, change: &Reconfigure) -> Vec<String> {
        if let Some(st) = change.strategy {
            self.strategy = st;
            let mut g = fast_restart::lock(&self.gate);
            g.open = self.closing.is_none() && st == Strategy::OneForOne;
        }
        if let Some(i) = change.intensity {
            fast_restart::lock(&self.gate).window = RestartWindow::new(i);
        }
        let mut unknown = Vec::new();
        for (name, p) in &change.children {
            let Some(i) = self.slots.iter().position(|s| *s.spec.name == **name) else {
                unknown.push(name.clone());
                continue;
            };
            let spec = &mut self.slots[i].spec;
            if let Some(r) = p.restart {
                spec.restart = r;
            }
            if let Some(sd) = p.shutdown {
                spec.shutdown = sd;
            }
            if let Some(h) = p.heartbeat {
                spec.heartbeat = Some(h);
            }
            if let Some(b) = p.backoff {
                spec.backoff = b;
            }
            self.sync_gate(i);
        }
        unknown
    }
}
