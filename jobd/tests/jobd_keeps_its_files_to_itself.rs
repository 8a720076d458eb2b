//! jobd uses only its own files and keeps a second jobd off them: a
//! results path that is a symbolic link, a second name (hard link) of a
//! file or a FIFO is refused at start (exit 1, the path and what it is on
//! stderr) and left byte for byte as it was; the files jobd creates have
//! mode 0600 whatever the umask; a second jobd on the same socket or the
//! same results file is refused with the first one's pid and changes
//! nothing, also when both start at the same instant; a socket path over
//! the platform's limit is a config error (exit 78) before anything is
//! created.
//!
//! The spec is the module doc of jobd/src/lib.rs: "The results file" and
//! "The socket"; issue #12, point 4.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use integration_tests::PATIENCE;
use integration_tests::daemon::{Process, clean_env};
use integration_tests::jobd::{Jobd, Scratch, Settings};

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");

/// Runs jobd on `settings`, which must refuse to start: exit 1 with a
/// line on stderr containing each of `says`. Nothing listens at the
/// socket path and no lock file is left.
fn refused(settings: &Settings, says: &[&str]) {
    let mut jobd = Jobd::spawn(JOBD, settings);
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(1), "jobd refuses to start\n{transcript}");
    assert!(
        jobd.err
            .seen
            .iter()
            .any(|l| says.iter().all(|s| l.contains(s))),
        "a line on stderr says {says:?}\n{transcript}"
    );
    assert!(
        !jobd.out.seen.iter().any(|l| l.contains("listening on")),
        "{transcript}"
    );
    assert!(!settings.socket.exists(), "no socket\n{transcript}");
    assert!(
        !lock_file(&settings.socket).exists(),
        "no lock file left\n{transcript}"
    );
}

/// The socket's lock file.
fn lock_file(socket: &Path) -> std::path::PathBuf {
    let mut path = socket.as_os_str().to_owned();
    path.push(".lock");
    path.into()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn inode(path: &Path) -> u64 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .ino()
}

#[test]
fn a_results_path_that_is_a_symlink_is_refused_and_its_target_kept() {
    let scratch = Scratch::new("symlink");
    let mut settings = Settings::new(&scratch);
    // Someone's file, 5,000 bytes and no newline: a "torn line" to jobd.
    let precious = "p".repeat(5_000);
    let target = scratch.file("someones-file", &precious);
    settings.results = scratch.join("results.tsv");
    std::os::unix::fs::symlink(&target, &settings.results).expect("symlink");

    let shown = settings.results.display().to_string();
    refused(&settings, &[&shown, "symbolic link"]);
    assert_eq!(
        std::fs::read_to_string(&target).expect("the target is there"),
        precious,
        "the link's target is byte for byte as it was"
    );
    assert!(
        std::fs::symlink_metadata(&settings.results)
            .expect("the link is kept")
            .file_type()
            .is_symlink()
    );

    // The same for the socket's lock file, and for the socket itself (a
    // link there is "not a socket": neither followed nor removed).
    settings.results = scratch.join("results.tsv.real");
    let lock = lock_file(&settings.socket);
    std::os::unix::fs::symlink(&target, &lock).expect("symlink");
    let mut jobd = Jobd::spawn(JOBD, &settings);
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(1), "{transcript}");
    let shown = lock.display().to_string();
    assert!(
        transcript.contains(&format!("lock file {shown} is a symbolic link")),
        "{transcript}"
    );
    std::fs::remove_file(&lock).expect("the link is kept");
    std::os::unix::fs::symlink(&target, &settings.socket).expect("symlink");
    let mut jobd = Jobd::spawn(JOBD, &settings);
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(1), "{transcript}");
    assert!(transcript.contains("is not a socket"), "{transcript}");
    assert!(
        std::fs::symlink_metadata(&settings.socket)
            .expect("the link is kept")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&target).expect("the target is there"),
        precious,
        "the links' target is byte for byte as it was"
    );
}

#[test]
fn a_hard_linked_or_fifo_results_file_is_refused_and_kept() {
    let scratch = Scratch::new("hardlink");
    let mut settings = Settings::new(&scratch);
    let torn = "1\tok\twords=1\n2\tok";
    let other = scratch.file("other-name", torn);
    settings.results = scratch.join("results.tsv");
    std::fs::hard_link(&other, &settings.results).expect("hard link");
    let shown = settings.results.display().to_string();
    refused(&settings, &[&shown, "2 hard links"]);
    assert_eq!(std::fs::read_to_string(&other).expect("kept"), torn);

    settings.results = scratch.join("fifo.tsv");
    let made = Command::new("mkfifo")
        .arg(&settings.results)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo made the FIFO");
    let shown = settings.results.display().to_string();
    refused(&settings, &[&shown, "is a FIFO, not a regular file"]);
    assert!(
        std::fs::symlink_metadata(&settings.results)
            .expect("the FIFO is kept")
            .file_type()
            .is_fifo(),
        "the FIFO is kept"
    );
}

