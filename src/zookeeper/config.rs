//! `zoo.cfg` and `myid`, read as Apache's QuorumPeerConfig reads them.
//!
//! Known keys become typed fields with Apache's defaults. Every other key is kept in
//! `extra_properties`, because Apache turns each unknown key `k` into the system
//! property `zookeeper.k`, which is how `4lw.commands.whitelist`, `snapCount`,
//! `admin.serverPort`, `forceSync` and friends reach the server from zoo.cfg. Keel
//! reads those from `extra_properties` through the accessors below.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{ConfigError, Properties};

/// A server's id in the ensemble: the `N` of `server.N` and the content of `myid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerId(pub u64);

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A host and port as written in the config (the host may be a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerType {
    Participant,
    Observer,
}

/// One `server.N=host:quorumPort:electionPort[:type][|...][;[clientHost:]clientPort]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    pub id: ServerId,
    /// Learner (quorum) addresses; more than one with `|` (multiAddress).
    pub quorum_addresses: Vec<HostPort>,
    /// Leader-election addresses, one per quorum address.
    pub election_addresses: Vec<HostPort>,
    pub peer_type: PeerType,
    pub client_address: Option<HostPort>,
}

/// The ZooKeeper server configuration, Apache's defaults applied.
#[derive(Debug, Clone)]
pub struct ZooKeeperConfig {
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    /// Where transaction logs go; `dataDir` when `dataLogDir` is not set.
    pub data_log_dir: PathBuf,
    /// Where clients connect; `None` only for an ensemble member whose client port
    /// comes from a dynamic configuration (not supported yet).
    pub client_address: Option<HostPort>,
    /// `secureClientPort` (and `secureClientPortAddress`): the TLS client port.
    pub secure_client_address: Option<HostPort>,
    /// Its TLS server, built by `load` from the `ssl.*` settings.
    pub secure_client_tls: Option<crate::tls::TlsServer>,
    /// `sslQuorum=true`: TLS on the election and quorum ports, built by `load` from
    /// the `ssl.quorum.*` settings.
    pub quorum_tls: Option<crate::zookeeper::tls::QuorumTls>,
    /// `quorum.auth.enableSasl=true`: DIGEST-MD5 between members, with the JAAS
    /// `QuorumLearner` login and `QuorumServer` users.
    pub quorum_sasl: Option<crate::zookeeper::quorum::peer::quorum_auth::QuorumSasl>,
    pub tick_time_ms: u32,
    pub init_limit_ticks: Option<u32>,
    pub sync_limit_ticks: Option<u32>,
    /// `maxClientCnxns`: connections one IP address may hold; 0 means no limit.
    pub client_connections_per_ip_max: u32,
    /// `maxCnxns`: connections in all; 0 means no limit.
    pub client_connections_max: u32,
    pub session_timeout_ms_min: u32,
    pub session_timeout_ms_max: u32,
    pub autopurge_snapshots_retained: u32,
    /// 0 disables the purge task.
    pub autopurge_interval_hours: u32,
    pub standalone_enabled: bool,
    pub reconfig_enabled: bool,
    pub peer_type: PeerType,
    pub servers: BTreeMap<ServerId, QuorumServer>,
    /// The `myid` file's content; read only when the config names servers.
    pub my_id: Option<ServerId>,
    /// Keys Apache turns into `zookeeper.<key>` system properties, trimmed.
    pub extra_properties: BTreeMap<String, String>,
    /// `-Dname=value` flags of `SERVER_JVMFLAGS` / `JVMFLAGS` (what zkServer.sh
    /// passes the JVM), for the system properties zoo.cfg does not set.
    pub jvm_properties: BTreeMap<String, String>,
    /// The DIGEST-MD5 users of the JAAS section `Server` (or
    /// `zookeeper.sasl.serverconfig`) in the file `java.security.auth.login.config`
    /// names: `None` when there is no such section, and so no SASL server.
    pub sasl_users: Option<BTreeMap<String, String>>,
}

/// Keys Apache's QuorumPeerConfig interprets itself; anything else is an extra
/// property. Keys keel does not act on yet are still listed so they are not
/// mistaken for system properties.
const KNOWN_KEYS: &[&str] = &[
    "dataDir",
    "dataLogDir",
    "clientPort",
    "clientPortAddress",
    "secureClientPort",
    "secureClientPortAddress",
    "observerMasterPort",
    "clientPortListenBacklog",
    "tickTime",
    "maxClientCnxns",
    "minSessionTimeout",
    "maxSessionTimeout",
    "initLimit",
    "syncLimit",
    "connectToLearnerMasterLimit",
    "electionAlg",
    "quorumListenOnAllIPs",
    "peerType",
    "syncEnabled",
    "dynamicConfigFile",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "standaloneEnabled",
    "reconfigEnabled",
    "sslQuorum",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "quorum.cnxn.threads.size",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckTimeoutMs",
    "multiAddress.reachabilityCheckEnabled",
    "oraclePath",
    // `metricsProvider.*` stays in extra_properties: server::metrics reads the
    // class name, host, port and exportJvmInfo from there.
];

