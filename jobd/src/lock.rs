//! Single-instance locks: one jobd per socket, results file and journal.
//!
//! A [`Lock`] is an exclusive `flock` (std's [`File::try_lock`]) on a file
//! opened with [`open_own`], held as long as the `Lock` lives (jobd keeps
//! its locks for the whole run). The kernel drops it when the process ends,
//! however it ends, so a lock never outlives its jobd; a second jobd's
//! `try_lock` fails at once and it stops with a message naming the path and
//! the first jobd's pid.
//!
//! Two kinds:
//!
//! - [`Lock::own_file`]: the data file itself (the results file, the journal).
//!   The pid of its holder is looked up in `/proc/locks`.
//! - [`Lock::pid_file`]: a lock file beside something that cannot be locked
//!   itself (the socket: `<socket path>.lock`), holding the pid as text. It
//!   is removed when released, if the file at its path is still this one.
//!
//! # Race conditions
//!
//! A lock file can be removed by its holder (at its exit) between a second
//! jobd's open and its `try_lock`: the second would then lock a file that
//! has no name any more while a third creates a new one. After locking, the
//! path is checked to still name the locked file (same device and inode);
//! if not, the lock is taken again on what the path names now.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::own_file::open_own;

/// An exclusive lock on one of jobd's own files, held until dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
    /// The locked file's device and inode.
    id: (u64, u64),
    /// A lock file of its own (removed when released).
    remove: bool,
}

impl Lock {
    /// Opens (see [`open_own`]) and locks jobd's own data file at `path`.
    /// `what` names it ("results file"), `key` is the `[app]` key that
    /// chooses it ("app.results"), for the message.
    ///
    /// # Errors
    ///
    /// Another jobd holds it (`PATH is in use by another jobd (pid N); stop
    /// it or choose another KEY`), or [`open_own`] refused the file.
    pub fn own_file(path: &Path, mode: u32, what: &str, key: &str) -> Result<Lock, String> {
        Lock::take(path, path, mode, what, key, false)
    }

    /// Opens (see [`open_own`]) and locks the lock file at `path` that
    /// guards `guarded` (named in the message, with `key`), and writes this
    /// process's pid into it. The lock file is removed when released.
    ///
    /// # Errors
    ///
    /// As [`own_file`](Self::own_file); or the pid could not be written.
    pub fn pid_file(path: &Path, guarded: &Path, mode: u32, key: &str) -> Result<Lock, String> {
        let mut lock = Lock::take(path, guarded, mode, "lock file", key, true)?;
        let pid = std::process::id();
        lock.file
            .set_len(0)
            .and_then(|()| writeln!(lock.file, "{pid}"))
            .map_err(|e| format!("lock file {}: cannot write the pid: {e}", path.display()))?;
        Ok(lock)
    }

    fn take(
        path: &Path,
        guarded: &Path,
        mode: u32,
        what: &str,
        key: &str,
        remove: bool,
    ) -> Result<Lock, String> {
        let shown = path.display();
        for _ in 0..3 {
            let mut file = open_own(path, mode, what)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let pid = holder(&mut file, remove)
                        .map_or_else(|| "pid unknown".to_owned(), |pid| format!("pid {pid}"));
                    return Err(format!(
                        "{} is in use by another jobd ({pid}); stop it or choose another {key}",
                        guarded.display()
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(format!("{what} {shown}: cannot lock: {e}"));
                }
            }
            let meta = file
                .metadata()
                .map_err(|e| format!("{what} {shown}: cannot stat: {e}"))?;
            let id = (meta.dev(), meta.ino());
            // Still the file the path names (its holder may have removed it
            // just before we locked it)?
            match std::fs::symlink_metadata(path) {
                Ok(now) if (now.dev(), now.ino()) == id => {
                    tracing::debug!(file = %shown, what, "locked for this run");
                    return Ok(Lock {
                        file,
                        path: path.to_owned(),
                        id,
                        remove,
                    });
                }
                _ => continue,
            }
        }
        Err(format!(
            "{what} {shown}: replaced while being locked, again and again; is another jobd starting?"
        ))
    }

