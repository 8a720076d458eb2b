//! jobd's own settings: the `[app]` table of its config file.

use std::path::PathBuf;

use serde::Deserialize;

/// Where jobd listens and writes, from `[app]`; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The Unix socket's path.
    pub socket: PathBuf,
    /// The socket's permission bits, as an octal string ("0600").
    pub socket_mode: String,
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
            socket_mode: "0600".into(),
            results: tmp.join(format!("jobd-{user}-results.tsv")),
            stdin: true,
        }
    }
}

impl Settings {
    /// The socket mode as permission bits.
    ///
    /// # Errors
    ///
    /// A message naming the key when it is not an octal mode up to 0777, or
    /// when it would not let the owner connect (read and write).
    pub fn mode(&self) -> Result<u32, String> {
        let text = self.socket_mode.trim_start_matches("0o");
        let mode = u32::from_str_radix(text, 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| {
                format!(
                    "app.socket_mode: expected an octal mode like \"0600\", found {:?}",
                    self.socket_mode
                )
            })?;
        if mode & 0o600 != 0o600 {
            return Err(format!(
                "app.socket_mode: {:?} does not let the owner read and write the socket",
                self.socket_mode
            ));
        }
        Ok(mode)
    }
}
