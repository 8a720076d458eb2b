//! The systemd notification protocol (`sd_notify`), with std alone.
//!
//! When a service runs under systemd with `Type=notify`, systemd sets
//! `NOTIFY_SOCKET` to a datagram socket (a path, or an abstract name written
//! with a leading `@`) and reads newline-separated `KEY=value` states from
//! it: `READY=1`, `STOPPING=1`, `RELOADING=1` (with `MONOTONIC_USEC`),
//! `WATCHDOG=1`, `STATUS=...`. With `WatchdogSec=` set it also sets
//! `WATCHDOG_USEC` (and `WATCHDOG_PID`, the process it means): a service
//! that does not send `WATCHDOG=1` within that interval is killed.
//!
//! With no `NOTIFY_SOCKET`, [`Notifier::from_env`] returns `None` and
//! nothing is ever sent.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A connection to the service manager's notification socket.
///
/// ```
/// use std::os::unix::net::UnixDatagram;
/// use threadbutler_supervisor::notify::Notifier;
///
/// // Not under systemd: nobody to notify.
/// if std::env::var_os("NOTIFY_SOCKET").is_none() {
///     assert!(Notifier::from_env()?.is_none());
/// }
/// // Here the example plays the service manager, on a socket of its own.
/// let path = std::env::temp_dir().join(format!("notifier-doc-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let manager = UnixDatagram::bind(&path)?;
/// let notifier = Notifier::connect(path.to_str().expect("a UTF-8 path"))?;
/// notifier.send("READY=1\nSTATUS=serving")?;
/// let mut buf = [0u8; 64];
/// let n = manager.recv(&mut buf)?;
/// assert_eq!(&buf[..n], b"READY=1\nSTATUS=serving");
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// The notifier `NOTIFY_SOCKET` asks for, or `None` when it is unset or
    /// empty (not running under a notify-aware manager).
    ///
    /// # Errors
    ///
    /// The socket could not be created or the address is invalid.
    pub fn from_env() -> io::Result<Option<Notifier>> {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(s) if !s.is_empty() => Notifier::connect(&s.to_string_lossy()).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier for the socket at `path` (`@name` for an abstract socket).
    ///
    /// # Errors
    ///
    /// The socket could not be created or the address is invalid.
    pub fn connect(path: &str) -> io::Result<Notifier> {
        let addr = match path.strip_prefix('@') {
            Some(name) => abstract_addr(name)?,
            None => SocketAddr::from_pathname(path)?,
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            addr,
        })
    }

    /// Sends one or more `KEY=value` lines.
    ///
    /// # Errors
    ///
    /// The datagram could not be sent (the manager went away).
    pub fn send(&self, state: &str) -> io::Result<()> {
        self.socket
            .send_to_addr(state.as_bytes(), &self.addr)
            .map(|_| ())
    }

    /// `RELOADING=1` with the `MONOTONIC_USEC` systemd asks for.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn reloading(&self) -> io::Result<()> {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()))
    }
}

#[cfg(target_os = "linux")]
fn abstract_addr(name: &str) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name.as_bytes())
}

#[cfg(not(target_os = "linux"))]
fn abstract_addr(_: &str) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets are Linux-only",
    ))
}

/// The monotonic clock in microseconds, from `/proc/uptime` (std exposes no
/// reading of `CLOCK_MONOTONIC`). Uptime also counts time suspended, so after
/// a suspend this is ahead of `CLOCK_MONOTONIC`; systemd only uses the value
/// to order the reload against its own events, which tolerates that.
fn monotonic_usec() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|secs| (secs * 1_000_000.0) as u64)
        .unwrap_or(0)
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, if it is set
/// and `WATCHDOG_PID` (when set) is this process.
pub fn watchdog_interval() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.trim().parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    Some(Duration::from_micros(usec) / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_arrive_on_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("tb-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).expect("bind");
        let n = Notifier::connect(path.to_str().expect("utf-8 path")).expect("connect");
        n.send("READY=1").expect("sent");
        n.reloading().expect("sent");
        let mut buf = [0u8; 256];
        let len = listener.recv(&mut buf).expect("received");
        assert_eq!(&buf[..len], b"READY=1");
        let len = listener.recv(&mut buf).expect("received");
        let text = std::str::from_utf8(&buf[..len]).expect("utf-8");
        assert!(text.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn states_arrive_on_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("tb-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
        let listener = UnixDatagram::bind_addr(&addr).expect("bind");
        let n = Notifier::connect(&format!("@{name}")).expect("connect");
        n.send("STOPPING=1").expect("sent");
        let mut buf = [0u8; 64];
        let len = listener.recv(&mut buf).expect("received");
        assert_eq!(&buf[..len], b"STOPPING=1");
    }
}
