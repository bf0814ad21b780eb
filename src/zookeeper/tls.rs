//! ZooKeeper's TLS client port: `secureClientPort` with the `ssl.*` settings
//! Apache's ClientX509Util reads (zoo.cfg keys, which Apache turns into
//! `zookeeper.ssl.*` system properties, or those properties in `SERVER_JVMFLAGS`):
//! key and trust stores (type from `ssl.keyStore.type` or the file's extension;
//! passwords inline or from `*.passwordPath` files), `ssl.clientAuth` (`need` by
//! default, as Apache), `ssl.enabledProtocols` and `ssl.ciphersuites`. The same
//! settings under `ssl.quorum.` make the quorum's TLS (`sslQuorum=true`), as
//! Apache's QuorumX509Util reads them.

use crate::tls::keystore::{self, StoreType};
use crate::tls::{self, ClientAuth, Protocol, TlsServer, TlsSettings};

use super::config::ZooKeeperConfig;

/// The TLS server of the secure client port; an error names the setting.
pub fn secure_client_server(config: &ZooKeeperConfig) -> Result<TlsServer, String> {
    let settings = settings(config, "ssl.")?
        .ok_or("secureClientPort needs ssl.keyStore.location (the server's certificate and key)")?;
    tls::server_config(&settings).map_err(|message| format!("secureClientPort: {message}"))
}

/// TLS between ensemble members (`sslQuorum=true`), as Apache's QuorumX509Util sets
/// it up from the `ssl.quorum.*` settings: each side presents its certificate and
/// checks the other's (`ssl.quorum.clientAuth` is `need` unless set), and the
/// certificates must name the addresses of `server.N` when `fips-mode=false` and
/// `ssl.quorum.hostnameVerification` (on by default) say so; for the quorum it covers
/// the dialling side's certificate too.
#[derive(Clone)]
pub struct QuorumTls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub connector: tokio_rustls::TlsConnector,
    /// The accepting side checks that the dialler's certificate names its address.
    pub verify_client_hostname: bool,
}

impl std::fmt::Debug for QuorumTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuorumTls")
            .field("verify_client_hostname", &self.verify_client_hostname)
            .finish_non_exhaustive()
    }
}

pub fn quorum_tls(config: &ZooKeeperConfig) -> Result<QuorumTls, String> {
    let mut settings = settings(config, "ssl.quorum.")?.ok_or(
        "sslQuorum: sslQuorum=true needs ssl.quorum.keyStore.location (this server's certificate and key)",
    )?;
    if settings.trusted.is_none() {
        return Err("ssl.quorum.trustStore.location: sslQuorum=true needs a trust store (the JVM's default cacerts is not read by keel)".to_string());
    }
    let flag = |key: &str, default: bool| -> Result<bool, String> {
        match config.system_property(key).map(str::trim) {
            None | Some("") => Ok(default),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(value) => Err(format!("{key}: {value} is not true or false")),
        }
    };
    // Apache 3.9 checks certificates against addresses only in its ZKTrustManager,
    // which it leaves out in FIPS mode, its default (`zookeeper.fips-mode`): a
    // default Apache ensemble accepts any trusted certificate from any address, and
    // keel does the same rather than refuse peers an Apache member lets in.
    let fips_mode = flag("fips-mode", true)?;
    let verify_hostname = !fips_mode && flag("ssl.quorum.hostnameVerification", true)?;
    let verify_client_hostname =
        verify_hostname && flag("ssl.quorum.clientHostnameVerification", true)?;
    settings.verify_hostname = verify_hostname;
    let server =
        tls::server_config(&settings).map_err(|message| format!("sslQuorum: {message}"))?;
    let client =
        tls::client_config(&settings).map_err(|message| format!("sslQuorum: {message}"))?;
    Ok(QuorumTls {
        acceptor: tokio_rustls::TlsAcceptor::from(server.0),
        connector: tokio_rustls::TlsConnector::from(client.0),
        verify_client_hostname,
    })
}

