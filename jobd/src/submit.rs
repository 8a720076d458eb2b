//! `jobd submit` and `jobd health`: a small client. Sends request lines to a running jobd
//! and prints one answer per line.
//!
//! ```text
//! jobd submit [--socket PATH | --config FILE] [LINE...]    (no LINE: lines from stdin)
//! jobd health [--live | --ready] [--socket PATH | --config FILE]
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{Probe, Target};
use crate::settings::Settings;

/// The exit code of a client whose config file or socket path is bad
/// (`EX_CONFIG`): not the same as a jobd that does not answer.
const CONFIG_EXIT: i32 = 78;

/// Runs the client; returns the exit code: 0 when every answer was a
/// success, 1 when one was an `err`, 2 when jobd could not be reached, 78
/// when the config file or the socket path is bad.
pub fn main(target: &Target, lines: Vec<String>) -> i32 {
    let socket = match socket_of(target) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jobd submit: {e}");
            return CONFIG_EXIT;
        }
    };
    match run(&socket, lines) {
        Ok(all_ok) => i32::from(!all_ok),
        Err(e) => {
            eprintln!("jobd submit: {e}");
            2
        }
    }
}

fn run(socket: &Path, mut lines: Vec<String>) -> Result<bool, String> {
    if lines.is_empty() {
        for l in std::io::stdin().lock().lines() {
            lines.push(l.map_err(|e| format!("stdin: {e}"))?);
        }
    }
    let mut all_ok = true;
    exchange(socket, &lines, Duration::from_secs(3600), |_, answer| {
        all_ok &= !answer.starts_with("err ");
        println!("{answer}");
    })?;
    Ok(all_ok)
}

/// Asks the jobd at `target` one health question; returns the exit code:
/// 0 healthy, 1 not, 2 jobd could not be reached, 78 when the config file
/// or the socket path is bad.
pub fn health(target: &Target, probe: Probe) -> i32 {
    let socket = match socket_of(target) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jobd health: {e}");
            return CONFIG_EXIT;
        }
    };
    let asked = {
        let mut answer = String::new();
        let line = format!("health {}", probe.word());
        exchange(&socket, &[line], Duration::from_secs(10), |_, a| {
            answer = a.to_owned();
        })
        .map(|()| answer)
    };
    match asked {
        Ok(answer) => {
            println!("{answer}");
            i32::from(!answer.starts_with("ok "))
        }
        Err(e) => {
            eprintln!("jobd health: {e}");
            2
        }
    }
}

/// The socket a client talks to: `--socket`, else the config file's
/// `app.socket` (relative to the file), else the default; its path must
/// fit a Unix socket's.
fn socket_of(target: &Target) -> Result<PathBuf, String> {
    let socket = match (&target.socket, &target.config) {
        (Some(socket), _) => socket.clone(),
        (None, Some(config)) => Settings::from_file(config)?.socket,
        (None, None) => Settings::default().socket,
    };
    crate::settings::fits_sun_path(&socket)?;
    Ok(socket)
}

/// Sends each of `lines` to the jobd at `socket` and reads its answer
/// (waiting up to `patience` for each), handing both to `each`.
///
/// # Errors
///
/// jobd could not be reached, or closed the connection, or the socket
/// failed.
pub fn exchange(
    socket: &Path,
    lines: &[String],
    patience: Duration,
    mut each: impl FnMut(&str, &str),
) -> Result<(), String> {
    let stream = UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot reach jobd at {}: {e} (is it running?)",
            socket.display()
        )
    })?;
    stream
        .set_read_timeout(Some(patience))
        .map_err(|e| e.to_string())?;
    let mut to = stream.try_clone().map_err(|e| e.to_string())?;
    let mut from = BufReader::new(stream);
    for line in lines {
        writeln!(to, "{line}").map_err(|e| format!("sending: {e}"))?;
        let mut answer = String::new();
        match from.read_line(&mut answer) {
            Ok(0) => return Err("jobd closed the connection".into()),
            Ok(_) => each(line, answer.trim_end()),
            Err(e) => return Err(format!("reading the answer: {e}")),
        }
    }
    Ok(())
}
