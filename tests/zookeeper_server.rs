//! The standalone ZooKeeper server over a real socket: raw jute frames in,
//! byte-level expectations on what comes back. Each test starts its own server
//! on 127.0.0.1:0 with a temporary dataDir.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keel::config::Properties;
use keel::zookeeper::config::ZooKeeperConfig;
use keel::zookeeper::jute::codec::to_bytes;
use keel::zookeeper::jute::proto::{
    ConnectRequest, ConnectResponse, CreateRequest, DeleteRequest, ExistsRequest, GetDataRequest,
    ReplyHeader, RequestHeader, SetDataRequest,
};
use keel::zookeeper::jute::{Acl, Decoder, Jute};
use keel::zookeeper::server::java_random::session_password;
use keel::zookeeper::server::{storage_for, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

fn config(data_dir: &Path, extra: &str) -> ZooKeeperConfig {
    let text = format!(
        "tickTime=2000\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n{extra}",
        data_dir.display()
    );
    let properties = Properties::parse(&PathBuf::from("zoo.cfg"), &text).unwrap();
    ZooKeeperConfig::from_properties(&properties, &|_| None).unwrap()
}

async fn start(data_dir: &Path, extra: &str) -> (Server, SocketAddr) {
    let config = config(data_dir, extra);
    let server = Server::start(&config, storage_for(&config)).await.unwrap();
    let address = server.client_address;
    (server, address)
}

struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    async fn open(address: SocketAddr) -> Client {
        Client {
            stream: TcpStream::connect(address).await.unwrap(),
            buffer: Vec::new(),
        }
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    async fn send_frame(&mut self, body: &[u8]) {
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        self.send_raw(&frame).await;
    }

    /// The next whole frame (with its length prefix), or None at EOF.
    async fn frame(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.buffer.len() >= 4 {
                let length = i32::from_be_bytes(self.buffer[..4].try_into().unwrap()) as usize;
                if self.buffer.len() >= 4 + length {
                    let rest = self.buffer.split_off(4 + length);
                    return Some(std::mem::replace(&mut self.buffer, rest));
                }
            }
            let mut chunk = [0u8; 65536];
            let read = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("the server answers in time")
                .unwrap_or(0);
            if read == 0 {
                return None;
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    async fn is_closed(&mut self) -> bool {
        self.frame().await.is_none()
    }

    async fn handshake(address: SocketAddr, request: ConnectRequest) -> (Client, ConnectResponse) {
        let mut client = Client::open(address).await;
        client.send_frame(&to_bytes(&request)).await;
        let frame = client.frame().await.expect("a connect response");
        let response =
            ConnectResponse::read(&mut Decoder::with_default_limit(&frame[4..])).unwrap();
        (client, response)
    }

    async fn connect(address: SocketAddr) -> (Client, ConnectResponse) {
        Client::handshake(address, new_session(30_000)).await
    }

    async fn request(&mut self, xid: i32, op: i32, record: &[u8]) {
        let mut body = to_bytes(&RequestHeader { xid, op });
        body.extend_from_slice(record);
        self.send_frame(&body).await;
    }

    /// The next reply: header and body bytes.
    async fn reply(&mut self) -> (ReplyHeader, Vec<u8>) {
        let frame = self.frame().await.expect("a reply");
        let mut decoder = Decoder::with_default_limit(&frame[4..]);
        let header = ReplyHeader::read(&mut decoder).unwrap();
        (header, decoder.rest().to_vec())
    }

    async fn create(&mut self, xid: i32, path: &str, data: &[u8], flags: i32) -> ReplyHeader {
        let record = to_bytes(&CreateRequest {
            path: path.into(),
            data: Some(data.to_vec()),
            acl: Acl::open_unsafe(),
            flags,
        });
        self.request(xid, 1, &record).await;
        self.reply().await.0
    }

    async fn exists(&mut self, xid: i32, path: &str) -> ReplyHeader {
        let record = to_bytes(&ExistsRequest {
            path: path.into(),
            watch: false,
        });
        self.request(xid, 3, &record).await;
        self.reply().await.0
    }
}

fn new_session(timeout_ms: i32) -> ConnectRequest {
    ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: timeout_ms,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    }
}

#[tokio::test]
async fn handshake_echoes_read_only_only_when_sent_and_negotiates_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;

    let (mut client, response) = Client::handshake(address, new_session(100_000)).await;
    // Clamped to maxSessionTimeout = 20 ticks.
    assert_eq!(response.time_out, 40_000);
    assert_eq!(response.read_only, Some(false));
    assert_eq!(response.passwd, session_password(response.session_id));
    assert_eq!(
        response.session_id >> 56,
        1,
        "standalone: session server id 1, as Apache"
    );
    // The frame: 4 + 4 + 8 + 4 + 16 + 1 bytes.
    client.request(1, 11, &[]).await;
    let (header, _) = client.reply().await;
    assert_eq!((header.xid, header.err), (1, 0));

    let old_client = ConnectRequest {
        read_only: None,
        ..new_session(10)
    };
    let mut raw = Client::open(address).await;
    raw.send_frame(&to_bytes(&old_client)).await;
    let frame = raw.frame().await.unwrap();
    assert_eq!(
        &frame[..4],
        &36i32.to_be_bytes(),
        "no readOnly byte for an old client"
    );
    let response = ConnectResponse::read(&mut Decoder::with_default_limit(&frame[4..])).unwrap();
    assert_eq!(
        response.time_out, 4_000,
        "clamped to minSessionTimeout = 2 ticks"
    );
    assert_eq!(response.read_only, None);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn create_get_set_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;
    let (mut client, _) = Client::connect(address).await;

    let header = client.create(1, "/a", b"x", 0).await;
    assert_eq!((header.xid, header.err), (1, 0));
    assert!(header.zxid > 0);
    assert_eq!(
        client.create(2, "/a", b"y", 0).await.err,
        -110,
        "NodeExists"
    );

    let get = to_bytes(&GetDataRequest {
        path: "/a".into(),
        watch: false,
    });
    client.request(3, 4, &get).await;
    let (header, body) = client.reply().await;
    assert_eq!(header.err, 0);
    assert_eq!(&body[..5], &[0, 0, 0, 1, b'x']);

    let set = to_bytes(&SetDataRequest {
        path: "/a".into(),
        data: Some(b"hello".to_vec()),
        version: 0,
    });
    client.request(4, 5, &set).await;
    let (header, body) = client.reply().await;
    assert_eq!(header.err, 0);
    // Stat: czxid, mzxid, ctime, mtime, then version = 1.
    assert_eq!(&body[32..36], &[0, 0, 0, 1]);
    client.request(5, 5, &set).await;
    assert_eq!(client.reply().await.0.err, -103, "BadVersion");

    let delete = to_bytes(&DeleteRequest {
        path: "/a".into(),
        version: -1,
    });
    client.request(6, 2, &delete).await;
    assert_eq!(client.reply().await.0.err, 0);
    assert_eq!(client.exists(7, "/a").await.err, -101, "NoNode");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_event_arrives_before_the_reply_that_triggered_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;
    let (mut client, _) = Client::connect(address).await;
    let (mut other, _) = Client::connect(address).await;
    assert_eq!(client.create(1, "/w", b"0", 0).await.err, 0);

    for (xid, watcher) in [(2, &mut client), (1, &mut other)] {
        let get = to_bytes(&GetDataRequest {
            path: "/w".into(),
            watch: true,
        });
        watcher.request(xid, 4, &get).await;
        assert_eq!(watcher.reply().await.0.err, 0);
    }

    let set = to_bytes(&SetDataRequest {
        path: "/w".into(),
        data: Some(b"1".to_vec()),
        version: -1,
    });
    client.request(3, 5, &set).await;
    let (first, event) = client.reply().await;
    assert_eq!(first.xid, -1, "the notification comes first");
    // WatcherEvent: type 3 (NodeDataChanged), state 3, path "/w".
    assert_eq!(event, [0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'w']);
    let (second, _) = client.reply().await;
    assert_eq!((second.xid, second.err), (3, 0));
    assert_eq!(first.zxid, second.zxid);

    let (notification, _) = other.reply().await;
    assert_eq!(notification.xid, -1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn ephemeral_goes_with_close_session_and_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;
    let (mut owner, _) = Client::connect(address).await;
    let (mut observer, _) = Client::connect(address).await;
    assert_eq!(owner.create(1, "/e", b"", 1).await.err, 0);
    assert_eq!(observer.exists(1, "/e").await.err, 0);

    owner.request(2, -11, &[]).await;
    let (header, _) = owner.reply().await;
    assert_eq!((header.xid, header.err), (2, 0));
    assert!(owner.is_closed().await);
    assert_eq!(observer.exists(2, "/e").await.err, -101);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn session_reattaches_from_a_second_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;
    let (mut first, response) = Client::connect(address).await;
    assert_eq!(first.create(1, "/mine", b"", 1).await.err, 0);

    let reattach = ConnectRequest {
        session_id: response.session_id,
        passwd: response.passwd.clone(),
        last_zxid_seen: 1,
        ..new_session(30_000)
    };
    let (mut second, again) = Client::handshake(address, reattach.clone()).await;
    assert_eq!(again.session_id, response.session_id);
    assert_eq!(again.time_out, 30_000);
    assert!(first.is_closed().await, "the old connection is closed");
    assert_eq!(
        second.exists(1, "/mine").await.err,
        0,
        "the ephemeral stays"
    );

    let wrong = ConnectRequest {
        passwd: vec![1; 16],
        ..reattach.clone()
    };
    let (mut refused, response) = Client::handshake(address, wrong).await;
    assert_eq!((response.session_id, response.time_out), (0, 0));
    assert_eq!(response.passwd, vec![0; 16]);
    assert!(refused.is_closed().await);

    // A client that has seen a newer zxid is refused without an answer.
    let ahead = ConnectRequest {
        last_zxid_seen: 1 << 40,
        ..new_session(30_000)
    };
    let mut ahead_client = Client::open(address).await;
    ahead_client.send_frame(&to_bytes(&ahead)).await;
    assert!(ahead_client.is_closed().await);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn oversized_garbage_and_unknown_input_cost_only_their_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;
    let (mut healthy, _) = Client::connect(address).await;

    let (mut oversized, _) = Client::connect(address).await;
    oversized.send_raw(&(0x10_0000i32).to_be_bytes()).await;
    assert!(oversized.is_closed().await);

    let mut negative = Client::open(address).await;
    negative.send_raw(&[0xff, 0xff, 0xff, 0xf0, 1, 2, 3]).await;
    assert!(negative.is_closed().await);

    let mut garbage = Client::open(address).await;
    garbage.send_frame(&[1, 2, 3]).await;
    assert!(
        garbage.is_closed().await,
        "a ConnectRequest that does not decode"
    );

    let (mut truncated, _) = Client::connect(address).await;
    truncated.request(1, 1, &[0, 0, 0, 9, b'/']).await;
    assert!(
        truncated.is_closed().await,
        "a create whose record is cut short"
    );

    let (mut unknown, _) = Client::connect(address).await;
    unknown.request(7, 999, &[]).await;
    let (header, _) = unknown.reply().await;
    assert_eq!((header.xid, header.err), (7, -6), "Unimplemented");
    assert!(unknown.is_closed().await);

    assert_eq!(healthy.create(1, "/still-fine", b"", 0).await.err, 0);
    server.stop().await.unwrap();
}

async fn four_letter_word(address: SocketAddr, word: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(word.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

#[tokio::test]
async fn four_letter_words_follow_the_whitelist() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;
    let srvr = four_letter_word(address, "srvr").await;
    assert!(srvr.starts_with("Zookeeper version: 3.9."), "{srvr}");
    assert!(srvr.contains("\nMode: standalone\n"), "{srvr}");
    assert!(srvr.contains("\nZxid: 0x"), "{srvr}");
    assert!(srvr.contains("\nNode count: 5\n"), "{srvr}");
    assert_eq!(
        four_letter_word(address, "ruok").await,
        "ruok is not executed because it is not in the whitelist.\n"
    );
    server.stop().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "4lw.commands.whitelist=ruok, mntr").await;
    assert_eq!(four_letter_word(address, "ruok").await, "imok");
    let mntr = four_letter_word(address, "mntr").await;
    assert!(mntr.contains("zk_server_state\tstandalone\n"), "{mntr}");
    assert!(mntr.contains("zk_znode_count\t5\n"), "{mntr}");
    assert!(four_letter_word(address, "srvr")
        .await
        .contains("Mode: standalone"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn restart_keeps_data_and_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;
    let (mut client, response) = Client::connect(address).await;
    assert_eq!(client.create(1, "/kept", b"data", 0).await.err, 0);
    assert_eq!(client.create(2, "/seq-", b"", 2).await.err, 0);
    drop(client);
    server.stop().await.unwrap();

    let (server, address) = start(dir.path(), "").await;
    let (mut client, _) = Client::connect(address).await;
    let get = to_bytes(&GetDataRequest {
        path: "/kept".into(),
        watch: false,
    });
    client.request(1, 4, &get).await;
    let (header, body) = client.reply().await;
    assert_eq!(header.err, 0);
    assert_eq!(&body[..8], &[0, 0, 0, 4, b'd', b'a', b't', b'a']);
    // The old session is still known: it re-attaches with its password.
    let reattach = ConnectRequest {
        session_id: response.session_id,
        passwd: response.passwd,
        ..new_session(30_000)
    };
    let (_again, resumed) = Client::handshake(address, reattach).await;
    assert_eq!(resumed.session_id, response.session_id);
    server.stop().await.unwrap();
}

async fn http_get(address: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

#[tokio::test]
async fn admin_server_answers_commands_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        "admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0",
    );
    let server = Server::start(&config, storage_for(&config)).await.unwrap();
    let admin = server.admin_address.expect("the admin server is on");

    let response = http_get(admin, "/commands/ruok").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let body: serde_json::Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["command"], "ruok");
    assert_eq!(body["error"], serde_json::Value::Null);

    let response = http_get(admin, "/commands/mntr").await;
    let body: serde_json::Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["command"], "monitor");
    assert_eq!(body["server_state"], "standalone");
    assert_eq!(body["znode_count"], 5);

    let response = http_get(admin, "/commands/srvr").await;
    let body: serde_json::Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["server_stats"]["server_state"], "standalone");

    assert!(http_get(admin, "/commands")
        .await
        .contains("/commands/is_read_only"));
    assert!(http_get(admin, "/commands/nope")
        .await
        .starts_with("HTTP/1.1 404"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn connections_per_ip_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "maxClientCnxns=2").await;
    let (mut first, _) = Client::connect(address).await;
    let (_second, _) = Client::connect(address).await;
    let mut third = Client::open(address).await;
    assert!(
        third.is_closed().await,
        "a third connection from 127.0.0.1 is refused"
    );
    assert_eq!(
        first.exists(1, "/").await.err,
        0,
        "the first two still work"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn failed_auth_answers_auth_failed_and_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "").await;
    let (mut client, _) = Client::connect(address).await;
    let good = to_bytes(&keel::zookeeper::jute::proto::AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: b"user:password".to_vec(),
    });
    client.request(-4, 100, &good).await;
    let (header, _) = client.reply().await;
    assert_eq!((header.xid, header.zxid, header.err), (-4, 0, 0));
    let bad = to_bytes(&keel::zookeeper::jute::proto::AuthPacket {
        auth_type: 0,
        scheme: "kerberos-ish".into(),
        auth: vec![1, 2, 3],
    });
    client.request(-4, 100, &bad).await;
    let (header, _) = client.reply().await;
    assert_eq!((header.xid, header.err), (-4, -115), "AuthFailed");
    assert!(client.is_closed().await);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_never_handshakes_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path(), "nio.sessionlessCnxnTimeout=300").await;
    let mut silent = Client::open(address).await;
    // Half a ConnectRequest, then nothing: Apache's sessionless connection
    // timeout closes it.
    silent.send_raw(&[0, 0, 0, 45, 0, 0]).await;
    let started = std::time::Instant::now();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(15), silent.stream.read(&mut byte))
        .await
        .expect("closed in time");
    assert_eq!(read.unwrap_or(0), 0);
    assert!(started.elapsed() >= Duration::from_millis(250));
    // A connection that handshakes in time stays.
    let (mut client, _) = Client::connect(address).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(client.exists(1, "/").await.err, 0);
    server.stop().await.unwrap();
}
