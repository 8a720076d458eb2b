//! A tree as declared on the builder, before anything runs: the pending
//! children (servers, pools, nested supervisors, threads), the config
//! file's policies laid over them, and the specs they become at `start`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use threadbutler_supervisor::config::{CapacityConfig, Config};
use threadbutler_supervisor::{Child, ChildSpec, Intensity, Strategy, SupervisorSpec};

use crate::error::{Error, SpawnError};
use crate::hub::Hub;
use crate::instance::Factory;
use crate::mailbox::Capacity;
#[cfg(feature = "async")]
use crate::mailbox::WakeFn;
use crate::pool::PoolPolicy;
use crate::server::Server;
use crate::server_child::ServerChild;

use crate::child_options::ChildOptions;

pub(crate) type MakeServer =
    Box<dyn FnOnce(&Hub, &ChildOptions) -> Result<Arc<dyn Child>, SpawnError>>;

/// A pool's maker: the hub, the per-worker options, the size, and the
/// pool supervisor's policies.
pub(crate) type MakePool =
    Box<dyn FnOnce(&Hub, &ChildOptions, usize, PoolPolicy) -> Result<Arc<dyn Child>, SpawnError>>;

pub(crate) enum Pending {
    Server {
        name: String,
        opts: ChildOptions,
        make: MakeServer,
    },
    Pool {
        name: String,
        size: usize,
        opts: ChildOptions,
        make: MakePool,
    },
    Supervisor {
        tree: Tree,
        opts: ChildOptions,
    },
    Thread {
        name: String,
        opts: ChildOptions,
        child: Arc<dyn Child>,
    },
}

impl Pending {
    pub(crate) fn opts(&mut self) -> &mut ChildOptions {
        match self {
            Pending::Server { opts, .. }
            | Pending::Pool { opts, .. }
            | Pending::Supervisor { opts, .. }
            | Pending::Thread { opts, .. } => opts,
        }
    }
}

impl LoadedConfig {
    pub(crate) fn error(&self, name: &str, key: &str, message: &str) -> Error {
        let line = self
            .config
            .server_line(name, &self.text)
            .map(|l| format!(":{l}"))
            .unwrap_or_default();
        Error::Config {
            detail: format!(
                "{}{line}: servers.{name}{key}: {message}",
                self.path.display()
            ),
        }
    }

