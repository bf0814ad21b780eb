//! Readiness for service managers: systemd's notify protocol (`Type=notify` units).
//!
//! When `NOTIFY_SOCKET` names a Unix datagram socket (a path, or `@name` in the
//! abstract namespace), keel sends `READY=1` once every server the process runs
//! serves (a broker registered and listening; a ZooKeeper server serving clients:
//! standalone, or leading / following / observing after its sync), `STATUS=...`
//! lines as a ZooKeeper server's mode changes, and `STOPPING=1` on a clean stop.
//! Without `NOTIFY_SOCKET` every call does nothing. Sending is best-effort: a
//! service manager that went away must never stop a server.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many servers must report ready before READY=1 goes out (2 for
/// `keel standalone`).
static SERVERS_EXPECTED: AtomicUsize = AtomicUsize::new(1);
static SERVERS_READY: AtomicUsize = AtomicUsize::new(0);

/// Sets how many servers this process runs; call before any of them starts.
pub fn expect_servers(count: usize) {
    SERVERS_EXPECTED.store(count.max(1), Ordering::SeqCst);
}

/// One server serves. READY=1 goes out when the last expected one does; a server
/// that serves again later (a ZooKeeper follower after a new election) only
/// updates its STATUS.
pub fn server_ready(status: &str) {
    let ready = SERVERS_READY.fetch_add(1, Ordering::SeqCst) + 1;
    if ready == SERVERS_EXPECTED.load(Ordering::SeqCst) {
        send(&format!("READY=1\nSTATUS={status}"));
    } else {
        send(&format!("STATUS={status}"));
    }
}

/// A status line only (a mode change).
pub fn status(status: &str) {
    send(&format!("STATUS={status}"));
}

/// The process is stopping cleanly.
pub fn stopping() {
    send("STOPPING=1");
}

fn send(message: &str) {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(error) = send_to(&target, message) {
        tracing::debug!(%error, "service manager notification not sent");
    }
}

fn send_to(target: &std::ffi::OsStr, message: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let socket = UnixDatagram::unbound()?;
    socket.set_nonblocking(true)?;
    let bytes = target.as_bytes();
    let address = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)?
        }
        None => SocketAddr::from_pathname(std::path::Path::new(target))?,
    };
    socket.send_to_addr(message.as_bytes(), &address)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("keel-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        send_to(path.as_os_str(), "READY=1\nSTATUS=serving").unwrap();
        let mut buffer = [0u8; 64];
        let length = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..length], b"READY=1\nSTATUS=serving");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