/// Apache's ZooKeeperServer.DEFAULT_TICK_TIME.
const TICK_TIME_MS_DEFAULT: u32 = 3000;
/// Apache's default `maxClientCnxns`.
const CLIENT_CONNECTIONS_PER_IP_MAX_DEFAULT: u32 = 60;
/// Apache keeps at least this many snapshots whatever the config says.
const AUTOPURGE_SNAPSHOTS_RETAINED_MIN: u32 = 3;

impl ZooKeeperConfig {
    /// Reads `zoo.cfg` and, for an ensemble, `dataDir/myid`.
    pub fn load(path: &Path) -> Result<ZooKeeperConfig, ConfigError> {
        let properties = Properties::load(path)?;
        let mut config = ZooKeeperConfig::from_properties(&properties, &|my_id_path| {
            std::fs::read_to_string(my_id_path).ok()
        })?;
        let flags: Vec<String> = ["JVMFLAGS", "SERVER_JVMFLAGS"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .collect();
        config.jvm_properties = crate::config::jvm_system_properties(&flags.join(" "));
        let mut jaas_sections = BTreeMap::new();
        if let Some(jaas_path) = config.jvm_properties.get("java.security.auth.login.config") {
            let text = std::fs::read_to_string(jaas_path).map_err(|error| {
                properties.error(
                    "SERVER_JVMFLAGS",
                    format!("cannot read the JAAS file {jaas_path}: {error}"),
                )
            })?;
            let sections = crate::config::jaas::parse_file(&text).map_err(|error| {
                properties.error(
                    "SERVER_JVMFLAGS",
                    format!("the JAAS file {jaas_path} does not parse: {error}"),
                )
            })?;
            let section = config
                .jvm_properties
                .get("zookeeper.sasl.serverconfig")
                .map_or("Server", String::as_str);
            config.sasl_users = sections.get(section).map(|modules| {
                modules
                    .iter()
                    .filter(|module| module.simple_name() == "DigestLoginModule")
                    .flat_map(|module| module.options.iter())
                    .filter_map(|(key, value)| {
                        key.strip_prefix("user_")
                            .map(|user| (user.to_string(), value.clone()))
                    })
                    .collect()
            });
            jaas_sections = sections;
        }
        config.quorum_sasl = quorum_sasl(&properties, &jaas_sections)?;
        if let Err(message) = config.enforced_auth_schemes() {
            let key = if config
                .system_property("sessionRequireClientSASLAuth")
                .is_some()
            {
                "sessionRequireClientSASLAuth"
            } else {
                "enforce.auth.schemes"
            };
            return Err(properties.error(key, message));
        }
        if config.secure_client_address.is_some() {
            let server =
                crate::zookeeper::tls::secure_client_server(&config).map_err(|message| {
                    let key = message
                        .split(':')
                        .next()
                        .unwrap_or("secureClientPort")
                        .to_string();
                    properties.error(&key, message)
                })?;
            config.secure_client_tls = Some(server);
        }
        if properties
            .get_trimmed("sslQuorum")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"))
        {
            let quorum = crate::zookeeper::tls::quorum_tls(&config).map_err(|message| {
                let key = message.split(':').next().unwrap_or("sslQuorum").to_string();
                properties.error(&key, message)
            })?;
            config.quorum_tls = Some(quorum);
        }
        Ok(config)
    }

    /// A `zookeeper.<key>` system property: zoo.cfg's `<key>` first (Apache sets
    /// unknown zoo.cfg keys as system properties), then the JVM flags.
    pub fn system_property(&self, key: &str) -> Option<&str> {
        self.extra_properties
            .get(key)
            .or_else(|| self.jvm_properties.get(&format!("zookeeper.{key}")))
            .map(String::as_str)
    }

    /// The schemes a connection must have authenticated with before any request but
    /// `auth` and `sasl` (Apache's AuthenticationHelper): `enforce.auth.enabled` with
    /// `enforce.auth.schemes`, or `sessionRequireClientSASLAuth=true` meaning `sasl`.
    /// `Ok(None)`: not enforced. An error is Apache's start-up refusal.
    pub fn enforced_auth_schemes(&self) -> Result<Option<Vec<String>>, String> {
        let is_true = |key: &str| {
            self.system_property(key)
                .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
        };
        let schemes: Vec<String> = if is_true("sessionRequireClientSASLAuth") {
            vec!["sasl".to_string()]
        } else if is_true("enforce.auth.enabled") {
            self.system_property("enforce.auth.schemes")
                .map(|text| {
                    text.split(',')
                        .map(|scheme| scheme.trim().to_string())
                        .collect()
                })
                .unwrap_or_default()
        } else {
            return Ok(None);
        };
        if schemes.is_empty() {
            return Err("zookeeper.enforce.auth.enabled is true zookeeper.enforce.auth.schemes must be  configured.".into());
        }
        for scheme in &schemes {
            let available = match scheme.as_str() {
                "ip" => true,
                "digest" => self
                    .system_property("DigestAuthenticationProvider.enabled")
                    .is_none_or(|value| !value.trim().eq_ignore_ascii_case("false")),
                "sasl" => self.sasl_provider_registered(),
                "x509" => self.secure_client_address.is_some(),
                _ => false,
            };
            if !available {
                return Err(format!("Authentication scheme {scheme} is not available."));
            }
        }
        Ok(Some(schemes))
    }

    /// Whether `authProvider.N` (zoo.cfg, or `zookeeper.authProvider.N` flags)
    /// registers Apache's SASLAuthenticationProvider.
    pub fn sasl_provider_registered(&self) -> bool {
        let is_sasl = |value: &String| value.trim().ends_with("SASLAuthenticationProvider");
        self.extra_properties
            .iter()
            .any(|(key, value)| key.starts_with("authProvider.") && is_sasl(value))
            || self
                .jvm_properties
                .iter()
                .any(|(key, value)| key.starts_with("zookeeper.authProvider.") && is_sasl(value))
    }

    /// Interprets parsed properties; `read_my_id` reads the `myid` file (injected so
    /// tests need no files).
    pub fn from_properties(
        properties: &Properties,
        read_my_id: &dyn Fn(&Path) -> Option<String>,
    ) -> Result<ZooKeeperConfig, ConfigError> {
        let config_path = properties.file.clone();
        let data_dir = properties
            .get_trimmed("dataDir")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| properties.error("dataDir", "dataDir is not set"))?;
        let data_log_dir = properties
            .get_trimmed("dataLogDir")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.clone());
        let tick_time_ms = properties
            .get_number::<u32>("tickTime")?
            .unwrap_or(TICK_TIME_MS_DEFAULT);
        if tick_time_ms == 0 {
            return Err(properties.error("tickTime", "tickTime is not set"));
        }
        // Apache's -1 means "derive from tickTime".
        let session_timeout_ms_min = match properties.get_number::<i64>("minSessionTimeout")? {
            None | Some(-1) => tick_time_ms * 2,
            Some(value) => to_u32(properties, "minSessionTimeout", value)?,
        };
        let session_timeout_ms_max = match properties.get_number::<i64>("maxSessionTimeout")? {
            None | Some(-1) => tick_time_ms * 20,
            Some(value) => to_u32(properties, "maxSessionTimeout", value)?,
        };
        if session_timeout_ms_min > session_timeout_ms_max {
            return Err(properties.error(
                "minSessionTimeout",
                "minSessionTimeout must not be larger than maxSessionTimeout",
            ));
        }
        let peer_type = match properties.get_trimmed("peerType") {
            None => PeerType::Participant,
            Some(text) if text.eq_ignore_ascii_case("participant") => PeerType::Participant,
            Some(text) if text.eq_ignore_ascii_case("observer") => PeerType::Observer,
            Some(text) => {
                return Err(properties.error("peerType", format!("unrecognised peertype: {text}")));
            }
        };

