//! [`Hub`]: every mailbox in one place, reachable from every thread.
//!
//! # Lock order
//!
//! `registry` (read or write) and `root` are never held together, and
//! neither is held across a send, a join or any user code (`root` is held
//! while an implicit root supervisor with no children starts). Routing by
//! type takes the registry's read lock only to clone the mailbox's `Arc`.
//! Reading a mailbox's counters under the registry lock (`stats`, and a
//! removal that keeps them for the metrics) takes that mailbox's
//! reader-tally lock after it, never the other way round.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
#[cfg(any(feature = "config", feature = "metrics"))]
use std::sync::Weak;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::data::address::Address;
use crate::data::dead_letter::{DeadLetter, DeadLetterSink};
use crate::data::mailbox::{Capacity, MailboxControl, MailboxCore, MailboxStats, WakeFn};
use crate::data::message::{Endpoint, Routed};
use crate::data::reply::{Reply, RequestError};
use crate::data::send_error::{NoRoute, SendError, SendTimeoutError, TrySendError};
use crate::error::SpawnError;

/// The hub: owns every mailbox, routes messages by type, and runs the
/// servers spawned on it as children of its root supervisor (see
/// [`Hub::spawn`]). Cheap to clone; all clones are the same hub.
///
/// ```
/// use threadbutler::prelude::*;
///
/// pub struct Ping(pub Reply<&'static str>);
/// pub struct Pinger;
/// threadbutler::messages! { pub enum PingerMsg for Pinger { Ping } }
/// impl Server for Pinger {
///     fn handle(&mut self, msg: PingerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
///         let PingerMsg::Ping(Ping(reply)) = msg;
///         reply.send("pong");
///         Ok(())
///     }
/// }
///
/// let hub = Hub::builder("demo").request_timeout(std::time::Duration::from_secs(1)).build();
/// hub.spawn("pinger", || Pinger)?;
/// assert_eq!(hub.request(Ping)?, "pong");
/// let report = hub.shutdown()?;
/// assert!(report.is_clean());
/// # Ok::<(), threadbutler::Error>(())
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

pub(crate) struct HubInner {
    pub(crate) name: Arc<str>,
    pub(crate) config: HubConfig,
    sink: DeadLetterSink,
    registry: RwLock<Registry>,
    /// The application this hub's servers run in.
    pub(crate) root: Mutex<Root>,
}

/// The application a hub belongs to. The hub is the data path and knows
/// nothing of supervision: the application is kept here for the layer above
/// (`spawn.rs`, `butler_builder.rs`), which alone knows its type.
pub(crate) enum Root {
    /// None yet: the first server spawned on the hub starts an implicit
    /// root supervisor.
    Unset,
    /// A `Butler` declared the tree and is starting it.
    Declared,
    /// Running (or ended).
    Running(Arc<dyn Any + Send + Sync>),
}

/// A hub that does not keep its mailboxes alive (held by what the hub
/// itself holds, to break the cycle). For the reload hook and the
/// metrics exporter.
#[cfg(any(feature = "config", feature = "metrics"))]
#[derive(Clone)]
pub(crate) struct WeakHub(Weak<HubInner>);

#[cfg(any(feature = "config", feature = "metrics"))]
impl WeakHub {
    /// The hub, if anything else still holds it.
    pub(crate) fn upgrade(&self) -> Option<Hub> {
        self.0.upgrade().map(|inner| Hub { inner })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct HubConfig {
    pub(crate) capacity: Capacity,
    pub(crate) request_timeout: Duration,
    pub(crate) abandon_after: Duration,
}

#[derive(Default)]
struct Registry {
    by_name: HashMap<Arc<str>, Entry>,
    by_endpoint: HashMap<TypeId, Vec<Arc<str>>>,
    /// The counters of the mailboxes that left, summed by name, for the
    /// metrics exporter ([`HubBuilder::keep_departed`]; `None` otherwise):
    /// a mailbox removed between two readings still reports its last
    /// figures. Written on removal only, never per message.
    #[cfg(feature = "metrics")]
    departed: Option<HashMap<Arc<str>, MailboxStats>>,
}

struct Entry {
    endpoint: TypeId,
    mailbox: Arc<dyn Any + Send + Sync>,
    control: Arc<dyn MailboxControl>,
}

/// Configures a [`Hub`].
///
/// ```
/// use std::time::Duration;
/// use threadbutler::prelude::*;
/// use threadbutler::TrySendError;
/// # pub struct Note(pub u32);
/// # pub struct Main;
/// # threadbutler::messages! { pub enum MainMsg for Main { Note } }
///
/// let hub = Hub::builder("app")
///     .default_capacity(Capacity::Bounded(1))  // for every mailbox that sets none
///     .request_timeout(Duration::from_secs(1)) // for hub.request and Address::request
///     .abandon_after(Duration::from_secs(1))   // for a stop that a server ignores
///     .build();
/// assert_eq!(hub.name(), "app");
/// let mut main = hub.client::<Main>("main")?;
/// hub.try_send(Note(1))?;
/// // One message is this hub's limit: the second is given back.
/// assert!(matches!(hub.try_send(Note(2)), Err(TrySendError::Full(Note(2)))));
/// let MainMsg::Note(Note(n)) = main.recv();
/// assert_eq!(n, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct HubBuilder {
    name: Arc<str>,
    config: HubConfig,
    sink: DeadLetterSink,
    #[cfg(feature = "metrics")]
    keep_departed: bool,
}

impl HubBuilder {
    /// The capacity of mailboxes that don't set their own (default
    /// `Bounded(1024)`).
    pub fn default_capacity(mut self, capacity: Capacity) -> Self {
        self.config.capacity = capacity;
        self
    }

