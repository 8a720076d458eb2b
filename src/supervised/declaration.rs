//! A tree as declared on the builder, before anything runs: the pending
//! children (servers, pools, nested supervisors, threads) with their
//! policies, the config file's laid over them by path, the index a reload
//! resolves against, and the specs they become at `start`.

use std::sync::Arc;

use threadbutler_supervisor::{Child, ChildSpec, Policy, SupervisorSpec};

use crate::data::hub::Hub;
use crate::data::mailbox::Capacity;
#[cfg(feature = "async")]
use crate::data::mailbox::WakeFn;
#[cfg(feature = "config")]
use crate::error::Error;
use crate::error::SpawnError;
use crate::servers::factory::Factory;
use crate::servers::server::Server;
use crate::servers::server_child::ServerChild;

#[cfg(feature = "config")]
use crate::ops::config::Config;
#[cfg(feature = "config")]
use crate::ops::reload::Reloader;
#[cfg(feature = "config")]
use crate::ops::resolution::{DeclaredPath, DeclaredPaths, Kind, Setting, resolve};
use crate::servers::pool::check_pool_size;
use crate::supervised::child_options::ChildOptions;

pub(crate) type MakeServer =
    Box<dyn FnOnce(&Hub, &ChildOptions) -> Result<Arc<dyn Child>, SpawnError>>;

/// A pool's maker: the hub, the per-worker options, the size, and the
/// pool supervisor's policies.
pub(crate) type MakePool =
    Box<dyn FnOnce(&Hub, &ChildOptions, usize, &Policy) -> Result<Arc<dyn Child>, SpawnError>>;

pub(crate) enum ChildDeclaration {
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
    /// A nested supervisor: its tree's policy is also its policy as a
    /// child of its parent.
    Supervisor { tree: SupervisorDeclaration },
    Thread {
        name: String,
        opts: ChildOptions,
        child: Arc<dyn Child>,
    },
}

impl ChildDeclaration {
    fn name(&self) -> &str {
        match self {
            ChildDeclaration::Server { name, .. }
            | ChildDeclaration::Pool { name, .. }
            | ChildDeclaration::Thread { name, .. } => name,
            ChildDeclaration::Supervisor { tree } => &tree.name,
        }
    }

    /// Its policy, as the builder's option methods and the file set it.
    pub(crate) fn policy(&mut self) -> &mut Policy {
        match self {
            ChildDeclaration::Server { opts, .. }
            | ChildDeclaration::Pool { opts, .. }
            | ChildDeclaration::Thread { opts, .. } => &mut opts.policy,
            ChildDeclaration::Supervisor { tree } => &mut tree.policy,
        }
    }

    /// Its options, if it has a mailbox (a server or a pool).
    pub(crate) fn mailbox(&mut self) -> Option<&mut ChildOptions> {
        match self {
            ChildDeclaration::Server { opts, .. } | ChildDeclaration::Pool { opts, .. } => {
                Some(opts)
            }
            ChildDeclaration::Supervisor { .. } | ChildDeclaration::Thread { .. } => None,
        }
    }

    #[cfg(feature = "config")]
    /// Lays what a config file sets on it over what the code declared.
    fn configure(&mut self, setting: &Setting) {
        self.policy().merge(&setting.policy);
        if let Some(c) = setting.capacity
            && let Some(o) = self.mailbox()
        {
            o.capacity = Some(c);
        }
        if let (Some(n), ChildDeclaration::Pool { size, .. }) = (setting.pool_size, self) {
            *size = n;
        }
    }
}

/// A supervisor's declaration: its policy and children.
pub(crate) struct SupervisorDeclaration {
    pub(crate) name: String,
    /// Its own policies (strategy, intensity, abandon grace) and, for a
    /// nested supervisor, its policies as a child.
    pub(crate) policy: Policy,
    pub(crate) children: Vec<ChildDeclaration>,
    pub(crate) errors: Vec<String>,
}

