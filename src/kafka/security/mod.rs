//! Who may talk to the broker: each listener's security protocol, TLS and SASL set-up,
//! read from `server.properties` (and the JAAS file of `KAFKA_OPTS`) as Kafka 3.9
//! reads them, and the settings keel cannot honour yet, which stop it at start-up
//! instead of leaving a port open that the operator believes closed.
//!
//! # Layout
//! (`crate::config::jaas` reads the JAAS login configuration grammar.)
//! - `scram`: SCRAM-SHA-256/512 credentials and exchanges (pure).
//! - `sasl`: a connection's SASL server state machine (SaslHandshake,
//!   SaslAuthenticate, the v0 unframed tokens, re-authentication) and the client
//!   login a keel broker performs towards another broker.
//! - `ssl`: a listener's `ssl.*` settings to a TLS server (and the broker's TLS
//!   client towards other brokers); `crate::tls` does the TLS itself.
//! - `acl`: Kafka's ACL model, its znodes, and the authorizer's decisions (pure).
//! - `zookeeper_client`: the broker's own ZooKeeper login (JAAS `Client` section) and
//!   the ACLs its znodes get with `zookeeper.set.acl` (pure).

pub mod acl;
pub mod sasl;
pub mod scram;
pub mod ssl;
pub mod zookeeper_client;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::config::jaas::{self, LoginModule};
use crate::config::{ConfigError, Properties};
use crate::kafka::config::Listener;
use crate::tls::{TlsClient, TlsServer};
use scram::ScramMechanism;

/// Kafka's `SecurityProtocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn from_name(name: &str) -> Option<SecurityProtocol> {
        match name.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Some(SecurityProtocol::Plaintext),
            "SSL" => Some(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Some(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Some(SecurityProtocol::SaslSsl),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

/// A SASL mechanism keel serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SaslMechanism {
    Plain,
    Scram(ScramMechanism),
}

impl SaslMechanism {
    pub fn from_name(name: &str) -> Option<SaslMechanism> {
        match name {
            "PLAIN" => Some(SaslMechanism::Plain),
            other => ScramMechanism::from_name(other).map(SaslMechanism::Scram),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::Scram(scram) => scram.name(),
        }
    }
}

/// A password, kept out of logs and `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

/// The SASL set-up of one SASL_PLAINTEXT listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSasl {
    /// As configured, in order: what SaslHandshake answers list.
    pub mechanisms: Vec<SaslMechanism>,
    /// PLAIN's users: the `user_<name>="<password>"` options of PlainLoginModule.
    pub plain_users: BTreeMap<String, Secret>,
    /// `connections.max.reauth.ms` per mechanism (KIP-368); `None` or 0: sessions
    /// never expire.
    pub reauth_ms: BTreeMap<SaslMechanism, i64>,
}

/// What a listener demands of a connection before serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSecurity {
    pub protocol: SecurityProtocol,
    /// `Some` for SASL_PLAINTEXT and SASL_SSL.
    pub sasl: Option<ListenerSasl>,
    /// `Some` for SSL and SASL_SSL: the handshake comes before anything else.
    pub tls: Option<TlsServer>,
}

impl ListenerSecurity {
    pub fn plaintext() -> ListenerSecurity {
        ListenerSecurity {
            protocol: SecurityProtocol::Plaintext,
            sasl: None,
            tls: None,
        }
    }
}

/// How this broker logs in to another broker's inter-broker listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLogin {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: Secret,
}

/// How this broker reaches other brokers' inter-broker listener: TLS first when it
/// is an SSL / SASL_SSL listener, then the SASL login when it is a SASL one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterBrokerClient {
    pub login: Option<ClientLogin>,
    pub tls: Option<TlsClient>,
}

/// The security picture of a broker's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerSecurity {
    /// By listener name (upper case, as `listeners` names them).
    pub listeners: BTreeMap<String, ListenerSecurity>,
    pub inter_broker: InterBrokerClient,
    /// `Some` when `authorizer.class.name` names Kafka's ZooKeeper-mode ACL
    /// authorizer: every request is then checked against the ACLs in ZooKeeper.
    pub authorizer: Option<acl::AuthorizerConfig>,
    /// The broker's own login to ZooKeeper and its znodes' ACLs.
    pub zookeeper: zookeeper_client::ZkClientSecurity,
}

impl BrokerSecurity {
    pub fn listener(&self, name: &str) -> ListenerSecurity {
        self.listeners
            .get(name)
            .cloned()
            .unwrap_or_else(ListenerSecurity::plaintext)
    }
}

