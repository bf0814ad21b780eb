//! How a keel broker logs in to ZooKeeper and which ACLs its znodes get, read as
//! Kafka 3.9 reads them: the JAAS `Client` section (`zookeeper.sasl.clientconfig`
//! names another) of the file `KAFKA_OPTS` passes with
//! `-Djava.security.auth.login.config`, the `zookeeper.sasl.client` switch, and
//! `zookeeper.set.acl` (ZkData.defaultAcls: creator-all plus world-read, creator-all
//! only under the sensitive paths, `/consumers` open).
//!
//! TLS to ZooKeeper comes from Kafka's `zookeeper.ssl.client.enable` and
//! `zookeeper.ssl.*` stores (JKS, PKCS12, PEM), or the ZooKeeper client system
//! properties in `KAFKA_OPTS` that stand in for them, handed to the ZooKeeper
//! client as PEM.
//!
//! Pure: the session code (`kafka::controller::session`) applies the outcome.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::jaas::LoginModule;
use crate::config::{ConfigError, Properties};

use super::{JaasFile, Secret};

/// The JAAS section the ZooKeeper client reads unless `zookeeper.sasl.clientconfig`
/// names another (ZooKeeper's `ZKClientConfig.LOGIN_CONTEXT_NAME_KEY` default).
const DEFAULT_LOGIN_SECTION: &str = "Client";

/// A DIGEST-MD5 login to ZooKeeper (the only SASL mechanism keel's ZooKeeper client
/// speaks; Kerberos logins are refused at start-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkSaslLogin {
    pub username: String,
    pub password: Secret,
    /// The JAAS section it came from, for the start-up log line.
    pub section: String,
}

/// TLS towards ZooKeeper's `secureClientPort`, as the ZooKeeper client takes it.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkTls {
    /// The trusted certificates.
    pub ca_pem: String,
    /// The client certificate chain and its private key (the broker's `x509` id).
    pub identity_pem: Option<(String, String)>,
    /// `zookeeper.ssl.endpoint.identification.algorithm` (HTTPS unless set empty).
    pub verify_hostname: bool,
}

impl fmt::Debug for ZkTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkTls")
            .field("identity", &self.identity_pem.is_some())
            .field("verify_hostname", &self.verify_hostname)
            .finish_non_exhaustive()
    }
}

/// The broker's ZooKeeper client security.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZkClientSecurity {
    pub sasl_login: Option<ZkSaslLogin>,
    pub tls: Option<ZkTls>,
    /// `zookeeper.set.acl=true`: znodes are created with Kafka's secure ACLs.
    pub secure_acls: bool,
}

/// Reads the broker's ZooKeeper login and ACL policy. `system_properties` are the
/// `-D` settings of `KAFKA_OPTS`.
pub fn resolve(
    properties: &Properties,
    system_properties: &BTreeMap<String, String>,
    jaas_file: Option<&JaasFile>,
) -> Result<ZkClientSecurity, ConfigError> {
    let section = system_properties
        .get("zookeeper.sasl.clientconfig")
        .map(String::as_str)
        .unwrap_or(DEFAULT_LOGIN_SECTION);
    let sasl_enabled = system_properties
        .get("zookeeper.sasl.client")
        // Boolean.parseBoolean: anything but "true" switches it off.
        .is_none_or(|value| value.trim().eq_ignore_ascii_case("true"));
    let modules = jaas_file.and_then(|(_, sections)| sections.get(section));
    let sasl_login = match modules {
        None => None,
        // Kafka's JaasUtils.isZkSaslEnabled: a login section with SASL switched off
        // is a contradiction it refuses to start with.
        Some(_) if !sasl_enabled => {
            return Err(properties.error(
                "KAFKA_OPTS",
                format!("JAAS configuration section {section:?} is present, but system property zookeeper.sasl.client is set to false, which disables SASL in the ZooKeeper client"),
            ))
        }
        Some(modules) => Some(digest_login(properties, section, modules)?),
    };
    let with_system_properties = tls_settings_with_system_properties(properties, system_properties);
    let tls = match with_system_properties.get_bool("zookeeper.ssl.client.enable")? {
        Some(true) => Some(tls(&with_system_properties)?),
        _ => None,
    };
    let secure_acls = properties.get_bool("zookeeper.set.acl")? == Some(true);
    // Kafka's isZkSecurityEnabled: a SASL login, or TLS with a client certificate.
    let authenticated =
        sasl_login.is_some() || tls.as_ref().is_some_and(|tls| tls.identity_pem.is_some());
    if secure_acls && !authenticated {
        return Err(properties.error(
            "zookeeper.set.acl",
            format!("zookeeper.set.acl is true, but there is no ZooKeeper login: name a JAAS file with a {section:?} section in KAFKA_OPTS (-Djava.security.auth.login.config=...), or set zookeeper.ssl.client.enable=true with a zookeeper.ssl.keystore.location"),
        ));
    }
    Ok(ZkClientSecurity {
        sasl_login,
        tls,
        secure_acls,
    })
}

