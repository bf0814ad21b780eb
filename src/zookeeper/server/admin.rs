//! A minimal AdminServer: HTTP/1.1 `GET /commands` (the list, as Apache's
//! HTML page of links) and `GET /commands/<name>` (Apache's JSON), one request
//! per connection. Hand-rolled on tokio: keel needs nothing more of HTTP.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::commands::{admin_primary_name, ADMIN_COMMANDS};
use super::driver::Message;
use super::host::{needs_host_facts, HostFacts, HostProbe};

/// The longest request head read.
const REQUEST_HEAD_BYTES_MAX: usize = 8 * 1024;

pub async fn admin_loop(
    listener: TcpListener,
    messages: mpsc::Sender<Message>,
    host_probe: HostProbe,
    stop: watch::Receiver<bool>,
) {
    accept_each(listener, stop, move |stream| {
        let messages = messages.clone();
        let host_probe = host_probe.clone();
        async move {
            let _ = serve(stream, messages, host_probe).await;
        }
    })
    .await
}

/// Accepts connections until `stop`, each served on a task of its own (the
/// AdminServer's and the metrics endpoint's loop).
pub(super) async fn accept_each<Serve, Served>(
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
pub(super) async fn read_get_path(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
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

async fn serve(
    mut stream: TcpStream,
    messages: mpsc::Sender<Message>,
    host_probe: HostProbe,
) -> std::io::Result<()> {
    let Some(path) = read_get_path(&mut stream).await? else {
        return Ok(());
    };
    let path = path.as_str();
    if path == "/commands" {
        let mut page = String::from("<html><title>ZooKeeper Admin Server</title><body>\n");
        for names in ADMIN_COMMANDS {
            page.push_str(&format!(
                "<a href=\"/commands/{0}\">{0}</a><br/>\n",
                names[0]
            ));
        }
        page.push_str("</body></html>\n");
        return respond(&mut stream, 200, "text/html", &page).await;
    }
    let Some(name) = path.strip_prefix("/commands/") else {
        return respond(&mut stream, 404, "text/plain", "not found\n").await;
    };
    let Some(primary) = admin_primary_name(name) else {
        let body = serde_json::json!({
            "command": name,
            "error": format!("Unknown command: {name}"),
        });
        let text = serde_json::to_string_pretty(&body).unwrap_or_default();
        return respond(&mut stream, 404, "application/json", &text).await;
    };
    let host = if needs_host_facts(primary) {
        host_probe.sample().await
    } else {
        HostFacts::default()
    };
    let (reply, answer) = oneshot::channel();
    let message = Message::Admin {
        name: primary.to_string(),
        host,
        reply,
    };
    if messages.send(message).await.is_err() {
        return respond(&mut stream, 503, "text/plain", "server stopping\n").await;
    }
    let value = answer.await.unwrap_or_default();
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    respond(&mut stream, 200, "application/json", &text).await
}

pub(super) async fn respond(
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