/// Keys read by `resolve` besides the ones in `KafkaConfig`'s table: a key with one
/// of these shapes is not reported as unknown.
pub fn is_security_key(key: &str) -> bool {
    const TOP_LEVEL: &[&str] = &[
        "sasl.enabled.mechanisms",
        "sasl.mechanism.inter.broker.protocol",
        "connections.max.reauth.ms",
        "authorizer.class.name",
        "super.users",
        "allow.everyone.if.no.acl.found",
        "authorizer.zookeeper.url",
        "zookeeper.ssl.client.enable",
    ];
    if TOP_LEVEL.contains(&key)
        || key.starts_with("ssl.")
        || key.starts_with("zookeeper.ssl.")
        || key == "zookeeper.clientCnxnSocket"
    {
        return true;
    }
    match key.strip_prefix("listener.name.") {
        Some(rest) => {
            rest.contains(".ssl.")
                || rest.ends_with(".sasl.enabled.mechanisms")
                || rest.ends_with(".sasl.jaas.config")
                || rest.ends_with(".connections.max.reauth.ms")
        }
        None => false,
    }
}

/// A JAAS file: its path and its sections by name.
pub type JaasFile = (PathBuf, BTreeMap<String, Vec<LoginModule>>);

/// The JAAS file named by `-Djava.security.auth.login.config=PATH` in `KAFKA_OPTS`,
/// as `kafka-server-start.sh` users pass it.
pub fn jaas_file_from_kafka_opts(kafka_opts: Option<&str>) -> Result<Option<JaasFile>, String> {
    let Some(opts) = kafka_opts else {
        return Ok(None);
    };
    let Some(path) = opts.split_whitespace().find_map(|word| {
        word.strip_prefix("-Djava.security.auth.login.config=")
            .map(|path| path.trim_matches('"').trim_start_matches('='))
    }) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read the JAAS file {}: {error}", path.display()))?;
    let sections = jaas::parse_file(&text)
        .map_err(|error| format!("the JAAS file {} does not parse: {error}", path.display()))?;
    Ok(Some((path, sections)))
}

/// Where a mechanism's JAAS entry came from, for error messages.
struct JaasEntry {
    modules: Vec<LoginModule>,
    key: String,
}

fn jaas_entry(
    properties: &Properties,
    jaas_file: Option<&JaasFile>,
    listener: &str,
    mechanism: &str,
) -> Result<Option<JaasEntry>, ConfigError> {
    let key = format!(
        "listener.name.{}.{}.sasl.jaas.config",
        listener.to_ascii_lowercase(),
        mechanism.to_ascii_lowercase()
    );
    if let Some(text) = properties.get_trimmed(&key).filter(|text| !text.is_empty()) {
        let modules = jaas::parse_property(text)
            .map_err(|message| properties.error(&key, format!("Invalid JAAS config: {message}")))?;
        return Ok(Some(JaasEntry { modules, key }));
    }
    if let Some((path, sections)) = jaas_file {
        let listener_section = format!("{}.KafkaServer", listener.to_ascii_lowercase());
        for section in [listener_section.as_str(), "KafkaServer"] {
            if let Some(modules) = sections.get(section) {
                return Ok(Some(JaasEntry {
                    modules: modules.clone(),
                    key: format!("{} section {section}", path.display()),
                }));
            }
        }
    }
    Ok(None)
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// A listener-scoped setting: `listener.name.<l>.<key>`, else the broker-wide key.
fn scoped<'a>(properties: &'a Properties, listener: &str, key: &str) -> Option<(String, &'a str)> {
    let prefixed = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
    properties
        .get_trimmed(&prefixed)
        .map(|value| (prefixed, value))
        .or_else(|| {
            properties
                .get_trimmed(key)
                .map(|value| (key.to_string(), value))
        })
}

