//! Integration tests against a real ZooKeeper. Skipped (with a note) unless
//! `KEEL_TEST_ZK_CONNECT` names one, e.g. `127.0.0.1:2181`; each test works under
//! its own fresh chroot, so they run in parallel and leave the rest alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zookeeper_client as zk;

use super::zk_layout::{self as layout, BrokerZnode, PartitionStateZnode, TopicZnode};
use super::{ControllerError, ZkMetadataStore};
use crate::config::Properties;
use crate::kafka::config::KafkaConfig;
use crate::kafka::metadata::{BrokerId, ClusterMetadata, Endpoint, MetadataStore, NewTopic};

const WAIT_MS_MAX: u64 = 20_000;

/// The ZooKeeper to test against plus a chroot of its own, or `None` to skip.
fn zk_connect(test: &str) -> Option<String> {
    match std::env::var("KEEL_TEST_ZK_CONNECT") {
        Ok(connect) if !connect.is_empty() => {
            let unique = layout::uuid_to_kafka_string(uuid::Uuid::new_v4()).replace('-', "x");
            Some(format!("{connect}/keel-test/{test}-{unique}"))
        }
        _ => {
            eprintln!("skipping {test}: set KEEL_TEST_ZK_CONNECT to run it against a ZooKeeper");
            None
        }
    }
}

fn config(connect: &str, broker: Option<i32>, extra: &str) -> KafkaConfig {
    let mut text = format!("zookeeper.connect={connect}\nzookeeper.session.timeout.ms=6000\n");
    if let Some(id) = broker {
        text.push_str(&format!("broker.id={id}\n"));
    }
    text.push_str(extra);
    KafkaConfig::from_properties(&Properties::parse(Path::new("server.properties"), &text).unwrap())
        .unwrap()
}

fn endpoint(port: u16) -> Vec<Endpoint> {
    vec![Endpoint {
        listener: "PLAINTEXT".into(),
        host: "127.0.0.1".into(),
        port,
    }]
}

async fn start(connect: &str, broker: i32) -> ZkMetadataStore {
    start_at(connect, broker, 9000 + broker as u16).await
}

async fn start_at(connect: &str, broker: i32, port: u16) -> ZkMetadataStore {
    let (store, id) = ZkMetadataStore::start(&config(connect, Some(broker), ""), &endpoint(port))
        .await
        .unwrap();
    assert_eq!(id, BrokerId(broker));
    store
}

