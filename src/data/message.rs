//! Messages, endpoints and type-based routing, and the [`messages!`](crate::messages) macro.
//!
//! # Routing
//!
//! Every message type names the one endpoint that accepts it through
//! [`Routed::To`]. [`messages!`](crate::messages) writes that impl for each listed type, so a
//! type listed for two endpoints is two impls of `Routed` for one type: a
//! compile error (E0119, conflicting implementations). That is deliberate:
//! `hub.send(msg)` never has to guess. To send the same payload to two
//! servers, wrap it in a newtype per server.
//!
//! Because `Routed` is this crate's trait, the orphan rule also means that
//! message types must be your own types (`struct Add(u64)`), not `u64` or
//! `String` themselves.
//!
//! # What the compiler says
//!
//! Sending a type that no server lists is refused at compile time, in words
//! (``` `Stray` is not a message any server or client accepts ```):
//!
//! ```compile_fail,E0277
//! use threadbutler::prelude::*;
//!
//! pub struct Ping;
//! pub struct Stray; // listed by nobody
//! pub struct Pinger;
//! threadbutler::messages! { pub enum PingerMsg for Pinger { Ping } }
//!
//! let hub = Hub::new();
//! hub.send(Stray)?;
//! # Ok::<(), threadbutler::Error>(())
//! ```
//!
//! A type listed by two servers is refused where the second list is
//! written: besides the conflicting `Routed` impls, the error names the rule
//! (``conflicting implementations of trait `EachMessageTypeIsListedByOneEndpointOnly` ``):
//!
//! ```compile_fail,E0119
//! pub struct Ping;
//! pub struct A;
//! pub struct B;
//! threadbutler::messages! { pub enum AMsg for A { Ping } }
//! threadbutler::messages! { pub enum BMsg for B { Ping } }
//! ```

/// A server's (or client's) message enum, as declared by [`messages!`](crate::messages).
pub trait Message: Send + 'static {
    /// The name of the message type this value wraps (the enum variant), for
    /// dead letters and logs. A `match` returning a `&'static str`: no
    /// allocation.
    fn type_name(&self) -> &'static str;
}

/// Something with a mailbox: a [`Server`](crate::Server) or a
/// [`Client`](crate::Client)'s marker type. Written by [`messages!`](crate::messages).
pub trait Endpoint: 'static {
    /// The enum of everything this endpoint accepts.
    type Msg: Message;
}

/// A message type and the endpoint it is routed to. Written by [`messages!`](crate::messages)
/// for each listed type and for the enum itself.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a message any server or client accepts",
    label = "no `threadbutler::messages!` list names `{Self}`",
    note = "add `{Self}` to the `messages!` list of the one server (or client) that should receive it: \
            the type alone decides where a message goes"
)]
pub trait Routed: Send + Sized + 'static {
    /// The endpoint that accepts this type.
    type To: Endpoint;
    /// Wraps this value into the endpoint's enum.
    fn wrap(self) -> <Self::To as Endpoint>::Msg;
    /// Takes the value back out of the enum it was wrapped into, so that a
    /// failed send can return the caller's own value.
    ///
    /// Only called on values produced by [`wrap`](Routed::wrap).
    fn unwrap(msg: <Self::To as Endpoint>::Msg) -> Self;
}

/// Implemented by [`messages!`](crate::messages) once for each type it
/// lists, so that a type listed by two endpoints fails to compile with an
/// error that names the rule. Not for other use.
#[doc(hidden)]
pub trait EachMessageTypeIsListedByOneEndpointOnly {}

/// Declares an endpoint's message enum and routes each listed type to it.
///
/// ```
/// use threadbutler::prelude::*;
///
/// pub struct Add(pub u64);
/// pub struct Total(pub Reply<u64>);
///
/// #[derive(Default)]
/// pub struct Counter { sum: u64 }
///
/// threadbutler::messages! {
///     /// Everything `Counter` accepts.
///     pub enum CounterMsg for Counter { Add, Total }
/// }
///
/// // `Add` converts into the enum, knows its endpoint, and names itself:
/// let m: CounterMsg = Add(1).into();
/// assert_eq!(m.type_name(), "Add");
/// ```
///
/// This expands to:
///
/// - `pub enum CounterMsg { Add(Add), Total(Total) }` (attributes such as
///   `#[derive(Debug)]` go on it);
/// - `impl Endpoint for Counter { type Msg = CounterMsg; }`;
/// - for `CounterMsg`, `Add` and `Total`: `impl Routed` with
///   `To = Counter`, and `From<Add> for CounterMsg` and so on.
///
/// A variant can also be named apart from its type: `Get(kv::GetRequest)`.
/// The list may be empty, for a server that only ticks or runs its own loop
/// (its enum then has no values, and `match msg {}` handles it).
///
/// Listing one type for two endpoints does not compile:
///
/// ```compile_fail,E0119
/// use threadbutler::prelude::*;
/// pub struct Ping;
/// pub struct A;
/// pub struct B;
/// threadbutler::messages! { pub enum AMsg for A { Ping } }
/// threadbutler::messages! { pub enum BMsg for B { Ping } }
/// ```
#[macro_export]
macro_rules! messages {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident for $endpoint:ty {
            $($variant:ident $(($ty:ty))?),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $(
                #[allow(missing_docs)]
                $variant($crate::__message_type!($variant $(($ty))?)),
            )*
        }

        impl $crate::Message for $name {
            #[inline]
            fn type_name(&self) -> &'static str {
                match *self {
                    $($name::$variant(_) => ::core::stringify!($variant),)*
                }
            }
        }

        impl $crate::Endpoint for $endpoint {
            type Msg = $name;
        }

        impl $crate::Routed for $name {
            type To = $endpoint;
            #[inline]
            fn wrap(self) -> $name {
                self
            }
            #[inline]
            fn unwrap(msg: $name) -> Self {
                msg
            }
        }

        $(
            impl ::core::convert::From<$crate::__message_type!($variant $(($ty))?)> for $name {
                #[inline]
                fn from(m: $crate::__message_type!($variant $(($ty))?)) -> Self {
                    $name::$variant(m)
                }
            }

            impl $crate::EachMessageTypeIsListedByOneEndpointOnly
                for $crate::__message_type!($variant $(($ty))?)
            {
            }

            impl $crate::Routed for $crate::__message_type!($variant $(($ty))?) {
                type To = $endpoint;
                #[inline]
                fn wrap(self) -> $name {
                    $name::$variant(self)
                }
                #[inline]
                fn unwrap(msg: $name) -> Self {
                    #[allow(unreachable_patterns)]
                    match msg {
                        $name::$variant(m) => m,
                        _ => ::core::unreachable!(
                            "Routed::unwrap is only given values that Routed::wrap made"
                        ),
                    }
                }
            }
        )*
    };
}

/// The type of a [`messages!`](crate::messages) variant: its own name, or the type in brackets.
#[doc(hidden)]
#[macro_export]
macro_rules! __message_type {
    ($variant:ident) => {
        $variant
    };
    ($variant:ident ($ty:ty)) => {
        $ty
    };
}
