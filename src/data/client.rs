//! [`Client`]: a mailbox read by a thread that is not a server, such as
//! the main thread or a GUI loop (ThreadButler's main thread as a client).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::data::address::Address;
use crate::data::counters::HandledCounter;
use crate::data::dead_letter::DeadReason;
use crate::data::hub::Hub;
use crate::data::mailbox::{Capacity, MailboxCore, WakeFn};
use crate::data::message::Endpoint;
use crate::error::SpawnError;

/// Options for a client's mailbox, for [`Hub::client_with`].
///
/// ```
/// use threadbutler::prelude::*;
/// use threadbutler::ClientOptions;
/// # pub struct Progress(pub u32);
/// # pub struct Main;
/// # threadbutler::messages! { pub enum MainMsg for Main { Progress } }
///
/// // Stands in for an event loop's own wake-up (a GUI toolkit's, say).
/// let (wake_tx, wake_rx) = crossbeam_channel::unbounded();
/// let options = ClientOptions::new()
///     .capacity(Capacity::Unbounded) // never slows the servers down
///     .on_wake(move || { let _ = wake_tx.send(()); });
/// let hub = Hub::new();
/// let mut main = hub.client_with::<Main>("main", options)?;
/// hub.send(Progress(50))?; // from any thread, usually a server
/// wake_rx.recv()?; // the loop wakes up, and reads without blocking
/// let Some(MainMsg::Progress(Progress(p))) = main.try_recv() else { panic!("woken for nothing") };
/// assert_eq!(p, 50);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
#[must_use]
pub struct ClientOptions {
    capacity: Option<Capacity>,
    wake: Option<WakeFn>,
}

impl ClientOptions {
    /// Default options: the hub's capacity, no wake callback.
    pub fn new() -> Self {
        Self::default()
    }

    /// The mailbox's capacity. A client that must never slow its senders
    /// down takes `Capacity::Unbounded`.
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Runs `wake` after each accepted send, on the sender's thread, so an
    /// event loop that sleeps on something else (a GUI toolkit's loop) can be
    /// woken to read the mailbox, without polling.
    pub fn on_wake(mut self, wake: impl Fn() + Send + Sync + 'static) -> Self {
        self.wake = Some(Arc::new(wake));
        self
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("capacity", &self.capacity)
            .field("wake", &self.wake.is_some())
            .finish()
    }
}

/// A mailbox owned by a non-server thread. Servers send to it like to any
/// endpoint, by type through the hub or through its [`Address`].
///
/// Dropping the client unregisters its mailbox; what is still queued is
/// dead-lettered.
///
/// ```
/// use threadbutler::prelude::*;
///
/// pub struct Progress(pub u32);
/// pub struct Main;
/// threadbutler::messages! { pub enum MainMsg for Main { Progress } }
///
/// let hub = Hub::new();
/// let mut main = hub.client::<Main>("main")?;
/// hub.send(Progress(50))?;          // from any thread, usually a server
/// let MainMsg::Progress(Progress(p)) = main.recv();
/// assert_eq!(p, 50);
/// # Ok::<(), threadbutler::Error>(())
/// ```
pub struct Client<E: Endpoint> {
    hub: Hub,
    core: Arc<MailboxCore<E::Msg>>,
    rx: Receiver<E::Msg>,
    counter: Arc<HandledCounter>,
    handled: u64,
}

impl<E: Endpoint> Client<E> {
    pub(crate) fn register(
        hub: &Hub,
        name: &str,
        options: ClientOptions,
    ) -> Result<Self, SpawnError> {
        let name: Arc<str> = Arc::from(name);
        let core = hub.register::<E>(&name, options.capacity, options.wake)?;
        tracing::debug!(client = %name, "client mailbox registered");
        Ok(Client {
            hub: hub.clone(),
            rx: core.receiver(),
            counter: core.register_reader(),
            core,
            handled: 0,
        })
    }

    #[inline]
    fn took(&mut self, msg: E::Msg) -> E::Msg {
        self.handled += 1;
        self.counter.publish(self.handled);
        msg
    }

    /// Waits for the next message.
    pub fn recv(&mut self) -> E::Msg {
        match self.rx.recv() {
            Ok(m) => self.took(m),
            Err(_) => {
                unreachable!("the mailbox core holds a sender for as long as the client holds it")
            }
        }
    }

    /// The next message if one is queued.
    pub fn try_recv(&mut self) -> Option<E::Msg> {
        let m = self.rx.try_recv().ok()?;
        Some(self.took(m))
    }

    /// Waits at most `timeout` for the next message.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<E::Msg> {
        let m = self.rx.recv_timeout(timeout).ok()?;
        Some(self.took(m))
    }

    /// The client's address, to hand to servers.
    pub fn address(&self) -> Address<E> {
        Address::new(
            Arc::clone(&self.core),
            self.hub.inner().config.request_timeout,
        )
    }

    /// The receiver itself, to wait on it in a `crossbeam_channel::select!`
    /// alongside other channels. Messages taken through it directly are not
    /// counted as handled; prefer the methods above when counters matter.
    pub fn receiver(&self) -> &Receiver<E::Msg> {
        &self.rx
    }
}

impl<E: Endpoint> Drop for Client<E> {
    fn drop(&mut self) {
        self.core.retire_reader(&self.counter);
        self.core.finish(DeadReason::Dropped);
        self.hub.unregister_if(self.core.name(), &self.core);
        tracing::debug!(client = %self.core.name(), "client mailbox dropped");
    }
}

impl<E: Endpoint> fmt::Debug for Client<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("name", self.core.name())
            .field("handled", &self.handled)
            .finish()
    }
}

impl Hub {
    /// Registers a mailbox for endpoint `E` read by the calling thread.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NameTaken`] or [`SpawnError::InvalidCapacity`].
    pub fn client<E: Endpoint>(&self, name: &str) -> Result<Client<E>, SpawnError> {
        Client::register(self, name, ClientOptions::new())
    }

    /// Like [`client`](Hub::client), with options (capacity, wake callback).
    ///
    /// # Errors
    ///
    /// [`SpawnError::NameTaken`] or [`SpawnError::InvalidCapacity`].
    pub fn client_with<E: Endpoint>(
        &self,
        name: &str,
        options: ClientOptions,
    ) -> Result<Client<E>, SpawnError> {
        Client::register(self, name, options)
    }
}