        let mut servers = BTreeMap::new();
        let mut extra_properties = BTreeMap::new();
        for (key, entry) in properties.iter() {
            let key_trimmed = key.trim();
            if let Some(id_text) = key_trimmed.strip_prefix("server.") {
                let id = id_text.parse::<u64>().map(ServerId).map_err(|_| {
                    properties.error(key, format!("server id {id_text:?} is not a number"))
                })?;
                let server = parse_quorum_server(id, entry.value.trim())
                    .map_err(|message| properties.error(key, message))?;
                servers.insert(id, server);
            } else if key_trimmed.starts_with("group.") || key_trimmed.starts_with("weight.") {
                // Hierarchical quorums: accepted and kept, not acted on yet.
                extra_properties.insert(key_trimmed.to_string(), entry.value.trim().to_string());
            } else if !KNOWN_KEYS.contains(&key_trimmed) {
                extra_properties.insert(key_trimmed.to_string(), entry.value.trim().to_string());
            }
        }

        refuse_unenforceable_security(properties)?;
        quorum_sasl_flags(properties)?;
        let voting_members = servers
            .values()
            .filter(|server| server.peer_type == PeerType::Participant)
            .count();
        let standalone_enabled = properties.get_bool("standaloneEnabled")?.unwrap_or(true);
        // Apache's QuorumPeerConfig.parseDynamicConfig refusals, checked before myid as
        // there (an all-observer file would otherwise start a standalone server).
        let observers = servers.len() - voting_members;
        let refusal = match voting_members {
            0 if !standalone_enabled => {
                Some("standaloneEnabled = false then number of participants should be >0")
            }
            0 if observers > 0 => Some("Observers w/o participants is an invalid configuration"),
            1 if standalone_enabled && observers > 0 => {
                Some("Observers w/o quorum is an invalid configuration")
            }
            _ => None,
        };
        if let Some(message) = refusal {
            let key = servers.keys().next().map_or_else(
                || "standaloneEnabled".to_string(),
                |id| format!("server.{}", id.0),
            );
            return Err(properties.error(&key, message));
        }
        let mut my_id = None;
        if !servers.is_empty() {
            let my_id_path = data_dir.join("myid");
            let text = read_my_id(&my_id_path).ok_or_else(|| ConfigError {
                file: my_id_path.clone(),
                line: 0,
                key: String::new(),
                message: "myid file is missing".to_string(),
            })?;
            let id = text
                .trim()
                .parse::<u64>()
                .map(ServerId)
                .map_err(|_| ConfigError {
                    file: my_id_path.clone(),
                    line: 1,
                    key: String::new(),
                    message: format!("serverid {} is not a number", text.trim()),
                })?;
            if !servers.contains_key(&id) {
                return Err(ConfigError {
                    file: my_id_path,
                    line: 1,
                    key: String::new(),
                    message: format!("my id {id} not in the peer list"),
                });
            }
            my_id = Some(id);
        }
        let distributed = !servers.is_empty() && (!standalone_enabled || voting_members > 1);
        let (init_limit_ticks, sync_limit_ticks) = (
            properties.get_number::<u32>("initLimit")?,
            properties.get_number::<u32>("syncLimit")?,
        );
        if distributed {
            if init_limit_ticks.is_none() {
                return Err(properties.error("initLimit", "initLimit is not set"));
            }
            if sync_limit_ticks.is_none() {
                return Err(properties.error("syncLimit", "syncLimit is not set"));
            }
        }

