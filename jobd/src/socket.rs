//! The Unix socket: created owner-only, a stale one replaced, a live one
//! refused.
//!
//! # Race conditions
//!
//! - Permissions: the socket is bound inside a fresh directory of mode 0700,
//!   given its mode there, then renamed into place. Nobody else can reach it
//!   before it has its final mode (binding at the final path and then
//!   calling `chmod` would leave a window with the umask's mode).
//! - Two jobds started at the same instant on one path: each first takes the
//!   lock file `<socket path>.lock` ([`claim`], an exclusive `flock` held for
//!   the whole run), and only the holder checks, removes a stale socket and
//!   binds. The second is refused before it looks at the socket, so it never
//!   removes or replaces the first one's.
//! - A stale socket is removed only if it is a socket (`symlink_metadata`:
//!   a link is not followed and is refused as "not a socket") that nothing
//!   answers on, checked under the lock.
//! - The path must fit in `sun_path`: checked before binding, since the
//!   socket is bound at a shorter temporary path and renamed, which would
//!   otherwise leave a socket nobody can connect to.

use std::fs::{self, DirBuilder};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::lock::Lock;
use crate::settings::check_socket_path;

/// The socket's lock file, held: only its holder may bind the path.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    lock: Lock,
}

/// Takes the lock file `<path>.lock` (created with `file_mode`, holding
/// jobd's pid) that keeps a second jobd off the socket at `path`.
///
/// # Errors
///
/// Another jobd holds it (the message names `path` and its pid), or the
/// lock file is not jobd's own (see
/// [`crate::own_file::open_own`]).
pub fn claim(path: &Path, file_mode: u32) -> Result<Claim, String> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock = Lock::pid_file(Path::new(&lock_path), path, file_mode, "app.socket")?;
    Ok(Claim {
        path: path.to_owned(),
        lock,
    })
}

/// A bound socket, removed from the file system when dropped (if the file
/// at its path is still this one), with its lock file.
#[derive(Debug)]
pub struct Socket {
    /// The listener.
    pub listener: UnixListener,
    /// Where it is.
    pub path: PathBuf,
    inode: (u64, u64),
    claim: Claim,
}

/// Binds a socket at the claimed path with permission bits `mode`.
///
/// # Errors
///
/// A message for the operator: a running jobd answers at the path, the
/// path is something other than a socket or too long, or the socket could
/// not be made.
pub fn bind(claim: Claim, mode: u32) -> Result<Socket, String> {
    let owned = claim.path.clone();
    let path = owned.as_path();
    let shown = path.display();
    // Defence in depth: the settings checked it, but a bind must not start
    // half-way (bound and renamed to a path nobody can connect to).
    check_socket_path(path)?;
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
        // Checked by `check_socket_path` with the socket's path (at load):
        // a pid never has more digits than `BIND_DETOUR` allows.
        debug_assert!(tmp.as_os_str().len() <= crate::settings::MAX_SOCKET_PATH);
        let listener =
            UnixListener::bind(&tmp).map_err(|e| format!("{shown}: cannot bind: {e}"))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{shown}: cannot set mode {mode:o}: {e}"))?;
        fs::rename(&tmp, path)
            .map_err(|e| format!("{shown}: cannot move the socket into place: {e}"))?;
        let meta = fs::symlink_metadata(path).map_err(|e| format!("{shown}: {e}"))?;
        tracing::debug!(socket = %shown, mode = %format!("{mode:04o}"), "socket bound");
        Ok(Socket {
            listener,
            path: path.to_owned(),
            inode: (meta.dev(), meta.ino()),
            claim,
        })
    })();
    let _ = fs::remove_dir_all(&private);
    made
}

impl Socket {
    /// Removes the socket file, if the file at its path is still this
    /// socket (a later jobd may have replaced it), then the lock file, if
    /// it is still this run's. The listener stays open and the lock held
    /// until dropped.
    pub fn remove(&self) {
        if let Ok(meta) = fs::symlink_metadata(&self.path)
            && (meta.dev(), meta.ino()) == self.inode
        {
            let _ = fs::remove_file(&self.path);
        }
        self.claim.lock.remove();
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.remove();
    }
}
