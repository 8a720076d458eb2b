//! A client on jobd's socket.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Instant;

use crate::PATIENCE;

/// One connection to jobd's socket. Every read waits at most [`PATIENCE`]
/// (a read timeout), so a silent jobd fails the test instead of hanging it.
pub struct Conn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Conn {
    /// Connects to the socket at `path`.
    pub fn open(path: &Path) -> Conn {
        let stream = UnixStream::connect(path)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout set");
        stream
            .set_write_timeout(Some(PATIENCE))
            .expect("write timeout set");
        let writer = stream.try_clone().expect("socket cloned");
        Conn {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// A second handle on the socket for writing from another thread (with
    /// the same write timeout); the answers are still read here.
    pub fn writer(&self) -> UnixStream {
        self.writer.try_clone().expect("socket cloned")
    }

    /// Writes `lines` (each with its newline) from a thread of its own, so
    /// that this one can read the answers as they come (a client that
    /// pipelines). Join the handle once the answers are in.
    pub fn feed(&self, lines: Vec<String>) -> std::thread::JoinHandle<()> {
        let writer = self.writer();
        std::thread::spawn(move || {
            let mut w = std::io::BufWriter::new(writer);
            for line in &lines {
                w.write_all(line.as_bytes()).expect("jobd reads the socket");
            }
            w.flush().expect("flushed");
        })
    }

    /// Writes one request line.
    pub fn send(&mut self, line: &str) {
        self.write_raw(format!("{line}\n").as_bytes());
    }

    /// Writes bytes as they are (no newline added).
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("jobd reads the socket");
    }

    /// The next answer line (without its newline); panics when none comes
    /// within [`PATIENCE`] or jobd closed the connection.
    pub fn recv(&mut self) -> String {
        self.try_recv()
            .unwrap_or_else(|why| panic!("no answer from jobd: {why}"))
    }

    /// The next answer line, or why there is none (`"end of stream"`,
    /// a timeout, an error).
    pub fn try_recv(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("end of stream: jobd closed the connection".into()),
            Ok(_) if !line.ends_with('\n') => Err(format!("a torn answer: {line:?}")),
            Ok(_) => {
                line.pop();
                Ok(line)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Err(
                format!("timed out after {PATIENCE:?} (read so far: {line:?})"),
            ),
            Err(e) => Err(format!("read error: {e}")),
        }
    }

    /// Sends `line` and returns the answer.
    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.recv()
    }

    /// Submits `ID JOB` and asserts the answer `ok ID`.
    pub fn submit(&mut self, id: &str, job: &str) {
        let answer = self.ask(&format!("{id} {job}"));
        assert_eq!(answer, format!("ok {id}"), "the answer to `{id} {job}`");
    }

    /// `wait ID`: blocks until the job's line is in the results file;
    /// returns the outcome (`ok`, `failed`, `dead`) from `done ID OUTCOME`.
    pub fn wait(&mut self, id: &str) -> String {
        let answer = self.ask(&format!("wait {id}"));
        let prefix = format!("done {id} ");
        match answer.strip_prefix(&prefix) {
            Some(outcome) => outcome.to_owned(),
            None => panic!("`wait {id}` answered {answer:?}, not `done {id} OUTCOME`"),
        }
    }

    /// `status`, parsed as JSON.
    pub fn status(&mut self) -> serde_json::Value {
        let answer = self.ask("status");
        serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("`status` answered invalid JSON ({e}): {answer}"))
    }

    /// Asks `status` until `cond` holds for the answer, which is returned;
    /// panics after [`PATIENCE`] with the last answer.
    pub fn status_until(
        &mut self,
        what: &str,
        mut cond: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let status = self.status();
            if cond(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}: {status}"
            );
        }
    }
}