        let client_port = properties.get_number::<u16>("clientPort")?;
        let client_port_host = properties
            .get_trimmed("clientPortAddress")
            .map(str::to_string);
        let own_server_client = my_id
            .and_then(|id| servers.get(&id))
            .and_then(|server| server.client_address.clone());
        let client_address = match (client_port, own_server_client) {
            (Some(port), _) => Some(HostPort {
                host: client_port_host.unwrap_or_else(|| "0.0.0.0".to_string()),
                port,
            }),
            (None, Some(address)) => Some(address),
            (None, None) => None,
        };
        if client_address.is_none() {
            return Err(properties.error("clientPort", "clientPort is not set"));
        }
        let secure_client_address = properties
            .get_number::<u16>("secureClientPort")?
            .map(|port| HostPort {
                host: properties
                    .get_trimmed("secureClientPortAddress")
                    .filter(|host| !host.is_empty())
                    .unwrap_or("0.0.0.0")
                    .to_string(),
                port,
            });

        Ok(ZooKeeperConfig {
            config_path,
            data_dir,
            data_log_dir,
            client_address,
            secure_client_address,
            secure_client_tls: None,
            quorum_tls: None,
            quorum_sasl: None,
            tick_time_ms,
            init_limit_ticks,
            sync_limit_ticks,
            client_connections_per_ip_max: properties
                .get_number::<u32>("maxClientCnxns")?
                .unwrap_or(CLIENT_CONNECTIONS_PER_IP_MAX_DEFAULT),
            client_connections_max: properties.get_number::<u32>("maxCnxns")?.unwrap_or(0),
            session_timeout_ms_min,
            session_timeout_ms_max,
            autopurge_snapshots_retained: properties
                .get_number::<u32>("autopurge.snapRetainCount")?
                .unwrap_or(AUTOPURGE_SNAPSHOTS_RETAINED_MIN)
                .max(AUTOPURGE_SNAPSHOTS_RETAINED_MIN),
            autopurge_interval_hours: properties
                .get_number::<u32>("autopurge.purgeInterval")?
                .unwrap_or(0),
            standalone_enabled,
            reconfig_enabled: properties.get_bool("reconfigEnabled")?.unwrap_or(false),
            peer_type,
            servers,
            my_id,
            extra_properties,
            jvm_properties: BTreeMap::new(),
            sasl_users: None,
        })
    }

    /// `QuorumVerifier.toString()`, what an ensemble server writes into
    /// `/zookeeper/config`: `server.N=host:quorumPort:electionPort[|...]:type`, a
    /// `;clientHost:clientPort` only where the server line names one, one line per
    /// server by id, then `version=<hex>` (0: keel has no dynamic reconfiguration).
    pub fn quorum_verifier_text(&self) -> String {
        let mut text = String::new();
        for server in self.servers.values() {
            let mut quorum: Vec<&HostPort> = server.quorum_addresses.iter().collect();
            let mut election: Vec<&HostPort> = server.election_addresses.iter().collect();
            // Apache sorts both lists by host before pairing them.
            quorum.sort_by(|a, b| a.host.cmp(&b.host));
            election.sort_by(|a, b| a.host.cmp(&b.host));
            let addresses: Vec<String> = quorum
                .iter()
                .zip(&election)
                .map(|(quorum, election)| format!("{quorum}:{}", election.port))
                .collect();
            let kind = match server.peer_type {
                PeerType::Participant => "participant",
                PeerType::Observer => "observer",
            };
            text.push_str(&format!(
                "server.{}={}:{kind}",
                server.id.0,
                addresses.join("|")
            ));
            if let Some(client) = &server.client_address {
                text.push_str(&format!(";{client}"));
            }
            text.push('\n');
        }
        text.push_str("version=0");
        text
    }

    /// True when this node runs as an ensemble member (Apache's `isDistributed`):
    /// a single `server.N` line still means standalone unless `standaloneEnabled=false`.
    pub fn is_distributed(&self) -> bool {
        let voting_members = self
            .servers
            .values()
            .filter(|server| server.peer_type == PeerType::Participant)
            .count();
        !self.servers.is_empty() && (!self.standalone_enabled || voting_members > 1)
    }

    /// `snapCount`: transactions between snapshots (Apache default 100000).
    pub fn snapshot_interval_txns(&self) -> u64 {
        self.extra_number("snapCount").unwrap_or(100_000)
    }

    /// `jute.maxbuffer`: the largest record a client may send (Apache default 0xfffff).
    pub fn jute_max_buffer_bytes(&self) -> u32 {
        self.extra_number("jute.maxbuffer").unwrap_or(0xfffff)
    }

    /// `4lw.commands.whitelist`: the four-letter words served (Apache default `srvr`).
    pub fn four_letter_words_allowed(&self) -> Vec<String> {
        self.extra_properties
            .get("4lw.commands.whitelist")
            .map_or("srvr", String::as_str)
            .split(',')
            .map(|word| word.trim().to_string())
            .filter(|word| !word.is_empty())
            .collect()
    }

    /// `admin.enableServer` (default true).
    pub fn admin_server_enabled(&self) -> bool {
        self.extra_properties
            .get("admin.enableServer")
            .is_none_or(|value| !value.eq_ignore_ascii_case("false"))
    }

    /// `admin.serverPort` (default 8080).
    pub fn admin_server_port(&self) -> u16 {
        self.extra_number("admin.serverPort").unwrap_or(8080)
    }

    /// `forceSync`: fsync the transaction log before acknowledging (default yes).
    pub fn force_sync(&self) -> bool {
        self.extra_properties
            .get("forceSync")
            .is_none_or(|value| !value.eq_ignore_ascii_case("no"))
    }

    /// `extendedTypesEnabled`: TTL nodes allowed (default false).
    pub fn extended_types_enabled(&self) -> bool {
        self.extra_properties
            .get("extendedTypesEnabled")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }

    /// `DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>`.
    pub fn super_digest(&self) -> Option<&str> {
        self.extra_properties
            .get("DigestAuthenticationProvider.superDigest")
            .map(String::as_str)
    }

    fn extra_number<T: std::str::FromStr>(&self, key: &str) -> Option<T> {
        self.extra_properties
            .get(key)
            .and_then(|value| value.parse().ok())
    }
}