/// Kafka's `zookeeper.ssl.*` keys and the ZooKeeper client system properties
/// (`ZkConfigs.ZK_SSL_CONFIG_TO_SYSTEM_PROPERTY_MAP`) that stand in for them when
/// server.properties does not set them.
const TLS_SYSTEM_PROPERTIES: [(&str, &str); 13] = [
    ("zookeeper.ssl.client.enable", "zookeeper.client.secure"),
    (
        "zookeeper.ssl.keystore.location",
        "zookeeper.ssl.keyStore.location",
    ),
    (
        "zookeeper.ssl.keystore.password",
        "zookeeper.ssl.keyStore.password",
    ),
    ("zookeeper.ssl.keystore.type", "zookeeper.ssl.keyStore.type"),
    (
        "zookeeper.ssl.truststore.location",
        "zookeeper.ssl.trustStore.location",
    ),
    (
        "zookeeper.ssl.truststore.password",
        "zookeeper.ssl.trustStore.password",
    ),
    (
        "zookeeper.ssl.truststore.type",
        "zookeeper.ssl.trustStore.type",
    ),
    ("zookeeper.ssl.protocol", "zookeeper.ssl.protocol"),
    (
        "zookeeper.ssl.enabled.protocols",
        "zookeeper.ssl.enabledProtocols",
    ),
    ("zookeeper.ssl.cipher.suites", "zookeeper.ssl.ciphersuites"),
    (
        "zookeeper.ssl.endpoint.identification.algorithm",
        "zookeeper.ssl.hostnameVerification",
    ),
    ("zookeeper.ssl.crl.enable", "zookeeper.ssl.crl"),
    ("zookeeper.ssl.ocsp.enable", "zookeeper.ssl.ocsp"),
];

/// server.properties with the ZooKeeper TLS settings `KAFKA_OPTS` gives as system
/// properties (`-Dzookeeper.client.secure=true -Dzookeeper.ssl.keyStore.location=...`)
/// filled in where the file has no value of its own, translated as KafkaConfig
/// translates them: a boolean is true only for exactly `true`, hostname verification
/// `true` is the `HTTPS` algorithm and anything else none.
fn tls_settings_with_system_properties(
    properties: &Properties,
    system_properties: &BTreeMap<String, String>,
) -> Properties {
    let mut merged = properties.clone();
    for (kafka_key, system_property) in TLS_SYSTEM_PROPERTIES {
        let Some(value) = system_properties.get(system_property) else {
            continue;
        };
        if properties.get(kafka_key).is_some() {
            continue;
        }
        let value = match kafka_key {
            "zookeeper.ssl.client.enable"
            | "zookeeper.ssl.crl.enable"
            | "zookeeper.ssl.ocsp.enable" => {
                if value == "true" {
                    "true"
                } else {
                    "false"
                }
            }
            "zookeeper.ssl.endpoint.identification.algorithm" => {
                if value == "true" {
                    "HTTPS"
                } else {
                    ""
                }
            }
            _ => value.as_str(),
        };
        merged.set(kafka_key, value);
    }
    merged
}

