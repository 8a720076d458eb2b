//! jobd's own settings: the `[app]` table of its config file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use threadbutler::config::Config;

/// Where jobd listens and writes, from `[app]`; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The Unix socket's path.
    pub socket: PathBuf,
    /// The socket's permission bits, written as an octal string ("0600").
    pub socket_mode: SocketMode,
    /// The append-only results file.
    pub results: PathBuf,
    /// Read jobs from stdin when it is not a terminal.
    pub stdin: bool,
}

impl Default for Settings {
    fn default() -> Self {
        // Per user, so that two users of one machine do not collide.
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata("/proc/self")
                    .map_or_else(|_| "jobd".into(), |m| format!("uid{}", m.uid()))
            });
        let tmp = std::env::temp_dir();
        Settings {
            socket: tmp.join(format!("jobd-{user}.sock")),
            socket_mode: SocketMode(0o600),
            results: tmp.join(format!("jobd-{user}-results.tsv")),
            stdin: true,
        }
    }
}

impl Settings {
    /// Reads the `[app]` table of the config file at `path` (its code
    /// defaults without one), its relative paths anchored at the file's
    /// directory: what a client (`jobd submit`, `jobd health`) needs.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or its `[app]` table is bad (file and line).
    pub fn from_file(path: &Path) -> Result<Settings, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let shown = path.display().to_string();
        let settings: Option<Settings> =
            Config::app_section(&text, &shown).map_err(|e| e.to_string())?;
        let mut settings = settings.unwrap_or_default();
        settings.anchor(path);
        Ok(settings)
    }

    /// Makes the relative paths that came from the config file at
    /// `config` relative to that file's directory, not to the working
    /// directory (the default paths are absolute already).
    pub fn anchor(&mut self, config: &Path) {
        let dir = anchor_dir(config);
        for path in [&mut self.socket, &mut self.results] {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        }
    }
}

/// The directory that relative paths in the config file at `config`
/// resolve against: the file's own directory.
pub fn anchor_dir(config: &Path) -> PathBuf {
    match config.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
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
        let mode = u32::from_str_radix(text.trim_start_matches("0o"), 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| format!("expected an octal mode like \"0600\", found {text:?}"))?;
        if mode & 0o600 != 0o600 {
            return Err(format!(
                "{text:?} does not let the owner read and write the socket"
            ));
        }
        Ok(SocketMode(mode))
    }
}

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
        let mut s: Settings = Config::app_section(
            "[app]\nsocket = \"run/jobd.sock\"\nresults = \"/var/lib/jobd/results.tsv\"\n",
            "jobd.toml",
        )
        .expect("valid")
        .expect("has [app]");
        s.anchor(Path::new("/etc/jobd/jobd.toml"));
        assert_eq!(s.socket, Path::new("/etc/jobd/run/jobd.sock"));
        assert_eq!(
            s.results,
            Path::new("/var/lib/jobd/results.tsv"),
            "absolute: kept"
        );
        assert_eq!(anchor_dir(Path::new("jobd.toml")), Path::new("."));
    }
}
