//! The directory rolling log files go to: made if missing, with a mode of
//! its own, and refused when another user could plant a link in it.
//!
//! `tracing-appender` opens each new file by name (append, create) and so
//! follows a symbolic link already there. In a directory that other users
//! can write (`/tmp`, a world-writable share), one of them could place a
//! link named like tomorrow's log file and have this program, perhaps
//! running as root, append its lines to a file of their choosing. So, as
//! OpenSSH does for its key files: the directory must belong to this
//! process's user or to root, and must not be writable by every user; each
//! directory above it must belong to this user or root too, and one that
//! every user can write must have the sticky bit (`/tmp`: others cannot
//! rename what is not theirs). A group-writable directory is accepted (a
//! log group the administrator chose). A directory this function makes
//! has a mode of at most `0750` (the umask may remove more). The files
//! themselves get the process's umask (`UMask=0027` in a systemd unit gives
//! `0640`).

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;

/// The mode of a log directory this crate makes.
const DIR_MODE: u32 = 0o750;

/// Makes `dir` (and its missing parents) if needed, then checks that it is
/// a directory that only its owner (this user or root) and its group can
/// write. The error says why, for the caller to add the file and line.
pub(crate) fn prepare(dir: &Path) -> Result<(), String> {
    if std::fs::metadata(dir).is_err() {
        // Missing, or below something that is not a directory: making it
        // says which.
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| format!("cannot be created: {e}"))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_dir() {
        return Err("is not a directory".into());
    }
    // Where there is no `/proc`, owners are not checked.
    let me = effective_uid();
    let foreign = |uid: u32| me.is_some_and(|me| uid != 0 && uid != me);
    if foreign(meta.uid()) {
        return Err(format!(
            "belongs to uid {}, neither this process's user nor root: \
             its owner could replace a log file with a link",
            meta.uid()
        ));
    }
    if meta.mode() & 0o002 != 0 {
        return Err(format!(
            "is writable by every user (mode {:04o}): another user could \
             plant a link where a log file will be opened; use a directory \
             of the service's own, such as /var/log/NAME (mode 0750)",
            meta.mode() & 0o7777
        ));
    }
    let real = std::fs::canonicalize(dir).map_err(|e| format!("cannot be read: {e}"))?;
    for above in real.ancestors().skip(1) {
        let m = std::fs::metadata(above)
            .map_err(|e| format!("{} above it cannot be read: {e}", above.display()))?;
        if foreign(m.uid()) {
            return Err(format!(
                "{} above it belongs to uid {}, neither this process's user \
                 nor root: its owner could swap the log directory",
                above.display(),
                m.uid()
            ));
        }
        if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
            return Err(format!(
                "{} above it is writable by every user without the sticky \
                 bit (mode {:04o}): anyone could swap the log directory",
                above.display(),
                m.mode() & 0o7777
            ));
        }
    }
    Ok(())
}

/// This process's effective user id, from `/proc/self/status` (std has no
/// `geteuid`). Not the owner of `/proc/self`: for a process that is not
/// dumpable (one that dropped root with `setuid`), that owner is root.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    // Real, effective, saved, filesystem.
    uids.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tb-log-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_missing_directory_is_made_at_most_0750() {
        let dir = scratch("made");
        prepare(&dir.join("a/b")).expect("made");
        for d in [dir.join("a"), dir.join("a/b")] {
            let mode = std::fs::metadata(&d).expect("exists").mode() & 0o7777;
            assert_eq!(mode & 0o027, 0, "{}: {mode:04o}", d.display());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_world_writable_directory_is_refused() {
        let dir = scratch("open");
        std::fs::create_dir_all(&dir).expect("made");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        let e = prepare(&dir).expect_err("world-writable");
        assert!(e.contains("writable by every user (mode 1777)"), "{e}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        prepare(&dir).expect("the owner's own directory is fine");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_below_a_world_writable_one_without_sticky_bit_is_refused() {
        let dir = scratch("above");
        std::fs::create_dir_all(dir.join("logs")).expect("made");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let e = prepare(&dir.join("logs")).expect_err("an open parent");
        assert!(e.contains("without the sticky bit (mode 0777)"), "{e}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        prepare(&dir.join("logs")).expect("a sticky parent, like /tmp, is fine");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_effective_uid_is_this_processs() {
        let owner_of_a_new_file = {
            let f = scratch("uid");
            std::fs::write(&f, "").expect("written");
            let uid = std::fs::metadata(&f).expect("exists").uid();
            let _ = std::fs::remove_file(&f);
            uid
        };
        assert_eq!(effective_uid(), Some(owner_of_a_new_file));
    }

    #[test]
    fn a_file_is_not_a_log_directory() {
        let dir = scratch("file");
        std::fs::write(&dir, "").expect("a file");
        assert_eq!(prepare(&dir), Err("is not a directory".to_owned()));
        let _ = std::fs::remove_file(&dir);
    }
}
