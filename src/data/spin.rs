//! Looking again before parking: the spin policy shared by a sender
//! waiting for room and a reader waiting for mail.
//!
//! A message (or a free slot) that is about to arrive usually arrives
//! within a microsecond, and parking (a select, a futex wait and a wake-up)
//! costs far more than that, so both sides look again for a little while
//! first, the way crossbeam's own `send` and `recv` do.

/// Rounds of trying again before parking on a full (or, for a reader, an
/// empty) mailbox: about 130 spins, then four yields.
pub(crate) const SPIN_STEPS: u32 = 11;

/// One round of looking again before parking: `2^step` spins for the first
/// seven rounds, then a yield.
#[inline]
pub(crate) fn pause(step: u32) {
    if step <= 6 {
        for _ in 0..(1u32 << step) {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}