#[test]
fn fresh_files_are_owner_only_under_umask_000() {
    let scratch = Scratch::new("umask");
    let settings = Settings::new(&scratch);
    let mut jobd = Jobd::spawn_with_umask(JOBD, &settings, 0o000);
    jobd.wait_listening();
    let lock = lock_file(&settings.socket);
    assert_eq!(mode(&settings.results), 0o600, "the results file's mode");
    assert_eq!(mode(&lock), 0o600, "the lock file's mode");
    assert_eq!(mode(&settings.socket), 0o600, "the socket's mode");
    assert_eq!(
        std::fs::read_to_string(&lock).expect("the lock file"),
        format!("{}\n", jobd.pid()),
        "the lock file holds jobd's pid"
    );
    let mut conn = jobd.connect();
    conn.submit("m", "sleep 1ms");
    assert_eq!(conn.wait("m"), "ok");
    drop(conn);
    jobd.stop_cleanly();
    assert!(!lock.exists(), "a clean stop removes the lock file");
    assert_eq!(mode(&settings.results), 0o600, "the results file is kept");

    // `file_mode` chooses the mode, exactly, whatever the umask.
    let scratch = Scratch::new("fmode");
    let mut settings = Settings::new(&scratch);
    settings.file_mode = Some("0640".into());
    let mut jobd = Jobd::spawn_with_umask(JOBD, &settings, 0o077);
    jobd.wait_listening();
    assert_eq!(mode(&settings.results), 0o640, "file_mode 0640");
    jobd.stop_cleanly();
}

#[test]
fn a_second_jobd_on_one_socket_is_refused_and_the_first_keeps_serving() {
    let scratch = Scratch::new("twosock");
    let settings = Settings::new(&scratch);
    let mut first = Jobd::start(JOBD, &settings);
    let socket_inode = inode(&settings.socket);
    let mut conn = first.connect();
    conn.submit("one", "sleep 1ms");
    assert_eq!(conn.wait("one"), "ok");

    // A results file of its own: the socket alone keeps it off.
    let mut second_settings = settings.clone();
    second_settings.results = scratch.join("second-results.tsv");
    second_settings.config = scratch.join("second.toml");
    refused_as_second(
        &second_settings,
        &settings.socket,
        "app.socket",
        first.pid(),
    );
    assert!(
        !second_settings.results.exists(),
        "the refused jobd made no results file"
    );

    // The first is untouched: the same socket file, serving old and new
    // connections; its lock file still names it.
    assert_eq!(inode(&settings.socket), socket_inode, "the same socket");
    assert_eq!(
        std::fs::read_to_string(lock_file(&settings.socket)).expect("the lock file"),
        format!("{}\n", first.pid())
    );
    conn.submit("two", "sleep 1ms");
    assert_eq!(conn.wait("two"), "ok");
    let mut fresh = first.connect();
    fresh.submit("three", "sleep 1ms");
    assert_eq!(fresh.wait("three"), "ok");
    drop((conn, fresh));
    first.stop_cleanly();
    let ids: Vec<String> = first.results().lines.into_iter().map(|l| l.id).collect();
    assert_eq!(ids, ["one", "two", "three"]);
}

#[test]
fn two_jobds_started_together_on_one_socket_leave_one_serving() {
    let scratch = Scratch::new("together");
    for round in 0..5 {
        let mut a = Settings::new(&scratch);
        a.results = scratch.join(&format!("a{round}.tsv"));
        a.config = scratch.join(&format!("a{round}.toml"));
        let mut b = a.clone();
        b.results = scratch.join(&format!("b{round}.tsv"));
        b.config = scratch.join(&format!("b{round}.toml"));
        a.write();
        b.write();
        let mut jobds = [Jobd::spawn(JOBD, &a), Jobd::spawn(JOBD, &b)];
        let mut serving = Vec::new();
        for (n, jobd) in jobds.iter_mut().enumerate() {
            let deadline = Instant::now() + PATIENCE;
            let listening = jobd
                .out
                .until(deadline, |l| l.starts_with("jobd: listening on "));
            if listening.is_ok() {
                serving.push(n);
            }
        }
        assert_eq!(serving.len(), 1, "round {round}: one jobd serves, not two");
        let refused = &mut jobds[1 - serving[0]];
        let code = refused.exit_code();
        let transcript = refused.transcript();
        assert_eq!(code, Some(1), "round {round}\n{transcript}");
        assert!(
            transcript.contains("is in use by another jobd (pid "),
            "round {round}\n{transcript}"
        );
        let jobd = &mut jobds[serving[0]];
        let mut conn = jobd.connect();
        let id = format!("r{round}");
        conn.submit(&id, "sleep 1ms");
        assert_eq!(conn.wait(&id), "ok", "round {round}");
        drop(conn);
        jobd.stop_cleanly();
        assert!(!jobd.settings.socket.exists(), "round {round}");
    }
}

