//! Sending a type that no `messages!` list names, or listing one type for
//! two endpoints, fails to compile with an error that says so in words
//! (`#[diagnostic::on_unimplemented]` on `Routed`, and a marker trait named
//! for the rule). The doctests in `src/data/message.rs` check the error
//! codes; this test checks the words: it compiles small programs with the
//! `rustc` cargo built it with, against a `threadbutler` library from this
//! build's `deps` folder (the newest one that compiles a correct program).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `target/<profile>/deps`, where this test and the crates it uses are.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    exe.parent()
        .expect("the test executable is in a directory")
        .to_path_buf()
}

/// `rustc` checks `source` as a library using `threadbutler` from `rlib`.
fn check(source: &str, rlib: &Path, name: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("tb-ui-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp is writable");
    let file = dir.join("lib.rs");
    std::fs::write(&file, source).expect("written");
    // The compiler cargo built this test with (integration-tests/build.rs).
    let out = Command::new(env!("TB_TEST_RUSTC"))
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "lib",
            "--emit=metadata",
        ])
        .arg("--crate-name")
        .arg(format!("ui_{name}"))
        .arg("--out-dir")
        .arg(&dir)
        .arg("--extern")
        .arg(format!("threadbutler={}", rlib.display()))
        .arg("-L")
        .arg(format!("dependency={}", deps_dir().display()))
        .arg(&file)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("rustc runs");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

const PREAMBLE: &str = "use threadbutler::prelude::*;\n\
    pub struct Ping;\n\
    pub struct Pinger;\n\
    threadbutler::messages! { pub enum PingerMsg for Pinger { Ping } }\n";

/// A `threadbutler` rlib that a correct program compiles against (the deps
/// folder may hold several builds, with different features).
fn threadbutler_rlib() -> PathBuf {
    let fine = format!("{PREAMBLE}pub fn send(hub: &Hub) {{ let _ = hub.send(Ping); }}\n");
    let mut rlibs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(deps_dir())
        .expect("the deps folder is readable")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let ours = name.starts_with("libthreadbutler-") && name.ends_with(".rlib");
            let modified = path.metadata().ok()?.modified().ok()?;
            ours.then_some((modified, path))
        })
        .collect();
    rlibs.sort();
    let mut tried = Vec::new();
    for (_, rlib) in rlibs.into_iter().rev() {
        let out = check(&fine, &rlib, "fine");
        if out.status.success() {
            return rlib;
        }
        tried.push(format!(
            "{}: {}",
            rlib.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    panic!(
        "no threadbutler rlib in {} compiles a correct program:\n{}",
        deps_dir().display(),
        tried.join("\n")
    );
}

#[test]
fn the_compiler_says_in_words_what_is_wrong_with_a_message_type() {
    let rlib = threadbutler_rlib();

    let stray = format!(
        "{PREAMBLE}pub struct Stray;\npub fn send(hub: &Hub) {{ let _ = hub.send(Stray); }}\n"
    );
    let out = check(&stray, &rlib, "stray");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a stray type compiled");
    assert!(
        said.contains("`Stray` is not a message any server or client accepts"),
        "{said}"
    );
    assert!(
        said.contains("no `threadbutler::messages!` list names `Stray`"),
        "{said}"
    );

    let twice = format!(
        "{PREAMBLE}pub struct Other;\nthreadbutler::messages! {{ pub enum OtherMsg for Other {{ Ping }} }}\n"
    );
    let out = check(&twice, &rlib, "twice");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a type listed twice compiled");
    assert!(
        said.contains(
            "conflicting implementations of trait `threadbutler::EachMessageTypeIsListedByOneEndpointOnly` for type `Ping`"
        ),
        "{said}"
    );
}
