//! Opening a file job's file: only regular files, never blocking on the
//! open (a FIFO), within `app.max_file_bytes`, and inside `app.root` when
//! one is set.
//!
//! # Race conditions
//!
//! The path's type is checked before the open (so that no device or FIFO
//! is opened at all), the open is non-blocking (so that a FIFO swapped in
//! after the check does not block the worker), and the opened file's type
//! is checked again on the file itself (`fstat`, not the path). With a
//! root, the path is made canonical and must lie inside the root; the
//! last component is opened without following a symlink, and on Linux the
//! path the kernel opened (`/proc/self/fd/N`) is checked to be inside the
//! root too, so a directory swapped for a symlink between the check and
//! the open is caught.

use std::fs::{File, FileType, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::limits::JobLimits;

/// Opens `path` for a job under `limits`; returns the file.
///
/// # Errors
///
/// Why the job cannot read it, naming the path: it cannot be opened, it is
/// not a regular file, it is outside the root, or it is over the byte
/// limit.
pub fn open(path: &Path, limits: &JobLimits) -> Result<File, String> {
    let shown = path.display();
    let target = confined(path, limits)?;
    let meta = std::fs::metadata(&target).map_err(|e| format!("cannot open {shown}: {e}"))?;
    regular(path, meta.file_type())?;
    let mut flags = libc::O_NONBLOCK;
    if limits.root.is_some() {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(&target)
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
    regular(path, meta.file_type())?;
    if let Some(root) = &limits.root
        && let Ok(opened) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        && !opened.starts_with(root)
    {
        return Err(outside(path, root));
    }
    if meta.len() > limits.max_file_bytes {
        return Err(format!(
            "{shown} is {} bytes, over the limit of {} (app.max_file_bytes)",
            meta.len(),
            limits.max_file_bytes
        ));
    }
    Ok(file)
}

/// The path to open: `path` itself without a root; with one, `path`
/// (relative paths taken from the root) made canonical and checked to be
/// inside it.
fn confined(path: &Path, limits: &JobLimits) -> Result<PathBuf, String> {
    let Some(root) = &limits.root else {
        return Ok(path.to_owned());
    };
    let canonical = root
        .join(path)
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    if canonical.starts_with(root) {
        Ok(canonical)
    } else {
        Err(outside(path, root))
    }
}

fn outside(path: &Path, root: &Path) -> String {
    format!(
        "{} is outside the root {} (app.root): refused",
        path.display(),
        root.display()
    )
}

/// `Ok` for a regular file; otherwise what it is.
fn regular(path: &Path, kind: FileType) -> Result<(), String> {
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "of an unknown type"
    };
    Err(format!("{} is {what}, not a regular file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(root: Option<PathBuf>) -> JobLimits {
        JobLimits {
            root,
            ..JobLimits::default()
        }
    }

    #[test]
    fn only_regular_files_inside_the_root_within_the_limit_open() {
        let dir = std::env::temp_dir().join(format!("jobd-job-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let inside = dir.join("root");
        std::fs::create_dir_all(&inside).expect("temp dir is writable");
        std::fs::write(inside.join("a.txt"), "abc").expect("written");
        std::fs::write(dir.join("secret.txt"), "s").expect("written");
        std::os::unix::fs::symlink(dir.join("secret.txt"), inside.join("out")).expect("link");
        let root = Some(inside.canonicalize().expect("exists"));

        assert!(open(&inside.join("a.txt"), &limits(root.clone())).is_ok());
        assert!(open(Path::new("a.txt"), &limits(root.clone())).is_ok());
        for escape in [
            dir.join("secret.txt"),
            inside.join("../secret.txt"),
            inside.join("out"),
            PathBuf::from("../secret.txt"),
        ] {
            let err = open(&escape, &limits(root.clone())).expect_err("outside");
            assert!(err.contains("outside the root"), "{err}");
        }
        // Without a root: any readable file.
        assert!(open(&inside.join("out"), &limits(None)).is_ok());

        let err = open(&dir, &limits(None)).expect_err("a directory");
        assert!(err.ends_with("is a directory, not a regular file"), "{err}");
        let err = open(Path::new("/dev/null"), &limits(None)).expect_err("a device");
        assert!(err.contains("is a character device"), "{err}");

        let small = JobLimits {
            max_file_bytes: 2,
            ..JobLimits::default()
        };
        let err = open(&inside.join("a.txt"), &small).expect_err("too big");
        assert!(err.contains("3 bytes, over the limit of 2"), "{err}");
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