    /// The locked file (opened for reading and appending).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The path it is locked at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the locked file to `to` (replacing what is there), keeping
    /// the lock: how a compacted copy, written to a temporary path and
    /// locked there, takes the place of the file it replaces without a
    /// moment in which the path names an unlocked file.
    ///
    /// # Errors
    ///
    /// The rename failed; the lock and its path are unchanged.
    pub fn rename_to(&mut self, to: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, to)?;
        tracing::debug!(from = %self.path.display(), to = %to.display(), "locked file renamed");
        self.path = to.to_owned();
        Ok(())
    }

    /// Removes a lock file (of [`pid_file`](Self::pid_file)) if the file at
    /// its path is still this one; the lock itself is held until drop.
    /// Nothing for a data file's lock.
    pub fn remove(&self) {
        if !self.remove {
            return;
        }
        if let Ok(now) = std::fs::symlink_metadata(&self.path)
            && (now.dev(), now.ino()) == self.id
        {
            match std::fs::remove_file(&self.path) {
                Ok(()) => tracing::debug!(file = %self.path.display(), "lock file removed"),
                Err(e) => {
                    tracing::warn!(file = %self.path.display(), error = %e, "cannot remove the lock file")
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The pid of the jobd holding the lock on `file`: the text of a lock file,
/// or else the `flock` entry for its inode in `/proc/locks`.
fn holder(file: &mut File, pid_text: bool) -> Option<u32> {
    if pid_text {
        let mut text = String::new();
        if file.read_to_string(&mut text).is_ok()
            && let Ok(pid) = text.trim().parse()
        {
            return Some(pid);
        }
    }
    let meta = file.metadata().ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    holder_in(&locks, meta.dev(), meta.ino())
}

/// The pid of the `FLOCK` holder of the file `(dev, ino)` in the text of
/// `/proc/locks` (lines like `1: FLOCK  ADVISORY  WRITE 4711 00:2b:1234 0
/// EOF`; a waiter's line has `->` after the number and is skipped).
fn holder_in(locks: &str, dev: u64, ino: u64) -> Option<u32> {
    let want = format!("{:02x}:{:02x}:{ino}", libc::major(dev), libc::minor(dev));
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [_, "FLOCK", _, _, pid, file, ..] if *file == want => pid.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_found_by_device_and_inode() {
        let dev = libc::makedev(0, 0x2b);
        let locks = "1: POSIX  ADVISORY  WRITE 10 00:2b:99 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 4711 00:2b:1234 0 EOF\n\
                     2: -> FLOCK  ADVISORY  WRITE 4712 00:2b:1234 0 EOF\n";
        assert_eq!(holder_in(locks, dev, 1234), Some(4711));
        assert_eq!(holder_in(locks, dev, 99), None, "not a flock");
        assert_eq!(holder_in(locks, dev, 5), None);
    }

    #[test]
    fn a_second_lock_on_one_file_is_refused_with_the_pid() {
        let dir = std::env::temp_dir().join(format!("jobd-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        let sock = dir.join("s.sock");
        let lock_path = dir.join("s.sock.lock");
        let first = Lock::pid_file(&lock_path, &sock, 0o600, "app.socket").expect("free");
        let text = std::fs::read_to_string(&lock_path).expect("the pid");
        assert_eq!(text, format!("{}\n", std::process::id()));
        let err = Lock::pid_file(&lock_path, &sock, 0o600, "app.socket").expect_err("held");
        assert!(
            err.contains(&format!(
                "{} is in use by another jobd (pid {})",
                sock.display(),
                std::process::id()
            )),
            "{err}"
        );
        let data = dir.join("results.tsv");
        let held = Lock::own_file(&data, 0o600, "results file", "app.results").expect("free");
        let err = Lock::own_file(&data, 0o600, "results file", "app.results").expect_err("held");
        assert!(err.contains("in use by another jobd"), "{err}");
        assert!(err.contains("choose another app.results"), "{err}");
        drop(first);
        assert!(!lock_path.exists(), "a released lock file is removed");
        // A copy locked at a temporary path replaces the data file, locked.
        let mut copy =
            Lock::own_file(&dir.join("tmp"), 0o600, "results file", "app.results").expect("free");
        copy.rename_to(&data).expect("renamed");
        let err = Lock::own_file(&data, 0o600, "results file", "app.results").expect_err("held");
        assert!(err.contains("in use by another jobd"), "{err}");
        drop((held, copy));
        assert!(data.exists(), "a data file is kept");
        Lock::own_file(&data, 0o600, "results file", "app.results").expect("free again");
        let _ = std::fs::remove_dir_all(dir);
    }
}
