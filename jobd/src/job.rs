//! A request line, parsed, and what running a job means.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::Probe;
use crate::job_file;
use crate::limits::{Budget, JobLimits};

/// A job's id: 1 to 64 characters of `A-Z a-z 0-9 _ . : -`.
pub type JobId = Arc<str>;

/// The longest sleep a job may ask for.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// One request line.
#[derive(Debug, PartialEq)]
pub enum Request {
    /// Run a job.
    Job(Job),
    /// Answer once this job's line is in the results file.
    Wait(JobId),
    /// Answer with the status as JSON.
    Status,
    /// Answer `ok live`/`ok ready` or `err not ...` (`jobd health`).
    Health(Probe),
}

/// A job: its id and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Unique for the run.
    pub id: JobId,
    /// What to do.
    pub kind: Kind,
}

/// What a job does.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// The file's FNV-1a 64 hash.
    Hash(PathBuf),
    /// The number of whitespace-separated words in the file.
    Words(PathBuf),
    /// Sleep, beating the heartbeat.
    Sleep(Duration),
    /// Panic: a bug in a handler.
    Panic,
    /// Block for good without a heartbeat: a stuck handler.
    Hang,
}

const KINDS: &str = "hash PATH, words PATH, sleep DURATION, panic or hang";

/// Parses one request line (without its newline).
///
/// # Errors
///
/// What is wrong with the line, naming the job id when there is one.
pub fn parse(line: &str) -> Result<Request, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else {
        return Err("empty line: expected `ID KIND [ARG]`, `wait ID` or `status`".into());
    };
    let rest: Vec<&str> = words.collect();
    match (first, rest.as_slice()) {
        ("status", []) => return Ok(Request::Status),
        ("health", ["live"]) => return Ok(Request::Health(Probe::Live)),
        ("health", ["ready"]) => return Ok(Request::Health(Probe::Ready)),
        ("health", _) => {
            return Err(format!(
                "usage: `health live` or `health ready`, got {line:?}"
            ));
        }
        ("wait", [id]) => return Ok(Request::Wait(job_id(id)?)),
        ("status" | "wait", _) => {
            return Err(format!("usage: `wait ID` or `status`, got {line:?}"));
        }
        _ => {}
    }
    let id = job_id(first)?;
    let arg = |what: &str| -> Result<&str, String> {
        match rest.get(1..) {
            Some([a]) => Ok(a),
            _ => Err(format!("{id}: expected `{id} {} {what}`", rest[0])),
        }
    };
    let Some(kind) = rest.first() else {
        return Err(format!("{id}: no kind: expected {KINDS}"));
    };
    let kind = match *kind {
        "hash" => Kind::Hash(path(&id, arg("PATH")?)?),
        "words" => Kind::Words(path(&id, arg("PATH")?)?),
        "sleep" => {
            let text = arg("DURATION")?;
            let d = humantime::parse_duration(text).map_err(|e| {
                format!("{id}: bad duration {text:?} ({e}); expected e.g. 250ms or 2s")
            })?;
            if d > MAX_SLEEP {
                return Err(format!("{id}: sleep {text} is longer than the 1h limit"));
            }
            Kind::Sleep(d)
        }
        "panic" | "hang" if rest.len() > 1 => {
            return Err(format!("{id}: `{}` takes no argument", rest[0]));
        }
        "panic" => Kind::Panic,
        "hang" => Kind::Hang,
        other => return Err(format!("{id}: unknown kind {other:?}: expected {KINDS}")),
    };
    Ok(Request::Job(Job { id, kind }))
}

/// The longest path a file job may name: Linux's `PATH_MAX`, past which
/// no open can succeed. Refusing it at the door keeps a queued job small.
pub const MAX_PATH: usize = 4096;

fn path(id: &JobId, text: &str) -> Result<PathBuf, String> {
    if text.len() > MAX_PATH {
        return Err(format!(
            "{id}: the path is {} bytes, longer than the {MAX_PATH}-byte limit (PATH_MAX): no file has it",
            text.len()
        ));
    }
    Ok(PathBuf::from(text))
}

fn job_id(text: &str) -> Result<JobId, String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    if text.is_empty() || text.len() > 64 || !text.chars().all(ok) {
        let shown: String = text.chars().take(70).collect();
        return Err(format!(
            "bad job id {shown:?}: expected 1 to 64 characters of A-Z a-z 0-9 _ . : - \
             (requests: `ID KIND [ARG]`, `wait ID`, `status`)"
        ));
    }
    Ok(Arc::from(text))
}

impl Kind {
    /// Runs the job on the calling thread under `limits`: `Ok(detail)` when
    /// it did its work, `Err(error)` when it could not (an unreadable or
    /// refused file, a limit reached). Calls `beat` at least every 50 ms of
    /// work, so a long job is not taken for a hung one, and checks the
    /// job's deadline as often. `Panic` panics and `Hang` never returns, on
    /// purpose.
    pub fn run(&self, limits: &JobLimits, beat: &mut dyn FnMut()) -> Result<String, String> {
        let budget = limits.start();
        match self {
            Kind::Hash(path) => {
                let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
                read_chunks(path, limits, &budget, beat, |chunk| {
                    for b in chunk {
                        hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
                    }
                })?;
                Ok(format!("fnv1a64={hash:016x}"))
            }
            Kind::Words(path) => {
                let (mut words, mut in_word) = (0u64, false);
                read_chunks(path, limits, &budget, beat, |chunk| {
                    for b in chunk {
                        let space = b.is_ascii_whitespace();
                        if !space && !in_word {
                            words += 1;
                        }
                        in_word = !space;
                    }
                })?;
                Ok(format!("words={words}"))
            }
            Kind::Sleep(d) => {
                let end = Instant::now() + *d;
                loop {
                    let left = end.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    budget.check(|| {
                        let slept = *d - left;
                        format!(
                            "after sleeping {} of {}",
                            humantime::format_duration(round_ms(slept)),
                            humantime::format_duration(*d)
                        )
                    })?;
                    let nap = left.min(budget.left()).min(Duration::from_millis(50));
                    std::thread::sleep(nap); // allow-sleep: the job's work is to sleep, in beats
                    beat();
                }
                Ok(format!("slept={}", humantime::format_duration(*d)))
            }
            Kind::Panic => panic!("the job asked to panic"),
            Kind::Hang => {
                // Stuck for good, as a handler blocked on a dead peer would be.
                let _ = crossbeam_channel::never::<()>().recv();
                unreachable!("never() does not deliver")
            }
        }
    }
}

