//! Applying reloaded policies to a running supervisor: its own (strategy,
//! intensity, abandon grace) and its children's, from the next decision on.

use crate::fast_restart;
use crate::{Policy, RestartWindow, Strategy};

use super::state::Engine;

impl Engine {
    /// Applies a reload's policies (already remembered in the shared state
    /// for later lives); returns the names of children it does not have.
    pub(super) fn reconfigure(
        &mut self,
        own: &Policy,
        children: &[(String, Policy)],
    ) -> Vec<String> {
        let unknown = self.apply_policies(own, children);
        if own.strategy.is_some() || own.intensity.is_some() || own.abandon_after.is_some() {
            tracing::debug!(supervisor = %self.path, "supervisor policies reloaded");
        }
        for (name, _) in children {
            if !unknown.contains(name) {
                tracing::debug!(supervisor = %self.path, child = %name, "child policies reloaded");
            }
        }
        self.publish();
        unknown
    }

    /// This life takes requests from now on: it marks itself running and
    /// applies what reloads remembered meanwhile (a reload that found it
    /// starting was only remembered).
    pub(super) fn go_live(&mut self) {
        self.shared.set_running(true);
        let (own, children) = self.shared.overrides();
        self.apply_policies(&own, &children);
        self.publish();
    }

    /// Lays `own` over this supervisor and each child's policy over its
    /// spec; returns the names of children not found. A changed intensity
    /// starts a new restart window (the restarts counted so far are
    /// forgotten); an unchanged one keeps it.
    pub(super) fn apply_policies(
        &mut self,
        own: &Policy,
        children: &[(String, Policy)],
    ) -> Vec<String> {
        if let Some(st) = own.strategy {
            self.strategy = st;
            let mut g = fast_restart::lock(&self.gate);
            g.open = self.closing.is_none() && st == Strategy::OneForOne;
        }
        if let Some(i) = own.intensity {
            let mut g = fast_restart::lock(&self.gate);
            if g.window.intensity() != i {
                g.window = RestartWindow::new(i);
            }
        }
        if let Some(grace) = own.abandon_after {
            self.grace = grace;
        }
        let mut unknown = Vec::new();
        for (name, p) in children {
            match self.slots.iter().position(|s| *s.spec.name == **name) {
                Some(i) => {
                    self.slots[i].spec.set_policy(p);
                    self.sync_gate(i);
                }
                None => unknown.push(name.clone()),
            }
        }
        unknown
    }
}
