//! jobd's own settings: the `[app]` table of its config file.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use threadbutler::config::{Config, HumanDuration};

/// Where jobd listens and writes, from `[app]`; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The Unix socket's path; at most [`MAX_SOCKET_PATH`] bytes (checked
    /// when the file is loaded, see [`SocketPath`]).
    #[serde(deserialize_with = "SocketPath::path")]
    pub socket: PathBuf,
    /// The socket's permission bits, written as an octal string ("0600").
    pub socket_mode: SocketMode,
    /// The append-only results file.
    pub results: PathBuf,
    /// Read jobs from stdin when it is not a terminal.
    pub stdin: bool,
    /// The permission bits jobd's files (results file, journal, the
    /// socket's lock file) are created with, as an octal string ("0600").
    pub file_mode: FileMode,
    /// The most connections served at once; one more is answered `err
    /// busy` and closed.
    pub max_connections: NonZeroUsize,
    /// How long a connection may take to send one whole request line
    /// (and to take one answer) before it is closed.
    #[serde(deserialize_with = "positive")]
    pub read_timeout: Duration,
    /// How long one job may run; past it, it is settled `failed`.
    #[serde(deserialize_with = "positive")]
    pub job_timeout: Duration,
    /// How many bytes a `hash` or `words` job may read.
    pub max_file_bytes: u64,
    /// The directory file jobs are confined to; `None`: any file jobd's
    /// user can read.
    pub root: Option<PathBuf>,
    /// The intake journal; by default beside the results file, its name
    /// with `.journal` added (see [`Settings::journal_path`]).
    pub journal: Option<PathBuf>,
    /// Take the `panic` and `hang` kinds (for trying the supervision out);
    /// off in production: a client could keep the liveness probe failing.
    pub test_kinds: bool,
}

/// A human duration (`"300ms"`, `"10m"`) greater than zero.
fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    use serde::de::Error;
    let HumanDuration(d) = HumanDuration::deserialize(d)?;
    if d.is_zero() {
        return Err(D::Error::custom("must be greater than zero"));
    }
    Ok(d)
}

impl Default for Settings {
    fn default() -> Self {
        // Per user, so that two users of one machine do not collide.
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| {
                crate::own_file::own_uid().map_or_else(|_| "jobd".into(), |uid| format!("uid{uid}"))
            });
        let tmp = std::env::temp_dir();
        Settings {
            socket: tmp.join(format!("jobd-{user}.sock")),
            socket_mode: SocketMode(0o600),
            results: tmp.join(format!("jobd-{user}-results.tsv")),
            stdin: true,
            file_mode: FileMode(crate::own_file::DEFAULT_MODE),
            max_connections: NonZeroUsize::new(256).expect("256 is not zero"),
            read_timeout: Duration::from_secs(60),
            job_timeout: Duration::from_secs(600),
            max_file_bytes: 1 << 30,
            root: None,
            journal: None,
            test_kinds: true,
        }
    }
}

impl Settings {
    /// The journal's path: `journal`, or the results file's path with
    /// `.journal` added (`results.tsv.journal`).
    pub fn journal_path(&self) -> PathBuf {
        self.journal.clone().unwrap_or_else(|| {
            let mut path = self.results.clone().into_os_string();
            path.push(".journal");
            PathBuf::from(path)
        })
    }

