//! Where a [`Config`](super::Config) came from: the file as named, its
//! directory (what relative paths in it are relative to), and its text
//! (for the lines of errors found after parsing).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A config file's name, directory and text.
#[derive(Clone)]
pub(crate) struct Source {
    /// The file, as the program named it (errors name it so).
    pub(crate) file: PathBuf,
    /// The file made absolute when it was parsed: what a reload reads, so
    /// that a later change of working directory reads the same file.
    pub(crate) absolute: PathBuf,
    /// Its directory, made absolute when it was parsed, so that a later
    /// change of working directory does not move what it names.
    pub(crate) dir: PathBuf,
    pub(crate) text: Arc<str>,
}

impl Source {
    pub(crate) fn new(file: &Path, text: &str) -> Source {
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
        let dir = absolute
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("."));
        Source {
            file: file.to_owned(),
            absolute,
            dir,
            text: Arc::from(text),
        }
    }

    /// `path`, relative to the file's directory unless it is absolute.
    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        self.dir.join(path)
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("file", &self.file)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}
