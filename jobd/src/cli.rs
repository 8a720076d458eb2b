//! jobd's command line: what to do, parsed by `lexopt` (D43).
//!
//! ```text
//! jobd [--config FILE] [--socket PATH] [--demo] [--check]
//! jobd submit [--config FILE] [--socket PATH] [--] [LINE...]
//! jobd health [--live | --ready] [--config FILE] [--socket PATH]
//! jobd help [submit | health]      jobd --help      jobd --version
//! ```
//!
//! Every subcommand takes `--help`; an option is never sent to the daemon
//! as a request line (a line that starts with `-` goes after `--`).

use std::ffi::OsString;
use std::path::PathBuf;

use lexopt::prelude::*;

/// The exit code of a command line jobd cannot understand (`EX_USAGE`).
pub const USAGE_EXIT: i32 = 64;

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Run the daemon.
    Run(Run),
    /// Send request lines to a running jobd.
    Submit {
        /// Where to find it.
        target: Target,
        /// The lines; none: read them from stdin.
        lines: Vec<String>,
    },
    /// Ask a running jobd whether it is live or ready.
    Health {
        /// Where to find it.
        target: Target,
        /// Which question.
        probe: Probe,
    },
    /// Print a help text and exit 0.
    Help(&'static str),
    /// Print the version and exit 0.
    Version,
}

/// How to run the daemon.
#[derive(Debug, Default, PartialEq)]
pub struct Run {
    /// The config file (`--config`).
    pub config: Option<PathBuf>,
    /// The socket, over the config file's `app.socket` (`--socket`).
    pub socket: Option<PathBuf>,
    /// Feed itself a demo, drain, exit (`--demo`).
    pub demo: bool,
    /// Only check the config file and exit (`--check`).
    pub check: bool,
}

