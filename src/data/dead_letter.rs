//! Dead letters: accepted messages that will never be handled.
//!
//! Every message a mailbox accepted ends in exactly one of two places: a
//! handler, or the hub's dead-letter sink with a [`DeadReason`]. Each dead
//! letter is also counted on its mailbox and logged at `WARN`, the
//! first of a kind in full and the ones right after it in one count
//! (`dead_letter_log/`).

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use threadbutler_supervisor::ExitReason;

/// Why a message became a dead letter.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DeadReason {
    /// The message was in flight when its server failed (panic, `Err`, hung).
    /// It is never handed to a handler again.
    InFlight(ExitReason),
    /// The message was queued when its server stopped for good: an
    /// `Immediate` stop, a server that ended itself with no successor, or a
    /// server whose start failed.
    Stopped,
    /// The message was still queued when a drain's deadline passed.
    DrainDeadline,
    /// The message's mailbox was dropped, or its client was dropped.
    Dropped,
}

impl fmt::Display for DeadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadReason::InFlight(why) => write!(f, "in flight when the server ended: {why}"),
            DeadReason::Stopped => f.write_str("queued when the server stopped"),
            DeadReason::DrainDeadline => f.write_str("queued when the drain deadline passed"),
            DeadReason::Dropped => f.write_str("queued when the mailbox was dropped"),
        }
    }
}

/// One message that will never be handled.
///
/// The hub's [`on_dead_letter`](crate::HubBuilder::on_dead_letter)
/// callback gets each one, with the message itself when it still exists:
///
/// ```
/// use threadbutler::prelude::*;
/// # pub struct Note(pub &'static str);
/// # pub struct Main;
/// # threadbutler::messages! { pub enum MainMsg for Main { Note } }
///
/// let (tx, dead) = crossbeam_channel::unbounded();
/// let hub = Hub::builder("app").on_dead_letter(move |d: DeadLetter| { let _ = tx.send(d); }).build();
/// let main = hub.client::<Main>("main")?;
/// hub.send(Note("unread"))?;
/// drop(main); // nobody will read what is queued
/// let letter = dead.try_recv()?;
/// assert_eq!((&*letter.server, letter.message_type), ("main", "Note"));
/// assert!(matches!(letter.reason, DeadReason::Dropped));
/// let payload = letter.payload.expect("queued, so still there");
/// let MainMsg::Note(Note(text)) = *payload.downcast::<MainMsg>().expect("the endpoint's enum");
/// assert_eq!(text, "unread");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DeadLetter {
    /// The mailbox it was sent to.
    pub server: Arc<str>,
    /// The message type (the enum variant's name).
    pub message_type: &'static str,
    /// Why it died.
    pub reason: DeadReason,
    /// The message itself, as the endpoint's enum (downcast to recover it),
    /// when it still exists. A message in flight when its handler failed was
    /// consumed by the handler, so it has no payload.
    ///
    /// A payload that holds a [`Reply`](crate::Reply) keeps its requester
    /// waiting until its timeout as long as the payload lives: drop it (or
    /// answer it) promptly.
    pub payload: Option<Box<dyn Any + Send>>,
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("server", &self.server)
            .field("message_type", &self.message_type)
            .field("reason", &self.reason)
            .field("payload", &self.payload.as_ref().map(|_| ".."))
            .finish()
    }
}

impl fmt::Display for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {}: {}",
            self.message_type, self.server, self.reason
        )
    }
}

/// Where dead letters go: a callback set with
/// [`HubBuilder::on_dead_letter`](crate::HubBuilder::on_dead_letter).
pub(crate) type DeadLetterSink = Option<Arc<dyn Fn(DeadLetter) + Send + Sync>>;
