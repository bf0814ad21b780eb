//! Kafka's `ssl.*` settings for one listener, as `DefaultSslEngineFactory` reads
//! them: each key may be prefixed `listener.name.<listener>.` to apply to that
//! listener alone; stores from files (`ssl.keystore.location`) or, for PEM, inline
//! (`ssl.keystore.key`, `ssl.keystore.certificate.chain`, `ssl.truststore.certificates`).

use crate::config::{ConfigError, Properties};
use crate::tls::keystore::{self, StoreType};
use crate::tls::{self, ClientAuth, Protocol, TlsSettings};

use super::{scoped, SecurityProtocol};

/// Kafka's default for both store types.
const DEFAULT_STORE_TYPE: StoreType = StoreType::Jks;

/// The TLS settings of `listener` (upper case), which speaks `protocol` (SSL or
/// SASL_SSL). A SASL_SSL listener asks for client certificates only when the
/// listener-prefixed `ssl.client.auth` says so (KIP-684): the top-level key is for
/// SSL listeners.
pub fn listener_settings(
    properties: &Properties,
    listener: &str,
    protocol: SecurityProtocol,
) -> Result<TlsSettings, ConfigError> {
    let client_auth = {
        let prefixed = format!(
            "listener.name.{}.ssl.client.auth",
            listener.to_ascii_lowercase()
        );
        let found = match protocol {
            SecurityProtocol::SaslSsl => properties
                .get_trimmed(&prefixed)
                .map(|value| (prefixed.clone(), value)),
            _ => scoped(properties, listener, "ssl.client.auth"),
        };
        match found {
            None => ClientAuth::None,
            Some((key, value)) => match value.to_ascii_lowercase().as_str() {
                "none" | "" => ClientAuth::None,
                "requested" => ClientAuth::Requested,
                "required" => ClientAuth::Required,
                other => {
                    return Err(properties.error(
                        &key,
                        format!("Invalid value {other} for configuration ssl.client.auth: String must be one of: required, requested, none"),
                    ))
                }
            },
        }
    };
    let mut settings = settings(properties, listener, true)?;
    settings.client_auth = client_auth;
    Ok(settings)
}

/// The settings shared by a listener and this broker's own TLS client.
pub fn settings(
    properties: &Properties,
    listener: &str,
    want_identity: bool,
) -> Result<TlsSettings, ConfigError> {
    read_settings(
        properties,
        &|key| scoped(properties, listener, key),
        &|_location| Some(DEFAULT_STORE_TYPE),
        want_identity,
    )
}

/// The broker's TLS client towards ZooKeeper, from Kafka's `zookeeper.ssl.*` keys
/// (`zookeeper.ssl.keystore.location`, `.truststore.type`,
/// `zookeeper.ssl.endpoint.identification.algorithm`, ...). Without a `*.type` the
/// store type follows the file name, as ZooKeeper's `KeyStoreFileType` guesses it.
pub fn zookeeper_client_settings(properties: &Properties) -> Result<TlsSettings, ConfigError> {
    for key in ["zookeeper.ssl.crl.enable", "zookeeper.ssl.ocsp.enable"] {
        if properties.get_bool(key)? == Some(true) {
            return Err(properties.error(
                key,
                "certificate revocation checks are not supported by keel's ZooKeeper client; refusing to start rather than accept revoked certificates",
            ));
        }
    }
    read_settings(
        properties,
        &|key| {
            let key = format!("zookeeper.{key}");
            properties.get_trimmed(&key).map(|value| (key, value))
        },
        &StoreType::from_file_name,
        true,
    )
}