#[test]
fn a_second_jobd_on_one_results_file_is_refused_and_changes_nothing() {
    let scratch = Scratch::new("tworesults");
    let settings = Settings::new(&scratch);
    let mut first = Jobd::start(JOBD, &settings);
    let mut conn = first.connect();
    conn.submit("one", "sleep 1ms");
    assert_eq!(conn.wait("one"), "ok");
    // As if the first were in the middle of writing a line: the second
    // must not cut it off as torn.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&settings.results)
        .expect("the results file opens");
    std::io::Write::write_all(&mut file, b"two\tok").expect("written");
    let before = std::fs::read(&settings.results).expect("results");

    let mut second_settings = settings.clone();
    second_settings.socket = scratch.join("second.sock");
    second_settings.config = scratch.join("second.toml");
    refused_as_second(
        &second_settings,
        &settings.results,
        "app.results",
        first.pid(),
    );
    assert_eq!(
        std::fs::read(&settings.results).expect("results"),
        before,
        "the results file is as it was"
    );
    assert!(!second_settings.socket.exists(), "no second socket");
    assert!(
        !lock_file(&second_settings.socket).exists(),
        "no lock file left"
    );

    file.set_len(before.len() as u64 - 6)
        .expect("the first's write ends");
    drop(file);
    conn.submit("two", "sleep 1ms");
    assert_eq!(conn.wait("two"), "ok");
    drop(conn);
    first.stop_cleanly();
    let ids: Vec<String> = first.results().lines.into_iter().map(|l| l.id).collect();
    assert_eq!(ids, ["one", "two"]);
}

#[test]
fn a_socket_path_over_the_limit_in_the_config_is_a_config_error() {
    let scratch = Scratch::new("longsock");
    let mut settings = Settings::new(&scratch);
    let dir = scratch.path().display().to_string();
    // 120 bytes in all: over the 107 a Unix socket's path can have.
    settings.socket = scratch.join(&"s".repeat(120 - dir.len() - 1));
    assert_eq!(settings.socket.as_os_str().len(), 120);
    let mut jobd = Jobd::spawn(JOBD, &settings);
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(78), "a config error\n{transcript}");
    let at = format!(
        "{}:{}",
        settings.config.display(),
        settings.line_of("socket =")
    );
    assert!(
        jobd.err
            .seen
            .iter()
            .any(|l| l.contains(&at) && l.contains("120 bytes")),
        "stderr names the file, the line and the length: {at}\n{transcript}"
    );
    assert!(
        !jobd.out.seen.iter().any(|l| l.contains("listening on")),
        "{transcript}"
    );
    assert!(!settings.socket.exists(), "no socket file");
    assert!(!lock_file(&settings.socket).exists(), "no lock file");
    assert!(!settings.results.exists(), "no results file");
}

#[test]
fn a_default_socket_path_over_the_limit_is_a_config_error() {
    let scratch = Scratch::new("longtmp");
    // The default socket is in TMPDIR: a long one makes it too long.
    let tmp = scratch.join(&"t".repeat(110));
    let results = scratch.join("results.tsv");
    let config = scratch.file(
        "jobd.toml",
        &format!("[app]\nresults = \"{}\"\n", results.display()),
    );
    let mut cmd = Command::new(JOBD);
    clean_env(&mut cmd)
        .env("TMPDIR", &tmp)
        .arg("--config")
        .arg(&config);
    let mut jobd = Process::spawn("jobd", &mut cmd, None);
    let code = jobd.exit_code();
    let transcript = jobd.transcript();
    assert_eq!(code, Some(78), "a config error\n{transcript}");
    assert!(
        jobd.err
            .seen
            .iter()
            .any(|l| l.contains(&tmp.display().to_string()) && l.contains(" bytes")),
        "stderr names the path and its length\n{transcript}"
    );
    assert!(!results.exists(), "nothing created");
}

/// Runs a second jobd on `settings` and asserts that it exits 1 saying that
/// `guarded` is in use by the jobd of `pid` (and which `key` to change).
fn refused_as_second(settings: &Settings, guarded: &std::path::Path, key: &str, pid: u32) {
    let mut second = Jobd::spawn(JOBD, settings);
    let code = second.exit_code();
    let transcript = second.transcript();
    assert_eq!(code, Some(1), "a second jobd cannot start\n{transcript}");
    let says = format!(
        "{} is in use by another jobd (pid {pid}); stop it or choose another {key}",
        guarded.display()
    );
    assert!(
        second.err.seen.iter().any(|l| l.contains(&says)),
        "stderr: {says}\n{transcript}"
    );
}
