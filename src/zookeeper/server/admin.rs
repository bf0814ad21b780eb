//! A minimal AdminServer: HTTP/1.1 `GET /commands` (the list, as Apache's
//! HTML page of links) and `GET /commands/<name>` (Apache's JSON), one request
//! per connection. Hand-rolled on tokio: keel needs nothing more of HTTP.

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::commands::{admin_primary_name, ADMIN_COMMANDS};
use super::driver::Message;
use super::host::{needs_host_facts, HostFacts, HostProbe};
use crate::http::{accept_each, read_get_path, respond};

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
