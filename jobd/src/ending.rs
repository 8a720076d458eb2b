//! How jobd ended, in one line: how it stopped and why the exit code is
//! what it is.

use threadbutler::{Error, Report, UNCLEAN_EXIT};

/// The exit code and the last line jobd prints.
#[derive(Debug, PartialEq)]
pub struct Ending {
    /// The process exit code.
    pub code: i32,
    /// `jobd: exit CODE: WHY`.
    pub line: String,
}

/// The ending of a run whose tree ended with `outcome`, with `unwritten`
/// results the disk refused to the end.
pub fn of_run(outcome: &Result<Report, Error>, unwritten: u64) -> Ending {
    let report = match outcome {
        Ok(report) => report,
        Err(e) => return of_error(e),
    };
    let mut why = Vec::new();
    for (child, left) in &report.drain_deadline_missed {
        why.push(format!(
            "{child} gave up {left} queued item(s) (its drain ended or missed its deadline)"
        ));
    }
    if !report.abandoned.is_empty() {
        why.push(format!(
            "left behind a thread that ignored its stop: {}",
            report.abandoned.join(", ")
        ));
    }
    if unwritten > 0 {
        why.push(format!(
            "{unwritten} result line(s) could not be written (the disk refused them; see the log)"
        ));
    }
    if report.reason.is_failure() {
        return Ending {
            code: 1,
            line: format!("jobd: exit 1: the tree failed: {}", report.reason),
        };
    }
    if why.is_empty() {
        return Ending {
            code: 0,
            line: "jobd: exit 0: stopped on request (SIGTERM, Ctrl-C or the demo's end) and \
                   drained cleanly: every accepted job has its result line"
                .into(),
        };
    }
    let code = report.exit_code().max(UNCLEAN_EXIT);
    Ending {
        code,
        line: format!(
            "jobd: exit {code}: stopped on request, but not cleanly: {}",
            why.join("; ")
        ),
    }
}

/// The ending of a run that could not start or whose tree gave up.
pub fn of_error(e: &Error) -> Ending {
    let code = e.exit_code();
    let why = match e {
        Error::Config { .. } => "the configuration is bad (nothing was started)",
        Error::Start { .. } | Error::Spawn(_) => "jobd could not start",
        Error::Failed { .. } => {
            "the supervision tree gave up (more restarts than its intensity allows)"
        }
        _ => "jobd failed",
    };
    Ending {
        code,
        line: format!("jobd: exit {code}: {why}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_error_says_nothing_was_started() {
        let e = Error::Config {
            detail: "jobd.toml:3: bad".into(),
        };
        let ending = of_error(&e);
        assert_eq!(ending.code, 78);
        assert!(
            ending
                .line
                .starts_with("jobd: exit 78: the configuration is bad"),
            "{}",
            ending.line
        );
        assert!(ending.line.contains("jobd.toml:3"), "{}", ending.line);
    }
}