fn tls(properties: &Properties) -> Result<ZkTls, ConfigError> {
    let settings = super::ssl::zookeeper_client_settings(properties)?;
    let trusted = settings.trusted.ok_or_else(|| {
        properties.error(
            "zookeeper.ssl.truststore.location",
            "TLS to ZooKeeper needs a trust store (the JVM's default cacerts is not read by keel)",
        )
    })?;
    // The ZooKeeper client offers TLS 1.2 and 1.3 with rustls's AEAD suites; it
    // cannot be narrowed further, which only matters to an operator who did.
    if settings.cipher_suites.is_some() || settings.protocols.len() < 2 {
        tracing::warn!("zookeeper.ssl.enabled.protocols / zookeeper.ssl.cipher.suites are not applied: keel's ZooKeeper client offers TLSv1.2 and TLSv1.3 with AEAD suites only");
    }
    let identity_pem = settings.identity.map(|identity| {
        let chain = identity
            .chain
            .iter()
            .map(certificate_pem)
            .collect::<String>();
        (chain, private_key_pem(&identity.key))
    });
    Ok(ZkTls {
        ca_pem: trusted.iter().map(certificate_pem).collect(),
        identity_pem,
        verify_hostname: settings.verify_hostname,
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap_or_default());
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn certificate_pem(certificate: &CertificateDer<'_>) -> String {
    pem("CERTIFICATE", certificate.as_ref())
}

fn private_key_pem(key: &PrivateKeyDer<'_>) -> String {
    let label = match key {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    pem(label, key.secret_der())
}

/// ZooKeeper's client takes the username and password that the login module put in
/// the JAAS subject: ZooKeeper's DigestLoginModule and Kafka's PlainLoginModule both
/// do. Kerberos (Krb5LoginModule, GSSAPI) is not available in keel.
fn digest_login(
    properties: &Properties,
    section: &str,
    modules: &[LoginModule],
) -> Result<ZkSaslLogin, ConfigError> {
    let module = match modules {
        [module] => module,
        _ => {
            return Err(properties.error(
                "KAFKA_OPTS",
                format!("JAAS section {section:?} must have exactly one login module for the ZooKeeper login, it has {}", modules.len()),
            ))
        }
    };
    if !matches!(
        module.simple_name(),
        "DigestLoginModule" | "PlainLoginModule"
    ) {
        return Err(properties.error(
            "KAFKA_OPTS",
            format!("JAAS section {section:?} uses {}: keel's ZooKeeper client logs in with DIGEST-MD5 only (DigestLoginModule or PlainLoginModule); refusing to start rather than connect without the login", module.class),
        ));
    }
    let option = |name: &str| {
        module.options.get(name).cloned().ok_or_else(|| {
            properties.error(
                "KAFKA_OPTS",
                format!("JAAS section {section:?} has no {name} for the ZooKeeper login"),
            )
        })
    };
    Ok(ZkSaslLogin {
        username: option("username")?,
        password: Secret(option("password")?),
        section: section.to_string(),
    })
}

/// What ACLs a znode gets, as ZkData.defaultAcls decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZnodeAcls {
    /// world:anyone:cdrwa (OPEN_ACL_UNSAFE).
    Open,
    /// The creator's id with all permissions plus world:anyone:r.
    CreatorAllAnyoneRead,
    /// The creator's id with all permissions only (credentials live below).
    CreatorAll,
}

/// Paths whose data holds credentials or secrets: readable by the broker only.
const SENSITIVE_ROOTS: &[&str] = &[
    "/config/users",
    "/config/brokers",
    "/delegation_token/tokens",
];

/// Kafka's old consumers write under it, so it stays open even when secured.
const CONSUMERS_PATH: &str = "/consumers";

/// The ACLs Kafka gives `path` (relative to the chroot, except for the chroot
/// itself, which Kafka also creates with these rules).
pub fn znode_acls(secure: bool, path: &str) -> ZnodeAcls {
    if !secure || path == CONSUMERS_PATH {
        ZnodeAcls::Open
    } else if SENSITIVE_ROOTS.iter().any(|root| path.starts_with(root)) {
        ZnodeAcls::CreatorAll
    } else {
        ZnodeAcls::CreatorAllAnyoneRead
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jaas;
    use std::path::PathBuf;

    fn resolve_with(
        server_properties: &str,
        kafka_opts: &str,
        jaas_text: &str,
    ) -> Result<ZkClientSecurity, ConfigError> {
        let properties =
            Properties::parse(std::path::Path::new("server.properties"), server_properties)
                .unwrap();
        let jaas_file = (!jaas_text.is_empty()).then(|| {
            (
                PathBuf::from("jaas.conf"),
                jaas::parse_file(jaas_text).unwrap(),
            )
        });
        resolve(
            &properties,
            &crate::config::jvm_system_properties(kafka_opts),
            jaas_file.as_ref(),
        )
    }

    const DIGEST_CLIENT: &str = "Client {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n username=\"kafka\"\n password=\"kafka-secret\";\n};\n";

    #[test]
    fn the_client_section_is_the_zookeeper_login() {
        let security = resolve_with("zookeeper.set.acl=true\n", "", DIGEST_CLIENT).unwrap();
        let login = security.sasl_login.unwrap();
        assert_eq!(login.username, "kafka");
        assert_eq!(login.password, Secret("kafka-secret".to_string()));
        assert!(security.secure_acls);
        let renamed = DIGEST_CLIENT.replace("Client {", "ZkLogin {");
        let security =
            resolve_with("", "-Dzookeeper.sasl.clientconfig=ZkLogin -Xmx1g", &renamed).unwrap();
        assert_eq!(security.sasl_login.unwrap().section, "ZkLogin");
        // Another section only: no login (Kafka: not a secure ZooKeeper).
        assert_eq!(
            resolve_with("", "", &renamed).unwrap(),
            ZkClientSecurity::default()
        );
        let plain = DIGEST_CLIENT.replace(
            "org.apache.zookeeper.server.auth.DigestLoginModule",
            "org.apache.kafka.common.security.plain.PlainLoginModule",
        );
        assert!(resolve_with("", "", &plain).unwrap().sasl_login.is_some());
    }

    #[test]
    fn what_the_zookeeper_login_cannot_honour_stops_the_broker() {
        for (properties, opts, jaas_text, key) in [
            ("zookeeper.set.acl=true\n", "", "", "zookeeper.set.acl"),
            ("", "-Dzookeeper.sasl.client=false", DIGEST_CLIENT, "KAFKA_OPTS"),
            (
                "",
                "",
                "Client {\n com.sun.security.auth.module.Krb5LoginModule required\n useKeyTab=true\n principal=\"kafka@EXAMPLE.COM\";\n};\n",
                "KAFKA_OPTS",
            ),
            (
                "",
                "",
                "Client {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n username=\"kafka\";\n};\n",
                "KAFKA_OPTS",
            ),
        ] {
            let error = resolve_with(properties, opts, jaas_text).unwrap_err();
            assert_eq!(error.key, key, "{properties} {opts} {jaas_text}: {error}");
        }
        assert!(resolve_with(
            "zookeeper.set.acl=false\n",
            "-Dzookeeper.sasl.client=false",
            ""
        )
        .is_ok());
    }

    fn testdata(name: &str) -> String {
        format!("{}/src/tls/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn tls_to_zookeeper_reads_kafkas_zookeeper_ssl_keys() {
        // Types from the file names, as ZooKeeper's KeyStoreFileType guesses them.
        let properties = format!(
            "zookeeper.ssl.client.enable=true\nzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty\nzookeeper.ssl.keystore.location={}\nzookeeper.ssl.keystore.password=secret4\nzookeeper.ssl.truststore.location={}\nzookeeper.ssl.truststore.password=trustpw\nzookeeper.set.acl=true\n",
            testdata("broker.p12"),
            testdata("trust.jks"),
        );
        let security = resolve_with(&properties, "", "").unwrap();
        assert!(
            security.secure_acls,
            "a client certificate is a ZooKeeper login"
        );
        let tls = security.tls.unwrap();
        assert!(tls.verify_hostname);
        assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let (chain, key) = tls.identity_pem.unwrap();
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "{chain}");
        assert!(key.contains("PRIVATE KEY-----\n"));
        assert!(!format!(
            "{:?}",
            ZkTls {
                identity_pem: Some((chain, key.clone())),
                ..tls
            }
        )
        .contains(&key[40..60]));

        let no_hostname = format!("{properties}zookeeper.ssl.endpoint.identification.algorithm=\n");
        assert!(
            !resolve_with(&no_hostname, "", "")
                .unwrap()
                .tls
                .unwrap()
                .verify_hostname
        );
        let off = properties.replace("client.enable=true", "client.enable=false");
        assert_eq!(
            resolve_with(&off, "", "").unwrap_err().key,
            "zookeeper.set.acl"
        );

        let refused = [
            (
                properties.replace(
                    &format!(
                        "zookeeper.ssl.truststore.location={}\n",
                        testdata("trust.jks")
                    ),
                    "",
                ),
                "zookeeper.ssl.truststore.location",
            ),
            (
                format!("{properties}zookeeper.ssl.crl.enable=true\n"),
                "zookeeper.ssl.crl.enable",
            ),
            (
                properties.replace("secret4", "wrong"),
                "zookeeper.ssl.keystore.location",
            ),
            (
                format!("{properties}zookeeper.ssl.keystore.type=BCFKS\n"),
                "zookeeper.ssl.keystore.type",
            ),
        ];
        for (text, key) in refused {
            assert_eq!(resolve_with(&text, "", "").unwrap_err().key, key, "{text}");
        }
        let unknown_extension = format!(
            "zookeeper.ssl.client.enable=true\nzookeeper.ssl.truststore.location={}\n",
            testdata("README.md")
        );
        assert_eq!(
            resolve_with(&unknown_extension, "", "").unwrap_err().key,
            "zookeeper.ssl.truststore.location"
        );
        // The same settings as ZooKeeper client system properties in KAFKA_OPTS.
        let opts = format!(
            "-Dzookeeper.client.secure=true -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty -Dzookeeper.ssl.keyStore.location={} -Dzookeeper.ssl.keyStore.password=secret4 -Dzookeeper.ssl.trustStore.location={} -Dzookeeper.ssl.trustStore.password=trustpw -Dzookeeper.ssl.hostnameVerification=false",
            testdata("broker.p12"),
            testdata("trust.jks"),
        );
        let from_opts = resolve_with("zookeeper.set.acl=true\n", &opts, "").unwrap();
        let tls = from_opts.tls.unwrap();
        assert!(tls.identity_pem.is_some());
        assert!(!tls.verify_hostname);
        // server.properties wins over a system property.
        assert!(
            resolve_with("zookeeper.ssl.client.enable=false\n", &opts, "")
                .unwrap()
                .tls
                .is_none()
        );
        assert_eq!(
            resolve_with("", "-Dzookeeper.client.secure=true", "")
                .unwrap_err()
                .key,
            "zookeeper.ssl.truststore.location"
        );
        // Boolean.parseBoolean would take TRUE; Kafka compares with "true".
        assert!(resolve_with("", "-Dzookeeper.client.secure=TRUE", "")
            .unwrap()
            .tls
            .is_none());
    }

    #[test]
    fn znode_acls_follow_kafkas_default_acls() {
        assert_eq!(znode_acls(false, "/config/users/alice"), ZnodeAcls::Open);
        assert_eq!(znode_acls(true, "/consumers"), ZnodeAcls::Open);
        assert_eq!(
            znode_acls(true, "/consumers/group"),
            ZnodeAcls::CreatorAllAnyoneRead
        );
        assert_eq!(
            znode_acls(true, "/brokers/ids/1"),
            ZnodeAcls::CreatorAllAnyoneRead
        );
        assert_eq!(znode_acls(true, "/kafka"), ZnodeAcls::CreatorAllAnyoneRead);
        for sensitive in [
            "/config/users",
            "/config/users/alice",
            "/config/brokers/<default>",
            "/delegation_token/tokens",
        ] {
            assert_eq!(
                znode_acls(true, sensitive),
                ZnodeAcls::CreatorAll,
                "{sensitive}"
            );
        }
        // Kafka compares prefixes as strings: /config/usersX is sensitive too.
        assert_eq!(znode_acls(true, "/config/usersX"), ZnodeAcls::CreatorAll);
        assert_eq!(
            znode_acls(true, "/config/topics/t"),
            ZnodeAcls::CreatorAllAnyoneRead
        );
    }
}