/// Where a client finds jobd: `--socket`, else the config file's
/// `app.socket`, else the default.
#[derive(Debug, Default, PartialEq)]
pub struct Target {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--socket`.
    pub socket: Option<PathBuf>,
}

/// The question `jobd health` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Every heartbeat is fresh (a liveness probe: restart me if not).
    Live,
    /// Started and not draining (a readiness probe: send me work).
    Ready,
}

impl Probe {
    /// `live` or `ready`, as the request line says it.
    pub fn word(self) -> &'static str {
        match self {
            Probe::Live => "live",
            Probe::Ready => "ready",
        }
    }
}

/// The help of `jobd` itself.
pub const HELP: &str = "\
jobd: a supervised job server on a Unix socket (threadbutler's reference daemon)

usage:
  jobd [--config FILE] [--socket PATH] [--demo]     run the daemon
  jobd --check --config FILE                        check the file's keys and values (exit 0, or 78 naming file and line)
  jobd submit [OPTIONS] [--] [LINE...]              send request lines to a running jobd
  jobd health [--live | --ready] [OPTIONS]          probe a running jobd (exit 0: healthy)
  jobd help [submit | health]                       this text, or a subcommand's

options:
  --config FILE   the config file (policies, logging, [app]: socket, results, ...);
                  relative paths in it resolve against the file's directory
  --socket PATH   the Unix socket (over the config file's app.socket)
  --demo          feed itself one job of each kind, drain, print the results, exit
  -h, --help      this text
  -V, --version   the version

Stops on SIGTERM or Ctrl-C after draining (a second one forces it); SIGHUP
re-reads the config file's policies. Exit codes: 0 clean, 1 could not start
or gave up, 64 bad command line, 75 work was lost or left behind, 78 bad config.";

/// The help of `jobd submit`.
pub const SUBMIT_HELP: &str = "\
jobd submit: send request lines to a running jobd, print one answer per line

usage: jobd submit [--config FILE] [--socket PATH] [--] [LINE...]
       (no LINE: the lines are read from stdin)

requests:
  ID hash PATH | ID words PATH | ID sleep DURATION | ID panic | ID hang
  wait ID      the job's outcome, once its result line is written
  status       the job counts and the supervision tree, as JSON
  health live | health ready

Exit code: 0 when every answer was a success, 1 when one was `err ...`,
2 when jobd could not be reached, 64 for a bad command line, 78 for a bad
config file or socket path.";

/// The help of `jobd health`.
pub const HEALTH_HELP: &str = "\
jobd health: probe a running jobd, for a service manager or Kubernetes

usage: jobd health [--live | --ready] [--config FILE] [--socket PATH]

  --live    (the default) exit 0 while every heartbeat is fresh: no worker
            is stuck past its heartbeat (a liveness probe)
  --ready   exit 0 while jobd is started and not draining (a readiness probe)

Prints jobd's answer. Exit code: 0 healthy, 1 not, 2 jobd could not be
reached, 64 for a bad command line, 78 for a bad config file or socket path.";

/// Parses `args` (without the program name).
///
/// # Errors
///
/// What is wrong, for the operator (exit [`USAGE_EXIT`]).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut run = Run::default();
    loop {
        let Some(arg) = parser.next().map_err(|e| e.to_string())? else {
            return Ok(Command::Run(run));
        };
        match arg {
            Long("config") => run.config = Some(parser.value().map_err(text)?.into()),
            Long("socket") => run.socket = Some(parser.value().map_err(text)?.into()),
            Long("demo") => run.demo = true,
            Long("check") => run.check = true,
            Short('h') | Long("help") => return Ok(Command::Help(HELP)),
            Short('V') | Long("version") => return Ok(Command::Version),
            Value(word) if run == Run::default() => {
                return match word.to_str() {
                    Some("submit") => submit(parser),
                    Some("health") => health(parser),
                    Some("help") => help(parser),
                    _ => Err(format!(
                        "unknown command {word:?}: expected submit, health or help"
                    )),
                };
            }
            Value(word) if matches!(word.to_str(), Some("submit" | "health" | "help")) => {
                return Err(format!(
                    "options go after the command: `jobd {} --socket PATH ...`",
                    word.to_string_lossy()
                ));
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
}

fn text(e: lexopt::Error) -> String {
    e.to_string()
}

fn submit(mut parser: lexopt::Parser) -> Result<Command, String> {
    let (mut target, mut lines) = (Target::default(), Vec::new());
    while let Some(arg) = parser.next().map_err(text)? {
        match arg {
            Long("config") => target.config = Some(parser.value().map_err(text)?.into()),
            Long("socket") => target.socket = Some(parser.value().map_err(text)?.into()),
            Short('h') | Long("help") => return Ok(Command::Help(SUBMIT_HELP)),
            Value(line) => lines.push(utf8(line)?),
            other => return Err(format!("submit: {}", other.unexpected())),
        }
    }
    Ok(Command::Submit { target, lines })
}

fn health(mut parser: lexopt::Parser) -> Result<Command, String> {
    let (mut target, mut probe) = (Target::default(), Probe::Live);
    while let Some(arg) = parser.next().map_err(text)? {
        match arg {
            Long("config") => target.config = Some(parser.value().map_err(text)?.into()),
            Long("socket") => target.socket = Some(parser.value().map_err(text)?.into()),
            Long("live") => probe = Probe::Live,
            Long("ready") => probe = Probe::Ready,
            Short('h') | Long("help") => return Ok(Command::Help(HEALTH_HELP)),
            other => return Err(format!("health: {}", other.unexpected())),
        }
    }
    Ok(Command::Health { target, probe })
}

fn help(mut parser: lexopt::Parser) -> Result<Command, String> {
    let topic = match parser.next().map_err(text)? {
        None => return Ok(Command::Help(HELP)),
        Some(Value(topic)) => topic,
        Some(other) => return Err(format!("help: {}", other.unexpected())),
    };
    if let Some(extra) = parser.next().map_err(text)? {
        return Err(format!("help: {}", extra.unexpected()));
    }
    match topic.to_str() {
        Some("submit") => Ok(Command::Help(SUBMIT_HELP)),
        Some("health") => Ok(Command::Help(HEALTH_HELP)),
        _ => Err(format!(
            "help: no such command {topic:?}: expected submit or health"
        )),
    }
}

fn utf8(word: OsString) -> Result<String, String> {
    word.into_string()
        .map_err(|w| format!("{w:?} is not UTF-8: request lines are UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn the_daemon_takes_its_options_in_any_order() {
        assert_eq!(parsed(&[]), Ok(Command::Run(Run::default())));
        assert_eq!(
            parsed(&["--socket", "s", "--config=c.toml", "--demo"]),
            Ok(Command::Run(Run {
                config: Some("c.toml".into()),
                socket: Some("s".into()),
                demo: true,
                check: false,
            }))
        );
        assert_eq!(parsed(&["-V"]), Ok(Command::Version));
        assert_eq!(parsed(&["--help"]), Ok(Command::Help(HELP)));
    }

    #[test]
    fn help_is_never_sent_as_a_job() {
        assert_eq!(
            parsed(&["submit", "--help"]),
            Ok(Command::Help(SUBMIT_HELP))
        );
        assert_eq!(
            parsed(&["submit", "1 panic", "-h"]),
            Ok(Command::Help(SUBMIT_HELP))
        );
        assert_eq!(
            parsed(&["health", "--help"]),
            Ok(Command::Help(HEALTH_HELP))
        );
        assert_eq!(parsed(&["help", "health"]), Ok(Command::Help(HEALTH_HELP)));
        let unknown = parsed(&["submit", "--frobnicate"]).expect_err("an option");
        assert!(unknown.contains("--frobnicate"), "{unknown}");
    }

    #[test]
    fn submit_takes_lines_and_a_dash_line_after_the_separator() {
        assert_eq!(
            parsed(&["submit", "--socket", "/s", "1 panic", "--", "-x"]),
            Ok(Command::Submit {
                target: Target {
                    config: None,
                    socket: Some("/s".into())
                },
                lines: vec!["1 panic".into(), "-x".into()],
            })
        );
    }

    #[test]
    fn health_asks_live_by_default_or_ready() {
        assert_eq!(
            parsed(&["health"]),
            Ok(Command::Health {
                target: Target::default(),
                probe: Probe::Live
            })
        );
        let Ok(Command::Health { probe, .. }) = parsed(&["health", "--ready"]) else {
            panic!("a health command")
        };
        assert_eq!(probe, Probe::Ready);
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        assert!(parsed(&["frob"]).unwrap_err().contains("unknown command"));
        assert!(
            parsed(&["--config"])
                .unwrap_err()
                .contains("missing argument")
        );
        assert!(
            parsed(&["--demo", "submit"])
                .unwrap_err()
                .contains("options go after the command"),
            "options before a command"
        );
        assert!(parsed(&["help", "submit", "extra"]).is_err());
        assert!(
            parsed(&["help", "nope"])
                .unwrap_err()
                .contains("no such command")
        );
    }
}
