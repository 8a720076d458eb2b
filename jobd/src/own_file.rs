//! Opening jobd's own files safely: the results file, the journal, the
//! socket's lock file.
//!
//! A path in a shared directory (the default paths are in `/tmp`) may be
//! something else than the file jobd made: a symbolic link to someone's
//! file, a second name (hard link) of someone's file, a FIFO or a device.
//! jobd cuts a torn last line off its files at start, so following such a
//! path would truncate someone else's data. [`open_own`] therefore opens
//! without following links and checks the file it opened, not the path:
//!
//! - `O_NOFOLLOW`: a symbolic link as the last component is refused by the
//!   kernel (`ELOOP`), never followed; `O_NONBLOCK` and `O_NOCTTY` so that
//!   opening a FIFO or a device by mistake neither blocks nor adopts a
//!   terminal (both have no effect on a regular file).
//! - then `fstat` on the open file: a regular file, owned by jobd's user,
//!   with exactly one link. Anything else is refused with a message that
//!   names the path and what it is, before a byte is read or written.
//! - a missing file is created (`O_CREAT | O_EXCL`, which never follows a
//!   link) and given exactly the configured mode (`fchmod`, so the umask
//!   cannot widen or narrow it); an existing file whose mode is wider than
//!   the configured one is logged (a warning) and left as it is: its owner
//!   may have widened it on purpose.
//!
//! # Limitations
//!
//! Links in the directories above the file are followed (the operator
//! chose the directory); only the last component is guarded. Linux only:
//! jobd's user is the owner of `/proc/self`.

use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode jobd's files are created with unless `[app] file_mode` says
/// otherwise: owner read and write.
pub const DEFAULT_MODE: u32 = 0o600;