/// `quorum.auth.enableSasl`, `learnerRequireSasl`, `serverRequireSasl`, checked
/// together as QuorumPeerConfig checks them.
fn quorum_sasl_flags(properties: &Properties) -> Result<(bool, bool, bool), ConfigError> {
    let flag =
        |key: &str| -> Result<bool, ConfigError> { Ok(properties.get_bool(key)?.unwrap_or(false)) };
    let enabled = flag("quorum.auth.enableSasl")?;
    let learner_require = flag("quorum.auth.learnerRequireSasl")?;
    let server_require = flag("quorum.auth.serverRequireSasl")?;
    for (key, set) in [
        ("quorum.auth.serverRequireSasl", server_require),
        ("quorum.auth.learnerRequireSasl", learner_require),
    ] {
        if set && !enabled {
            return Err(properties.error(
                key,
                format!("quorum.auth.enableSasl is disabled, so cannot enable {key}"),
            ));
        }
    }
    if server_require && !learner_require {
        return Err(properties.error(
            "quorum.auth.serverRequireSasl",
            "quorum.auth.learnerRequireSasl is disabled, so cannot enable quorum.auth.serverRequireSasl",
        ));
    }
    Ok((enabled, learner_require, server_require))
}

/// `quorum.auth.*` with the JAAS sections they name; `None` unless
/// `quorum.auth.enableSasl=true`.
fn quorum_sasl(
    properties: &Properties,
    sections: &BTreeMap<String, Vec<crate::config::jaas::LoginModule>>,
) -> Result<Option<crate::zookeeper::quorum::peer::quorum_auth::QuorumSasl>, ConfigError> {
    let (enabled, learner_require, server_require) = quorum_sasl_flags(properties)?;
    if !enabled {
        return Ok(None);
    }
    let section = |key: &str, default: &str| {
        let name = properties
            .get_trimmed(key)
            .filter(|name| !name.is_empty())
            .unwrap_or(default)
            .to_string();
        let modules = sections.get(&name).ok_or_else(|| {
            properties.error(
                key,
                format!("SASL-authentication failed because the specified JAAS configuration section '{name}' could not be found."),
            )
        })?;
        if let Some(other) = modules
            .iter()
            .find(|module| module.simple_name() != "DigestLoginModule")
        {
            return Err(properties.error(
                key,
                format!("JAAS section '{name}' uses {}: keel authenticates ensemble members with DIGEST-MD5 only (DigestLoginModule)", other.class),
            ));
        }
        Ok(modules.clone())
    };
    let learner = section("quorum.auth.learner.saslLoginContext", "QuorumLearner")?;
    let server = section("quorum.auth.server.saslLoginContext", "QuorumServer")?;
    let option = |name: &str| {
        learner
            .iter()
            .find_map(|module| module.options.get(name).cloned())
            .ok_or_else(|| {
                properties.error(
                    "quorum.auth.learner.saslLoginContext",
                    format!("the QuorumLearner JAAS section has no {name}"),
                )
            })
    };
    let users = server
        .iter()
        .flat_map(|module| module.options.iter())
        .filter_map(|(key, value)| {
            key.strip_prefix("user_")
                .map(|user| (user.to_string(), value.clone()))
        })
        .collect();
    Ok(Some(
        crate::zookeeper::quorum::peer::quorum_auth::QuorumSasl {
            learner_username: option("username")?,
            learner_password: option("password")?,
            server_users: crate::zookeeper::tree::auth::SaslUsers(users),
            learner_require,
            server_require,
        },
    ))
}