    /// The timeout of [`Hub::request`] and [`Address::request`] (default 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// How long a stop waits, after an `Immediate` request (or a drain's
    /// escalation to one), before it reports the server
    /// abandoned ([`StopReport::abandoned`](crate::StopReport::abandoned)) and moves on (default 5 s).
    pub fn abandon_after(mut self, grace: Duration) -> Self {
        self.config.abandon_after = grace;
        self
    }

    /// Where dead letters go, besides the counters and a `WARN` log line.
    /// The callback runs on the thread that dead-letters (a server, a sender
    /// racing a close, or a stopper): keep it short, for example a send on
    /// an unbounded channel. A panic in it is caught and logged.
    pub fn on_dead_letter(mut self, sink: impl Fn(DeadLetter) + Send + Sync + 'static) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// Keeps the counters of every mailbox removed from the hub, summed by
    /// name, for [`Hub::figures`] (the metrics exporter's reading).
    #[cfg(feature = "metrics")]
    pub(crate) fn keep_departed(mut self) -> Self {
        self.keep_departed = true;
        self
    }

    /// The hub.
    pub fn build(self) -> Hub {
        let registry = Registry {
            #[cfg(feature = "metrics")]
            departed: self.keep_departed.then(HashMap::new),
            ..Registry::default()
        };
        Hub {
            inner: Arc::new(HubInner {
                name: self.name,
                config: self.config,
                sink: self.sink,
                registry: RwLock::new(registry),
                root: Mutex::new(Root::Unset),
            }),
        }
    }
}

impl fmt::Debug for HubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("dead_letter_sink", &self.sink.is_some())
            .finish()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    /// A hub named `"hub"` with the default settings.
    pub fn new() -> Hub {
        Hub::builder("hub").build()
    }

    /// Configures a hub.
    pub fn builder(name: impl Into<String>) -> HubBuilder {
        HubBuilder {
            name: Arc::from(name.into()),
            config: HubConfig {
                capacity: Capacity::default(),
                request_timeout: Duration::from_secs(5),
                abandon_after: Duration::from_secs(5),
            },
            sink: None,
            #[cfg(feature = "metrics")]
            keep_departed: false,
        }
    }

    /// The hub's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub(crate) fn inner(&self) -> &HubInner {
        &self.inner
    }

    /// This hub, without keeping it alive.
    #[cfg(any(feature = "config", feature = "metrics"))]
    pub(crate) fn downgrade(&self) -> WeakHub {
        WeakHub(Arc::downgrade(&self.inner))
    }

