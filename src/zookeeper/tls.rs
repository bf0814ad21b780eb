//! ZooKeeper's TLS client port: `secureClientPort` with the `ssl.*` settings
//! Apache's ClientX509Util reads (zoo.cfg keys, which Apache turns into
//! `zookeeper.ssl.*` system properties, or those properties in `SERVER_JVMFLAGS`):
//! key and trust stores (type from `ssl.keyStore.type` or the file's extension;
//! passwords inline or from `*.passwordPath` files), `ssl.clientAuth` (`need` by
//! default, as Apache), `ssl.enabledProtocols` and `ssl.ciphersuites`.

use crate::tls::keystore::{self, StoreType};
use crate::tls::{self, ClientAuth, Protocol, TlsServer, TlsSettings};

use super::config::ZooKeeperConfig;

/// The TLS server of the secure client port; an error names the setting.
pub fn secure_client_server(config: &ZooKeeperConfig) -> Result<TlsServer, String> {
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
                .map_err(|error| format!("ssl.{key}.passwordPath: cannot read {path}: {error}")),
        }
    };
    let store = |key: &str| -> Result<Option<(StoreType, Vec<u8>, String)>, String> {
        let Some(location) = property(&format!("ssl.{key}.location")) else {
            return Ok(None);
        };
        let kind = match property(&format!("ssl.{key}.type")) {
            Some(name) => StoreType::from_name(name).ok_or_else(|| {
                format!("ssl.{key}.type: {name} stores are not supported by keel (JKS, PKCS12 and PEM are)")
            })?,
            None => StoreType::from_file_name(location).ok_or_else(|| {
                format!("ssl.{key}.location: cannot tell the store type of {location} from its extension; set ssl.{key}.type")
            })?,
        };
        let bytes = std::fs::read(location)
            .map_err(|error| format!("ssl.{key}.location: cannot read {location}: {error}"))?;
        Ok(Some((kind, bytes, location.to_string())))
    };

    let (kind, bytes, location) = store("keyStore")?
        .ok_or("secureClientPort needs ssl.keyStore.location (the server's certificate and key)")?;
    let key_password = password("ssl.keyStore")?;
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
    .map_err(|message| format!("ssl.keyStore.location: {location}: {message}"))?;
    let trusted = match store("trustStore")? {
        None => None,
        Some((kind, bytes, location)) => Some(
            keystore::load_trusted(kind, &bytes, password("ssl.trustStore")?.as_deref())
                .map_err(|message| format!("ssl.trustStore.location: {location}: {message}"))?,
        ),
    };
    let client_auth = match property("ssl.clientAuth")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("need") => ClientAuth::Required,
        Some("want") => ClientAuth::Requested,
        Some("none") => ClientAuth::None,
        Some(other) => {
            return Err(format!(
                "ssl.clientAuth: {other} is not one of none, want, need"
            ))
        }
    };
    let protocols = match property("ssl.enabledProtocols").or_else(|| property("ssl.protocol")) {
        None => vec![Protocol::Tls12, Protocol::Tls13],
        Some(text) => {
            let protocols: Vec<Protocol> = text
                .split(',')
                .filter_map(|name| Protocol::from_java_name(name).ok())
                .collect();
            if protocols.is_empty() {
                return Err(format!(
                    "ssl.enabledProtocols: {text}: keel speaks TLSv1.2 and TLSv1.3 only"
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
        cipher_suites: property("ssl.ciphersuites").map(|text| {
            text.split(',')
                .map(|name| name.trim().to_string())
                .collect()
        }),
        verify_hostname: false,
    };
    tls::server_config(&settings).map_err(|message| format!("secureClientPort: {message}"))
}
