//! The ZooKeeper session: connecting (chroot created as Kafka does), bounded retries
//! of single operations, and small helpers over `zookeeper-client`.

use std::future::Future;
use std::time::Duration;

use zookeeper_client as zk;

use super::ControllerError;

/// Attempts of one operation across connection losses before the caller sees the
/// error. With the backoff below they span about ten seconds, less than Kafka's
/// default 18 s session timeout, so a session that survives is never given up on
/// while a real outage surfaces as an error instead of a hang.
pub const ATTEMPTS_MAX: u32 = 8;
const BACKOFF_MS_INITIAL: u64 = 50;
const BACKOFF_MS_MAX: u64 = 2_000;

pub fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

pub fn ephemeral() -> zk::CreateOptions<'static> {
    zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all())
}

pub fn persistent_sequential() -> zk::CreateOptions<'static> {
    zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all())
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
pub async fn connect(
    connect: &str,
    session_timeout_ms: u32,
    connection_timeout_ms: u32,
) -> Result<zk::Client, ControllerError> {
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
    let client = match tokio::time::timeout(
        Duration::from_millis(connection_timeout_ms.into()),
        connector.connect(hosts),
    )
    .await
    {
        Ok(Ok(client)) => client,
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
        let options = persistent();
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
        let options = persistent();
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
