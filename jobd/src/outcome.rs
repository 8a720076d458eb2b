//! How a job ended: its [`Outcome`] as its results line says it, cut to a
//! bounded detail, and the one-byte [`Word`] the ledger keeps of it.

use std::fmt;

/// The longest detail a results line carries, in bytes; a longer one is cut
/// (on a character boundary) and ends with [`CUT`].
pub const MAX_DETAIL: usize = 512;

/// The marker that ends a detail cut to [`MAX_DETAIL`].
pub const CUT: &str = "...";

/// How a job ended, as its results line says.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It did its work.
    Ok(String),
    /// It ran and could not do its work.
    Failed(String),
    /// It never finished.
    Dead(String),
}

impl Outcome {
    /// `ok`, `failed` or `dead`.
    pub fn word(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The outcome's word, as the ledger keeps it.
    pub fn kind(&self) -> Word {
        match self {
            Outcome::Ok(_) => Word::Ok,
            Outcome::Failed(_) => Word::Failed,
            Outcome::Dead(_) => Word::Dead,
        }
    }

    fn detail(&self) -> &str {
        match self {
            Outcome::Ok(d) | Outcome::Failed(d) | Outcome::Dead(d) => d,
        }
    }

    /// The same outcome with its detail cut to [`MAX_DETAIL`] bytes (the
    /// cut ends with [`CUT`]), so that no job holds a long one for longer
    /// than it takes to run.
    pub fn capped(self) -> Outcome {
        let cap = |d: String| {
            if d.len() <= MAX_DETAIL {
                return d;
            }
            let mut end = MAX_DETAIL - CUT.len();
            while !d.is_char_boundary(end) {
                end -= 1;
            }
            // A copy, not a shrink in place: the long one is freed whole
            // (a shrunk block would pin the allocator's memory around it).
            let mut short = String::with_capacity(end + CUT.len());
            short.push_str(&d[..end]);
            short.push_str(CUT);
            short
        };
        match self {
            Outcome::Ok(d) => Outcome::Ok(cap(d)),
            Outcome::Failed(d) => Outcome::Failed(cap(d)),
            Outcome::Dead(d) => Outcome::Dead(cap(d)),
        }
    }
}

impl fmt::Display for Outcome {
    /// `WORD\tDETAIL`, the detail on one line without tabs, at most
    /// [`MAX_DETAIL`] bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let capped;
        let detail = if self.detail().len() > MAX_DETAIL {
            capped = self.clone().capped();
            capped.detail()
        } else {
            self.detail()
        };
        let detail: String = detail
            .chars()
            .map(|c| if c == '\t' || c.is_control() { ' ' } else { c })
            .collect();
        write!(f, "{}\t{detail}", self.word())
    }
}

/// An outcome's word: all the ledger keeps of a written job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Word {
    /// `ok`.
    Ok,
    /// `failed`.
    Failed,
    /// `dead`.
    Dead,
}

impl Word {
    /// As the results file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Word::Ok => "ok",
            Word::Failed => "failed",
            Word::Dead => "dead",
        }
    }

    /// Reads a results line's outcome field.
    pub fn parse(text: &str) -> Option<Word> {
        match text {
            "ok" => Some(Word::Ok),
            "failed" => Some(Word::Failed),
            "dead" => Some(Word::Dead),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_lines_stay_on_one_line() {
        let o = Outcome::Failed("cannot open a\tb:\nno".into());
        assert_eq!(o.to_string(), "failed\tcannot open a b: no");
    }

    #[test]
    fn a_long_detail_is_cut_on_a_character_boundary() {
        let long = Outcome::Failed("é".repeat(MAX_DETAIL));
        let Outcome::Failed(cut) = long.capped() else {
            panic!("still failed")
        };
        assert!(cut.len() <= MAX_DETAIL, "{} bytes", cut.len());
        assert!(cut.ends_with(CUT));
        assert_eq!(
            Word::parse(Outcome::Ok(String::new()).word()),
            Some(Word::Ok)
        );
    }
}