/// `d` to whole milliseconds, for messages.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads the file at `path` (see [`job_file::open`]) in chunks, handing
/// each to `each`, beating after each, and stopping at the deadline or the
/// byte limit (a file that grows while it is read).
fn read_chunks(
    path: &Path,
    limits: &JobLimits,
    budget: &Budget,
    beat: &mut dyn FnMut(),
    mut each: impl FnMut(&[u8]),
) -> Result<(), String> {
    let mut file = job_file::open(path, limits)?;
    let mut buf = vec![0; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        budget.check(|| format!("after {total} bytes of {}", path.display()))?;
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        total += n as u64;
        if total > limits.max_file_bytes {
            return Err(format!(
                "{} is over the limit of {} bytes (app.max_file_bytes): more was read",
                path.display(),
                limits.max_file_bytes
            ));
        }
        each(&buf[..n]);
        beat();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(line: &str) -> Kind {
        match parse(line) {
            Ok(Request::Job(j)) => j.kind,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    fn refused(line: &str) -> String {
        parse(line).expect_err("should be refused")
    }

    #[test]
    fn every_kind_and_request_parses() {
        assert_eq!(job("1 hash /etc/hosts"), Kind::Hash("/etc/hosts".into()));
        assert_eq!(job("a.b:c-d_e words f.txt\r"), Kind::Words("f.txt".into()));
        assert_eq!(
            job("3 sleep 250ms"),
            Kind::Sleep(Duration::from_millis(250))
        );
        assert_eq!(job("4 panic"), Kind::Panic);
        assert_eq!(job("5  hang "), Kind::Hang);
        assert_eq!(parse("status"), Ok(Request::Status));
        assert_eq!(parse("wait 7"), Ok(Request::Wait(Arc::from("7"))));
        assert_eq!(parse("health ready"), Ok(Request::Health(Probe::Ready)));
        assert!(parse("health").unwrap_err().contains("usage"));
    }

    #[test]
    fn bad_lines_are_refused_naming_the_problem() {
        assert!(refused("").contains("empty line"));
        assert!(refused("x").contains("x: no kind"));
        assert!(refused("7 frobnicate").contains("unknown kind \"frobnicate\""));
        assert!(refused("8 sleep soon").contains("bad duration \"soon\""));
        assert!(refused("9 sleep 2h").contains("1h limit"));
        assert!(refused("10 hash").contains("expected `10 hash PATH`"));
        assert!(refused("11 hash a b").contains("expected `11 hash PATH`"));
        assert!(refused("12 panic now").contains("takes no argument"));
        let long = format!("13 words /{}", "p".repeat(MAX_PATH));
        assert!(
            refused(&long).contains("4096-byte limit"),
            "{}",
            refused(&long)
        );
        assert!(refused("a/b hash x").contains("bad job id \"a/b\""));
        assert!(refused(&format!("{} hang", "i".repeat(65))).contains("bad job id"));
        assert!(refused("wait").contains("usage"));
        assert!(refused("status now").contains("usage"));
    }

    #[test]
    fn jobs_do_their_work_and_fail_cleanly() {
        let path = std::env::temp_dir().join(format!("jobd-job-{}.txt", std::process::id()));
        std::fs::write(&path, "one two\n three\t").expect("temp dir is writable");
        let mut beats = 0;
        let words = Kind::Words(path.clone()).run(&JobLimits::default(), &mut || beats += 1);
        assert_eq!(words.as_deref(), Ok("words=3"));
        assert!(beats >= 1, "a chunk read beats");
        // FNV-1a 64 of the empty input is its offset basis.
        std::fs::write(&path, "").expect("temp dir is writable");
        let hash = Kind::Hash(path.clone()).run(&JobLimits::default(), &mut || {});
        assert_eq!(hash.as_deref(), Ok("fnv1a64=cbf29ce484222325"));
        std::fs::write(&path, "a").expect("temp dir is writable");
        let hash = Kind::Hash(path.clone()).run(&JobLimits::default(), &mut || {});
        assert_eq!(
            hash.as_deref(),
            Ok("fnv1a64=af63dc4c8601ec8c"),
            "FNV-1a 64 of \"a\""
        );
        std::fs::remove_file(&path).expect("exists");
        let missing = Kind::Words(path)
            .run(&JobLimits::default(), &mut || {})
            .expect_err("gone");
        assert!(missing.starts_with("cannot open"), "{missing}");
        assert_eq!(
            Kind::Sleep(Duration::ZERO)
                .run(&JobLimits::default(), &mut || {})
                .as_deref(),
            Ok("slept=0s")
        );
    }
}