/// Reads the security settings of `listeners`; refuses, naming the key, every
/// setting that asks for protection keel cannot give yet.
pub fn resolve(
    properties: &Properties,
    listeners: &[Listener],
    inter_broker_listener: &str,
    jaas_file: Option<&JaasFile>,
    system_properties: &BTreeMap<String, String>,
) -> Result<BrokerSecurity, ConfigError> {
    refuse_unsupported(properties)?;
    let authorizer = authorizer(properties)?;
    let zookeeper = zookeeper_client::resolve(properties, system_properties, jaas_file)?;
    let map_key = "listener.security.protocol.map";
    let mut protocol_map: BTreeMap<String, SecurityProtocol> = BTreeMap::new();
    if let Some(text) = properties
        .get_trimmed(map_key)
        .filter(|text| !text.is_empty())
    {
        for item in list(text) {
            let (name, protocol) = item.split_once(':').ok_or_else(|| {
                properties.error(
                    map_key,
                    format!("Map entry {item:?} is not of the form NAME:PROTOCOL"),
                )
            })?;
            let protocol = SecurityProtocol::from_name(protocol.trim()).ok_or_else(|| {
                properties.error(
                    map_key,
                    format!("No enum constant for security protocol {protocol}"),
                )
            })?;
            protocol_map.insert(name.trim().to_ascii_uppercase(), protocol);
        }
    } else {
        for protocol in [
            SecurityProtocol::Plaintext,
            SecurityProtocol::Ssl,
            SecurityProtocol::SaslPlaintext,
            SecurityProtocol::SaslSsl,
        ] {
            protocol_map.insert(protocol.name().to_string(), protocol);
        }
    }

    let mut security = BrokerSecurity {
        authorizer,
        zookeeper,
        ..BrokerSecurity::default()
    };
    for listener in listeners {
        let name = listener.name.to_ascii_uppercase();
        let protocol = *protocol_map.get(&name).ok_or_else(|| {
            properties.error(
                map_key,
                format!("No security protocol defined for listener {name}"),
            )
        })?;
        let sasl = match protocol {
            SecurityProtocol::Plaintext | SecurityProtocol::Ssl => None,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => {
                Some(listener_sasl(properties, &name, jaas_file)?)
            }
        };
        let tls = match protocol {
            SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => {
                Some(ssl::listener_server(properties, &name, protocol)?)
            }
            _ => None,
        };
        security.listeners.insert(
            name,
            ListenerSecurity {
                protocol,
                sasl,
                tls,
            },
        );
    }

    let inter_broker = inter_broker_listener.to_ascii_uppercase();
    if security
        .listeners
        .get(&inter_broker)
        .is_some_and(|listener| listener.tls.is_some())
    {
        security.inter_broker.tls = Some(ssl::inter_broker_client(properties, &inter_broker)?);
    }
    if let Some(ListenerSecurity {
        sasl: Some(sasl), ..
    }) = security.listeners.get(&inter_broker)
    {
        let key = "sasl.mechanism.inter.broker.protocol";
        let name = properties.get_trimmed(key).unwrap_or("GSSAPI");
        let mechanism = SaslMechanism::from_name(name).ok_or_else(|| {
            properties.error(
                key,
                format!("SASL mechanism {name} is not supported by keel (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are); refusing to start"),
            )
        })?;
        if !sasl.mechanisms.contains(&mechanism) {
            return Err(properties.error(
                key,
                "sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication",
            ));
        }
        let entry = jaas_entry(properties, jaas_file, &inter_broker, name)?
            .expect("listener_sasl required a JAAS entry for every enabled mechanism");
        let module = entry.modules.first().expect("a parsed entry has a module");
        let (Some(username), Some(password)) = (
            module.options.get("username"),
            module.options.get("password"),
        ) else {
            return Err(ConfigError {
                file: properties.file.clone(),
                line: properties.entry(&entry.key).map_or(0, |entry| entry.line),
                key: entry.key.clone(),
                message: format!("the {name} login of inter-broker listener {inter_broker} needs username and password options"),
            });
        };
        security.inter_broker.login = Some(ClientLogin {
            mechanism,
            username: username.clone(),
            password: Secret(password.clone()),
        });
    }
    Ok(security)
}

