//! Reloading the config file into the running tree (SIGHUP,
//! `Butler::reload`), in this order (runtime-semantics §12.3):
//!
//! 1. The file is read, parsed and resolved against the declared tree
//!    completely. Any error is logged with its file and line, and nothing
//!    changes: the hook is not called, no policy is touched.
//! 2. The program's reload hook, if any, gets the hub and the new
//!    [`Config`] (a typed hook, `on_reload_app`, first deserializes the
//!    `[app]` table: an error there is logged like the file's own, with
//!    its file and line). The hook may refuse the new config by returning
//!    an `Err` (or panicking): that is logged and nothing changes either.
//!    Without a config file the hook gets `Config::default()`: no file, no
//!    `[app]` table.
//! 3. The file's policies are applied; `config reloaded` is logged.
//!
//! Applying it asks each supervisor concerned once
//! (`SupervisorRef::reconfigure`): the root for its own policies, a
//! supervisor for its declared children's and, for a nested supervisor or a
//! pool, that supervisor for its own. A pool's policies are its workers'
//! (runtime-semantics §13.4); its parent gets the pool's own shutdown
//! budget, which follows its workers' drain.

use std::path::PathBuf;

use threadbutler_supervisor::{BoxError, Policy, Supervisor};

use crate::data::hub::Hub;
use crate::ops::config::{Config, ConfigError};
use crate::ops::resolution::{DeclaredPaths, Kind, Resolved, resolve};

/// A reload hook: runs on the signal thread with the new config, once it
/// was read and resolved, before its policies are applied; an `Err`
/// refuses it (see the module docs).
pub(crate) type ReloadHook =
    std::sync::Arc<dyn Fn(&Hub, &Config) -> Result<(), BoxError> + Send + Sync>;

/// What a reload needs: the file, and the declared tree it names children
/// of.
#[derive(Debug)]
pub(crate) struct Reloader {
    path: PathBuf,
    declared: DeclaredPaths,
}

/// The policies for one supervisor: its own and its children's, by name.
type Request = (Policy, Vec<(String, Policy)>);

/// The request for the supervisor at `path`, added if new.
fn ask(requests: &mut Vec<(String, Request)>, path: String) -> &mut Request {
    let at = match requests.iter().position(|(p, _)| *p == path) {
        Some(at) => at,
        None => {
            requests.push((path, Request::default()));
            requests.len() - 1
        }
    };
    &mut requests[at].1
}

impl Reloader {
    pub(crate) fn new(path: PathBuf, declared: DeclaredPaths) -> Self {
        Reloader { path, declared }
    }

    /// Reads the file again and resolves it against the declared tree.
    fn read(&self) -> Result<(Config, Resolved), ConfigError> {
        let config = Config::load(&self.path)?;
        let resolved = resolve(&config, &self.declared)?;
        Ok((config, resolved))
    }

    /// Capacities and pool sizes are fixed when the program starts.
    fn warn_next_start(&self, resolved: &Resolved) {
        for s in &resolved.children {
            let Some(d) = self.declared.children.iter().find(|d| d.path == s.path) else {
                continue;
            };
            let resized = match (s.pool_size, d.kind) {
                (Some(n), Kind::Pool { size, .. }) => n != size,
                _ => false,
            };
            if resized || s.capacity.is_some_and(|c| Some(c) != d.capacity) {
                tracing::warn!(
                    child = %self.declared.full_path(&s.path),
                    file = %self.path.display(),
                    "config reload: a capacity or pool size takes effect at the next start"
                );
            }
        }
    }

    /// Sends each supervisor concerned its policies.
    fn apply(&self, root: &Supervisor, resolved: &Resolved) {
        let mut requests: Vec<(String, Request)> = Vec::new();
        let r = &mut requests;
        ask(r, self.declared.root.clone()).0.merge(&resolved.root);
        for s in &resolved.children {
            let full = self.declared.full_path(&s.path);
            let (parent, name) = match s.path.rsplit_once('/') {
                Some((parent, name)) => (self.declared.full_path(parent), name.to_owned()),
                None => (self.declared.root.clone(), s.path.clone()),
            };
            match s.kind {
                Kind::Server | Kind::Thread => ask(r, parent).1.push((name, s.policy)),
                Kind::Supervisor => {
                    ask(r, parent).1.push((name, s.policy));
                    ask(r, full).0.merge(&s.policy);
                }
                Kind::Pool { size, grace } => {
                    let workers = match root.supervisor(&full) {
                        Some(pool) => pool.which_children(),
                        None => Vec::new(),
                    };
                    let pool = ask(r, full);
                    pool.0.merge(&s.policy);
                    pool.1
                        .extend(workers.into_iter().map(|w| (w.name, s.policy)));
                    if let Some(sd) = s.policy.shutdown {
                        let grace = s.policy.abandon_after.or(grace);
                        let own = crate::servers::pool::pool_shutdown(size, sd, grace);
                        ask(r, parent).1.push((name, Policy::new().shutdown(own)));
                    }
                }
            }
        }
        for (path, (own, children)) in requests {
            let Some(sup) = root.supervisor(&path) else {
                tracing::error!(supervisor = %path, "config reload: the supervisor is gone");
                continue;
            };
            match sup.reconfigure(own, children) {
                Ok(missing) => {
                    for child in missing {
                        tracing::warn!(
                            supervisor = %path,
                            child = %child,
                            "config reload: the child is not in the running tree (deleted, or temporary and ended)"
                        );
                    }
                }
                Err(e) => tracing::error!(supervisor = %path, error = %e, "config reload refused"),
            }
        }
    }
}

/// Reloads (see the module docs): reads the file `config` names, if any,
/// calls `hook` with the new config, and applies the file's policies, each
/// step only if the one before succeeded.
pub(crate) fn reload(
    root: &Supervisor,
    config: Option<&Reloader>,
    hook: Option<(&ReloadHook, Hub)>,
) {
    let read = match config.map(Reloader::read).transpose() {
        Ok(read) => read,
        Err(e) => return refused(&e),
    };
    let none = Config::default();
    let new = read.as_ref().map_or(&none, |(c, _)| c);
    if let Some((hook, hub)) = hook {
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&hub, new)));
        match called {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return hook_refused(e),
            Err(_) => {
                tracing::error!("the reload hook panicked; keeping the current policies");
                return;
            }
        }
    }
    if let (Some(reloader), Some((_, resolved))) = (config, &read) {
        reloader.warn_next_start(resolved);
        reloader.apply(root, resolved);
        tracing::info!(file = %reloader.path.display(), "config reloaded");
    }
}

/// Logs a file that did not load or resolve.
fn refused(e: &ConfigError) {
    tracing::error!(
        error = %e,
        file = %e.file.display(),
        line = e.line,
        key = e.key.as_deref(),
        "config reload failed; keeping the current policies"
    );
}

/// Logs a hook's refusal: a [`ConfigError`] (a typed `[app]` table that
/// did not fit) like the file's own errors, with its file and line.
fn hook_refused(e: BoxError) {
    match e.downcast::<ConfigError>() {
        Ok(e) => refused(&e),
        Err(e) => tracing::error!(
            error = %e,
            "the reload hook refused the new config; keeping the current policies"
        ),
    }
}