    /// Creates and registers a mailbox for endpoint `E` under `name`.
    /// A name whose previous mailbox is finished (its server stopped for
    /// good) may be taken again.
    pub(crate) fn register<E: Endpoint>(
        &self,
        name: &Arc<str>,
        capacity: Option<Capacity>,
        wake: Option<WakeFn>,
    ) -> Result<Arc<MailboxCore<E::Msg>>, SpawnError> {
        let capacity = capacity.unwrap_or(self.inner.config.capacity);
        if let Err(reason) = capacity.check_slots::<E::Msg>() {
            return Err(SpawnError::InvalidCapacity {
                name: name.to_string(),
                reason,
            });
        }
        let core = Arc::new(MailboxCore::<E::Msg>::new(
            Arc::clone(name),
            capacity,
            wake,
            self.inner.sink.clone(),
        ));
        let mut reg = self
            .inner
            .registry
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = reg.by_name.get(name) {
            if !old.control.is_finished() {
                return Err(SpawnError::NameTaken {
                    name: name.to_string(),
                });
            }
            reg.remove(name);
        }
        let endpoint = TypeId::of::<E>();
        reg.by_name.insert(
            Arc::clone(name),
            Entry {
                endpoint,
                mailbox: Arc::clone(&core) as Arc<dyn Any + Send + Sync>,
                control: Arc::clone(&core) as Arc<dyn MailboxControl>,
            },
        );
        reg.by_endpoint
            .entry(endpoint)
            .or_default()
            .push(Arc::clone(name));
        Ok(core)
    }

    /// Removes `name`'s entry only if it is still `mailbox` (a newer mailbox
    /// may have taken the name once this one finished).
    pub(crate) fn unregister_if<M: crate::data::message::Message>(
        &self,
        name: &str,
        mailbox: &Arc<MailboxCore<M>>,
    ) {
        let mut reg = self
            .inner
            .registry
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let same = reg.by_name.get(name).is_some_and(|e| {
            let ours: &(dyn Any + Send + Sync) = &**mailbox;
            std::ptr::addr_eq(
                Arc::as_ptr(&e.mailbox),
                ours as *const (dyn Any + Send + Sync),
            )
        });
        if same {
            reg.remove(name);
        }
    }

    /// True if a mailbox named `name` is registered and not finished.
    pub(crate) fn is_live(&self, name: &str) -> bool {
        self.inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_name
            .get(name)
            .is_some_and(|e| !e.control.is_finished())
    }

    /// The address of the mailbox named `name`, if it exists and belongs to
    /// endpoint `E`.
    pub fn address<E: Endpoint>(&self, name: &str) -> Option<Address<E>> {
        let reg = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = reg.by_name.get(name)?;
        if entry.endpoint != TypeId::of::<E>() {
            return None;
        }
        Some(Address::new(
            downcast::<E>(&entry.mailbox),
            self.inner.config.request_timeout,
        ))
    }

    /// The address of the one mailbox of endpoint `E`.
    ///
    /// # Errors
    ///
    /// [`NoRoute`] when there is none, or several.
    pub fn route<E: Endpoint>(&self) -> Result<Address<E>, NoRoute> {
        let reg = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let names = reg
            .by_endpoint
            .get(&TypeId::of::<E>())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        match names {
            [name] => {
                let entry = &reg.by_name[name];
                Ok(Address::new(
                    downcast::<E>(&entry.mailbox),
                    self.inner.config.request_timeout,
                ))
            }
            [] => Err(NoRoute::NoEndpoint {
                endpoint: type_name::<E>(),
            }),
            several => Err(NoRoute::Ambiguous {
                endpoint: type_name::<E>(),
                names: several.to_vec(),
            }),
        }
    }

    /// Sends `msg` to the one mailbox that accepts its type, waiting while it
    /// is full. For the hot path, keep an [`Address`] instead: this looks the
    /// mailbox up on every call.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] or [`SendError::NoRoute`], with the message.
    pub fn send<M: Routed>(&self, msg: M) -> Result<(), SendError<M>> {
        match self.route::<M::To>() {
            Ok(a) => a.send(msg),
            Err(why) => Err(SendError::NoRoute(msg, why)),
        }
    }

    /// Sends `msg` if there is room now; see [`Address::try_send`].
    ///
    /// # Errors
    ///
    /// [`TrySendError`], with the message.
    pub fn try_send<M: Routed>(&self, msg: M) -> Result<(), TrySendError<M>> {
        match self.route::<M::To>() {
            Ok(a) => a.try_send(msg),
            Err(why) => Err(TrySendError::NoRoute(msg, why)),
        }
    }

