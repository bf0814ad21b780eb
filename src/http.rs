//! The few lines of HTTP/1.1 keel's monitoring endpoints need (ZooKeeper's
//! AdminServer and `/metrics`, the Kafka broker's `/metrics`): GET only, one
//! request per connection, `Connection: close`. Hand-rolled on tokio: nothing
//! here needs more of HTTP.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The Content-Type of Prometheus' text format (0.0.4), as scrapers expect it.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The longest request head read.
const REQUEST_HEAD_BYTES_MAX: usize = 8 * 1024;

/// Accepts connections until `stop`, each served on a task of its own (the
/// AdminServer's and the metrics endpoints' loop).
pub async fn accept_each<Serve, Served>(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    serve: Serve,
) where
    Serve: Fn(TcpStream) -> Served,
    Served: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        tokio::spawn(serve(stream));
    }
}

/// Reads a request head and answers what is not a GET itself; the GET's path
/// (query and trailing slash removed) otherwise.
pub async fn read_get_path(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() > REQUEST_HEAD_BYTES_MAX {
            respond(stream, 400, "text/plain", "request too large\n").await?;
            return Ok(None);
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        respond(stream, 405, "text/plain", "only GET is supported\n").await?;
        return Ok(None);
    }
    let path = target.split('?').next().unwrap_or("");
    Ok(Some(path.trim_end_matches('/').to_string()))
}

pub async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