    /// The files jobd makes and locks must be distinct: the socket, its
    /// lock file, the results file, the journal and the journal's
    /// compaction copy.
    ///
    /// # Errors
    ///
    /// Two of them are one path (which two, and the keys to change).
    pub fn check_distinct_files(&self) -> Result<(), String> {
        let with = |p: &Path, suffix: &str| {
            let mut s = p.as_os_str().to_owned();
            s.push(suffix);
            PathBuf::from(s)
        };
        let journal = self.journal_path();
        let files = [
            ("app.socket", self.socket.clone()),
            ("app.socket's lock file", with(&self.socket, ".lock")),
            ("app.results", self.results.clone()),
            ("app.journal", journal.clone()),
            ("app.journal's compaction copy", with(&journal, ".compact")),
        ];
        for (i, (a, pa)) in files.iter().enumerate() {
            for (b, pb) in &files[i + 1..] {
                if pa == pb {
                    return Err(format!(
                        "{a} and {b} are one file, {}: jobd needs them apart (choose another app.socket, app.results or app.journal)",
                        pa.display()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Reads the `[app]` table of the config file at `path` (its code
    /// defaults without one), its relative paths anchored at the file's
    /// directory: what a client (`jobd submit`, `jobd health`) needs.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or its `[app]` table is bad (file and line).
    pub fn from_file(path: &Path) -> Result<Settings, String> {
        let config = Config::load(path).map_err(|e| e.to_string())?;
        let settings: Option<Settings> = config.app_config().map_err(|e| e.to_string())?;
        let mut settings = settings.unwrap_or_default();
        settings.anchor(&config);
        Ok(settings)
    }

    /// Makes the relative paths that came from `config`'s file relative to
    /// that file's directory, not to the working directory
    /// (`Config::resolve_path`; the default paths are absolute already).
    pub fn anchor(&mut self, config: &Config) {
        for path in [&mut self.socket, &mut self.results] {
            *path = config.resolve_path(&*path);
        }
        for path in [&mut self.root, &mut self.journal].into_iter().flatten() {
            *path = config.resolve_path(&*path);
        }
    }
}

/// A socket's permission bits, read from an octal string up to "0777" that
/// lets the owner read and write; checked when the file is loaded, so a
/// bad one is reported with the file and line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SocketMode(pub u32);

impl TryFrom<String> for SocketMode {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        owner_rw_mode(&text, "the socket").map(SocketMode)
    }
}

/// The permission bits of jobd's files, read and checked as
/// [`SocketMode`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct FileMode(pub u32);

impl TryFrom<String> for FileMode {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        owner_rw_mode(&text, "its files").map(FileMode)
    }
}

/// An octal mode up to "0777" (a leading "0o" allowed) that lets the owner
/// read and write `what`.
fn owner_rw_mode(text: &str, what: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("expected an octal mode like \"0600\", found {text:?}"))?;
    if mode & 0o600 != 0o600 {
        return Err(format!(
            "{text:?} does not let the owner read and write {what}"
        ));
    }
    Ok(mode)
}

/// The longest path a Unix socket can have on Linux: `sun_path` holds 108
/// bytes, the last one the terminating NUL.
pub const MAX_SOCKET_PATH: usize = 107;

/// A socket path that fits in `sun_path` ([`MAX_SOCKET_PATH`] bytes);
/// checked when the file is loaded, so a long one is reported with the
/// file and line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PathBuf")]
pub struct SocketPath(pub PathBuf);

impl TryFrom<PathBuf> for SocketPath {
    type Error = String;

    fn try_from(path: PathBuf) -> Result<Self, String> {
        check_socket_path(&path)?;
        Ok(SocketPath(path))
    }
}

impl SocketPath {
    /// Deserializes a [`SocketPath`] into the plain path (for
    /// `deserialize_with`).
    fn path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        SocketPath::deserialize(d).map(|p| p.0)
    }
}

/// Checks that `path` fits in a Unix socket address.
///
/// # Errors
///
/// The path is too long (the message names it and its length) or empty.
pub fn check_socket_path(path: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    fits_sun_path(path)?;
    // The socket is first bound at DIR/.jobd-PID/s (see socket.rs), which
    // must fit too: PID has at most 7 digits (Linux's pid_max).
    let dir = path
        .parent()
        .map_or(0, |d| d.as_os_str().as_bytes().len().max(1));
    let first = dir + BIND_DETOUR;
    if first > MAX_SOCKET_PATH {
        return Err(format!(
            "the socket path {} is in a directory of {dir} bytes; jobd binds it first at DIR/.jobd-PID/s ({first} bytes), and a Unix socket's path is at most {MAX_SOCKET_PATH} bytes here: the directory may have at most {} bytes (choose a shorter app.socket)",
            path.display(),
            MAX_SOCKET_PATH - BIND_DETOUR
        ));
    }
    Ok(())
}

/// A client's check of a socket path: it fits in `sun_path` (a server's,
/// [`check_socket_path`], also checks the first bind's detour).
///
/// # Errors
///
/// The path is empty or too long, naming its length.
pub fn fits_sun_path(path: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let len = path.as_os_str().as_bytes().len();
    if len == 0 {
        return Err("an empty socket path".into());
    }
    if len > MAX_SOCKET_PATH {
        return Err(format!(
            "the socket path {} is {len} bytes; a Unix socket's path is at most {MAX_SOCKET_PATH} bytes here (choose a shorter app.socket)",
            path.display()
        ));
    }
    Ok(())
}

/// What the first bind adds to the socket's directory: `/.jobd-` (7), a pid
/// of up to 7 digits, and `/s` (2).
pub const BIND_DETOUR: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_socket_mode_is_refused_at_load_with_its_line() {
        let ok: Settings = Config::app_section("[app]\nsocket_mode = \"0660\"\n", "jobd.toml")
            .expect("valid")
            .expect("has [app]");
        assert_eq!(ok.socket_mode, SocketMode(0o660));
        for (text, says) in [
            ("0400", "does not let the owner"),
            ("0999", "expected an octal mode"),
            ("rw", "expected an octal mode"),
        ] {
            let file = format!("[app]\nstdin = true\nsocket_mode = \"{text}\"\n");
            let err = Config::app_section::<Settings>(&file, "jobd.toml").expect_err(text);
            assert_eq!(err.line, Some(3), "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }

    #[test]
    fn relative_paths_resolve_against_the_config_files_directory() {
        let config = Config::parse(
            "[app]\nsocket = \"run/jobd.sock\"\nresults = \"/var/lib/jobd/results.tsv\"\n",
            "/etc/jobd/jobd.toml",
        )
        .expect("valid");
        let mut s: Settings = config.app_config().expect("valid").expect("has [app]");
        s.anchor(&config);
        assert_eq!(s.socket, Path::new("/etc/jobd/run/jobd.sock"));
        assert_eq!(
            s.results,
            Path::new("/var/lib/jobd/results.tsv"),
            "absolute: kept"
        );
    }

    #[test]
    fn the_documented_config_file_loads_with_its_defaults() {
        let file: Settings = Config::app_section(include_str!("../jobd.toml"), "jobd/jobd.toml")
            .expect("jobd/jobd.toml's [app] is valid")
            .expect("it has [app]");
        let defaults = Settings::default();
        assert_eq!(file.socket_mode, defaults.socket_mode);
        assert_eq!(file.file_mode, defaults.file_mode);
        assert_eq!(file.stdin, defaults.stdin);
    }

    #[test]
    fn a_bad_file_mode_or_a_long_socket_path_is_refused_at_load_with_its_line() {
        let ok: Settings = Config::app_section("[app]\nfile_mode = \"0640\"\n", "jobd.toml")
            .expect("valid")
            .expect("has [app]");
        assert_eq!(ok.file_mode, FileMode(0o640));
        assert_eq!(Settings::default().file_mode, FileMode(0o600));
        let fits = format!("/{}", "s".repeat(MAX_SOCKET_PATH - 1));
        let ok: Settings =
            Config::app_section(&format!("[app]\nsocket = \"{fits}\"\n"), "jobd.toml")
                .expect("107 bytes fit")
                .expect("has [app]");
        assert_eq!(ok.socket, PathBuf::from(fits));
        let long = format!("/{}", "s".repeat(MAX_SOCKET_PATH));
        for (line, says) in [
            ("file_mode = \"0200\"".to_owned(), "does not let the owner"),
            ("file_mode = \"rw\"".to_owned(), "expected an octal mode"),
            (format!("socket = \"{long}\""), "is 108 bytes"),
            ("socket = \"\"".to_owned(), "empty socket path"),
        ] {
            let file = format!("[app]\nstdin = true\n{line}\n");
            let err = Config::app_section::<Settings>(&file, "jobd.toml").expect_err(&line);
            assert_eq!(err.line, Some(3), "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }

    #[test]
    fn the_limits_are_read_and_bad_ones_refused_with_their_line() {
        let ok: Settings = Config::app_section(
            "[app]\nmax_connections = 3\nread_timeout = \"300ms\"\njob_timeout = \"2s\"\n\
             max_file_bytes = 10\nroot = \"/srv\"\n",
            "jobd.toml",
        )
        .expect("valid")
        .expect("has [app]");
        assert_eq!(ok.max_connections.get(), 3);
        assert_eq!(ok.read_timeout, Duration::from_millis(300));
        assert_eq!(ok.job_timeout, Duration::from_secs(2));
        assert_eq!(ok.max_file_bytes, 10);
        assert_eq!(ok.root, Some(PathBuf::from("/srv")));
        for (line, says) in [
            ("max_connections = 0", "nonzero"),
            ("read_timeout = \"0s\"", "greater than zero"),
            ("job_timeout = \"soon\"", "expected a duration"),
            ("max_file_bytes = -1", "expected u64"),
        ] {
            let file = format!("[app]\nstdin = true\n{line}\n");
            let err = Config::app_section::<Settings>(&file, "jobd.toml").expect_err(line);
            assert_eq!(err.line, Some(3), "{err}");
            assert!(err.to_string().contains(says), "{line}: {err}");
        }
    }
}
