//! Reading newline-delimited requests with bounds: a line over the length
//! bound is skipped as it streams in, never buffered whole; on a socket, a
//! line must arrive whole within a time limit (per line, not per byte, so
//! a client trickling a byte at a time cannot hold its connection forever).

use std::io::{BufRead, ErrorKind};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

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

/// Where request lines come from: a stream that may limit how long one
/// line takes to arrive.
pub trait LineSource: std::io::Read {
    /// Starts the clock for the next line (no-op without a limit).
    fn start_line(&mut self) {}

    /// The time limit per line, if any. A read past it fails with
    /// `ErrorKind::TimedOut`.
    fn line_limit(&self) -> Option<Duration> {
        None
    }

    /// Lets the next read wait at most `wait` (a poll); the next
    /// [`start_line`](Self::start_line) restores the line's clock. Without a
    /// limit (stdin) reads stay blocking: do not poll such a source.
    fn poll_for(&mut self, wait: Duration) {
        let _ = wait;
    }
}

/// Stdin has no time limit: it is the operator's.
impl LineSource for std::io::Stdin {}

/// A connection's reading half, whose every line must arrive whole within
/// `limit` of [`start_line`](LineSource::start_line): each read waits at
/// most for what is left of the line's time.
#[derive(Debug)]
pub struct LineDeadline<'a> {
    stream: &'a UnixStream,
    limit: Duration,
    deadline: Instant,
}

impl<'a> LineDeadline<'a> {
    /// Reads `stream`, each line within `limit`.
    pub fn new(stream: &'a UnixStream, limit: Duration) -> Self {
        LineDeadline {
            stream,
            limit,
            deadline: Instant::now() + limit,
        }
    }
}

impl std::io::Read for LineDeadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let timed_out = || std::io::Error::new(ErrorKind::TimedOut, "no complete line in time");
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        self.stream.set_read_timeout(Some(left))?;
        match std::io::Read::read(&mut self.stream, buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(timed_out())
            }
            other => other,
        }
    }
}

impl LineSource for LineDeadline<'_> {
    fn start_line(&mut self) {
        self.deadline = Instant::now() + self.limit;
    }

    fn line_limit(&self) -> Option<Duration> {
        Some(self.limit)
    }

    fn poll_for(&mut self, wait: Duration) {
        self.deadline = Instant::now() + wait;
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
    fn a_line_that_does_not_arrive_whole_in_time_times_out() {
        use std::io::Write;
        let (server, mut client) = UnixStream::pair().expect("a socket pair");
        let mut source = LineDeadline::new(&server, Duration::from_millis(100));
        client.write_all(b"ok\npart").expect("written");
        let mut r = BufReader::new(&mut source);
        let mut line = Vec::new();
        r.get_mut().start_line();
        assert_eq!(read_line(&mut r, 10, &mut line).expect("read"), Read::Line);
        r.get_mut().start_line();
        let err = read_line(&mut r, 10, &mut line).expect_err("no newline comes");
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert_eq!(r.get_ref().line_limit(), Some(Duration::from_millis(100)));
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
