//! [`CtxBase`]: what every server context holds, sync or async, and the
//! accessors both offer, written once.
//!
//! # Anatomy
//!
//! A [`Ctx`](crate::Ctx) and an
//! [`AsyncCtx`](crate::async_server::AsyncCtx) each hold one `CtxBase`:
//! who the life is (name, id), the hub, its mailbox, its [`Reader`] (which
//! holds the stop signal it obeys), and whether it stopped itself. The life runner
//! (`life.rs`) reads the same base for both kinds of server.
//! [`ctx_base_accessors!`] writes the public accessors common to both
//! contexts (`name`, `id`, `hub`, `address`, `stop`, `should_stop`) into each
//! one's own `impl` block, so they stay inherent methods with one
//! implementation and one set of docs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use threadbutler_supervisor::heartbeat::HeartbeatWriter;
use threadbutler_supervisor::{StopMode, StopSignal};

use crate::data::address::Address;
use crate::data::hub::Hub;
use crate::data::mailbox::MailboxCore;
use crate::data::message::Endpoint;
use crate::servers::reader::Reader;

/// What every server context holds. See the module docs.
pub(crate) struct CtxBase<E: Endpoint> {
    pub(crate) name: Arc<str>,
    pub(crate) id: u64,
    pub(crate) hub: Hub,
    pub(crate) core: Arc<MailboxCore<E::Msg>>,
    pub(crate) reader: Reader<E::Msg>,
    request_timeout: Duration,
    stopped_itself: bool,
}

impl<E: Endpoint> CtxBase<E> {
    /// The base of one life of the server `name` reading `core`; its
    /// address's requests wait `request_timeout`.
    pub(crate) fn new(
        name: Arc<str>,
        id: u64,
        hub: Hub,
        core: Arc<MailboxCore<E::Msg>>,
        stop: Arc<StopSignal>,
        heartbeat: HeartbeatWriter,
        request_timeout: Duration,
    ) -> Self {
        let reader = Reader::new(&core, stop, heartbeat);
        CtxBase {
            name,
            id,
            hub,
            core,
            reader,
            request_timeout,
            stopped_itself: false,
        }
    }

    /// The life's own address.
    pub(crate) fn address(&self) -> Address<E> {
        Address::new(Arc::clone(&self.core), self.request_timeout)
    }

    /// Asks this life to stop after the current handler, as a normal exit.
    pub(crate) fn stop_itself(&mut self) {
        self.stopped_itself = true;
        self.stop_signal().request(StopMode::Immediate);
    }

    /// True if the life asked itself to stop ([`stop_itself`](Self::stop_itself)).
    pub(crate) fn stopped_itself(&self) -> bool {
        self.stopped_itself
    }

    /// True once the life was asked to stop, from outside or by itself.
    #[inline]
    pub(crate) fn should_stop(&self) -> bool {
        self.stop_signal().is_requested()
    }

    /// The stop signal this life obeys.
    #[inline]
    pub(crate) fn stop_signal(&self) -> &Arc<StopSignal> {
        self.reader.stop_signal()
    }
}

impl<E: Endpoint> fmt::Debug for CtxBase<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtxBase")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

/// Writes the accessors every server context offers into an `impl` block
/// of a type with a `base: CtxBase<$endpoint>` field.
macro_rules! ctx_base_accessors {
    ($endpoint:ident) => {
        /// The server's name.
        pub fn name(&self) -> &str {
            &self.base.name
        }

        /// This life's id, unique in the process; a restarted server gets a
        /// new one. Log fields call it `id`.
        pub fn id(&self) -> u64 {
            self.base.id
        }

        /// The hub, to send to other servers.
        pub fn hub(&self) -> &$crate::Hub {
            &self.base.hub
        }

        /// This server's own address.
        pub fn address(&self) -> $crate::Address<$endpoint> {
            self.base.address()
        }

        /// Stops this server after the current handler returns (ThreadButler's
        /// kill from inside). It ends with [`ExitReason::Normal`](crate::ExitReason::Normal):
        /// under a supervisor, a `Permanent` server is then restarted, a
        /// `Transient` or `Temporary` one is not. Without a supervisor, what
        /// is still queued is dead-lettered.
        pub fn stop(&mut self) {
            self.base.stop_itself();
        }

        /// True once this server was asked to stop, from outside or by
        /// [`stop`](Self::stop). A custom loop checks it between other work;
        /// the receive methods also report it.
        #[inline]
        pub fn should_stop(&self) -> bool {
            self.base.should_stop()
        }
    };
}

pub(crate) use ctx_base_accessors;