impl SupervisorDeclaration {
    pub(crate) fn new(name: &str) -> Self {
        SupervisorDeclaration {
            name: name.to_owned(),
            policy: Policy::default(),
            children: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub(crate) fn push_server(&mut self, name: &str, make: MakeServer) {
        self.children.push(ChildDeclaration::Server {
            name: name.to_owned(),
            opts: ChildOptions::default(),
            make,
        });
    }

    pub(crate) fn push_pool(&mut self, name: &str, size: usize, make: MakePool) {
        if let Err(e) = check_pool_size(size) {
            self.errors.push(format!("pool {name}: the size {e}"));
        }
        self.children.push(ChildDeclaration::Pool {
            name: name.to_owned(),
            size,
            opts: ChildOptions::default(),
            make,
        });
    }

    /// The last declared child, for an option method named `what`; a
    /// builder error if there is none.
    pub(crate) fn last(&mut self, what: &str) -> Option<&mut ChildDeclaration> {
        if self.children.is_empty() {
            self.errors.push(format!(
                "supervisor {}: {what}() must follow a server, supervisor or thread",
                self.name
            ));
        }
        self.children.last_mut()
    }

    /// The last declared child's mailbox options, for an option method
    /// named `what`; a builder error unless it is a server or a pool.
    pub(crate) fn last_mailbox(&mut self, what: &str) -> Option<&mut ChildOptions> {
        let name = self.name.clone();
        let has_one = self.last(what).map(|c| c.mailbox().is_some());
        if has_one == Some(false) {
            self.errors.push(format!(
                "supervisor {name}: {what}() applies to servers and pools only"
            ));
        }
        self.children.last_mut().and_then(ChildDeclaration::mailbox)
    }

    /// Checks a capacity given to the option method `what` (on the last
    /// declared child, or the whole tree's default): a builder error if it
    /// is out of bounds.
    pub(crate) fn check_capacity(&mut self, what: &str, capacity: Capacity) {
        if let Err(e) = capacity.check() {
            let child = match self.children.last() {
                Some(c) if what == "capacity" => format!("{}: ", c.name()),
                _ => String::new(),
            };
            self.errors
                .push(format!("supervisor {}: {child}{what}(): {e}", self.name));
        }
    }

    pub(crate) fn errors(&self, out: &mut Vec<String>) {
        out.extend(self.errors.iter().cloned());
        for c in &self.children {
            if let ChildDeclaration::Supervisor { tree } = c {
                tree.errors(out);
            }
        }
    }

    #[cfg(feature = "config")]
    /// The index of what is declared: every child's path and kind.
    pub(crate) fn declared(&self) -> DeclaredPaths {
        let mut index = DeclaredPaths {
            root: self.name.clone(),
            children: Vec::new(),
        };
        self.index("", &mut index.children);
        index
    }

    #[cfg(feature = "config")]
    fn index(&self, prefix: &str, out: &mut Vec<DeclaredPath>) {
        for c in &self.children {
            let path = match prefix {
                "" => c.name().to_owned(),
                p => format!("{p}/{}", c.name()),
            };
            let (kind, capacity) = match c {
                ChildDeclaration::Server { opts, .. } => (Kind::Server, opts.capacity),
                ChildDeclaration::Pool { size, opts, .. } => (
                    Kind::Pool {
                        size: *size,
                        grace: opts.policy.abandon_after.or(self.policy.abandon_after),
                    },
                    opts.capacity,
                ),
                ChildDeclaration::Supervisor { .. } => (Kind::Supervisor, None),
                ChildDeclaration::Thread { .. } => (Kind::Thread, None),
            };
            out.push(DeclaredPath {
                path: path.clone(),
                kind,
                capacity,
            });
            if let ChildDeclaration::Supervisor { tree } = c {
                tree.index(&path, out);
            }
        }
    }

    /// The declared child at `path` (below this supervisor).
    #[cfg(feature = "config")]
    fn child_mut(&mut self, path: &str) -> Option<&mut ChildDeclaration> {
        let (first, rest) = match path.split_once('/') {
            Some((f, r)) => (f, Some(r)),
            None => (path, None),
        };
        let child = self.children.iter_mut().find(|c| c.name() == first)?;
        match (rest, child) {
            (None, child) => Some(child),
            (Some(rest), ChildDeclaration::Supervisor { tree }) => tree.child_mut(rest),
            (Some(_), _) => None,
        }
    }

    #[cfg(feature = "config")]
    /// Lays a config file over the declaration: the file wins, key by key.
    /// Returns what a reload needs: the file and the index of the tree as
    /// it will start.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with the file, the line and the name when a table
    /// names no declared child, several, or a key that does not apply.
    pub(crate) fn configure(&mut self, config: &Config) -> Result<Reloader, Error> {
        let resolved = resolve(config, &self.declared()).map_err(|e| Error::Config {
            detail: e.to_string(),
        })?;
        self.policy.merge(&resolved.root);
        for setting in &resolved.children {
            if let Some(child) = self.child_mut(&setting.path) {
                child.configure(setting);
            }
        }
        // Absolute: a program that changes its working directory later
        // still reloads the file it started with.
        let file = config
            .absolute_file()
            .unwrap_or(std::path::Path::new(""))
            .to_owned();
        Ok(Reloader::new(file, self.declared()))
    }

    pub(crate) fn build(self, hub: &Hub) -> Result<SupervisorSpec, SpawnError> {
        let grace = self.policy.abandon_after;
        let mut spec = SupervisorSpec::new(self.name).with_policy(&self.policy);
        for c in self.children {
            let child = match c {
                ChildDeclaration::Server { name, opts, make } => {
                    let child = make(hub, &opts)?;
                    opts.apply(ChildSpec::from_arc(name, child))
                }
                ChildDeclaration::Supervisor { tree } => {
                    let policy = tree.policy;
                    ChildSpec::supervisor(tree.build(hub)?).with_policy(&policy)
                }
                ChildDeclaration::Pool {
                    name,
                    size,
                    opts,
                    make,
                } => {
                    // The per-worker options went to the workers; the pool
                    // itself drains as long as its workers may need.
                    let grace = opts.policy.abandon_after.or(grace);
                    // The pool's own supervisor: its intensity and grace
                    // (its strategy is always OneForOne).
                    let mut own = Policy::default();
                    own.intensity = opts.policy.intensity;
                    own.abandon_after = grace;
                    let child = make(hub, &opts, size, &own)?;
                    let pool = ChildSpec::from_arc(name, child);
                    pool.shutdown(crate::servers::pool::pool_shutdown(
                        size,
                        opts.policy.shutdown.unwrap_or_default(),
                        grace,
                    ))
                }
                ChildDeclaration::Thread { name, opts, child } => {
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
        move |hub: &Hub, opts: &ChildOptions, size: usize, policy: &Policy| {
            let core = hub.register::<S>(&name, opts.capacity, opts.wake.clone())?;
            let worker_opts = opts.clone();
            let pool = crate::servers::pool::PoolChild::new::<S>(
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
    S: crate::servers::async_server::AsyncServer,
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
        Ok(
            Arc::new(crate::servers::async_server::AsyncServerChild::<S> {
                name: Arc::clone(&name),
                hub: hub.clone(),
                core,
                factory,
                notify,
            }) as Arc<dyn Child>,
        )
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
