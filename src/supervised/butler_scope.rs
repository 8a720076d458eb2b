//! The [`ChildScope`] of an application's builder: a declared child's
//! options, further declarations, and the application's own settings.

#[cfg(feature = "config")]
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
#[cfg(feature = "signals")]
use threadbutler_supervisor::signals::Signals;
use threadbutler_supervisor::{
    Backoff, BoxError, Event, ExitReason, FnChild, Intensity, Life, Restart,
};

use crate::data::dead_letter::DeadLetter;
#[cfg(feature = "config")]
use crate::data::hub::Hub;
use crate::data::mailbox::Capacity;
use crate::error::Error;
#[cfg(feature = "config")]
use crate::ops::config::Config;
use crate::servers::factory::{fallible, plain};
use crate::servers::server::Server;
use crate::supervised::butler::Butler;
use crate::supervised::butler_builder::ButlerBuilder;
use crate::supervised::child_options::ChildOptions;
use crate::supervised::child_scope::ChildScope;
#[cfg(feature = "async")]
use crate::supervised::declaration::async_server_maker;
use crate::supervised::declaration::{
    ChildDeclaration, SupervisorDeclaration, pool_maker, server_maker,
};
use crate::supervised::tree_builder::{SupervisorBuilder, child_option_methods, declare_methods};
use threadbutler_supervisor::Shutdown;

impl ChildScope<ButlerBuilder> {
    fn tree_mut(&mut self) -> &mut SupervisorDeclaration {
        self.builder.tree_mut()
    }

    fn scope(self) -> Self {
        self
    }

    declare_methods!(ButlerBuilder);
    child_option_methods!();

    /// See [`ButlerBuilder::signals`].
    #[cfg(feature = "signals")]
    pub fn signals(self, signals: Signals) -> Self {
        self.builder.signals(signals).scope()
    }

    /// See [`ButlerBuilder::on_reload`].
    #[cfg(feature = "config")]
    pub fn on_reload(
        self,
        hook: impl Fn(&Hub, &Config) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.builder.on_reload(hook).scope()
    }

    /// See [`ButlerBuilder::on_reload_app`].
    #[cfg(feature = "config")]
    pub fn on_reload_app<T, F>(self, hook: F) -> Self
    where
        T: serde::de::DeserializeOwned + Default + 'static,
        F: Fn(&Hub, T) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        self.builder.on_reload_app(hook).scope()
    }

    /// See [`ButlerBuilder::clock`].
    pub fn clock(self, clock: Arc<dyn threadbutler_supervisor::Clock>) -> Self {
        self.builder.clock(clock).scope()
    }

    /// See [`ButlerBuilder::shutdown_deadline`].
    pub fn shutdown_deadline(self, deadline: Duration) -> Self {
        self.builder.shutdown_deadline(deadline).scope()
    }

    /// See [`ButlerBuilder::default_capacity`].
    pub fn default_capacity(self, capacity: Capacity) -> Self {
        self.builder.default_capacity(capacity).scope()
    }

    /// See [`ButlerBuilder::request_timeout`].
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.builder.request_timeout(timeout).scope()
    }

    /// See [`ButlerBuilder::on_dead_letter`].
    pub fn on_dead_letter(self, sink: impl Fn(DeadLetter) + Send + Sync + 'static) -> Self {
        self.builder.on_dead_letter(sink).scope()
    }

    /// See [`ButlerBuilder::metrics`].
    #[cfg(feature = "metrics")]
    pub fn metrics(self, interval: Duration) -> Self {
        self.builder.metrics(interval).scope()
    }

    /// See [`ButlerBuilder::health_endpoint`].
    #[cfg(feature = "health-http")]
    pub fn health_endpoint(self, addr: impl Into<String>) -> Self {
        self.builder.health_endpoint(addr).scope()
    }

    /// See [`ButlerBuilder::health_timeout`].
    #[cfg(feature = "health-http")]
    pub fn health_timeout(self, timeout: std::time::Duration) -> Self {
        self.builder.health_timeout(timeout).scope()
    }

    /// See [`ButlerBuilder::health_listener`].
    #[cfg(feature = "health-http")]
    pub fn health_listener(self, listener: std::net::TcpListener) -> Self {
        self.builder.health_listener(listener).scope()
    }

    /// See [`ButlerBuilder::config_file`].
    ///
    /// # Errors
    ///
    /// As [`ButlerBuilder::config_file`].
    #[cfg(feature = "config")]
    pub fn config_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        Ok(self.builder.config_file(path)?.scope())
    }

    /// See [`ButlerBuilder::subscribe`].
    pub fn subscribe(&self) -> Receiver<Event> {
        self.builder.subscribe()
    }

    /// See [`ButlerBuilder::start`].
    ///
    /// # Errors
    ///
    /// As [`ButlerBuilder::start`].
    pub fn start(self) -> Result<Butler, Error> {
        self.builder.start()
    }
}

impl From<ChildScope<ButlerBuilder>> for ButlerBuilder {
    fn from(scope: ChildScope<ButlerBuilder>) -> Self {
        scope.builder
    }
}