    /// Sends `msg`, waiting at most `timeout` for room; see
    /// [`Address::send_timeout`].
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError`], with the message.
    pub fn send_timeout<M: Routed>(
        &self,
        msg: M,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<M>> {
        match self.route::<M::To>() {
            Ok(a) => a.send_timeout(msg, timeout),
            Err(why) => Err(SendTimeoutError::NoRoute(msg, why)),
        }
    }

    /// Sends the request `make(reply)` to the mailbox that accepts its type
    /// and waits for the answer, for at most the hub's request timeout.
    ///
    /// # Errors
    ///
    /// See [`RequestError`].
    pub fn request<M: Routed, T: 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> M,
    ) -> Result<T, RequestError<M>> {
        self.request_timeout(make, self.inner.config.request_timeout)
    }

    /// Like [`request`](Self::request), with its own timeout.
    ///
    /// # Errors
    ///
    /// See [`RequestError`].
    pub fn request_timeout<M: Routed, T: 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> M,
        timeout: Duration,
    ) -> Result<T, RequestError<M>> {
        match self.route::<M::To>() {
            Ok(a) => a.request_timeout(make, timeout),
            Err(why) => {
                // Build the message anyway, so that the caller gets it back.
                Err(RequestError::NoRoute(make(Reply::detached()), why))
            }
        }
    }

    /// The mailbox named `name`, seen without its type.
    pub(crate) fn control(&self, name: &str) -> Option<Arc<dyn MailboxControl>> {
        let reg = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        reg.by_name.get(name).map(|e| Arc::clone(&e.control))
    }

    /// The counters of the mailbox named `name`.
    pub fn stats(&self, name: &str) -> Option<MailboxStats> {
        let reg = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        reg.by_name.get(name).map(|e| e.control.stats())
    }

    /// The names of all registered mailboxes, sorted.
    pub fn names(&self) -> Vec<Arc<str>> {
        let reg = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<_> = reg.by_name.keys().cloned().collect();
        v.sort();
        v
    }

    /// Every mailbox name's counters, for the metrics exporter: the
    /// registered mailbox's plus those of the removed mailboxes of that
    /// name (kept since [`HubBuilder::keep_departed`]), and a name whose
    /// mailboxes all left with their last counters (`queued` 0: a removed
    /// mailbox has no queue; what it held is dead-lettered when it
    /// finishes). Read under one lock, so a removal is counted once.
    #[cfg(feature = "metrics")]
    pub(crate) fn figures(&self) -> Vec<(Arc<str>, MailboxStats)> {
        let reg = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let departed = reg.departed.as_ref();
        let mut out: Vec<(Arc<str>, MailboxStats)> = reg
            .by_name
            .iter()
            .map(|(name, e)| {
                let gone = departed.and_then(|d| d.get(name)).copied();
                (Arc::clone(name), plus(e.control.stats(), gone))
            })
            .collect();
        out.extend(
            departed
                .into_iter()
                .flatten()
                .filter(|(name, _)| !reg.by_name.contains_key(*name))
                .map(|(name, s)| (Arc::clone(name), *s)),
        );
        out
    }
}

/// `live` with the counters of the departed mailboxes of its name added.
#[cfg(feature = "metrics")]
fn plus(live: MailboxStats, departed: Option<MailboxStats>) -> MailboxStats {
    let Some(d) = departed else { return live };
    MailboxStats {
        accepted: live.accepted + d.accepted,
        handled: live.handled + d.handled,
        dead_lettered: live.dead_lettered + d.dead_lettered,
        queued: live.queued + d.queued,
    }
}

impl Registry {
    fn remove(&mut self, name: &str) {
        let Some((key, entry)) = self.by_name.remove_entry(name) else {
            return;
        };
        self.depart(key, &entry);
        if let Some(names) = self.by_endpoint.get_mut(&entry.endpoint) {
            names.retain(|n| &**n != name);
            if names.is_empty() {
                self.by_endpoint.remove(&entry.endpoint);
            }
        }
    }

    /// Adds the last counters of `entry`, which leaves the hub, to those
    /// kept for `name`, if the hub keeps them (see `departed`).
    #[cfg(feature = "metrics")]
    fn depart(&mut self, name: Arc<str>, entry: &Entry) {
        if let Some(departed) = &mut self.departed {
            let last = MailboxStats {
                queued: 0,
                ..entry.control.stats()
            };
            let sum = departed.entry(name).or_default();
            *sum = plus(last, Some(*sum));
        }
    }

    #[cfg(not(feature = "metrics"))]
    fn depart(&mut self, _: Arc<str>, _: &Entry) {}
}

fn downcast<E: Endpoint>(mailbox: &Arc<dyn Any + Send + Sync>) -> Arc<MailboxCore<E::Msg>> {
    Arc::clone(mailbox)
        .downcast::<MailboxCore<E::Msg>>()
        .unwrap_or_else(|_| {
            unreachable!(
                "a mailbox is registered under the TypeId of the endpoint whose Msg it carries"
            )
        })
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("name", &self.inner.name)
            .field("mailboxes", &self.names())
            .finish()
    }
}
