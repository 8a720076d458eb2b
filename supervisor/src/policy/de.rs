//! Reading policies from TOML-shaped data (feature `serde`): human
//! durations, and the checks that refuse impossible values with what was
//! expected. The derives on the policy types point here.

use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::backoff::Backoff;
use super::bounds;

/// A duration written as `"250ms"`, `"5s"`, `"1m"`, `"1h 30m"` (feature
/// `serde`), for a program's own settings: what `humantime` reads, with
/// no bound of its own (a policy's durations are bounded by
/// [`Policy::MAX_DURATION`](crate::Policy::MAX_DURATION); check a
/// program's own with [`Policy::check_duration`](crate::Policy::check_duration)
/// if it adds it to an `Instant`).
///
/// ```
/// use std::time::Duration;
/// use threadbutler_supervisor::HumanDuration;
///
/// let d: HumanDuration = serde_json::from_str("\"1m 30s\"")?;
/// assert_eq!(d.0, Duration::from_secs(90));
/// let err = serde_json::from_str::<HumanDuration>("\"soon\"").unwrap_err();
/// assert!(err.to_string().contains("expected a duration like"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        unbounded(d).map(HumanDuration)
    }
}

/// A human duration, as `humantime` reads it.
fn unbounded<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        D::Error::custom(format!(
            "expected a duration like \"250ms\", \"5s\" or \"1m\", found {text:?} ({e})"
        ))
    })
}

/// A policy's human duration: at most [`Policy::MAX_DURATION`](crate::Policy::MAX_DURATION).
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = unbounded(d)?;
    bounds::duration_bound(v).map_err(D::Error::custom)?;
    Ok(v)
}

/// A policy's human duration greater than zero.
pub(crate) fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = duration(d)?;
    if v.is_zero() {
        return Err(D::Error::custom("must be greater than zero"));
    }
    Ok(v)
}

/// An optional field's human duration (present, so `Some`).
pub(crate) fn some_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

/// An optional field's human duration greater than zero.
pub(crate) fn some_positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    positive(d).map(Some)
}

/// An optional stack size: greater than zero, at most
/// [`Policy::MAX_STACK_SIZE`](crate::Policy::MAX_STACK_SIZE).
pub(crate) fn some_stack_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let n = usize::deserialize(d)?;
    bounds::stack_size_bound(n).map_err(D::Error::custom)?;
    Ok(Some(n))
}

/// An intensity's `max_restarts`: at most
/// [`Policy::MAX_RESTARTS`](crate::Policy::MAX_RESTARTS).
pub(crate) fn max_restarts<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    bounds::max_restarts_bound(n).map_err(D::Error::custom)?;
    Ok(n)
}

/// `{ min = "10ms", max = "1s", jitter = 0.1, reset_after = "30s" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackoffFields {
    #[serde(deserialize_with = "duration")]
    min: Duration,
    #[serde(deserialize_with = "duration")]
    max: Duration,
    #[serde(default)]
    jitter: f64,
    #[serde(default, deserialize_with = "some_duration")]
    reset_after: Option<Duration>,
}