/// The stores and choices under `prefix` (`ssl.` or `ssl.quorum.`); `None` without
/// a key store.
fn settings(config: &ZooKeeperConfig, prefix: &str) -> Result<Option<TlsSettings>, String> {
    let property = |key: &str| {
        config
            .system_property(key)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let password = |key: &str| -> Result<Option<String>, String> {
        if let Some(value) = property(&format!("{key}.password")) {
            return Ok(Some(value.to_string()));
        }
        match property(&format!("{key}.passwordPath")) {
            None => Ok(None),
            Some(path) => std::fs::read_to_string(path)
                .map(|text| Some(text.trim_end_matches(['\r', '\n']).to_string()))
                .map_err(|error| format!("{key}.passwordPath: cannot read {path}: {error}")),
        }
    };
    let store = |key: &str| -> Result<Option<(StoreType, Vec<u8>, String)>, String> {
        let Some(location) = property(&format!("{prefix}{key}.location")) else {
            return Ok(None);
        };
        let kind = match property(&format!("{prefix}{key}.type")) {
            Some(name) => StoreType::from_name(name).ok_or_else(|| {
                format!("{prefix}{key}.type: {name} stores are not supported by keel (JKS, PKCS12 and PEM are)")
            })?,
            None => StoreType::from_file_name(location).ok_or_else(|| {
                format!("{prefix}{key}.location: cannot tell the store type of {location} from its extension; set {prefix}{key}.type")
            })?,
        };
        let bytes = std::fs::read(location)
            .map_err(|error| format!("{prefix}{key}.location: cannot read {location}: {error}"))?;
        Ok(Some((kind, bytes, location.to_string())))
    };

    let Some((kind, bytes, location)) = store("keyStore")? else {
        return Ok(None);
    };
    let key_password = password(&format!("{prefix}keyStore"))?;
    // Apache's PEM reader opens an encrypted key with the key store password; a JKS
    // or PKCS12 key shares the store's password.
    let (store_password, key_password) = match kind {
        StoreType::Pem => (None, key_password),
        _ => (key_password.clone(), key_password),
    };
    let identity = keystore::load_identity(
        kind,
        &bytes,
        store_password.as_deref(),
        key_password.as_deref(),
    )
    .map_err(|message| format!("{prefix}keyStore.location: {location}: {message}"))?;
    let trusted = match store("trustStore")? {
        None => None,
        Some((kind, bytes, location)) => Some(
            keystore::load_trusted(
                kind,
                &bytes,
                password(&format!("{prefix}trustStore"))?.as_deref(),
            )
            .map_err(|message| format!("{prefix}trustStore.location: {location}: {message}"))?,
        ),
    };
    let client_auth = match property(&format!("{prefix}clientAuth"))
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("need") => ClientAuth::Required,
        Some("want") => ClientAuth::Requested,
        Some("none") => ClientAuth::None,
        Some(other) => {
            return Err(format!(
                "{prefix}clientAuth: {other} is not one of none, want, need"
            ))
        }
    };
    let protocols = match property(&format!("{prefix}enabledProtocols"))
        .or_else(|| property(&format!("{prefix}protocol")))
    {
        None => vec![Protocol::Tls12, Protocol::Tls13],
        Some(text) => {
            let protocols: Vec<Protocol> = text
                .split(',')
                .filter_map(|name| Protocol::from_java_name(name).ok())
                .collect();
            if protocols.is_empty() {
                return Err(format!(
                    "{prefix}enabledProtocols: {text}: keel speaks TLSv1.2 and TLSv1.3 only"
                ));
            }
            protocols
        }
    };
    let settings = TlsSettings {
        identity: Some(identity),
        trusted,
        client_auth,
        protocols,
        cipher_suites: property(&format!("{prefix}ciphersuites")).map(|text| {
            text.split(',')
                .map(|name| name.trim().to_string())
                .collect()
        }),
        verify_hostname: false,
    };
    Ok(Some(settings))
}
