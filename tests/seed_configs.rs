//! The seed's own zoo.cfg and server.properties parse to what the document means.

use std::path::{Path, PathBuf};

use keel::config::Properties;
use keel::kafka::config::{BrokerId, KafkaConfig, Listener};
use keel::zookeeper::config::{PeerType, ServerId, ZooKeeperConfig};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed")
        .join(name)
}

#[test]
fn seed_zoo_cfg_is_a_three_node_ensemble() {
    let properties = Properties::load(&fixture("zoo.cfg")).unwrap();
    for my_id in ["1", "2", "3"] {
        let config = ZooKeeperConfig::from_properties(&properties, &|path| {
            assert_eq!(path, Path::new("/opt/zookeeper/data/myid"));
            Some(format!("{my_id}\n"))
        })
        .unwrap();
        assert!(config.is_distributed());
        assert_eq!(config.my_id, Some(ServerId(my_id.parse().unwrap())));
        assert_eq!(config.tick_time_ms, 2000);
        assert_eq!(config.init_limit_ticks, Some(10));
        assert_eq!(config.sync_limit_ticks, Some(5));
        assert_eq!(config.session_timeout_ms_min, 4000);
        assert_eq!(config.session_timeout_ms_max, 40000);
        assert_eq!(config.client_address.as_ref().unwrap().port, 2181);
        assert_eq!(config.servers.len(), 3);
        assert!(config
            .servers
            .values()
            .all(|server| server.peer_type == PeerType::Participant));
        assert_eq!(
            config.servers[&ServerId(2)].quorum_addresses[0].to_string(),
            "192.168.42.102:2888"
        );
        assert_eq!(
            config.servers[&ServerId(3)].election_addresses[0].to_string(),
            "192.168.42.103:3888"
        );
        assert!(config.extra_properties.is_empty());
    }
}

#[test]
fn seed_server_properties_is_broker_one_on_the_ensemble() {
    let config = KafkaConfig::load(&fixture("server.properties"), &[]).unwrap();
    assert_eq!(config.broker_id, Some(BrokerId(1)));
    assert_eq!(
        config.listeners,
        vec![Listener {
            name: "PLAINTEXT".into(),
            host: "192.168.42.101".into(),
            port: 9092
        }]
    );
    assert_eq!(config.log_dirs, vec![PathBuf::from("/opt/kafka/data")]);
    assert_eq!(
        config.zookeeper_connect.as_deref(),
        Some("192.168.42.101:2181,192.168.42.102:2181,192.168.42.103:2181")
    );
    assert_eq!(config.zookeeper_connection_timeout_ms, 6000);
    assert_eq!(config.group_initial_rebalance_delay_ms, 0);
    assert_eq!(config.offsets_topic_replication_factor, 1);
    assert_eq!(config.log_retention_ms, 168 * 3600 * 1000);
    assert!(
        config.unknown_keys.is_empty(),
        "unknown: {:?}",
        config.unknown_keys
    );
}

#[test]
fn seed_server_properties_with_overrides_for_broker_two() {
    let overrides = vec![
        ("broker.id".to_string(), "2".to_string()),
        (
            "listeners".to_string(),
            "PLAINTEXT://192.168.42.102:9092".to_string(),
        ),
    ];
    let config = KafkaConfig::load(&fixture("server.properties"), &overrides).unwrap();
    assert_eq!(config.broker_id, Some(BrokerId(2)));
    assert_eq!(config.listeners[0].host, "192.168.42.102");
}
