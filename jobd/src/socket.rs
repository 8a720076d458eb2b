//! The Unix socket: created owner-only, a stale one replaced, a live one
//! refused.
//!
//! # Race conditions
//!
//! - Permissions: the socket is bound inside a fresh directory of mode 0700,
//!   given its mode there, then renamed into place. Nobody else can reach it
//!   before it has its final mode (binding at the final path and then
//!   calling `chmod` would leave a window with the umask's mode).
//! - Two jobds started at the same instant on one path can both find it free;
//!   the second rename wins. Serializing that needs a lock file (`flock`),
//!   which std does not offer without `unsafe`; jobd does not try.

use std::fs::{self, DirBuilder};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// A bound socket, removed from the file system when dropped (if the file
/// at its path is still this one).
#[derive(Debug)]
pub struct Socket {
    /// The listener.
    pub listener: UnixListener,
    /// Where it is.
    pub path: PathBuf,
    inode: (u64, u64),
}

/// Binds a socket at `path` with permission bits `mode`.
///
/// # Errors
///
/// A message for the operator: a running jobd answers at `path`, `path` is
/// something other than a socket, or the socket could not be made.
pub fn bind(path: &Path, mode: u32) -> Result<Socket, String> {
    let shown = path.display();
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(format!(
                "{shown} exists and is not a socket; refusing to replace it (choose another app.socket)"
            ));
        }
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(format!(
                    "{shown}: another jobd is running and listening there; stop it first or choose another app.socket"
                ));
            }
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                tracing::warn!(socket = %shown, "replacing a stale socket left by a run that did not stop cleanly");
                fs::remove_file(path)
                    .map_err(|e| format!("{shown}: cannot remove the stale socket: {e}"))?;
            }
            Err(e) => {
                return Err(format!(
                    "{shown}: cannot tell whether a jobd is using it: {e}"
                ));
            }
        },
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{shown}: {e}")),
    }

    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let private = parent.join(format!(".jobd-{}", std::process::id()));
    DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(|e| {
            format!(
                "{}: cannot create a private directory: {e}",
                private.display()
            )
        })?;
    let made = (|| {
        let tmp = private.join("s");
        let listener =
            UnixListener::bind(&tmp).map_err(|e| format!("{shown}: cannot bind: {e}"))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{shown}: cannot set mode {mode:o}: {e}"))?;
        fs::rename(&tmp, path)
            .map_err(|e| format!("{shown}: cannot move the socket into place: {e}"))?;
        let meta = fs::symlink_metadata(path).map_err(|e| format!("{shown}: {e}"))?;
        Ok(Socket {
            listener,
            path: path.to_owned(),
            inode: (meta.dev(), meta.ino()),
        })
    })();
    let _ = fs::remove_dir_all(&private);
    made
}

impl Socket {
    /// Removes the socket file, if the file at its path is still this
    /// socket (a later jobd may have replaced it). The listener stays open
    /// until dropped.
    pub fn remove(&self) {
        if let Ok(meta) = fs::symlink_metadata(&self.path)
            && (meta.dev(), meta.ino()) == self.inode
        {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.remove();
    }
}