/// A stand-in for the broker side of a registered broker: answers every
/// controller request (LeaderAndIsr, UpdateMetadata, StopReplica) without error, so
/// what waits for the brokers' answers (topic deletion) can complete. Returns its port.
async fn answering_broker() -> u16 {
    use crate::kafka::protocol::inter_broker::{self, InterBrokerResponse};
    use bytes::BufMut;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                loop {
                    let Ok(length) = stream.read_i32().await else {
                        return;
                    };
                    let mut frame = vec![0u8; length.max(0) as usize];
                    if stream.read_exact(&mut frame).await.is_err() {
                        return;
                    }
                    let Ok((header, request)) = inter_broker::decode_request(&frame) else {
                        return;
                    };
                    let response = match request.api() {
                        inter_broker::InterBrokerApi::LeaderAndIsr => {
                            InterBrokerResponse::LeaderAndIsr(Default::default())
                        }
                        inter_broker::InterBrokerApi::UpdateMetadata => {
                            InterBrokerResponse::UpdateMetadata(Default::default())
                        }
                        inter_broker::InterBrokerApi::StopReplica => {
                            InterBrokerResponse::StopReplica(Default::default())
                        }
                        _ => return,
                    };
                    let mut out = bytes::BytesMut::new();
                    out.put_i32(0);
                    let response_header = inter_broker::ResponseHeader {
                        correlation_id: header.correlation_id,
                        ..Default::default()
                    };
                    inter_broker::encode_response(
                        &response_header,
                        &response,
                        header.request_api_version,
                        &mut out,
                    )
                    .unwrap();
                    let body_length = (out.len() - 4) as i32;
                    out[..4].copy_from_slice(&body_length.to_be_bytes());
                    if stream.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A plain client on the same chroot, to look at (and write) znodes as tools do.
async fn raw(connect: &str) -> zk::Client {
    zk::Client::connect(connect).await.unwrap()
}

async fn wait_for(
    store: &ZkMetadataStore,
    what: &str,
    done: impl Fn(&ClusterMetadata) -> bool,
) -> Arc<ClusterMetadata> {
    let mut receiver = store.subscribe();
    let waited = tokio::time::timeout(Duration::from_millis(WAIT_MS_MAX), async {
        loop {
            let current = receiver.borrow_and_update().clone();
            if done(&current) {
                return current;
            }
            receiver.changed().await.unwrap();
        }
    })
    .await;
    match waited {
        Ok(metadata) => metadata,
        Err(_) => panic!(
            "timed out waiting for {what}; last picture: {:#?}",
            store.current()
        ),
    }
}

fn new_topic(name: &str, partitions: i32, replication_factor: i16) -> NewTopic {
    NewTopic {
        name: name.into(),
        partitions,
        replication_factor,
        assignments: BTreeMap::new(),
        configs: BTreeMap::new(),
    }
}

fn leaders_ready(metadata: &ClusterMetadata, topic: &str) -> bool {
    metadata.topics.get(topic).is_some_and(|topic| {
        !topic.partitions.is_empty()
            && topic
                .partitions
                .values()
                .all(|partition| partition.leader.is_some())
    })
}

#[tokio::test]
async fn registers_elects_and_creates_topics() {
    let Some(connect) = zk_connect("create") else {
        return;
    };
    let store = start(&connect, 1).await;
    let client = raw(&connect).await;

    // Registration, cluster id, controller, as Kafka writes them.
    let (data, stat) = client.get_data("/brokers/ids/1").await.unwrap();
    assert_eq!(stat.ephemeral_owner, client_session_of(&store));
    let broker = BrokerZnode::decode(&data).unwrap();
    assert_eq!(broker.endpoints[0].0.port, 9001);
    assert_eq!(broker.version, 5);
    let metadata = store.current();
    assert_eq!(metadata.cluster_id.len(), 22);
    assert_eq!(metadata.controller_id, Some(BrokerId(1)));
    assert!(metadata.brokers.contains_key(&BrokerId(1)));
    let (epoch, _) = client.get_data("/controller_epoch").await.unwrap();
    assert_eq!(epoch, b"1");
    for path in layout::PERSISTENT_PATHS {
        assert!(
            client.check_stat(path).await.unwrap().is_some(),
            "{path} missing"
        );
    }

    store
        .create_topic(new_topic("test", 2, 1), false)
        .await
        .unwrap();
    let metadata = wait_for(&store, "leaders of test", |m| leaders_ready(m, "test")).await;
    let topic = &metadata.topics["test"];
    assert_ne!(topic.id.0, uuid::Uuid::nil());
    assert_eq!(topic.partitions[&0].leader, Some(BrokerId(1)));
    assert_eq!(topic.partitions[&1].isr, vec![BrokerId(1)]);
    let (state, _) = client
        .get_data("/brokers/topics/test/partitions/0/state")
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(state).unwrap(),
        r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}"#
    );
    let (config, _) = client.get_data("/config/topics/test").await.unwrap();
    assert_eq!(config, br#"{"version":1,"config":{}}"#);

    // Kafka's refusals.
    let again = store
        .create_topic(new_topic("test", 1, 1), false)
        .await
        .unwrap_err();
    assert_eq!(again.code, 36);
    let too_many = store
        .create_topic(new_topic("big", 1, 3), false)
        .await
        .unwrap_err();
    assert_eq!(
        (too_many.code, too_many.message.as_str()),
        (
            38,
            "Replication factor: 3 larger than available brokers: 1."
        )
    );
    store
        .create_topic(new_topic("a.b", 1, 1), false)
        .await
        .unwrap();
    let collision = store
        .create_topic(new_topic("a_b", 1, 1), false)
        .await
        .unwrap_err();
    assert_eq!(
        (collision.code, collision.message.as_str()),
        (17, "Topic 'a_b' collides with existing topics: a.b")
    );
    let invalid = store
        .create_topic(new_topic("bad name", 1, 1), false)
        .await
        .unwrap_err();
    assert_eq!(invalid.code, 17);
    // validate_only writes nothing.
    store
        .create_topic(new_topic("dry", 3, 1), true)
        .await
        .unwrap();
    assert!(client
        .check_stat("/brokers/topics/dry")
        .await
        .unwrap()
        .is_none());

    // Growing a topic: the controller brings the new partition online.
    store
        .create_partitions("test".into(), 3, None, false)
        .await
        .unwrap();
    let metadata = wait_for(&store, "partition 2 of test", |m| {
        leaders_ready(m, "test") && m.topics["test"].partitions.len() == 3
    })
    .await;
    assert_eq!(
        metadata.topics["test"].partitions[&2].replicas,
        vec![BrokerId(1)]
    );
    let shrink = store
        .create_partitions("test".into(), 2, None, false)
        .await
        .unwrap_err();
    assert_eq!(shrink.code, 37);

    store.shutdown();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(client.check_stat("/brokers/ids/1").await.unwrap().is_none());
    assert!(client.check_stat("/controller").await.unwrap().is_none());
}

fn client_session_of(store: &ZkMetadataStore) -> i64 {
    store
        .shared
        .client
        .read()
        .unwrap()
        .as_ref()
        .unwrap()
        .session_id()
        .0
}

#[tokio::test]
async fn kafka_2_2_topics_get_ids_and_leaders() {
    let Some(connect) = zk_connect("old") else {
        return;
    };
    let store = start(&connect, 1).await;
    let client = raw(&connect).await;
    // Exactly what kafka-topics.sh 2.2.1 --zookeeper --create writes: config, then
    // the version 1 assignment without a topic id.
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    client
        .create(
            "/config/topics/old",
            br#"{"version":1,"config":{"retention.ms":"1000"}}"#,
            &options,
        )
        .await
        .unwrap();
    client
        .create(
            "/brokers/topics/old",
            br#"{"version":1,"partitions":{"1":[1],"0":[1]}}"#,
            &options,
        )
        .await
        .unwrap();
    let metadata = wait_for(&store, "old topic online with an id", |m| {
        leaders_ready(m, "old") && m.topics["old"].id.0 != uuid::Uuid::nil()
    })
    .await;
    assert_eq!(metadata.topics["old"].configs["retention.ms"], "1000");
    let (data, stat) = client.get_data("/brokers/topics/old").await.unwrap();
    assert_eq!(stat.version, 1);
    let rewritten = TopicZnode::decode(&data).unwrap();
    assert_eq!(rewritten.topic_id, Some(metadata.topics["old"].id));
    assert!(String::from_utf8(data)
        .unwrap()
        .ends_with(r#""adding_replicas":{},"removing_replicas":{},"version":3}"#));
    let (state, _) = client
        .get_data("/brokers/topics/old/partitions/1/state")
        .await
        .unwrap();
    assert_eq!(PartitionStateZnode::decode(&state).unwrap().leader, 1);
    store.shutdown();
}

#[tokio::test]
async fn deletion_through_the_marker() {
    let Some(connect) = zk_connect("delete") else {
        return;
    };
    // Deletion waits for every live replica's StopReplica answer, as Kafka's does.
    let store = start_at(&connect, 1, answering_broker().await).await;
    let client = raw(&connect).await;
    store
        .create_topic(new_topic("doomed", 2, 1), false)
        .await
        .unwrap();
    wait_for(&store, "doomed online", |m| leaders_ready(m, "doomed")).await;
    store.delete_topic("doomed".into()).await.unwrap();
    wait_for(&store, "doomed gone", |m| !m.topics.contains_key("doomed")).await;
    for path in [
        "/brokers/topics/doomed",
        "/config/topics/doomed",
        "/admin/delete_topics/doomed",
    ] {
        assert!(
            client.check_stat(path).await.unwrap().is_none(),
            "{path} still there"
        );
    }
    let unknown = store.delete_topic("never".into()).await.unwrap_err();
    assert_eq!(
        (unknown.code, unknown.message.as_str()),
        (3, "Topic `never` to delete does not exist")
    );
    // A marker written by a 2.2 tool (kafka-topics --delete --zookeeper) works too.
    store
        .create_topic(new_topic("doomed2", 1, 1), false)
        .await
        .unwrap();
    wait_for(&store, "doomed2 online", |m| leaders_ready(m, "doomed2")).await;
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    client
        .create("/admin/delete_topics/doomed2", &[], &options)
        .await
        .unwrap();
    wait_for(&store, "doomed2 gone", |m| {
        !m.topics.contains_key("doomed2")
    })
    .await;
    assert!(client
        .check_stat("/admin/delete_topics/doomed2")
        .await
        .unwrap()
        .is_none());
    store.shutdown();
}

#[tokio::test]
async fn config_changes_reach_the_picture() {
    let Some(connect) = zk_connect("config") else {
        return;
    };
    let store = start(&connect, 1).await;
    let client = raw(&connect).await;
    store
        .create_topic(new_topic("conf", 1, 1), false)
        .await
        .unwrap();
    wait_for(&store, "conf online", |m| leaders_ready(m, "conf")).await;

    let configs: BTreeMap<String, String> =
        [("cleanup.policy".to_string(), "compact".to_string())].into();
    store
        .set_topic_configs("conf".into(), configs.clone())
        .await
        .unwrap();
    wait_for(&store, "topic config", |m| {
        m.topics["conf"].configs == configs
    })
    .await;
    let changes = client.list_children("/config/changes").await.unwrap();
    assert_eq!(changes.len(), 1);
    let (notification, _) = client
        .get_data(&format!("/config/changes/{}", changes[0]))
        .await
        .unwrap();
    assert_eq!(
        notification,
        br#"{"version":2,"entity_path":"topics/conf"}"#
    );
    let unknown = store
        .set_topic_configs("nope".into(), configs.clone())
        .await
        .unwrap_err();
    assert_eq!(unknown.code, 3);

    // As kafka-configs --zookeeper does it: the entity znode, then a notification.
    client
        .set_data(
            "/config/topics/conf",
            br#"{"version":1,"config":{"retention.ms":"5"}}"#,
            None,
        )
        .await
        .unwrap();
    let options = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    client
        .create(
            "/config/changes/config_change_",
            br#"{"version":2,"entity_path":"topics/conf"}"#,
            &options,
        )
        .await
        .unwrap();
    wait_for(&store, "tool-written topic config", |m| {
        m.topics["conf"]
            .configs
            .get("retention.ms")
            .map(String::as_str)
            == Some("5")
    })
    .await;

    let threads: BTreeMap<String, String> =
        [("log.cleaner.threads".to_string(), "2".to_string())].into();
    store
        .set_broker_configs(None, threads.clone())
        .await
        .unwrap();
    store
        .set_broker_configs(Some(BrokerId(1)), threads.clone())
        .await
        .unwrap();
    wait_for(&store, "broker configs", |m| {
        m.broker_configs.get(&None) == Some(&threads)
            && m.broker_configs.get(&Some(BrokerId(1))) == Some(&threads)
    })
    .await;
    let (data, _) = client.get_data("/config/brokers/<default>").await.unwrap();
    assert_eq!(
        data,
        br#"{"version":1,"config":{"log.cleaner.threads":"2"}}"#
    );
    store.shutdown();
}

#[tokio::test]
async fn producer_id_blocks_advance() {
    let Some(connect) = zk_connect("pid") else {
        return;
    };
    let store = start(&connect, 1).await;
    assert_eq!(store.allocate_producer_ids().await.unwrap(), (0, 999));
    assert_eq!(store.allocate_producer_ids().await.unwrap(), (1000, 1999));
    let client = raw(&connect).await;
    let (data, _) = client.get_data("/latest_producer_id_block").await.unwrap();
    assert_eq!(
        data,
        br#"{"version":1,"broker":1,"block_start":"1000","block_end":"1999"}"#
    );
    store.shutdown();
}

#[tokio::test]
async fn broker_ids_are_exclusive_and_generated() {
    let Some(connect) = zk_connect("ids") else {
        return;
    };
    let store = start(&connect, 1).await;
    let taken = ZkMetadataStore::start(&config(&connect, Some(1), ""), &endpoint(9999)).await;
    match taken {
        Err(ControllerError::BrokerIdTaken { path, .. }) => assert_eq!(path, "/brokers/ids/1"),
        Err(other) => panic!("expected BrokerIdTaken, got {other}"),
        Ok(_) => panic!("a second broker registered id 1"),
    }
    // broker.id unset: /brokers/seqid's version + reserved.broker.max.id (1000).
    let (generated, id) = ZkMetadataStore::start(&config(&connect, None, ""), &endpoint(9998))
        .await
        .unwrap();
    assert_eq!(id, BrokerId(1001));
    wait_for(&store, "generated broker seen", |m| {
        m.brokers.contains_key(&BrokerId(1001))
    })
    .await;
    generated.shutdown();
    store.shutdown();
}

#[tokio::test]
async fn leadership_leaves_a_dead_broker_and_returns() {
    let Some(connect) = zk_connect("failover") else {
        return;
    };
    let first = start(&connect, 1).await;
    let second = start(&connect, 2).await;
    wait_for(&second, "both brokers", |m| m.brokers.len() == 2).await;
    // A topic on broker 1 alone, and one on both.
    let mut lone = new_topic("lone", -1, -1);
    lone.assignments.insert(0, vec![BrokerId(1)]);
    second.create_topic(lone, false).await.unwrap();
    let mut pair = new_topic("pair", -1, -1);
    pair.assignments.insert(0, vec![BrokerId(1), BrokerId(2)]);
    second.create_topic(pair, false).await.unwrap();
    wait_for(&second, "topics online", |m| {
        leaders_ready(m, "lone") && leaders_ready(m, "pair")
    })
    .await;

    // Broker 1 (the first controller) goes: broker 2 takes over and moves leaders.
    first.shutdown();
    let metadata = wait_for(&second, "failover", |m| {
        m.controller_id == Some(BrokerId(2))
            && m.topics["pair"].partitions[&0].leader == Some(BrokerId(2))
            && m.topics["lone"].partitions[&0].leader.is_none()
    })
    .await;
    let lone = &metadata.topics["lone"].partitions[&0];
    assert_eq!(
        (lone.isr.clone(), lone.leader_epoch),
        (vec![BrokerId(1)], 1)
    );
    let pair = &metadata.topics["pair"].partitions[&0];
    assert_eq!(
        (pair.isr.clone(), pair.leader_epoch),
        (vec![BrokerId(2)], 1)
    );

    // It returns: its lone partition is led again.
    let first = start(&connect, 1).await;
    let metadata = wait_for(&second, "return", |m| {
        m.topics["lone"].partitions[&0].leader == Some(BrokerId(1))
    })
    .await;
    assert_eq!(metadata.topics["lone"].partitions[&0].leader_epoch, 2);
    first.shutdown();
    second.shutdown();
}

/// Joins a cluster some other broker (for example Apache Kafka 3.9) already runs,
/// named by `KEEL_TEST_ZK_EXISTING` (`host:port/chroot`), as broker 4242, and checks
/// that every topic there reads with an id and leaders. Skipped when unset.
#[tokio::test]
async fn joins_an_existing_cluster() {
    let Ok(connect) = std::env::var("KEEL_TEST_ZK_EXISTING") else {
        eprintln!("skipping joins_an_existing_cluster: set KEEL_TEST_ZK_EXISTING=host:port/chroot");
        return;
    };
    let store = start(&connect, 4242).await;
    let metadata = store.current();
    eprintln!("{metadata:#?}");
    assert!(metadata.controller_id.is_some());
    assert!(metadata.brokers.len() >= 2);
    assert!(!metadata.topics.is_empty());
    for (name, topic) in &metadata.topics {
        assert_ne!(topic.id.0, uuid::Uuid::nil(), "{name} has no id");
        assert!(leaders_ready(&metadata, name), "{name} has no leaders");
    }
    store.shutdown();
}

/// A session the server expires (closed from a second connection that borrowed it)
/// is replaced: the broker registers again and wins the election again.
#[tokio::test]
async fn reregisters_after_session_expiry() {
    let Some(connect) = zk_connect("expiry") else {
        return;
    };
    let store = start(&connect, 1).await;
    let client = raw(&connect).await;
    let session_old = client_session_of(&store);
    let borrowed = store
        .shared
        .client
        .read()
        .unwrap()
        .as_ref()
        .unwrap()
        .session()
        .clone();
    let thief = zk::Client::connector()
        .with_session(borrowed)
        .connect(&connect)
        .await
        .unwrap();
    drop(thief);
    let waited = tokio::time::timeout(Duration::from_millis(WAIT_MS_MAX), async {
        loop {
            if let Ok((_, stat)) = client.get_data("/brokers/ids/1").await {
                if stat.ephemeral_owner != session_old
                    && stat.ephemeral_owner == client_session_of(&store)
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "broker 1 did not register again after its session expired"
    );
    let metadata = wait_for(&store, "controller again", |m| {
        m.controller_id == Some(BrokerId(1))
    })
    .await;
    assert!(metadata.brokers.contains_key(&BrokerId(1)));
    let (epoch, _) = client.get_data("/controller_epoch").await.unwrap();
    assert_eq!(epoch, b"2");
    store
        .create_topic(new_topic("after", 1, 1), false)
        .await
        .unwrap();
    wait_for(&store, "after online", |m| leaders_ready(m, "after")).await;
    store.shutdown();
}

/// Partition reassignment through the legacy znode and the API, with completion
/// driven by ISR changes written to the state znode (as an AlterPartition would
/// leave it), and a reassignment in flight resumed and cancelled by a new controller.
#[tokio::test]
async fn reassignment_through_the_znode_the_api_and_a_failover() {
    use kafka_protocol::messages::alter_partition_reassignments_request::{
        ReassignablePartition, ReassignableTopic,
    };
    use kafka_protocol::messages::{
        AlterPartitionReassignmentsRequest, ListPartitionReassignmentsRequest, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;

    let Some(connect) = zk_connect("reassign") else {
        return;
    };
    let mut stores = Vec::new();
    for id in 1..=3 {
        let port = answering_broker().await;
        stores.push(start_at(&connect, id, port).await);
    }
    let controller = &stores[0];
    wait_for(controller, "three brokers", |m| m.brokers.len() == 3).await;
    let mut moving = new_topic("moving", -1, -1);
    moving.assignments.insert(0, vec![BrokerId(1), BrokerId(2)]);
    controller.create_topic(moving, false).await.unwrap();
    wait_for(controller, "leader", |m| leaders_ready(m, "moving")).await;
    let client = raw(&connect).await;
    let replicas = |m: &ClusterMetadata| m.topics["moving"].partitions[&0].replicas.clone();

    // The znode of `kafka-reassign-partitions --zookeeper`, with an entry for a
    // partition that does not exist: dropped, as Apache drops it.
    let znode = br#"{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[3,2],"log_dirs":["any","any"]},{"topic":"missing","partition":0,"replicas":[1]}]}"#;
    client
        .create(
            "/admin/reassign_partitions",
            znode,
            &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
        )
        .await
        .unwrap();
    let metadata = wait_for(controller, "phase A", |m| {
        replicas(m) == vec![BrokerId(3), BrokerId(2), BrokerId(1)]
    })
    .await;
    assert_eq!(metadata.topics["moving"].partitions[&0].leader_epoch, 1);
    let (data, _) = client.get_data("/brokers/topics/moving").await.unwrap();
    let topic = TopicZnode::decode(&data).unwrap();
    assert_eq!(topic.adding_replicas[&0], vec![BrokerId(3)]);
    assert_eq!(topic.removing_replicas[&0], vec![BrokerId(1)]);
    let (data, _) = client.get_data("/admin/reassign_partitions").await.unwrap();
    assert_eq!(
        std::str::from_utf8(&data).unwrap(),
        r#"{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[3,2]}]}"#
    );
    let listed = controller
        .list_partition_reassignments(ListPartitionReassignmentsRequest::default())
        .await;
    assert_eq!(listed.error_code, 0);
    assert_eq!(listed.topics.len(), 1);
    assert_eq!(listed.topics[0].partitions[0].adding_replicas.len(), 1);
    let elsewhere = stores[1]
        .list_partition_reassignments(ListPartitionReassignmentsRequest::default())
        .await;
    assert_eq!(elsewhere.error_code, 41);

    // Broker 3 catches up: the leader's ISR grows in the state znode. Phase B: leader
    // 3 (1 leaves), ISR without 1, RS = TRS, the znode gone.
    let state_path = "/brokers/topics/moving/partitions/0/state";
    let (data, stat) = client.get_data(state_path).await.unwrap();
    let mut state = PartitionStateZnode::decode(&data).unwrap();
    state.isr = vec![BrokerId(1), BrokerId(2), BrokerId(3)];
    client
        .set_data(state_path, &state.encode(), Some(stat.version))
        .await
        .unwrap();
    let metadata = wait_for(controller, "phase B", |m| {
        replicas(m) == vec![BrokerId(3), BrokerId(2)]
    })
    .await;
    let partition = &metadata.topics["moving"].partitions[&0];
    assert_eq!(partition.leader, Some(BrokerId(3)));
    assert_eq!(partition.isr, vec![BrokerId(2), BrokerId(3)]);
    assert_eq!(partition.leader_epoch, 3);
    for _ in 0..50 {
        if client
            .check_stat("/admin/reassign_partitions")
            .await
            .unwrap()
            .is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(client
        .check_stat("/admin/reassign_partitions")
        .await
        .unwrap()
        .is_none());

    // The API's refusals.
    let request = |topic: &str, replicas: Option<Vec<i32>>| {
        AlterPartitionReassignmentsRequest::default().with_topics(vec![ReassignableTopic::default(
        )
        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partitions(vec![ReassignablePartition::default()
            .with_partition_index(0)
            .with_replicas(replicas.map(|ids| {
                ids.into_iter()
                    .map(kafka_protocol::messages::BrokerId)
                    .collect()
            }))])])
    };
    let code = |response: kafka_protocol::messages::AlterPartitionReassignmentsResponse| {
        (
            response.error_code,
            response.responses[0].partitions[0].error_code,
        )
    };
    assert_eq!(
        code(
            controller
                .alter_partition_reassignments(request("moving", None))
                .await
        ),
        (0, 85)
    );
    assert_eq!(
        code(
            controller
                .alter_partition_reassignments(request("moving", Some(vec![3, 9])))
                .await
        ),
        (0, 39)
    );
    assert_eq!(
        code(
            controller
                .alter_partition_reassignments(request("missing", Some(vec![1])))
                .await
        ),
        (0, 3)
    );
    assert_eq!(
        stores[1]
            .alter_partition_reassignments(request("moving", Some(vec![1, 2])))
            .await
            .error_code,
        41
    );

    // A move to [1,2] that cannot finish, then the controller goes: its successor
    // resumes it from the topic znode and cancels it, back to the original replicas.
    assert_eq!(
        code(
            controller
                .alter_partition_reassignments(request("moving", Some(vec![1, 2])))
                .await
        ),
        (0, 0)
    );
    wait_for(controller, "moving again", |m| {
        replicas(m) == vec![BrokerId(1), BrokerId(2), BrokerId(3)]
    })
    .await;
    let epoch_before = controller.current().topics["moving"].partitions[&0].leader_epoch;
    stores.remove(0).shutdown();
    // Broker 2 or 3 wins /controller and resumes the reassignment.
    let metadata = wait_for(&stores[0], "resumed by a new controller", |m| {
        m.controller_id.is_some_and(|id| id != BrokerId(1))
            && m.topics["moving"].partitions[&0].leader_epoch > epoch_before
    })
    .await;
    let successor = &stores[metadata.controller_id.unwrap().0 as usize - 2];
    assert_eq!(
        replicas(&metadata),
        vec![BrokerId(1), BrokerId(2), BrokerId(3)]
    );
    let listed = successor
        .list_partition_reassignments(ListPartitionReassignmentsRequest::default())
        .await;
    assert_eq!(listed.topics[0].partitions[0].removing_replicas.len(), 1);
    assert_eq!(
        code(
            successor
                .alter_partition_reassignments(request("moving", None))
                .await
        ),
        (0, 0)
    );
    wait_for(successor, "cancelled", |m| {
        replicas(m) == vec![BrokerId(2), BrokerId(3)]
    })
    .await;
    for store in stores {
        store.shutdown();
    }
}
