//! `jobd submit`: a small client. Sends request lines to a running jobd
//! and prints one answer per line.
//!
//! ```text
//! jobd submit [--socket PATH | --config FILE] [LINE...]    (no LINE: lines from stdin)
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use threadbutler::config::Config;

use crate::settings::Settings;

/// Runs the client; returns the exit code: 0 when every answer was a
/// success, 1 when one was an `err`, 2 when jobd could not be reached.
pub fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(all_ok) => i32::from(!all_ok),
        Err(e) => {
            eprintln!("jobd submit: {e}");
            2
        }
    }
}

fn run(args: &[String]) -> Result<bool, String> {
    let mut socket = None;
    let mut lines = Vec::new();
    let mut args = args.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--socket" => socket = Some(PathBuf::from(args.next().ok_or("--socket needs a path")?)),
            "--config" => {
                let path = args.next().ok_or("--config needs a file")?;
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                let s: Option<Settings> =
                    Config::app_section(&text, path).map_err(|e| e.to_string())?;
                socket = Some(s.unwrap_or_default().socket);
            }
            line => lines.push(line.to_owned()),
        }
    }
    if lines.is_empty() {
        for l in std::io::stdin().lock().lines() {
            lines.push(l.map_err(|e| format!("stdin: {e}"))?);
        }
    }
    let path = socket.unwrap_or_else(|| Settings::default().socket);
    let mut all_ok = true;
    exchange(&path, &lines, Duration::from_secs(3600), |_, answer| {
        all_ok &= !answer.starts_with("err ");
        println!("{answer}");
    })?;
    Ok(all_ok)
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
