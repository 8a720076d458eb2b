//! Reading newline-delimited requests with a bound on the line length: a
//! line over the bound is skipped as it streams in, never buffered whole.

use std::io::{BufRead, ErrorKind};

/// The longest request line, without its newline.
pub const MAX_LINE: usize = 64 * 1024;

/// What one read gave.
#[derive(Debug, PartialEq)]
pub enum Read {
    /// A whole line, now in the buffer (without its newline).
    Line,
    /// A line longer than the bound; this many bytes were skipped.
    TooLong(u64),
    /// The end of the stream. A last line cut short (no newline) is dropped;
    /// its length is given.
    End {
        /// Bytes of the dropped partial line (0: none).
        partial: usize,
    },
}

/// Reads the next line of `from` into `line` (cleared first), keeping at
/// most `max` bytes of it.
///
/// # Errors
///
/// The stream's read errors, except `Interrupted`, which is retried.
pub fn read_line(from: &mut impl BufRead, max: usize, line: &mut Vec<u8>) -> std::io::Result<Read> {
    line.clear();
    let mut skipped: u64 = 0;
    loop {
        let buf = match from.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            let partial = line.len() + skipped as usize;
            line.clear();
            return Ok(Read::End { partial });
        }
        let newline = buf.iter().position(|b| *b == b'\n');
        let take = newline.unwrap_or(buf.len());
        if skipped == 0 && line.len() + take <= max {
            line.extend_from_slice(&buf[..take]);
        } else {
            // Over the bound: count, do not keep.
            skipped += (line.len() + take) as u64;
            line.clear();
        }
        from.consume(take + usize::from(newline.is_some()));
        if newline.is_some() {
            return Ok(if skipped > 0 {
                Read::TooLong(skipped)
            } else {
                Read::Line
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;

    #[test]
    fn lines_over_the_bound_are_skipped_and_reading_goes_on() {
        let text = format!("short\n{}\nafter\npartial", "x".repeat(100));
        // A tiny buffer, so the long line arrives in many pieces.
        let mut r = BufReader::with_capacity(8, text.as_bytes());
        let mut line = Vec::new();
        assert_eq!(read_line(&mut r, 10, &mut line).expect("read"), Read::Line);
        assert_eq!(line, b"short");
        assert_eq!(
            read_line(&mut r, 10, &mut line).expect("read"),
            Read::TooLong(100)
        );
        assert!(line.capacity() <= 64, "the long line was not buffered");
        assert_eq!(read_line(&mut r, 10, &mut line).expect("read"), Read::Line);
        assert_eq!(line, b"after");
        assert_eq!(
            read_line(&mut r, 10, &mut line).expect("read"),
            Read::End { partial: 7 }
        );
        assert_eq!(
            read_line(&mut r, 10, &mut line).expect("read"),
            Read::End { partial: 0 }
        );
    }

    #[test]
    fn a_line_of_exactly_the_bound_is_kept() {
        let text = format!("{}\n", "y".repeat(10));
        let mut line = Vec::new();
        let read = read_line(
            &mut BufReader::with_capacity(4, text.as_bytes()),
            10,
            &mut line,
        );
        assert_eq!(read.expect("read"), Read::Line);
        assert_eq!(line.len(), 10);
    }
}