fn listener_sasl(
    properties: &Properties,
    listener: &str,
    jaas_file: Option<&JaasFile>,
) -> Result<ListenerSasl, ConfigError> {
    let (mechanisms_key, mechanisms_text) = scoped(properties, listener, "sasl.enabled.mechanisms")
        .unwrap_or(("sasl.enabled.mechanisms".to_string(), "GSSAPI"));
    let mut mechanisms = Vec::new();
    for name in list(mechanisms_text) {
        let mechanism = SaslMechanism::from_name(&name).ok_or_else(|| {
            properties.error(
                &mechanisms_key,
                format!("listener {listener}: SASL mechanism {name} is not supported by keel (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are); refusing to start"),
            )
        })?;
        if !mechanisms.contains(&mechanism) {
            mechanisms.push(mechanism);
        }
    }
    if mechanisms.is_empty() {
        return Err(properties.error(
            &mechanisms_key,
            format!("listener {listener}: no SASL mechanism is enabled"),
        ));
    }
    let mut plain_users = BTreeMap::new();
    let mut reauth_ms = BTreeMap::new();
    for mechanism in &mechanisms {
        let name = mechanism.name();
        let entry = jaas_entry(properties, jaas_file, listener, name)?.ok_or_else(|| {
            properties.error(
                &format!(
                    "listener.name.{}.{}.sasl.jaas.config",
                    listener.to_ascii_lowercase(),
                    name.to_ascii_lowercase()
                ),
                format!("listener {listener}: no JAAS configuration for {name}: set this key, or a KafkaServer section in the file KAFKA_OPTS names with -Djava.security.auth.login.config"),
            )
        })?;
        if *mechanism == SaslMechanism::Plain {
            let module = entry
                .modules
                .iter()
                .find(|module| module.simple_name() == "PlainLoginModule")
                .ok_or_else(|| ConfigError {
                    file: properties.file.clone(),
                    line: properties.entry(&entry.key).map_or(0, |entry| entry.line),
                    key: entry.key.clone(),
                    message: "PLAIN needs org.apache.kafka.common.security.plain.PlainLoginModule (other login modules are not supported by keel)".to_string(),
                })?;
            for (option, value) in &module.options {
                if let Some(user) = option.strip_prefix("user_") {
                    plain_users.insert(user.to_string(), Secret(value.clone()));
                }
            }
        }
        let mechanism_key = format!("{}.connections.max.reauth.ms", name.to_ascii_lowercase());
        let reauth = match scoped(properties, listener, &mechanism_key)
            .or_else(|| scoped(properties, listener, "connections.max.reauth.ms"))
        {
            Some((key, text)) => text.parse::<i64>().map_err(|_| {
                properties.error(
                    &key,
                    format!(
                        "Invalid value {text} for configuration {key}: Not a number of type LONG"
                    ),
                )
            })?,
            None => 0,
        };
        if reauth > 0 {
            reauth_ms.insert(*mechanism, reauth);
        }
    }
    Ok(ListenerSasl {
        mechanisms,
        plain_users,
        reauth_ms,
    })
}

/// The ZooKeeper-mode authorizers keel implements (Kafka 3.x's and 2.x's name for it).
const ACL_AUTHORIZERS: [&str; 2] = [
    "kafka.security.authorizer.AclAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
];

/// `authorizer.class.name` and the authorizer's own settings. Another class (a
/// KRaft `StandardAuthorizer`, Ranger, a custom one) stops start-up: keel cannot
/// run it, and serving without it would leave open what the operator closed.
fn authorizer(properties: &Properties) -> Result<Option<acl::AuthorizerConfig>, ConfigError> {
    let key = "authorizer.class.name";
    let Some(class) = properties
        .get_trimmed(key)
        .filter(|class| !class.is_empty())
    else {
        return Ok(None);
    };
    if !ACL_AUTHORIZERS.contains(&class) {
        return Err(properties.error(
            key,
            format!("{class}: keel runs Kafka's ZooKeeper ACL authorizer only (kafka.security.authorizer.AclAuthorizer or kafka.security.auth.SimpleAclAuthorizer); refusing to start rather than serve every client unchecked"),
        ));
    }
    for unsupported in ["authorizer.zookeeper.url", "ssl.principal.mapping.rules"] {
        let value = properties.get_trimmed(unsupported).unwrap_or("");
        if !value.is_empty() && (unsupported != "ssl.principal.mapping.rules" || value != "DEFAULT")
        {
            return Err(properties.error(
                unsupported,
                "not supported by keel's authorizer yet; refusing to start rather than check ACLs against other principals or another ZooKeeper",
            ));
        }
    }
    let super_users = acl::AuthorizerConfig::parse_super_users(
        properties.get_trimmed("super.users").unwrap_or(""),
    )
    .map_err(|message| properties.error("super.users", message))?;
    let allow_everyone_if_no_acl_found = properties
        .get_bool("allow.everyone.if.no.acl.found")?
        .unwrap_or(false);
    Ok(Some(acl::AuthorizerConfig {
        super_users,
        allow_everyone_if_no_acl_found,
    }))
}