impl<'de> Deserialize<'de> for Backoff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = BackoffFields::deserialize(d)?;
        let mut backoff = Backoff::exponential(f.min, f.max).with_jitter(f.jitter);
        if let Some(r) = f.reset_after {
            backoff = backoff.with_reset_after(r);
        }
        backoff.validate().map_err(D::Error::custom)?;
        Ok(backoff)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::HumanDuration;

    use crate::{Backoff, Intensity, Policy, Restart, Shutdown, Strategy};

    const MS: std::time::Duration = std::time::Duration::from_millis(1);

    fn policy(v: serde_json::Value) -> Result<Policy, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn every_field_reads_with_the_files_spellings() {
        let p = policy(json!({
            "restart": "transient",
            "shutdown": { "drain": "250ms" },
            "heartbeat": "1s",
            "backoff": { "min": "10ms", "max": "1s", "jitter": 0.1, "reset_after": "1m" },
            "start_timeout": "2s",
            "stack_size": 65536,
            "fresh_thread_on_restart": true,
            "strategy": "rest_for_one",
            "intensity": { "max_restarts": 5, "period": "10s" },
            "abandon_after": "0s",
        }))
        .expect("valid");
        let want = Policy::new()
            .restart(Restart::Transient)
            .shutdown(Shutdown::Drain(250 * MS))
            .heartbeat(1000 * MS)
            .backoff(
                Backoff::exponential(10 * MS, 1000 * MS)
                    .with_jitter(0.1)
                    .with_reset_after(60_000 * MS),
            )
            .start_timeout(2000 * MS)
            .stack_size(65536)
            .fresh_thread_on_restart(true)
            .strategy(Strategy::RestForOne)
            .intensity(Intensity {
                max_restarts: 5,
                period: 10_000 * MS,
            })
            .abandon_after(std::time::Duration::ZERO);
        assert_eq!(p, want);
        assert_eq!(
            policy(json!({})),
            Ok(Policy::new()),
            "every key is optional"
        );
        let p = policy(json!({ "shutdown": "immediate", "backoff": { "min": "1s", "max": "2s" } }));
        let p = p.expect("valid");
        assert_eq!(p.shutdown, Some(Shutdown::Immediate));
        assert_eq!(
            p.backoff.map(|b| b.reset_after),
            Some(30_000 * MS),
            "the default"
        );
    }

    #[test]
    fn bad_input_is_refused_saying_what_was_expected() {
        let cases = [
            (json!({ "retsart": "permanent" }), "unknown field `retsart`"),
            (
                json!({ "restart": "sometimes" }),
                "expected one of `permanent`",
            ),
            (
                json!({ "strategy": "all_for_one" }),
                "expected one of `one_for_one`",
            ),
            (json!({ "heartbeat": "soon" }), "expected a duration like"),
            (json!({ "heartbeat": "0s" }), "must be greater than zero"),
            (json!({ "stack_size": 0 }), "must be greater than zero"),
            (
                json!({ "shutdown": { "drian": "1s" } }),
                "expected `drain` or `immediate`",
            ),
            (
                json!({ "intensity": { "max_restarts": 1, "period": "0s" } }),
                "greater than zero",
            ),
            (
                json!({ "intensity": { "max_restarts": 1 } }),
                "missing field `period`",
            ),
            (
                json!({ "intensity": { "max_restarts": 1, "period": "1s", "x": 1 } }),
                "unknown field `x`",
            ),
            (
                json!({ "backoff": { "min": "2s", "max": "1s" } }),
                "below min",
            ),
            (
                json!({ "backoff": { "min": "1s", "max": "2s", "jitter": 1.5 } }),
                "jitter",
            ),
            (
                json!({ "backoff": { "min": "1s", "max": "2s", "step": 2 } }),
                "unknown field `step`",
            ),
            // The bounds: every duration, the restarts, the stack.
            (json!({ "heartbeat": "366days" }), "at most 365days"),
            (json!({ "start_timeout": "1000000000y" }), "at most 365days"),
            (
                json!({ "shutdown": { "drain": "400d" } }),
                "at most 365days",
            ),
            (json!({ "abandon_after": "9999999h" }), "at most 365days"),
            (
                json!({ "backoff": { "min": "1s", "max": "1000y" } }),
                "at most 365days",
            ),
            (
                json!({ "backoff": { "min": "1s", "max": "2s", "reset_after": "2y" } }),
                "at most 365days",
            ),
            (
                json!({ "intensity": { "max_restarts": 1, "period": "500000h" } }),
                "at most 365days",
            ),
            (
                json!({ "intensity": { "max_restarts": 100001, "period": "1s" } }),
                "at most 100000",
            ),
            (
                json!({ "intensity": { "max_restarts": -1, "period": "1s" } }),
                "invalid value",
            ),
            (
                json!({ "stack_size": 1u64 << 40 }),
                "at most 1073741824 bytes",
            ),
            (json!({ "stack_size": -4096 }), "invalid value"),
            (json!({ "heartbeat": "-1s" }), "expected a duration like"),
            (
                json!({ "heartbeat": "99999999999999999999y" }),
                "expected a duration like",
            ),
        ];
        for (input, says) in cases {
            let err = policy(input.clone()).expect_err(&input.to_string());
            assert!(err.contains(says), "{input}: {err}");
        }
    }

    #[test]
    fn every_bound_is_inclusive() {
        let p = policy(json!({
            "heartbeat": "365days",
            "intensity": { "max_restarts": 100000, "period": "365days" },
            "stack_size": 1u64 << 30,
        }));
        assert!(p.is_ok(), "{p:?}");
    }

    #[test]
    fn a_programs_own_duration_has_no_bound_of_its_own() {
        let d: HumanDuration = serde_json::from_value(json!("2y")).expect("valid");
        assert!(d.0 > crate::Policy::MAX_DURATION);
    }
}
