//! Policies: the restart vocabulary (strategies, restart types, intensity,
//! backoff) and [`Policy`], the one value in which a child's or a
//! supervisor's policies travel from the code, a config file or a reload.
//!
//! # Anatomy
//!
//! | file | holds |
//! |---|---|
//! | `restart.rs` | [`Strategy`], [`Restart`], [`Intensity`] and the [`RestartWindow`] that enforces it |
//! | `backoff.rs` | [`Backoff`] and the [`JitterRng`] its jitter draws from |
//! | `de.rs` | (feature `serde`) reading them from TOML-shaped data: human durations, checks |
//! | `value.rs` | [`Policy`], every field optional, and its one merge rule |
//! | `bounds.rs` | the upper bound of every value ([`Policy::MAX_DURATION`], ...) and the one check of each |

mod backoff;
mod bounds;
#[cfg(feature = "serde")]
pub(crate) mod de;
mod restart;
mod value;

pub use backoff::{Backoff, InvalidBackoff, JitterRng};
#[cfg(feature = "serde")]
pub use de::HumanDuration;
pub use restart::{Intensity, Restart, RestartWindow, Strategy};
pub use value::Policy;
