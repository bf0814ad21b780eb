//! The ZooKeeper session: connecting (chroot created as Kafka does), bounded retries
//! of single operations, and small helpers over `zookeeper-client`.

use std::future::Future;
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};

use zookeeper_client as zk;

use super::ControllerError;
use crate::kafka::security::zookeeper_client::{znode_acls, ZkClientSecurity, ZkTls, ZnodeAcls};

/// Attempts of one operation across connection losses before the caller sees the
/// error. With the backoff below they span about ten seconds, less than Kafka's
/// default 18 s session timeout, so a session that survives is never given up on
/// while a real outage surfaces as an error instead of a hang.
pub const ATTEMPTS_MAX: u32 = 8;
const BACKOFF_MS_INITIAL: u64 = 50;
const BACKOFF_MS_MAX: u64 = 2_000;

/// `zookeeper.set.acl` of this process's broker. Process-wide as in Kafka, where
/// the JAAS login it rests on is a JVM system property; keel runs one broker per
/// process, so every create below reads it instead of threading it through each
/// caller. Set once, before the first znode is created.
static SECURE_ACLS: AtomicBool = AtomicBool::new(false);

/// Switches this process's znode creations to Kafka's secure ACLs.
pub fn use_secure_acls() {
    SECURE_ACLS.store(true, Ordering::Relaxed);
}

const CREATOR_ALL_ANYONE_READ: &[zk::Acl] = &[
    zk::Acl::new_const(zk::Permission::ALL, "auth", ""),
    zk::Acl::new_const(zk::Permission::READ, "world", "anyone"),
];

/// The ACLs Kafka gives a znode it creates at `path` (ZkData.defaultAcls).
fn acls(path: &str) -> zk::Acls<'static> {
    match znode_acls(SECURE_ACLS.load(Ordering::Relaxed), path) {
        ZnodeAcls::Open => zk::Acls::anyone_all(),
        ZnodeAcls::CreatorAll => zk::Acls::creator_all(),
        ZnodeAcls::CreatorAllAnyoneRead => zk::Acls::new(CREATOR_ALL_ANYONE_READ),
    }
}

pub fn persistent(path: &str) -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(acls(path))
}

pub fn ephemeral(path: &str) -> zk::CreateOptions<'static> {
    zk::CreateMode::Ephemeral.with_acls(acls(path))
}

/// `prefix` is the path before the sequence number.
pub fn persistent_sequential(prefix: &str) -> zk::CreateOptions<'static> {
    zk::CreateMode::PersistentSequential.with_acls(acls(prefix))
}

/// Splits `host:port,host:port/chroot` the way ZooKeeper's Java client does: the
/// chroot is everything from the first '/'.
pub fn split_chroot(connect: &str) -> (&str, Option<&str>) {
    match connect.find('/') {
        Some(index) => {
            let chroot = connect[index..].trim_end_matches('/');
            (&connect[..index], (!chroot.is_empty()).then_some(chroot))
        }
        None => (connect, None),
    }
}

/// Connects, creating the chroot first if it is missing (KafkaServer's
/// `createChrootIfNecessary`), within `connection_timeout_ms`.
/// With a SASL login, every connection of the session logs in with DIGEST-MD5
/// first, as the Java client does with a JAAS `Client` section; with TLS, every
/// server in `connect` is dialled over TLS (its `secureClientPort`).
pub async fn connect(
    connect: &str,
    session_timeout_ms: u32,
    connection_timeout_ms: u32,
    security: &ZkClientSecurity,
) -> Result<zk::Client, ControllerError> {
    let login = security.sasl_login.as_ref();
    let (hosts, chroot) = split_chroot(connect);
    let session_timeout = Duration::from_millis(session_timeout_ms.into());
    // The crate pings after 3/8 of its connection timeout without a send, and that
    // timeout defaults to 2/5 of the session's (a ping every 2.7 s at Kafka's 18 s).
    // Apache's Java client declares the connection lost after 2/3 of the session
    // timeout and pings after 1/3 (6 s). 3/5 is the largest the crate takes: pings
    // every 4 s, loss after 10.8 s. A crashed broker's session then expires as soon
    // after its last ping as an Apache broker's does, which is most of a failover.
    let connector = zk::Client::connector()
        .with_session_timeout(session_timeout)
        .with_connection_timeout(session_timeout * 3 / 5);
    let connector = match login {
        Some(login) => connector.with_sasl(zk::SaslOptions::digest_md5(
            login.username.clone(),
            login.password.0.clone(),
        )),
        None => connector,
    };
    let connecting: std::pin::Pin<Box<dyn Future<Output = Result<zk::Client, zk::Error>> + Send>> =
        match &security.tls {
            Some(tls) => Box::pin(tls_connector(connector, tls)?.secure_connect(hosts)),
            None => Box::pin(connector.connect(hosts)),
        };
    let client = match tokio::time::timeout(
        Duration::from_millis(connection_timeout_ms.into()),
        connecting,
    )
    .await
    {
        Ok(Ok(client)) => client,
        Ok(Err(zk::Error::AuthFailed)) => {
            return Err(ControllerError::Config(format!(
                "ZooKeeper at {hosts} refused the SASL login of {:?} (JAAS section {:?})",
                login.map_or("", |login| login.username.as_str()),
                login.map_or("", |login| login.section.as_str()),
            )))
        }
        Ok(Err(source)) => {
            return Err(ControllerError::Zk {
                what: "connect",
                path: hosts.to_string(),
                source,
            })
        }
        Err(_) => {
            return Err(ControllerError::ConnectTimeout {
                connect: connect.to_string(),
                timeout_ms: connection_timeout_ms,
            })
        }
    };
    tracing::info!(
        connect,
        session_id = %client.session_id(),
        session_timeout_ms = client.session_timeout().as_millis() as u64,
        "connected to ZooKeeper"
    );
    let Some(chroot) = chroot else {
        return Ok(client);
    };
    ensure_path(&client, chroot).await?;
    client
        .chroot(chroot)
        .map_err(|_| ControllerError::Config(format!("bad chroot {chroot:?} in zookeeper.connect")))
}

