//! The upper bounds of every policy value, and the one check of each: a
//! config file's value is refused at load with them, a value given in code
//! by [`Policy::validate`], [`ChildSpec::validate`](crate::ChildSpec::validate)
//! and [`SupervisorSpec::validate`](crate::SupervisorSpec::validate) (so at
//! a start, an `add_child` or a reconfigure), never by a panic or a huge
//! allocation later.
//!
//! | value | bound | why |
//! |---|---|---|
//! | every duration (`heartbeat`, `start_timeout`, `shutdown.drain`, `backoff.min`/`max`/`reset_after`, `intensity.period`, `abandon_after`) | [`Policy::MAX_DURATION`], 365 days | `Instant + d` must not overflow, and a deadline a year away already means "never" |
//! | `intensity.max_restarts` | [`Policy::MAX_RESTARTS`], 100 000 | the restart window keeps one `Instant` per restart inside its period (1.6 MB at most) |
//! | `stack_size` | [`Policy::MAX_STACK_SIZE`], 1 GiB | a thread's stack is reserved whole when it is spawned |

use std::time::Duration;

/// The longest duration any policy takes (`Policy::MAX_DURATION`).
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// The largest `intensity.max_restarts` (`Policy::MAX_RESTARTS`).
pub(crate) const MAX_RESTARTS: u32 = 100_000;
/// The largest `stack_size` (`Policy::MAX_STACK_SIZE`).
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;

/// A duration at most [`MAX_DURATION`]; the message names the bound.
pub(crate) fn duration_bound(d: Duration) -> Result<(), String> {
    if d > MAX_DURATION {
        return Err(format!(
            "must be at most {} (the bound for every duration), found {}",
            human(MAX_DURATION),
            human(d)
        ));
    }
    Ok(())
}

/// An intensity's `max_restarts`, at most [`MAX_RESTARTS`].
pub(crate) fn max_restarts_bound(n: u32) -> Result<(), String> {
    if n > MAX_RESTARTS {
        return Err(format!("must be at most {}, found {n}", MAX_RESTARTS));
    }
    Ok(())
}

/// A stack size, greater than zero and at most [`MAX_STACK_SIZE`].
pub(crate) fn stack_size_bound(bytes: usize) -> Result<(), String> {
    match bytes {
        0 => Err("must be greater than zero".into()),
        b if b > MAX_STACK_SIZE => Err(format!(
            "must be at most {} bytes (1 GiB), found {b}",
            MAX_STACK_SIZE
        )),
        _ => Ok(()),
    }
}

/// A duration as a person writes it (`365days`, `1s 500ms`).
fn human(d: Duration) -> String {
    // Whole seconds and milliseconds: nanoseconds say nothing here.
    let mut out = String::new();
    let mut secs = d.as_secs();
    for (unit, size) in [("days", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit} ", secs / size));
            secs %= size;
        }
    }
    if d.subsec_millis() > 0 || out.is_empty() {
        out.push_str(&format!("{}ms ", d.subsec_millis()));
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    #[test]
    fn the_bound_is_a_year_and_it_is_written_as_a_person_would() {
        assert_eq!(human(MAX_DURATION), "365days");
        assert_eq!(human(Duration::from_millis(1500)), "1s 500ms");
        assert_eq!(human(Duration::ZERO), "0ms");
        assert!(Policy::check_duration("x", MAX_DURATION).is_ok());
        let e = Policy::check_duration("x", MAX_DURATION + Duration::from_secs(1))
            .expect_err("one second too long");
        assert_eq!(
            e,
            "x: must be at most 365days (the bound for every duration), found 365days 1s"
        );
        // Even the largest duration is named without overflow.
        assert!(
            Policy::check_duration("x", Duration::MAX)
                .expect_err("too long")
                .contains("found")
        );
    }

    #[test]
    fn counts_have_their_bounds() {
        assert!(max_restarts_bound(MAX_RESTARTS).is_ok());
        assert_eq!(
            max_restarts_bound(u32::MAX),
            Err("must be at most 100000, found 4294967295".into())
        );
        assert!(stack_size_bound(MAX_STACK_SIZE).is_ok());
        assert!(stack_size_bound(0).is_err());
        assert!(
            stack_size_bound(usize::MAX)
                .expect_err("too big")
                .contains("1 GiB")
        );
    }
}