/// Settings that would protect the broker in Apache Kafka and that keel cannot
/// enforce yet: starting without them would leave open what the operator closed.
fn refuse_unsupported(properties: &Properties) -> Result<(), ConfigError> {
    for (key, _) in properties.iter() {
        let custom_class = key.ends_with("sasl.server.callback.handler.class")
            || key.ends_with("sasl.login.class")
            || key.ends_with("sasl.login.callback.handler.class")
            || key == "principal.builder.class"
            || key.ends_with(".principal.builder.class");
        if custom_class
            && properties
                .get_trimmed(key)
                .is_some_and(|value| !value.is_empty())
        {
            return Err(properties.error(
                key,
                "custom Java security classes cannot run in keel; refusing to start rather than authenticate differently",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_text(text: &str) -> Result<BrokerSecurity, ConfigError> {
        let properties =
            Properties::parse(std::path::Path::new("server.properties"), text).unwrap();
        let listeners: Vec<Listener> = properties
            .get_trimmed("listeners")
            .unwrap_or("PLAINTEXT://:9092")
            .split(',')
            .map(|item| {
                let (name, rest) = item.split_once("://").unwrap();
                let port = rest.rsplit(':').next().unwrap().parse().unwrap();
                Listener {
                    name: name.to_string(),
                    host: String::new(),
                    port,
                }
            })
            .collect();
        let inter = properties
            .get_trimmed("inter.broker.listener.name")
            .unwrap_or("PLAINTEXT")
            .to_string();
        resolve(&properties, &listeners, &inter, None, &BTreeMap::new())
    }

    const PLAIN_JAAS: &str = r#"listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="a" user_admin="a" user_alice="b";"#;

    #[test]
    fn sasl_plaintext_listener_with_plain_and_scram() {
        let security = resolve_text(&format!(
            "listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093\nsasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN\n{PLAIN_JAAS}\nlistener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"x\";\nconnections.max.reauth.ms=4000\ninter.broker.listener.name=SASL_PLAINTEXT\nsasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n"
        ))
        .unwrap();
        let sasl = security.listener("SASL_PLAINTEXT").sasl.unwrap();
        assert_eq!(
            sasl.mechanisms,
            vec![
                SaslMechanism::Scram(ScramMechanism::Sha512),
                SaslMechanism::Plain
            ]
        );
        assert_eq!(sasl.plain_users["alice"], Secret("b".to_string()));
        assert_eq!(sasl.reauth_ms[&SaslMechanism::Plain], 4000);
        assert_eq!(
            security.listener("PLAINTEXT").protocol,
            SecurityProtocol::Plaintext
        );
        let login = security.inter_broker.login.unwrap();
        assert_eq!(login.username, "admin");
        assert_eq!(format!("{:?}", login.password), "[hidden]");
    }

    #[test]
    fn what_keel_cannot_enforce_stops_it_naming_the_key() {
        for (text, key) in [
            ("listeners=SSL://:9093\n", "ssl.keystore.location"),
            (
                "listeners=IN://:9093\nlistener.security.protocol.map=IN:SSL\nssl.keystore.location=/nonexistent.jks\n",
                "ssl.keystore.location",
            ),
            (
                "listeners=IN://:9093\nlistener.security.protocol.map=IN:SSL\nlistener.name.in.ssl.keystore.type=BCFKS\n",
                "listener.name.in.ssl.keystore.type",
            ),
            ("listeners=SASL_PLAINTEXT://:9093\n", "sasl.enabled.mechanisms"),
            (
                "listeners=SASL_PLAINTEXT://:9093\nsasl.enabled.mechanisms=PLAIN\n",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            ),
            ("authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n", "authorizer.class.name"),
            ("zookeeper.set.acl=true\n", "zookeeper.set.acl"),
            (
                "listener.name.sasl_plaintext.plain.sasl.server.callback.handler.class=x.Y\n",
                "listener.name.sasl_plaintext.plain.sasl.server.callback.handler.class",
            ),
            (
                &format!("listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093\nsasl.enabled.mechanisms=PLAIN\n{PLAIN_JAAS}\ninter.broker.listener.name=SASL_PLAINTEXT\n"),
                "sasl.mechanism.inter.broker.protocol",
            ),
            (
                "listeners=IN://:9093\nlistener.security.protocol.map=OUT:PLAINTEXT\n",
                "listener.security.protocol.map",
            ),
        ] {
            let error = resolve_text(text).unwrap_err();
            assert_eq!(error.key, key, "{text}: {error}");
        }
        assert!(resolve_text("super.users=User:admin\nzookeeper.set.acl=false\n").is_ok());
    }
}
