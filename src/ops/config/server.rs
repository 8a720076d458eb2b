//! One `[servers.NAME]` table's own keys, beside the child's policies: a
//! mailbox's `capacity` and a pool's `pool_size`, each within its bound.

use serde::{Deserialize, Deserializer};
use threadbutler_supervisor::Policy;

use crate::data::mailbox::Capacity;

/// One `[servers.NAME]` table: the child's policies and, for a server or a
/// pool, its mailbox's capacity and a pool's size.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Its policies (a pool's are its workers', and its own intensity and
    /// abandon grace).
    pub policy: Policy,
    /// Its mailbox capacity (servers and pools), at most
    /// [`Capacity::MAX_BOUNDED`].
    pub capacity: Option<CapacityConfig>,
    /// Its number of worker threads (pools), from 1 to
    /// [`MAX_POOL_SIZE`](crate::MAX_POOL_SIZE).
    pub pool_size: Option<usize>,
}

/// A number of messages (1 to [`Capacity::MAX_BOUNDED`]), or
/// `"unbounded"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityConfig {
    /// At most this many.
    Bounded(usize),
    /// No limit.
    Unbounded,
}

impl CapacityConfig {
    /// The mailbox capacity it stands for.
    pub fn capacity(self) -> Capacity {
        match self {
            CapacityConfig::Bounded(n) => Capacity::Bounded(n),
            CapacityConfig::Unbounded => Capacity::Unbounded,
        }
    }
}

impl<'de> Deserialize<'de> for CapacityConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        let expected = "expected a positive number of messages or \"unbounded\"";
        match Raw::deserialize(d).map_err(|_| serde::de::Error::custom(expected))? {
            Raw::N(n) if n > 0 => {
                // Past usize (32-bit targets) is past the bound too.
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                match Capacity::Bounded(n).check() {
                    Ok(_) => Ok(CapacityConfig::Bounded(n)),
                    Err(e) => Err(serde::de::Error::custom(e)),
                }
            }
            Raw::S(s) if s == "unbounded" => Ok(CapacityConfig::Unbounded),
            Raw::N(n) => Err(serde::de::Error::custom(format!("{expected}, found {n}"))),
            Raw::S(s) => Err(serde::de::Error::custom(format!("{expected}, found {s:?}"))),
        }
    }
}
