//! jobd's own settings: the `[app]` table of its config file.

use std::path::PathBuf;

use serde::Deserialize;

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
    /// The intake journal; by default beside the results file, its name
    /// with `.journal` added (see [`Settings::journal_path`]).
    pub journal: Option<PathBuf>,
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
            journal: None,
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
    use threadbutler::config::Config;

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
}
