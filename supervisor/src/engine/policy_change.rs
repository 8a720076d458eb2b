//! Reloaded policies as values: what a running supervisor takes from a
//! reload, and how later changes merge into earlier ones.

use std::time::Duration;

use crate::{Backoff, Intensity, Restart, Shutdown, Strategy};

/// New policies for a running supervisor and some of its children (a
/// reload). What is not given stays as it is. They apply from the next
/// decision on: a running life keeps running.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Reconfigure {
    /// The supervisor's new strategy.
    pub strategy: Option<Strategy>,
    /// Its new intensity (the restarts recorded so far are forgotten).
    pub intensity: Option<Intensity>,
    /// New policies by child name.
    pub children: Vec<(String, ChildPolicy)>,
}

/// New policies for one child; `None` keeps the current one.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct ChildPolicy {
    /// Its restart type.
    pub restart: Option<Restart>,
    /// Its shutdown mode.
    pub shutdown: Option<Shutdown>,
    /// Its heartbeat timeout.
    pub heartbeat: Option<Duration>,
    /// Its backoff.
    pub backoff: Option<Backoff>,
}

impl ChildPolicy {
    /// `later` over `self`: what `later` gives wins.
    fn merge(&mut self, later: ChildPolicy) {
        self.restart = later.restart.or(self.restart);
        self.shutdown = later.shutdown.or(self.shutdown);
        self.heartbeat = later.heartbeat.or(self.heartbeat);
        self.backoff = later.backoff.or(self.backoff);
    }
}

impl Reconfigure {
    /// `later` over `self`: what `later` gives wins, child by child.
    pub(crate) fn merge(&mut self, later: Reconfigure) {
        self.strategy = later.strategy.or(self.strategy);
        self.intensity = later.intensity.or(self.intensity);
        for (name, p) in later.children {
            match self.children.iter_mut().find(|(n, _)| *n == name) {
                Some((_, q)) => q.merge(p),
                None => self.children.push((name, p)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_changes_win_field_by_field() {
        let mut a = Reconfigure {
            strategy: Some(Strategy::OneForAll),
            intensity: None,
            children: vec![(
                "db".into(),
                ChildPolicy {
                    restart: Some(Restart::Transient),
                    heartbeat: Some(Duration::from_secs(1)),
                    ..ChildPolicy::default()
                },
            )],
        };
        a.merge(Reconfigure {
            strategy: None,
            intensity: None,
            children: vec![(
                "db".into(),
                ChildPolicy {
                    heartbeat: Some(Duration::from_secs(2)),
                    ..ChildPolicy::default()
                },
            )],
        });
        assert_eq!(a.strategy, Some(Strategy::OneForAll));
        let db = a.children[0].1;
        assert_eq!(db.restart, Some(Restart::Transient));
        assert_eq!(db.heartbeat, Some(Duration::from_secs(2)));
    }
}
