//! Result lines on their way to the results file: written whole, and kept
//! until they are in it.

use std::collections::VecDeque;
use std::io::{ErrorKind, Write};

use crate::job::JobId;
use crate::outcome::Outcome;

/// Lines not yet in the file. A write that fails part-way (a full disk)
/// gives back the lines that made it whole; the rest stay for the next
/// try, and [`torn`](Self::torn) says that the file may end in a partial
/// line, to be cut before the next try.
#[derive(Debug, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    /// Each line's job, outcome, and end offset in `bytes`.
    lines: VecDeque<(JobId, Outcome, usize)>,
    /// A partial line may have reached the file.
    pub torn: bool,
}

impl Batch {
    /// Adds a job's line.
    pub fn push(&mut self, id: JobId, outcome: Outcome) {
        self.bytes
            .extend_from_slice(format!("{id}\t{outcome}\n").as_bytes());
        self.lines.push_back((id, outcome, self.bytes.len()));
    }

    /// How many lines wait.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when no line waits.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The ids of the lines that wait.
    pub fn ids(&self) -> Vec<JobId> {
        self.lines.iter().map(|(id, _, _)| id.clone()).collect()
    }

    /// Writes the waiting lines to `to` with as few writes as it takes.
    /// Returns the lines now wholly written, and the error that stopped
    /// the rest, if any.
    pub fn write_to(
        &mut self,
        to: &mut impl Write,
    ) -> (Vec<(JobId, Outcome)>, Option<std::io::Error>) {
        let mut written = 0;
        let mut error = None;
        while written < self.bytes.len() {
            match to.write(&self.bytes[written..]) {
                Ok(0) => {
                    error = Some(ErrorKind::WriteZero.into());
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let whole = self
            .lines
            .iter()
            .take_while(|(_, _, end)| *end <= written)
            .count();
        let end = if whole == 0 {
            0
        } else {
            self.lines[whole - 1].2
        };
        if written > end {
            self.torn = true;
        }
        let done = self
            .lines
            .drain(..whole)
            .map(|(id, o, _)| (id, o))
            .collect();
        self.bytes.drain(..end);
        for line in &mut self.lines {
            line.2 -= end;
        }
        (done, error)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Takes `room` bytes, a few at a time, then fails as a full disk does.
    struct Disk {
        data: Vec<u8>,
        room: usize,
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.room - self.data.len()).min(7);
            if n == 0 {
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.data.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn ok(detail: &str) -> Outcome {
        Outcome::Ok(detail.into())
    }

    #[test]
    fn a_full_disk_keeps_the_lines_that_did_not_make_it_whole() {
        let mut batch = Batch::default();
        for (id, d) in [("a", "x=1"), ("b", "x=22"), ("c", "x=333")] {
            batch.push(Arc::from(id), ok(d));
        }
        // "a\tok\tx=1\n" is 9 bytes; room for it and part of "b".
        let mut disk = Disk {
            data: Vec::new(),
            room: 12,
        };
        let (done, error) = batch.write_to(&mut disk);
        assert_eq!(done.len(), 1);
        assert_eq!(&*done[0].0, "a");
        assert!(error.is_some());
        assert!(batch.torn, "part of b reached the disk");
        assert_eq!(
            batch.ids().iter().map(|i| &**i).collect::<Vec<_>>(),
            ["b", "c"]
        );

        // The disk has room again (and the torn part was cut): the rest.
        disk.data.truncate(9);
        disk.room = 1000;
        batch.torn = false;
        let (done, error) = batch.write_to(&mut disk);
        assert!(error.is_none());
        assert_eq!(done.len(), 2);
        assert!(batch.is_empty() && !batch.torn);

        // Room for exactly one whole line: nothing torn.
        let mut batch = Batch::default();
        batch.push(Arc::from("a"), ok("x=1"));
        batch.push(Arc::from("b"), ok("x=2"));
        let (done, error) = batch.write_to(&mut Disk {
            data: Vec::new(),
            room: 9,
        });
        assert_eq!((done.len(), error.is_some(), batch.torn), (1, true, false));
        assert_eq!(
            String::from_utf8(disk.data).expect("text"),
            "a\tok\tx=1\nb\tok\tx=22\nc\tok\tx=333\n"
        );
    }
}