/// `requireClientAuthScheme`, with which Apache ZooKeeper would refuse clients that
/// keel would let in: starting anyway would leave open what the operator closed, so
/// keel stops naming the key. (Settings that only add a way in, such as
/// `authProvider.N`, cannot weaken anything and stay accepted.)
fn refuse_unenforceable_security(properties: &Properties) -> Result<(), ConfigError> {
    if properties
        .get_trimmed("requireClientAuthScheme")
        .is_some_and(|scheme| !scheme.is_empty())
    {
        return Err(properties.error(
            "requireClientAuthScheme",
            "client SASL authentication cannot be required by keel yet; refusing to start rather than serve without it",
        ));
    }
    Ok(())
}

fn to_u32(properties: &Properties, key: &str, value: i64) -> Result<u32, ConfigError> {
    u32::try_from(value).map_err(|_| properties.error(key, format!("{value} is out of range")))
}

/// Parses the value of a `server.N` line.
fn parse_quorum_server(id: ServerId, value: &str) -> Result<QuorumServer, String> {
    let (addresses_text, client_text) = match value.split_once(';') {
        Some((addresses, client)) => (addresses, Some(client.trim())),
        None => (value, None),
    };
    let mut quorum_addresses = Vec::new();
    let mut election_addresses = Vec::new();
    let mut peer_type = PeerType::Participant;
    for address_text in addresses_text.split('|') {
        let (host, rest) = split_host(address_text.trim())?;
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(format!(
                "{address_text} does not have the form host:port:port or host:port:port:type"
            ));
        }
        let quorum_port = parse_port(parts[0])?;
        let election_port = parse_port(parts[1])?;
        if let Some(type_text) = parts.get(2) {
            peer_type = match type_text.to_ascii_lowercase().as_str() {
                "participant" => PeerType::Participant,
                "observer" => PeerType::Observer,
                _ => return Err(format!("unrecognised peertype: {type_text}")),
            };
        }
        quorum_addresses.push(HostPort {
            host: host.clone(),
            port: quorum_port,
        });
        election_addresses.push(HostPort {
            host,
            port: election_port,
        });
    }
    let client_address = match client_text {
        None | Some("") => None,
        Some(text) => Some(match text.rsplit_once(':') {
            Some((host, port)) => HostPort {
                host: host.trim_matches(['[', ']']).to_string(),
                port: parse_port(port)?,
            },
            None => HostPort {
                host: "0.0.0.0".to_string(),
                port: parse_port(text)?,
            },
        }),
    };
    Ok(QuorumServer {
        id,
        quorum_addresses,
        election_addresses,
        peer_type,
        client_address,
    })
}

