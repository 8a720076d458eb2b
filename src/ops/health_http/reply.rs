//! What the health endpoint answers: a status, one line of plain text, and
//! the bytes on the wire. [`route`] decides the answer to a parsed request;
//! it asks the tree only for a probe's path.

use crate::ops::health::Health;

/// An answer: status, one line of text, and whether to send it (not for
/// `HEAD`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    head_only: bool,
}

impl Reply {
    /// `status` with `line` as the body.
    pub(crate) fn plain(status: u16, line: &str) -> Reply {
        Reply {
            status,
            body: format!("{line}\n"),
            head_only: false,
        }
    }

    fn reason(&self) -> &'static str {
        match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            431 => "Request Header Fields Too Large",
            _ => "Service Unavailable",
        }
    }

    /// The bytes on the wire.
    pub(crate) fn render(&self) -> Vec<u8> {
        let allow = if self.status == 405 {
            "Allow: GET, HEAD\r\n"
        } else {
            ""
        };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\n{allow}Connection: close\r\n\r\n",
            self.status,
            self.reason(),
            self.body.len()
        )
        .into_bytes();
        if !self.head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

/// The answer to `method path`, asking `health` only for a probe's path.
pub(crate) fn route(method: &str, path: &str, health: impl FnOnce() -> Health) -> Reply {
    let path = path.split('?').next().unwrap_or_default();
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return Reply::plain(405, "only GET and HEAD are answered");
    }
    let verdict = match path {
        "/livez" => {
            let h = health();
            h.not_live.map(|issue| issue.to_string())
        }
        "/readyz" => {
            let h = health();
            h.not_ready.map(|issue| issue.to_string())
        }
        _ => return Reply::plain(404, "not found: ask /livez or /readyz"),
    };
    let mut reply = match verdict {
        None => Reply::plain(200, "ok"),
        Some(why) => Reply::plain(503, &why),
    };
    reply.head_only = head_only;
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::health::{Phase, assess};

    fn running() -> Health {
        assess(Phase::Running, None)
    }

    fn draining() -> Health {
        assess(Phase::ShuttingDown, None)
    }

    #[test]
    fn probes_answer_200_or_503_with_one_line() {
        assert_eq!(route("GET", "/livez", running), Reply::plain(200, "ok"));
        assert_eq!(route("GET", "/readyz", running), Reply::plain(200, "ok"));
        assert_eq!(route("GET", "/livez", draining), Reply::plain(200, "ok"));
        assert_eq!(
            route("GET", "/readyz?verbose", draining),
            Reply::plain(503, "shutting down")
        );
    }

    #[test]
    fn other_paths_and_methods_are_refused_without_asking_the_tree() {
        let never = || -> Health { unreachable!("health is not asked for this request") };
        assert_eq!(route("GET", "/", never).status, 404);
        assert_eq!(route("POST", "/livez", never).status, 405);
        let text = String::from_utf8(route("PUT", "/readyz", never).render()).expect("utf-8");
        assert!(text.contains("\r\nAllow: GET, HEAD\r\n"), "{text}");
    }

    #[test]
    fn a_head_request_gets_the_status_and_length_without_the_body() {
        let text = String::from_utf8(route("HEAD", "/readyz", draining).render()).expect("utf-8");
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nContent-Length: 14\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "no body: {text}");
    }
}
