//! jobd's results file, parsed and checked, and what its jobs compute.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::Path;

/// One line of the results file: `ID\tOUTCOME\tDETAIL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultLine {
    /// The job id.
    pub id: String,
    /// `ok`, `failed` or `dead`.
    pub outcome: String,
    /// The result, the error, or why the job is dead.
    pub detail: String,
}

/// The results file, parsed.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// Its bytes.
    pub raw: String,
    /// Its lines, in order.
    pub lines: Vec<ResultLine>,
}

impl Results {
    /// Each id's lines, by id.
    pub fn by_id(&self) -> HashMap<&str, Vec<&ResultLine>> {
        let mut map: HashMap<&str, Vec<&ResultLine>> = HashMap::new();
        for l in &self.lines {
            map.entry(l.id.as_str()).or_default().push(l);
        }
        map
    }

    /// The one line of `id`; panics unless there is exactly one.
    pub fn only(&self, id: &str) -> &ResultLine {
        let found: Vec<&ResultLine> = self.lines.iter().filter(|l| l.id == id).collect();
        match found.as_slice() {
            [one] => one,
            _ => panic!("{} result lines for {id}: {found:?}", found.len()),
        }
    }

    /// How many lines have `outcome`.
    pub fn count(&self, outcome: &str) -> usize {
        self.lines.iter().filter(|l| l.outcome == outcome).count()
    }
}

/// Reads the results file at `path` (empty when it does not exist) and
/// asserts that it is whole lines only: UTF-8, ending with a newline, each
/// line `ID\tOUTCOME\tDETAIL` with a non-empty id and an outcome of `ok`,
/// `failed` or `dead`.
pub fn read_results(path: &Path) -> Results {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("read {}: {e}", path.display()),
    };
    let raw =
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()));
    assert!(
        raw.is_empty() || raw.ends_with('\n'),
        "{} ends with a torn line: {:?}",
        path.display(),
        raw.lines().last()
    );
    let lines = raw
        .lines()
        .enumerate()
        .map(|(n, line)| {
            parse_result_line(line)
                .unwrap_or_else(|why| panic!("{} line {}: {why}: {line:?}", path.display(), n + 1))
        })
        .collect();
    Results { raw, lines }
}

/// Parses one results line (without its newline).
pub fn parse_result_line(line: &str) -> Result<ResultLine, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [id, outcome, detail] = fields.as_slice() else {
        return Err(format!(
            "{} tab-separated fields, not 3 (ID, OUTCOME, DETAIL)",
            fields.len()
        ));
    };
    if id.is_empty() {
        return Err("an empty id".into());
    }
    if !matches!(*outcome, "ok" | "failed" | "dead") {
        return Err(format!("an unknown outcome {outcome:?}"));
    }
    Ok(ResultLine {
        id: (*id).to_owned(),
        outcome: (*outcome).to_owned(),
        detail: (*detail).to_owned(),
    })
}

/// The FNV-1a 64 hash of `bytes`, what a `hash` job computes.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The number of whitespace-separated words in `bytes`, what a `words`
/// job counts.
pub fn word_count(bytes: &[u8]) -> usize {
    bytes
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .count()
}