/// Splits `host:rest` where host may be a bracketed IPv6 address.
fn split_host(address: &str) -> Result<(String, &str), String> {
    if let Some(after_bracket) = address.strip_prefix('[') {
        let (host, rest) = after_bracket
            .split_once(']')
            .ok_or_else(|| format!("{address}: unterminated IPv6 address"))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| format!("{address}: expected ':' after the host"))?;
        return Ok((host.to_string(), rest));
    }
    let (host, rest) = address.split_once(':').ok_or_else(|| {
        format!("{address} does not have the form host:port:port or host:port:port:type")
    })?;
    if host.is_empty() {
        return Err(format!("{address}: the host is empty"));
    }
    Ok((host.to_string(), rest))
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .map_err(|_| format!("{text:?} is not a port number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str, my_id: Option<&str>) -> Result<ZooKeeperConfig, ConfigError> {
        let properties = Properties::parse(Path::new("zoo.cfg"), text).unwrap();
        let my_id = my_id.map(str::to_string);
        ZooKeeperConfig::from_properties(&properties, &move |_| my_id.clone())
    }

    #[test]
    fn standalone_defaults() {
        let config = config("dataDir=/tmp/zk\nclientPort=2181\n", None).unwrap();
        assert_eq!(config.tick_time_ms, 3000);
        assert_eq!(config.session_timeout_ms_min, 6000);
        assert_eq!(config.session_timeout_ms_max, 60000);
        assert_eq!(config.client_connections_per_ip_max, 60);
        assert_eq!(config.data_log_dir, PathBuf::from("/tmp/zk"));
        assert_eq!(
            config.client_address,
            Some(HostPort {
                host: "0.0.0.0".into(),
                port: 2181
            })
        );
        assert!(!config.is_distributed());
        assert_eq!(config.four_letter_words_allowed(), vec!["srvr"]);
        assert_eq!(config.snapshot_interval_txns(), 100_000);
        assert_eq!(config.jute_max_buffer_bytes(), 0xfffff);
        assert!(config.admin_server_enabled());
        assert!(config.force_sync());
    }

    #[test]
    fn unknown_keys_become_extra_properties() {
        let config = config(
            "dataDir=/d\nclientPort=1\n4lw.commands.whitelist= stat, ruok ,srvr\nsnapCount=5\nadmin.enableServer=false\nforceSync=no\n",
            None,
        )
        .unwrap();
        assert_eq!(
            config.four_letter_words_allowed(),
            vec!["stat", "ruok", "srvr"]
        );
        assert_eq!(config.snapshot_interval_txns(), 5);
        assert!(!config.admin_server_enabled());
        assert!(!config.force_sync());
    }

    #[test]
    fn ensemble_with_myid() {
        let text = "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/opt/zookeeper/data\nclientPort=2181\n\
                    server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\nserver.3=[::1]:2889:3889:observer;2182\n";
        let config = config(text, Some("2\n")).unwrap();
        assert!(config.is_distributed());
        assert_eq!(config.my_id, Some(ServerId(2)));
        let third = &config.servers[&ServerId(3)];
        assert_eq!(third.peer_type, PeerType::Observer);
        assert_eq!(
            third.quorum_addresses[0],
            HostPort {
                host: "::1".into(),
                port: 2889
            }
        );
        assert_eq!(third.election_addresses[0].port, 3889);
        assert_eq!(third.client_address.as_ref().unwrap().port, 2182);
    }

    #[test]
    fn ensemble_errors() {
        let base =
            "dataDir=/d\nclientPort=1\ninitLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\n";
        assert_eq!(
            config(base, None).unwrap_err().message,
            "myid file is missing"
        );
        assert_eq!(
            config(base, Some("7")).unwrap_err().message,
            "my id 7 not in the peer list"
        );
        let error = config(
            "dataDir=/d\nclientPort=1\nserver.1=a:1:2\nserver.2=b:1:2\n",
            Some("1"),
        )
        .unwrap_err();
        assert_eq!(error.message, "initLimit is not set");
        let error = config("dataDir=/d\nclientPort=1\nserver.1=a:1\n", Some("1")).unwrap_err();
        assert_eq!((error.line, error.key.as_str()), (3, "server.1"));
    }

    #[test]
    fn single_server_line_is_standalone() {
        let config = config("dataDir=/d\nserver.1=a:1:2;2181\n", Some("1")).unwrap();
        assert!(!config.is_distributed());
        assert_eq!(config.client_address.unwrap().port, 2181);
    }

    #[test]
    fn observers_without_a_quorum_are_refused_as_apache_refuses_them() {
        let all_observers =
            "dataDir=/d\nclientPort=1\nserver.1=a:1:2:observer\nserver.2=b:1:2:observer\n";
        let error = config(all_observers, Some("1")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "zoo.cfg:3: server.1: Observers w/o participants is an invalid configuration"
        );
        let one_voter = "dataDir=/d\nclientPort=1\nserver.1=a:1:2\nserver.2=b:1:2:observer\n";
        let error = config(one_voter, Some("1")).unwrap_err();
        assert!(error
            .to_string()
            .ends_with("Observers w/o quorum is an invalid configuration"));
        // Without standalone mode a single voter is an ensemble of one, observer and all.
        let ensemble_of_one =
            format!("{one_voter}standaloneEnabled=false\ninitLimit=5\nsyncLimit=2\n");
        assert!(config(&ensemble_of_one, Some("1"))
            .unwrap()
            .is_distributed());
        let error =
            config("dataDir=/d\nclientPort=1\nstandaloneEnabled=false\n", None).unwrap_err();
        assert!(error
            .to_string()
            .ends_with("number of participants should be >0"));
    }

    #[test]
    fn enforced_authentication_as_apache_validates_it() {
        let schemes = |extra: &str| {
            config(&format!("dataDir=/d\nclientPort=2181\n{extra}"), None)
                .unwrap()
                .enforced_auth_schemes()
        };
        assert_eq!(schemes(""), Ok(None));
        assert_eq!(
            schemes("enforce.auth.enabled=true\nenforce.auth.schemes=digest, ip\n"),
            Ok(Some(vec!["digest".to_string(), "ip".to_string()]))
        );
        assert!(schemes("enforce.auth.enabled=true\n")
            .unwrap_err()
            .contains("must be  configured"));
        assert_eq!(
            schemes("enforce.auth.enabled=true\nenforce.auth.schemes=sasl\n"),
            Err("Authentication scheme sasl is not available.".to_string())
        );
        assert_eq!(
            schemes("sessionRequireClientSASLAuth=true\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"),
            Ok(Some(vec!["sasl".to_string()]))
        );
        assert!(schemes("enforce.auth.enabled=true\nenforce.auth.schemes=x509\n").is_err());
        assert!(schemes(
            "enforce.auth.enabled=true\nenforce.auth.schemes=x509\nsecureClientPort=2281\n"
        )
        .is_ok());
    }

    #[test]
    fn secure_client_port_is_a_second_client_address() {
        let parsed = config("dataDir=/d\nclientPort=2181\nsecureClientPort=2281\n", None).unwrap();
        assert_eq!(
            parsed.secure_client_address,
            Some(HostPort {
                host: "0.0.0.0".into(),
                port: 2281
            })
        );
        let parsed = config(
            "dataDir=/d\nclientPort=2181\nsecureClientPort=2281\nsecureClientPortAddress=127.0.0.1\n",
            None,
        )
        .unwrap();
        assert_eq!(parsed.secure_client_address.unwrap().host, "127.0.0.1");
        assert!(config("dataDir=/d\nclientPort=2181\nsecureClientPort=x\n", None).is_err());
    }

    #[test]
    fn quorum_sasl_settings_are_checked_as_apache_checks_them() {
        for (text, key) in [
            (
                "quorum.auth.serverRequireSasl=true\n",
                "quorum.auth.serverRequireSasl",
            ),
            (
                "quorum.auth.learnerRequireSasl=true\n",
                "quorum.auth.learnerRequireSasl",
            ),
            (
                "quorum.auth.enableSasl=true\nquorum.auth.serverRequireSasl=true\n",
                "quorum.auth.serverRequireSasl",
            ),
        ] {
            let error = config(&format!("dataDir=/d\nclientPort=2181\n{text}"), None).unwrap_err();
            assert_eq!(error.key, key, "{text}: {error}");
        }
        // No JAAS file: the QuorumLearner section cannot be found.
        let enabled = Properties::parse(
            std::path::Path::new("zoo.cfg"),
            "quorum.auth.enableSasl=true\n",
        )
        .unwrap();
        assert_eq!(
            quorum_sasl(&enabled, &BTreeMap::new()).unwrap_err().key,
            "quorum.auth.learner.saslLoginContext"
        );
        let sections = crate::config::jaas::parse_file(
            "QuorumServer {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n user_test=\"test-secret\";\n};\nQuorumLearner {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n username=\"test\"\n password=\"test-secret\";\n};\n",
        )
        .unwrap();
        let properties = Properties::parse(
            std::path::Path::new("zoo.cfg"),
            "quorum.auth.enableSasl=true\nquorum.auth.learnerRequireSasl=true\nquorum.auth.serverRequireSasl=true\n",
        )
        .unwrap();
        let sasl = quorum_sasl(&properties, &sections).unwrap().unwrap();
        assert_eq!(sasl.learner_username, "test");
        assert_eq!(sasl.server_users.0["test"], "test-secret");
        assert!(sasl.learner_require && sasl.server_require);
    }

    #[test]
    fn security_keel_cannot_enforce_stops_it_naming_the_key() {
        let error = config("dataDir=/d\nrequireClientAuthScheme=sasl\n", None).unwrap_err();
        assert_eq!(error.key, "requireClientAuthScheme", "{error}");
        // Settings that only add a way in are accepted.
        config(
            "dataDir=/d\nclientPort=2181\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\nsslQuorum=false\n",
            None,
        )
        .unwrap();
    }

    #[test]
    fn errors_name_line_and_key() {
        let error = config("clientPort=2181\n", None).unwrap_err();
        assert_eq!(error.to_string(), "zoo.cfg: dataDir: dataDir is not set");
        let error = config("dataDir=/d\nclientPort=21x81\n", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "zoo.cfg:2: clientPort: expected a number, found \"21x81\""
        );
        let error = config(
            "dataDir=/d\nclientPort=1\nminSessionTimeout=9000\nmaxSessionTimeout=4000\n",
            None,
        )
        .unwrap_err();
        assert_eq!(error.line, 3);
    }
}