/// `get` finds a setting by its Kafka listener name (`ssl.keystore.location`) and
/// says under which key it found it; `default_store_type` gives a store's type
/// from its location when no `*.type` key is set.
fn read_settings<'p>(
    properties: &'p Properties,
    get: &dyn Fn(&str) -> Option<(String, &'p str)>,
    default_store_type: &dyn Fn(&str) -> Option<StoreType>,
    want_identity: bool,
) -> Result<TlsSettings, ConfigError> {
    let secret = |key: &str| {
        get(key)
            .filter(|(_, value)| !value.is_empty())
            .map(|(_, value)| value.to_string())
    };
    let refuse = |key: &str, message: String| properties.error(key, message);
    if let Some((key, value)) = get("ssl.engine.factory.class").filter(|(_, v)| !v.is_empty()) {
        return Err(refuse(
            &key,
            format!(
                "{value}: custom Java SSL engine factories cannot run in keel; refusing to start"
            ),
        ));
    }

    let read_store =
        |location_key: &str| -> Result<Option<(String, String, Vec<u8>)>, ConfigError> {
            match get(location_key).filter(|(_, value)| !value.is_empty()) {
                None => Ok(None),
                Some((key, path)) => std::fs::read(path)
                    .map(|bytes| Some((key.clone(), path.to_string(), bytes)))
                    .map_err(|error| refuse(&key, format!("cannot read {path}: {error}"))),
            }
        };
    let store_type = |type_key: &str| -> Result<(String, StoreType), ConfigError> {
        if let Some((key, name)) = get(type_key).filter(|(_, name)| !name.is_empty()) {
            return StoreType::from_name(name)
                .map(|kind| (key.clone(), kind))
                .ok_or_else(|| {
                    refuse(
                        &key,
                        format!(
                            "{name} stores are not supported by keel (JKS, PKCS12 and PEM are)"
                        ),
                    )
                });
        }
        let kind = match get(&type_key.replace(".type", ".location")) {
            // No store to read: the type does not matter.
            None => DEFAULT_STORE_TYPE,
            Some((location_key, path)) => default_store_type(path).ok_or_else(|| {
                refuse(
                    &location_key,
                    format!("Unable to auto-detect store file type from file name: {path}; set the store's type"),
                )
            })?,
        };
        Ok((type_key.to_string(), kind))
    };

    let identity = if want_identity {
        let (type_key, kind) = store_type("ssl.keystore.type")?;
        let key_password = secret("ssl.key.password");
        let store_password = secret("ssl.keystore.password");
        let inline_key = get("ssl.keystore.key").filter(|(_, value)| !value.is_empty());
        match (read_store("ssl.keystore.location")?, inline_key) {
            (Some(_), Some((key, _))) => {
                return Err(refuse(
                    &key,
                    "Both PEM config and key store location are specified for the key store".into(),
                ))
            }
            (Some((key, path, bytes)), None) => {
                if kind == StoreType::Pem && store_password.is_some() {
                    let password_key = get("ssl.keystore.password")
                        .map(|(key, _)| key)
                        .unwrap_or_default();
                    return Err(refuse(
                        &password_key,
                        "SSL key store password cannot be specified with PEM format, only key password may be specified".into(),
                    ));
                }
                Some(
                    keystore::load_identity(
                        kind,
                        &bytes,
                        store_password.as_deref(),
                        key_password.as_deref(),
                    )
                    .map_err(|message| refuse(&key, format!("key store {path}: {message}")))?,
                )
            }
            (None, Some((key, key_text))) => {
                if kind != StoreType::Pem {
                    return Err(refuse(
                        &type_key,
                        "ssl.keystore.key is only read with ssl.keystore.type=PEM".into(),
                    ));
                }
                let (chain_key, chain_text) =
                    get("ssl.keystore.certificate.chain").ok_or_else(|| {
                        refuse(
                            &key,
                            "ssl.keystore.key needs ssl.keystore.certificate.chain".into(),
                        )
                    })?;
                Some(
                    keystore::identity_from_pem(key_text, chain_text, key_password.as_deref())
                        .map_err(|message| refuse(&chain_key, message))?,
                )
            }
            (None, None) => None,
        }
    } else {
        None
    };

    let trusted = {
        let (type_key, kind) = store_type("ssl.truststore.type")?;
        let password = secret("ssl.truststore.password");
        let inline = get("ssl.truststore.certificates").filter(|(_, value)| !value.is_empty());
        match (read_store("ssl.truststore.location")?, inline) {
            (Some(_), Some((key, _))) => {
                return Err(refuse(
                    &key,
                    "Both PEM config and trust store location are specified for the trust store"
                        .into(),
                ))
            }
            (Some((key, path, bytes)), None) => Some(
                keystore::load_trusted(kind, &bytes, password.as_deref())
                    .map_err(|message| refuse(&key, format!("trust store {path}: {message}")))?,
            ),
            (None, Some((key, text))) => {
                if kind != StoreType::Pem {
                    return Err(refuse(
                        &type_key,
                        "ssl.truststore.certificates is only read with ssl.truststore.type=PEM"
                            .into(),
                    ));
                }
                let certificates = keystore::certificates_from_pem(text)
                    .map_err(|message| refuse(&key, message))?;
                if certificates.is_empty() {
                    return Err(refuse(&key, "no CERTIFICATE in the value".into()));
                }
                Some(certificates)
            }
            (None, None) => None,
        }
    };

    let protocols = match get("ssl.enabled.protocols").filter(|(_, value)| !value.is_empty()) {
        None => vec![Protocol::Tls12, Protocol::Tls13],
        Some((key, text)) => {
            let mut protocols = Vec::new();
            let mut skipped = Vec::new();
            for name in text
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
            {
                match Protocol::from_java_name(name) {
                    Ok(protocol) => protocols.push(protocol),
                    Err(_) => skipped.push(name.to_string()),
                }
            }
            if protocols.is_empty() {
                return Err(refuse(
                    &key,
                    format!("{text}: keel speaks TLSv1.2 and TLSv1.3 only; refusing to start"),
                ));
            }
            if !skipped.is_empty() {
                tracing::warn!(key = %key, skipped = %skipped.join(","), "protocol versions keel cannot speak are left out (Java disables TLSv1 and TLSv1.1 by default too)");
            }
            protocols
        }
    };
    let cipher_suites = get("ssl.cipher.suites")
        .filter(|(_, value)| !value.is_empty())
        .map(|(_, text)| {
            text.split(',')
                .map(|name| name.trim().to_string())
                .collect()
        });
    let verify_hostname = match get("ssl.endpoint.identification.algorithm") {
        None => true,
        Some((_, value)) => !value.is_empty(),
    };

    Ok(TlsSettings {
        identity,
        trusted,
        client_auth: ClientAuth::None,
        protocols,
        cipher_suites,
        verify_hostname,
    })
}

/// The server side of a TLS listener, refused naming the listener's keys when the
/// stores do not make one.
pub fn listener_server(
    properties: &Properties,
    listener: &str,
    protocol: SecurityProtocol,
) -> Result<tls::TlsServer, ConfigError> {
    let settings = listener_settings(properties, listener, protocol)?;
    tls::server_config(&settings).map_err(|message| {
        let key = scoped(properties, listener, "ssl.keystore.location")
            .map(|(key, _)| key)
            .unwrap_or_else(|| "ssl.keystore.location".to_string());
        properties.error(&key, format!("listener {listener}: {message}"))
    })
}

/// This broker's TLS client towards other brokers' `listener`.
pub fn inter_broker_client(
    properties: &Properties,
    listener: &str,
) -> Result<tls::TlsClient, ConfigError> {
    let settings = settings(properties, listener, true)?;
    tls::client_config(&settings).map_err(|message| {
        let key = scoped(properties, listener, "ssl.truststore.location")
            .map(|(key, _)| key)
            .unwrap_or_else(|| "ssl.truststore.location".to_string());
        properties.error(&key, format!("inter-broker listener {listener}: {message}"))
    })
}