/// Opens (or creates, with permission bits `mode`) jobd's own file at
/// `path` for reading and appending, refusing anything that is not a
/// regular file of jobd's user with one link. `what` names the file in
/// messages ("results file").
///
/// # Errors
///
/// A message for the operator naming `what`, the path and what is wrong:
/// a symbolic link, a directory, a FIFO or another non-regular file,
/// someone else's file, a file with more than one link, or an I/O error.
pub fn open_own(path: &Path, mode: u32, what: &str) -> Result<File, String> {
    let shown = path.display();
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
    // A file removed between the two opens is looked for again, a few times.
    for _ in 0..3 {
        let created = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(flags)
            .open(path);
        match created {
            Ok(file) => {
                // The umask narrowed (or, with 0, kept) the mode: set it.
                file.set_permissions(Permissions::from_mode(mode))
                    .map_err(|e| format!("{what} {shown}: cannot set mode {mode:04o}: {e}"))?;
                check(&file, path, what)?;
                tracing::debug!(file = %shown, what, mode = %format!("{mode:04o}"), "created");
                return Ok(file);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(refusal(&e, path, what)),
        }
        let existing = OpenOptions::new()
            .read(true)
            .append(true)
            .custom_flags(flags)
            .open(path);
        match existing {
            Ok(file) => {
                let meta = check(&file, path, what)?;
                let have = meta.permissions().mode() & 0o777;
                if have & !mode != 0 {
                    tracing::warn!(
                        file = %shown,
                        what,
                        mode = %format!("{have:04o}"),
                        file_mode = %format!("{mode:04o}"),
                        "the file's mode is wider than app.file_mode; jobd leaves it so (chmod it to tighten)"
                    );
                }
                return Ok(file);
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(refusal(&e, path, what)),
        }
    }
    Err(format!(
        "{what} {shown}: it keeps appearing and disappearing; is something else using it?"
    ))
}

/// Why an open of `path` failed, for the operator.
fn refusal(e: &std::io::Error, path: &Path, what: &str) -> String {
    let shown = path.display();
    match e.raw_os_error() {
        Some(libc::ELOOP) => format!(
            "{what} {shown} is a symbolic link; jobd does not follow links to its own files (remove the link or choose another path)"
        ),
        Some(libc::EISDIR) => format!("{what} {shown} is a directory, not a regular file"),
        _ => format!("{what} {shown}: cannot open: {e}"),
    }
}

/// Checks the open `file` (fstat, not the path): a regular file, owned by
/// jobd's user, one link. Returns its metadata.
fn check(file: &File, path: &Path, what: &str) -> Result<Metadata, String> {
    let shown = path.display();
    let meta = file
        .metadata()
        .map_err(|e| format!("{what} {shown}: cannot stat: {e}"))?;
    let kind = meta.file_type();
    let not_regular = if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_dir() {
        Some("a directory")
    } else if !kind.is_file() {
        Some("not a regular file")
    } else {
        None
    };
    if let Some(kind) = not_regular {
        return Err(format!(
            "{what} {shown} is {kind}, not a regular file; refusing to use it"
        ));
    }
    let me = own_uid().map_err(|e| format!("{what} {shown}: {e}"))?;
    if meta.uid() != me {
        return Err(format!(
            "{what} {shown} belongs to uid {}, not to jobd's user (uid {me}); refusing to use someone else's file",
            meta.uid()
        ));
    }
    if meta.nlink() != 1 {
        return Err(format!(
            "{what} {shown} has {} hard links; jobd's own files have exactly one (another name may be someone else's file)",
            meta.nlink()
        ));
    }
    Ok(meta)
}

/// jobd's user: the owner of `/proc/self` (std offers no `getuid` without
/// `unsafe`).
///
/// # Errors
///
/// `/proc` is not mounted or not readable.
pub fn own_uid() -> Result<u32, String> {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .map_err(|e| format!("cannot tell jobd's own uid from /proc/self: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("jobd-own-file-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        dir
    }

    #[test]
    fn a_new_file_gets_exactly_its_mode_and_an_existing_one_is_kept() {
        let dir = scratch("mode");
        let path = dir.join("own");
        let file = open_own(&path, 0o640, "test file").expect("created");
        let mode = file.metadata().expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        drop(file);
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        open_own(&path, 0o600, "test file").expect("an existing wider file opens");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "left as it is (a warning only)");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn links_directories_and_second_names_are_refused() {
        let dir = scratch("refused");
        let target = dir.join("target");
        std::fs::write(&target, "x".repeat(100)).expect("written");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let err = open_own(&link, 0o600, "test file").expect_err("a link");
        assert!(
            err.contains("symbolic link") && err.contains("link"),
            "{err}"
        );
        let dangling = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).expect("symlink");
        let err = open_own(&dangling, 0o600, "test file").expect_err("a dangling link");
        assert!(err.contains("symbolic link"), "{err}");
        assert!(!dir.join("nowhere").exists(), "nothing created through it");
        let hard = dir.join("hard");
        std::fs::hard_link(&target, &hard).expect("hard link");
        let err = open_own(&hard, 0o600, "test file").expect_err("two links");
        assert!(err.contains("2 hard links"), "{err}");
        let err = open_own(&dir, 0o600, "test file").expect_err("a directory");
        assert!(err.contains("directory"), "{err}");
        assert_eq!(std::fs::read(&target).expect("kept").len(), 100);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn someone_elses_file_is_refused() {
        // Only root can give a file away; as another user there is no
        // file of someone else's that this test could open for writing.
        if own_uid().expect("/proc/self") != 0 {
            return;
        }
        let dir = scratch("owner");
        let theirs = dir.join("theirs");
        std::fs::write(&theirs, "theirs").expect("written");
        std::os::unix::fs::chown(&theirs, Some(65534), None).expect("root gives it away");
        let err = open_own(&theirs, 0o600, "test file").expect_err("not ours");
        assert!(err.contains("belongs to uid 65534"), "{err}");
        assert_eq!(std::fs::read_to_string(&theirs).expect("kept"), "theirs");
        let _ = std::fs::remove_dir_all(dir);
    }
}
