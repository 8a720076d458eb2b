//! Send errors. Each gives the message back: nothing is lost on an error path.

use std::fmt;
use std::sync::Arc;

/// Why the hub found no mailbox for a message type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoRoute {
    /// No mailbox of that endpoint type is registered on this hub.
    NoEndpoint {
        /// The endpoint type's name.
        endpoint: &'static str,
    },
    /// Several named instances of that endpoint type are registered; send
    /// through one's [`Address`](crate::Address) instead.
    Ambiguous {
        /// The endpoint type's name.
        endpoint: &'static str,
        /// The instances' names.
        names: Vec<Arc<str>>,
    },
}

impl fmt::Display for NoRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoRoute::NoEndpoint { endpoint } => {
                write!(f, "no mailbox for {endpoint} is registered on this hub")
            }
            NoRoute::Ambiguous { endpoint, names } => write!(
                f,
                "{} instances of {endpoint} are registered ({}); send through an Address",
                names.len(),
                names.join(", ")
            ),
        }
    }
}

impl std::error::Error for NoRoute {}

macro_rules! send_error {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        pub enum $name<M> {
            $($(#[$vmeta])* $variant(M),)+
            /// The hub found no single mailbox for this type (never returned by
            /// an [`Address`](crate::Address)).
            NoRoute(M, NoRoute),
        }

        impl<M> $name<M> {
            /// The message that was not sent.
            pub fn into_inner(self) -> M {
                match self {
                    $($name::$variant(m) => m,)+
                    $name::NoRoute(m, _) => m,
                }
            }
        }

        impl<M> fmt::Debug for $name<M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($name::$variant(_) => f.write_str(concat!(stringify!($variant), "(..)")),)+
                    $name::NoRoute(_, why) => write!(f, "NoRoute(.., {why:?})"),
                }
            }
        }

        impl<M> fmt::Display for $name<M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($name::$variant(_) => f.write_str($text),)+
                    $name::NoRoute(_, why) => write!(f, "sending failed: {why}"),
                }
            }
        }

        impl<M> std::error::Error for $name<M> {}
    };
}

send_error! {
    /// The error of a blocking `send`.
    SendError {
        /// The mailbox is closed (its server stopped or is draining).
        Closed => "sending on a closed mailbox",
    }
}

send_error! {
    /// The error of `try_send`.
    TrySendError {
        /// The mailbox is full.
        Full => "sending on a full mailbox",
        /// The mailbox is closed (its server stopped or is draining).
        Closed => "sending on a closed mailbox",
    }
}

send_error! {
    /// The error of `send_timeout`.
    SendTimeoutError {
        /// The mailbox stayed full until the timeout.
        Timeout => "timed out waiting for room in a full mailbox",
        /// The mailbox is closed (its server stopped or is draining).
        Closed => "sending on a closed mailbox",
    }
}
