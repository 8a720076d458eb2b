//! The wait between a child's restarts ([`Backoff`]) and the cheap random
//! source its jitter draws from ([`JitterRng`]).

use std::fmt;
use std::time::Duration;

/// The wait before a child's restart: exponential from `min` to `max`,
/// shortened by up to `jitter` of itself, and forgotten once the child has
/// run `reset_after` without failing.
///
/// For the `n`th consecutive restart (n ≥ 1):
///
/// ```text
/// base(n)  = min(max, min × 2^(n−1))
/// delay(n) = base(n) × (1 − jitter × u),  u uniform in [0, 1)
/// ```
///
/// so every delay lies in `[base × (1 − jitter), base]` and never above
/// `max`. The default is no backoff (`min = max = 0`): restart at once, as
/// OTP does; the restart intensity still bounds a crash loop.
///
/// With the `serde` feature it reads as
/// `{ min = "10ms", max = "1s", jitter = 0.1, reset_after = "30s" }`
/// (`jitter` defaults to 0, `reset_after` to 30 s), and an impossible one
/// (see [`validate`](Self::validate)) is refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub min: Duration,
    /// The largest delay.
    pub max: Duration,
    /// How much of each delay may be taken off at random, in `[0, 1]`.
    pub jitter: f64,
    /// A child that ran this long without failing starts again from `min`.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::ZERO,
            max: Duration::ZERO,
            jitter: 0.0,
            reset_after: Duration::from_secs(30),
        }
    }
}

/// Why a [`Backoff`] is not usable.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidBackoff(String);

impl fmt::Display for InvalidBackoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidBackoff {}

impl Backoff {
    /// Exponential backoff from `min` to `max`, no jitter, reset after 30 s.
    pub fn exponential(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            ..Backoff::default()
        }
    }

    /// The same backoff with another jitter factor.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same backoff with another reset time.
    pub fn with_reset_after(mut self, reset_after: Duration) -> Self {
        self.reset_after = reset_after;
        self
    }

    /// Checks that `max ≥ min`, `jitter` is in `[0, 1]` and no duration
    /// is above [`Policy::MAX_DURATION`](crate::Policy::MAX_DURATION).
    ///
    /// # Errors
    ///
    /// [`InvalidBackoff`] saying which rule is broken.
    pub fn validate(&self) -> Result<(), InvalidBackoff> {
        for (key, d) in [
            ("min", self.min),
            ("max", self.max),
            ("reset_after", self.reset_after),
        ] {
            crate::Policy::check_duration(key, d).map_err(InvalidBackoff)?;
        }
        if self.max < self.min {
            return Err(InvalidBackoff(format!(
                "backoff max ({:?}) is below min ({:?})",
                self.max, self.min
            )));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(InvalidBackoff(format!(
                "backoff jitter must be between 0 and 1, not {}",
                self.jitter
            )));
        }
        Ok(())
    }

    /// The delay before restart number `attempt` (1 for the first), without
    /// jitter.
    pub fn base(&self, attempt: u32) -> Duration {
        if attempt == 0 || self.min.is_zero() {
            return Duration::ZERO;
        }
        let shift = (attempt - 1).min(63);
        let factor = 1u64 << shift;
        match self
            .min
            .checked_mul(u32::try_from(factor).unwrap_or(u32::MAX))
        {
            Some(d) => d.min(self.max),
            None => self.max,
        }
    }

    /// The delay before restart number `attempt`, with jitter drawn from `u`
    /// (uniform in `[0, 1)`).
    pub fn delay(&self, attempt: u32, u: f64) -> Duration {
        let base = self.base(attempt);
        let cut = (self.jitter * u.clamp(0.0, 1.0)).clamp(0.0, 1.0);
        base.mul_f64(1.0 - cut)
    }
}

/// A small, fast pseudo-random source for jitter (xorshift64*); not for
/// anything that needs unpredictability.
#[derive(Debug, Clone)]
pub struct JitterRng(u64);

impl JitterRng {
    /// Seeded from the clock and a per-call counter.
    pub fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SALT: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let salt = SALT.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        Self::seeded(nanos ^ salt)
    }

    /// A fixed seed, for tests.
    pub fn seeded(seed: u64) -> Self {
        JitterRng(seed | 1)
    }

    /// The next value, uniform in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for JitterRng {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_doubles_from_min_and_caps_at_max_without_jitter() {
        let b = Backoff::exponential(10 * MS, 100 * MS);
        let got: Vec<_> = (1..=6).map(|n| b.delay(n, 0.999)).collect();
        assert_eq!(
            got,
            vec![10 * MS, 20 * MS, 40 * MS, 80 * MS, 100 * MS, 100 * MS]
        );
        assert_eq!(
            b.delay(1000, 0.5),
            100 * MS,
            "huge attempts do not overflow"
        );
    }

    #[test]
    fn jittered_delays_stay_inside_their_bounds() {
        let b = Backoff::exponential(10 * MS, 1000 * MS).with_jitter(0.5);
        let mut rng = JitterRng::seeded(42);
        for n in 1..=12 {
            let base = b.base(n);
            for _ in 0..1000 {
                let d = b.delay(n, rng.next_unit());
                assert!(
                    d <= base && d >= base.mul_f64(0.5),
                    "attempt {n}: {d:?} outside [{:?}, {base:?}]",
                    base.mul_f64(0.5)
                );
                assert!(d <= b.max);
            }
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let b = Backoff::exponential(100 * MS, 100 * MS).with_jitter(1.0);
        let mut rng = JitterRng::seeded(7);
        let a = b.delay(1, rng.next_unit());
        let c = b.delay(1, rng.next_unit());
        assert_ne!(a, c);
    }

    #[test]
    fn no_backoff_by_default() {
        assert_eq!(Backoff::default().delay(5, 0.3), Duration::ZERO);
    }

    #[test]
    fn impossible_backoffs_are_rejected() {
        assert!(Backoff::exponential(2 * MS, MS).validate().is_err());
        assert!(Backoff::default().with_jitter(1.5).validate().is_err());
        let year = crate::Policy::MAX_DURATION;
        assert!(Backoff::exponential(MS, year).validate().is_ok());
        let e = Backoff::exponential(MS, year + MS)
            .validate()
            .expect_err("too long");
        assert!(
            e.to_string().starts_with("max: must be at most 365days"),
            "{e}"
        );
        let e = Backoff::exponential(MS, 2 * MS)
            .with_reset_after(Duration::MAX)
            .validate()
            .expect_err("too long");
        assert!(e.to_string().starts_with("reset_after"), "{e}");
        assert!(
            Backoff::exponential(MS, 2 * MS)
                .with_jitter(0.2)
                .validate()
                .is_ok()
        );
    }
}
