//! [`ConfigError`]: where a config file went wrong (file, line, key) and
//! what was expected; and how a place in the text becomes a line and a key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

/// Why a config file was refused: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or whatever name the text was parsed under).
    pub file: PathBuf,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The key, as a dotted path, when known (`servers.counter.backoff`).
    pub key: Option<String>,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(k) = &self.key {
            write!(f, ": {k}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error in `file` with no place in it (it could not be read).
    pub(crate) fn whole(file: &Path, message: String) -> Self {
        ConfigError {
            file: file.to_owned(),
            line: None,
            key: None,
            message,
        }
    }

    /// A TOML error in `text`: at its own place, or at `fallback` (the value
    /// being read) when it has none; the key there is named when the
    /// document parsed (`doc`).
    pub(crate) fn from_toml(
        e: &toml::de::Error,
        text: &str,
        file: &Path,
        doc: Option<&DeTable<'_>>,
        fallback: Option<Range<usize>>,
    ) -> Self {
        let at = e.span().or(fallback).map(|s| s.start);
        ConfigError {
            file: file.to_owned(),
            line: at.map(|a| line_of(text, a)),
            key: at.zip(doc).and_then(|(a, d)| key_at(d, a)),
            message: e.message().trim().to_owned(),
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key whose name or value holds byte `at`, the deepest one.
fn key_at(table: &DeTable<'_>, at: usize) -> Option<String> {
    let holds = |r: Range<usize>| r.start <= at && at < r.end.max(r.start + 1);
    for (k, v) in table.iter() {
        let name = key_name(k.get_ref());
        if let DeValue::Table(t) = v.get_ref()
            && let Some(deeper) = key_at(t, at)
        {
            return Some(format!("{name}.{deeper}"));
        }
        if holds(k.span()) || holds(v.span()) {
            return Some(name);
        }
    }
    None
}

/// A key as TOML would write it: bare when it can be, else quoted.
pub(crate) fn key_name(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}
