//! jobd's own settings: the `[app]` table of its config file.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use threadbutler::config::HumanDuration;

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
}

/// A human duration (`"300ms"`, `"10m"`) greater than zero.
fn positive<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
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
            max_connections: NonZeroUsize::new(256).expect("256 is not zero"),
            read_timeout: Duration::from_secs(60),
            job_timeout: Duration::from_secs(600),
            max_file_bytes: 1 << 30,
            root: None,
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