    /// Overrides the declared policies with the file's; every server the
    /// file names must be declared.
    pub(crate) fn apply(&self, root: &mut Tree) -> Result<(), Error> {
        let sup = &self.config.supervisor;
        if let Some(s) = sup.strategy {
            root.strategy = s.into();
        }
        if let Some(i) = &sup.intensity {
            root.intensity = (*i.get_ref()).into();
        }
        if let Some(g) = &sup.abandon_after {
            root.abandon_after = Some(g.get_ref().0);
        }
        let mut used = std::collections::HashSet::new();
        self.apply_children(root, &mut used)?;
        for name in self.config.servers.keys() {
            if !used.contains(name.as_str()) {
                return Err(self.error(
                    name,
                    "",
                    "no server, supervisor or thread of that name is declared",
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn apply_children<'a>(
        &'a self,
        tree: &mut Tree,
        used: &mut std::collections::HashSet<&'a str>,
    ) -> Result<(), Error> {
        for child in &mut tree.children {
            let name = match child {
                Pending::Server { name, .. }
                | Pending::Pool { name, .. }
                | Pending::Thread { name, .. } => name.clone(),
                Pending::Supervisor { tree, .. } => tree.name.clone(),
            };
            if let Pending::Supervisor { tree, .. } = child {
                self.apply_children(tree, used)?;
            }
            let Some((key, server)) = self.config.servers.get_key_value(&name) else {
                continue;
            };
            used.insert(key.as_str());
            let c = server.get_ref();
            if let Some(n) = &c.pool_size {
                match child {
                    Pending::Pool { size, .. } => *size = *n.get_ref(),
                    _ => return Err(self.error(&name, ".pool_size", "only pools have a size")),
                }
            }
            if let Some(i) = &c.intensity {
                let intensity: Intensity = (*i.get_ref()).into();
                match child {
                    Pending::Pool { opts, .. } => opts.intensity = Some(intensity),
                    Pending::Supervisor { tree, .. } => tree.intensity = intensity,
                    _ => {
                        return Err(self.error(
                            &name,
                            ".intensity",
                            "only pools and supervisors have a restart intensity",
                        ));
                    }
                }
            }
            if c.capacity.is_some()
                && !matches!(child, Pending::Server { .. } | Pending::Pool { .. })
            {
                return Err(self.error(&name, ".capacity", "only servers have a mailbox"));
            }
            let o = child.opts();
            if let Some(r) = c.restart {
                o.restart = Some(r.into());
            }
            if let Some(sd) = c.shutdown {
                o.shutdown = Some(sd.into());
            }
            if let Some(h) = &c.heartbeat {
                o.heartbeat = Some(h.get_ref().0);
            }
            if let Some(b) = &c.backoff {
                o.backoff = Some((*b.get_ref()).into());
            }
            if let Some(cap) = &c.capacity {
                o.capacity = Some(match *cap.get_ref() {
                    CapacityConfig::Bounded(n) => Capacity::Bounded(n),
                    CapacityConfig::Unbounded => Capacity::Unbounded,
                });
            }
        }
        Ok(())
    }
}

/// A supervisor's declaration: its policies and children.
pub(crate) struct Tree {
    pub(crate) name: String,
    pub(crate) strategy: Strategy,
    pub(crate) intensity: Intensity,
    pub(crate) abandon_after: Option<Duration>,
    pub(crate) children: Vec<Pending>,
    pub(crate) errors: Vec<String>,
}

impl Tree {
    pub(crate) fn new(name: &str) -> Self {
        Tree {
            name: name.to_owned(),
            strategy: Strategy::default(),
            intensity: Intensity::default(),
            abandon_after: None,
            children: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub(crate) fn push_server(&mut self, name: &str, make: MakeServer) {
        self.children.push(Pending::Server {
            name: name.to_owned(),
            opts: ChildOptions::default(),
            make,
        });
    }

    pub(crate) fn push_pool(&mut self, name: &str, size: usize, make: MakePool) {
        if size == 0 {
            self.errors
                .push(format!("pool {name}: the size must be at least 1"));
        }
        self.children.push(Pending::Pool {
            name: name.to_owned(),
            size,
            opts: ChildOptions::default(),
            make,
        });
    }

    pub(crate) fn last(&mut self, what: &str) -> Option<&mut ChildOptions> {
        if self.children.is_empty() {
            self.errors.push(format!(
                "supervisor {}: {what}() must follow a server, supervisor or thread",
                self.name
            ));
        }
        self.children.last_mut().map(Pending::opts)
    }

    pub(crate) fn errors(&self, out: &mut Vec<String>) {
        out.extend(self.errors.iter().cloned());
        for c in &self.children {
            if let Pending::Supervisor { tree, .. } = c {
                tree.errors(out);
            }
        }
    }

    pub(crate) fn build(self, hub: &Hub) -> Result<SupervisorSpec, SpawnError> {
        let mut spec = SupervisorSpec::new(self.name)
            .strategy(self.strategy)
            .intensity(self.intensity);
        if let Some(g) = self.abandon_after {
            spec = spec.abandon_after(g);
        }
        for c in self.children {
            let child = match c {
                Pending::Server { name, opts, make } => {
                    let child = make(hub, &opts)?;
                    opts.apply(ChildSpec::from_arc(name, child))
                }
                Pending::Supervisor { tree, opts } => {
                    opts.apply(ChildSpec::supervisor(tree.build(hub)?))
                }
                Pending::Pool {
                    name,
                    size,
                    opts,
                    make,
                } => {
                    // The per-worker options went to the workers; the pool
                    // itself drains as long as its workers may need.
                    let policy = PoolPolicy {
                        intensity: opts.intensity.unwrap_or_default(),
                        abandon_after: self.abandon_after,
                    };
                    let child = make(hub, &opts, size, policy)?;
                    let pool = ChildSpec::from_arc(name, child);
                    pool.shutdown(crate::pool::pool_shutdown(
                        size,
                        opts.shutdown.unwrap_or_default(),
                        self.abandon_after,
                    ))
                }
                Pending::Thread { name, opts, child } => {
                    opts.apply(ChildSpec::from_arc(name, child))
                }
            };
            spec = spec.child(child);
        }
        Ok(spec)
    }
}

pub(crate) fn pool_maker<S: Server>(name: &str, factory: Factory<S>) -> MakePool {
    let name: Arc<str> = Arc::from(name);
    Box::new(
        move |hub: &Hub, opts: &ChildOptions, size: usize, policy: PoolPolicy| {
            let core = hub.register::<S>(&name, opts.capacity, opts.wake.clone())?;
            let worker_opts = opts.clone();
            let pool = crate::pool::PoolChild::new::<S>(
                &name,
                size,
                hub,
                core,
                factory,
                policy,
                move |spec| worker_opts.apply(spec),
            );
            Ok(Arc::new(pool) as Arc<dyn Child>)
        },
    )
}

#[cfg(feature = "async")]
pub(crate) fn async_server_maker<S>(name: &str, factory: Factory<S>) -> MakeServer
where
    S: crate::async_server::AsyncServer,
{
    let name: Arc<str> = Arc::from(name);
    Box::new(move |hub: &Hub, opts: &ChildOptions| {
        let notify = Arc::new(tokio::sync::Notify::new());
        let n = Arc::clone(&notify);
        let user = opts.wake.clone();
        // Each accepted send wakes the server's runtime (and the user's
        // callback, if any).
        let wake: WakeFn = Arc::new(move || {
            n.notify_one();
            if let Some(u) = &user {
                u();
            }
        });
        let core = hub.register::<S>(&name, opts.capacity, Some(wake))?;
        Ok(Arc::new(crate::async_server::AsyncServerChild::<S> {
            name: Arc::clone(&name),
            hub: hub.clone(),
            core,
            factory,
            notify,
        }) as Arc<dyn Child>)
    })
}

pub(crate) fn server_maker<S: Server>(name: &str, factory: Factory<S>) -> MakeServer {
    let name: Arc<str> = Arc::from(name);
    Box::new(move |hub: &Hub, opts: &ChildOptions| {
        let core = hub.register::<S>(&name, opts.capacity, opts.wake.clone())?;
        Ok(Arc::new(ServerChild::<S>::new(
            Arc::clone(&name),
            hub.clone(),
            core,
            factory,
        )) as Arc<dyn Child>)
    })
}

/// A config file as loaded: its policies, its path and its text (for line
/// numbers in errors found when the policies are applied).
pub(crate) struct LoadedConfig {
    pub(crate) config: Config,
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}