/// The ZooKeeper client builds its rustls configuration from the process-wide
/// crypto provider; keel's is ring, as for its own TLS listeners.
fn tls_connector(connector: zk::Connector, tls: &ZkTls) -> Result<zk::Connector, ControllerError> {
    let _already_installed = crate::tls::ring_provider().install_default();
    let refused = |what: &str, error: zk::Error| {
        ControllerError::Config(format!("TLS to ZooKeeper: {what}: {error}"))
    };
    let mut options = zk::TlsOptions::new()
        .with_pem_ca(&tls.ca_pem)
        .map_err(|error| refused("the trust store", error))?;
    if let Some((chain, key)) = &tls.identity_pem {
        options = options
            .with_pem_identity(chain, key)
            .map_err(|error| refused("the key store", error))?;
    }
    if !tls.verify_hostname {
        // SAFETY (the crate's marker for a weaker check, not memory safety): the
        // operator set zookeeper.ssl.endpoint.identification.algorithm empty; the
        // chain must still lead to a trusted certificate.
        options = unsafe { options.with_no_hostname_verification() };
    }
    Ok(connector.with_tls(options))
}

/// Runs `operation`, retrying connection losses and timeouts with backoff; every
/// other outcome (including NoNode, NodeExists, BadVersion) returns at once.
pub async fn retry<T, F, Fut>(
    what: &'static str,
    path: &str,
    mut operation: F,
) -> Result<T, zk::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, zk::Error>>,
{
    let mut backoff_ms = BACKOFF_MS_INITIAL;
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(error @ (zk::Error::ConnectionLoss | zk::Error::Timeout))
                if attempt < ATTEMPTS_MAX =>
            {
                tracing::warn!(what, path, attempt, %error, "ZooKeeper operation failed; retrying");
                tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                backoff_ms = (backoff_ms * 2).min(BACKOFF_MS_MAX);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// `mkdir -p` with empty data, tolerating concurrent creators (Kafka's
/// `makeSurePersistentPathExists`).
pub async fn ensure_path(client: &zk::Client, path: &str) -> Result<(), ControllerError> {
    let mut prefix = String::new();
    for part in path.split('/').filter(|part| !part.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        let options = persistent(&prefix);
        let result = retry("create", &prefix, || client.create(&prefix, &[], &options)).await;
        match result {
            Ok(_) | Err(zk::Error::NodeExists) => {}
            Err(source) => {
                return Err(ControllerError::Zk {
                    what: "create",
                    path: prefix,
                    source,
                })
            }
        }
    }
    Ok(())
}

/// Reads a znode; `None` when it does not exist.
pub async fn get(
    client: &zk::Client,
    path: &str,
) -> Result<Option<(Vec<u8>, zk::Stat)>, ControllerError> {
    match retry("get", path, || client.get_data(path)).await {
        Ok(found) => Ok(Some(found)),
        Err(zk::Error::NoNode) => Ok(None),
        Err(source) => Err(zk_error("get", path, source)),
    }
}

/// Kafka's `setOrCreateEntityConfigs`: set the data, or create the znode (and its
/// parents) when it is missing.
pub async fn set_or_create(
    client: &zk::Client,
    path: &str,
    data: &[u8],
) -> Result<(), ControllerError> {
    for _ in 0..ATTEMPTS_MAX {
        match retry("set", path, || client.set_data(path, data, None)).await {
            Ok(_) => return Ok(()),
            Err(zk::Error::NoNode) => {}
            Err(source) => return Err(zk_error("set", path, source)),
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            ensure_path(client, parent).await?;
        }
        let options = persistent(path);
        match retry("create", path, || client.create(path, data, &options)).await {
            Ok(_) => return Ok(()),
            // Someone created it in between: set it on the next round.
            Err(zk::Error::NodeExists) => {}
            Err(source) => return Err(zk_error("create", path, source)),
        }
    }
    Err(zk_error("set or create", path, zk::Error::BadVersion))
}

pub fn zk_error(what: &'static str, path: &str, source: zk::Error) -> ControllerError {
    ControllerError::Zk {
        what,
        path: path.to_string(),
        source,
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chroots() {
        assert_eq!(split_chroot("a:1,b:2"), ("a:1,b:2", None));
        assert_eq!(split_chroot("a:1,b:2/kafka"), ("a:1,b:2", Some("/kafka")));
        assert_eq!(split_chroot("a:1/kafka/x/"), ("a:1", Some("/kafka/x")));
        assert_eq!(split_chroot("a:1/"), ("a:1", None));
    }
}
