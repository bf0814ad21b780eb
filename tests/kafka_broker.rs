//! The broker's request handling over a real socket, with metadata held in memory
//! (the ZooKeeper-backed store is exercised by the compat suites): ApiVersions,
//! Metadata with auto-creation, Produce, Fetch with long polling, ListOffsets, and
//! bad frames costing only their own connection.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use keel::config::Properties;
use keel::kafka::broker::{system_clock, Broker};
use keel::kafka::config::{BrokerId as KeelBrokerId, KafkaConfig};
use keel::kafka::log::manager::LogManager;
use keel::kafka::metadata::*;

/// Metadata in memory: topics created here get broker 0 as their only replica.
struct MemoryMetadata {
    sender: watch::Sender<Arc<ClusterMetadata>>,
    next_id: Mutex<u128>,
}

impl MemoryMetadata {
    fn new(port: u16) -> Arc<MemoryMetadata> {
        let mut metadata = ClusterMetadata {
            cluster_id: "test-cluster".into(),
            ..Default::default()
        };
        metadata.controller_id = Some(KeelBrokerId(0));
        metadata.brokers.insert(
            KeelBrokerId(0),
            BrokerRegistration {
                id: KeelBrokerId(0),
                endpoints: vec![Endpoint {
                    listener: "PLAINTEXT".into(),
                    host: "127.0.0.1".into(),
                    port,
                }],
                rack: None,
            },
        );
        let (sender, _) = watch::channel(Arc::new(metadata));
        Arc::new(MemoryMetadata {
            sender,
            next_id: Mutex::new(1),
        })
    }
}

impl MetadataStore for MemoryMetadata {
    fn current(&self) -> Arc<ClusterMetadata> {
        self.sender.borrow().clone()
    }
    fn subscribe(&self) -> watch::Receiver<Arc<ClusterMetadata>> {
        self.sender.subscribe()
    }
    fn create_topic(
        &self,
        topic: NewTopic,
        validate_only: bool,
    ) -> BoxFuture<Result<(), MetadataError>> {
        let mut current = (*self.current()).clone();
        let result = if current.topics.contains_key(&topic.name) {
            Err(MetadataError {
                code: 36,
                message: "exists".into(),
            })
        } else {
            if !validate_only {
                let mut id = self.next_id.lock().unwrap();
                *id += 1;
                let partitions = (0..topic.partitions.max(1))
                    .map(|index| {
                        let state = PartitionState {
                            replicas: vec![KeelBrokerId(0)],
                            leader: Some(KeelBrokerId(0)),
                            leader_epoch: 0,
                            isr: vec![KeelBrokerId(0)],
                            zk_version: 0,
                        };
                        (index, state)
                    })
                    .collect();
                current.topics.insert(
                    topic.name.clone(),
                    TopicMetadata {
                        name: topic.name.clone(),
                        id: TopicId(uuid::Uuid::from_u128(*id)),
                        partitions,
                        configs: topic.configs.clone(),
                        marked_for_deletion: false,
                    },
                );
                self.sender.send_replace(Arc::new(current));
            }
            Ok(())
        };
        Box::pin(async move { result })
    }
    fn delete_topic(&self, _name: String) -> BoxFuture<Result<(), MetadataError>> {
        Box::pin(async { Ok(()) })
    }
    fn create_partitions(
        &self,
        _: String,
        _: i32,
        _: Option<Vec<Vec<KeelBrokerId>>>,
        _: bool,
    ) -> BoxFuture<Result<(), MetadataError>> {
        Box::pin(async { Ok(()) })
    }
    fn set_topic_configs(
        &self,
        _: String,
        _: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>> {
        Box::pin(async { Ok(()) })
    }
    fn set_broker_configs(
        &self,
        _: Option<KeelBrokerId>,
        _: BTreeMap<String, String>,
    ) -> BoxFuture<Result<(), MetadataError>> {
        Box::pin(async { Ok(()) })
    }
    fn allocate_producer_ids(&self) -> BoxFuture<Result<(i64, i64), MetadataError>> {
        Box::pin(async { Ok((0, 999)) })
    }
    fn broker_epoch(&self) -> i64 {
        TEST_BROKER_EPOCH
    }
}

/// The czxid the in-memory store reports as this broker's registration.
const TEST_BROKER_EPOCH: i64 = 100;

struct TestBroker {
    port: u16,
    metadata: Arc<MemoryMetadata>,
    _dir: tempfile::TempDir,
    _shutdown: watch::Sender<bool>,
}

async fn start_broker(extra: &str) -> TestBroker {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let text = format!(
        "broker.id=0\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\nzookeeper.connect=unused:2181\n{extra}",
        dir.path().display()
    );
    let config = KafkaConfig::from_properties(
        &Properties::parse(std::path::Path::new("test.properties"), &text).unwrap(),
    )
    .unwrap();
    let logs = LogManager::new(&config.log_dirs).unwrap();
    let metadata = MemoryMetadata::new(port);
    let broker = Broker::new(
        config,
        KeelBrokerId(0),
        metadata.clone() as Arc<dyn MetadataStore>,
        logs,
        system_clock(),
    );
    // Open logs as metadata changes, as the real start-up does.
    broker.follow_metadata();
    let (shutdown, shutdown_receiver) = watch::channel(false);
    tokio::spawn(keel::kafka::server::serve(
        listener,
        broker,
        shutdown_receiver,
        100,
        "PLAINTEXT".to_string(),
        keel::kafka::security::ListenerSecurity::plaintext(),
    ));
    TestBroker {
        port,
        metadata,
        _dir: dir,
        _shutdown: shutdown,
    }
}

struct Client {
    stream: TcpStream,
    correlation_id: i32,
}

impl Client {
    async fn connect(port: u16) -> Client {
        Client {
            stream: TcpStream::connect(("127.0.0.1", port)).await.unwrap(),
            correlation_id: 0,
        }
    }

    async fn send<Q: Encodable>(&mut self, api_key: ApiKey, version: i16, body: &Q) {
        self.correlation_id += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = api_key as i16;
        header.request_api_version = version;
        header.correlation_id = self.correlation_id;
        header.client_id = Some(StrBytes::from_static_str("keel-test"));
        let mut frame = BytesMut::new();
        header
            .encode(&mut frame, api_key.request_header_version(version))
            .unwrap();
        body.encode(&mut frame, version).unwrap();
        self.stream
            .write_all(&(frame.len() as i32).to_be_bytes())
            .await
            .unwrap();
        self.stream.write_all(&frame).await.unwrap();
    }

    async fn receive<R: Decodable>(&mut self, api_key: ApiKey, version: i16) -> R {
        let mut length = [0u8; 4];
        self.stream.read_exact(&mut length).await.unwrap();
        let mut body = vec![0u8; i32::from_be_bytes(length) as usize];
        self.stream.read_exact(&mut body).await.unwrap();
        let mut bytes = Bytes::from(body);
        let header =
            ResponseHeader::decode(&mut bytes, api_key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, self.correlation_id);
        R::decode(&mut bytes, version).unwrap()
    }

    async fn call<Q: Encodable, R: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        body: &Q,
    ) -> R {
        self.send(api_key, version, body).await;
        self.receive(api_key, version).await
    }
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn record_batch(values: &[&str]) -> Bytes {
    use kafka_protocol::records::*;
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(index, value)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: index as i64,
            sequence: -1,
            timestamp: 1_700_000_000_000 + index as i64,
            key: None,
            value: Some(Bytes::from(value.to_string())),
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .unwrap();
    out.freeze()
}

async fn metadata_until_leader(client: &mut Client, topic: &str) -> MetadataResponse {
    for _ in 0..50 {
        let mut request = MetadataRequest::default();
        let mut wanted = metadata_request::MetadataRequestTopic::default();
        wanted.name = Some(topic_name(topic));
        request.topics = Some(vec![wanted]);
        request.allow_auto_topic_creation = true;
        let response: MetadataResponse = client.call(ApiKey::Metadata, 9, &request).await;
        if response.topics[0].error_code == 0 {
            return response;
        }
        assert_eq!(
            response.topics[0].error_code, 5,
            "LEADER_NOT_AVAILABLE while the topic is created"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("topic {topic} never got a leader");
}

fn produce_request(topic: &str, acks: i16, records: Bytes) -> ProduceRequest {
    let mut partition = produce_request::PartitionProduceData::default();
    partition.index = 0;
    partition.records = Some(records);
    let mut topic_data = produce_request::TopicProduceData::default();
    topic_data.name = topic_name(topic);
    topic_data.partition_data = vec![partition];
    let mut request = ProduceRequest::default();
    request.acks = acks;
    request.timeout_ms = 30_000;
    request.topic_data = vec![topic_data];
    request
}

fn fetch_request(topic: &str, offset: i64, max_wait_ms: i32, min_bytes: i32) -> FetchRequest {
    let mut partition = fetch_request::FetchPartition::default();
    partition.partition = 0;
    partition.fetch_offset = offset;
    partition.partition_max_bytes = 1 << 20;
    let mut wanted = fetch_request::FetchTopic::default();
    wanted.topic = topic_name(topic);
    wanted.partitions = vec![partition];
    let mut request = FetchRequest::default();
    request.max_wait_ms = max_wait_ms;
    request.min_bytes = min_bytes;
    request.max_bytes = 50 << 20;
    request.topics = vec![wanted];
    request
}

#[tokio::test]
async fn api_versions_lists_supported_apis_and_falls_back_to_v0() {
    let broker = start_broker("").await;
    let mut client = Client::connect(broker.port).await;
    let response: ApiVersionsResponse = client
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    assert_eq!(response.error_code, 0);
    let produce = response
        .api_keys
        .iter()
        .find(|api| api.api_key == ApiKey::Produce as i16)
        .unwrap();
    // Kafka 3.9's minimum (Filebeat with output.kafka.version 0.10.x sends v2).
    assert_eq!((produce.min_version, produce.max_version), (0, 11));

    // A version from the future: a v0 reply with UNSUPPORTED_VERSION (35).
    client.correlation_id += 1;
    let frame = [
        &[0u8, 18, 0, 42][..],
        &client.correlation_id.to_be_bytes(),
        &[0, 0],
    ]
    .concat();
    client
        .stream
        .write_all(&(frame.len() as i32).to_be_bytes())
        .await
        .unwrap();
    client.stream.write_all(&frame).await.unwrap();
    let response: ApiVersionsResponse = client.receive(ApiKey::ApiVersions, 0).await;
    assert_eq!(response.error_code, 35);
    assert!(!response.api_keys.is_empty());
}

#[tokio::test]
async fn produce_then_fetch_and_list_offsets() {
    let broker = start_broker("").await;
    let mut client = Client::connect(broker.port).await;
    let metadata = metadata_until_leader(&mut client, "events").await;
    assert_eq!(metadata.topics[0].partitions[0].leader_id.0, 0);
    assert_eq!(metadata.brokers[0].port, broker.port as i32);

    for round in 0..3 {
        let response: ProduceResponse = client
            .call(
                ApiKey::Produce,
                7,
                &produce_request("events", -1, record_batch(&["a", "b"])),
            )
            .await;
        let partition = &response.responses[0].partition_responses[0];
        assert_eq!(partition.error_code, 0);
        assert_eq!(partition.base_offset, round * 2);
    }
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 11, &fetch_request("events", 2, 0, 1))
        .await;
    let partition = &response.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    assert_eq!(partition.high_watermark, 6);
    let records = partition.records.clone().unwrap();
    let offsets: Vec<i64> = keel::kafka::log::batch::split_batches(&records)
        .map(|item| item.unwrap().0)
        .flat_map(|header| header.base_offset..=header.last_offset())
        .collect();
    assert_eq!(offsets, vec![2, 3, 4, 5]);

    let mut request = ListOffsetsRequest::default();
    request.replica_id = (-1).into();
    for timestamp in [-2i64, -1, 1_700_000_000_001] {
        let mut partition = list_offsets_request::ListOffsetsPartition::default();
        partition.timestamp = timestamp;
        let mut topic = list_offsets_request::ListOffsetsTopic::default();
        topic.name = topic_name("events");
        topic.partitions = vec![partition];
        request.topics.push(topic);
    }
    let response: ListOffsetsResponse = client.call(ApiKey::ListOffsets, 5, &request).await;
    let offsets: Vec<i64> = response
        .topics
        .iter()
        .map(|topic| topic.partitions[0].offset)
        .collect();
    assert_eq!(
        offsets,
        vec![0, 6, 1],
        "earliest, latest, first record at or after the timestamp"
    );

    let response: FetchResponse = client
        .call(ApiKey::Fetch, 11, &fetch_request("events", 7, 0, 1))
        .await;
    assert_eq!(
        response.responses[0].partitions[0].error_code, 1,
        "OFFSET_OUT_OF_RANGE"
    );
    let response: ProduceResponse = client
        .call(
            ApiKey::Produce,
            7,
            &produce_request("missing", 1, record_batch(&["x"])),
        )
        .await;
    assert_eq!(
        response.responses[0].partition_responses[0].error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
}

#[tokio::test]
async fn a_waiting_fetch_wakes_on_append() {
    let broker = start_broker("").await;
    let mut consumer = Client::connect(broker.port).await;
    metadata_until_leader(&mut consumer, "live").await;
    consumer
        .send(ApiKey::Fetch, 11, &fetch_request("live", 0, 20_000, 1))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut producer = Client::connect(broker.port).await;
    let started = std::time::Instant::now();
    let _: ProduceResponse = producer
        .call(
            ApiKey::Produce,
            7,
            &produce_request("live", 1, record_batch(&["now"])),
        )
        .await;
    let response: FetchResponse = consumer.receive(ApiKey::Fetch, 11).await;
    let waited = started.elapsed();
    assert!(response.responses[0].partitions[0]
        .records
        .as_ref()
        .is_some_and(|r| !r.is_empty()));
    // Generous: the point is "woken by the append", not "after max_wait_ms" (20 s).
    assert!(waited < Duration::from_secs(10), "fetch waited {waited:?}");
}

#[tokio::test]
async fn acks_zero_gets_no_response_and_bad_frames_close_only_their_connection() {
    let broker = start_broker("socket.request.max.bytes=1000\n").await;
    let mut client = Client::connect(broker.port).await;
    metadata_until_leader(&mut client, "quiet").await;
    client
        .send(
            ApiKey::Produce,
            7,
            &produce_request("quiet", 0, record_batch(&["fire-and-forget"])),
        )
        .await;
    // The next response on this connection is the fetch's: acks=0 produced none.
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 11, &fetch_request("quiet", 0, 0, 1))
        .await;
    assert_eq!(response.responses[0].partitions[0].high_watermark, 1);

    let mut oversized = TcpStream::connect(("127.0.0.1", broker.port))
        .await
        .unwrap();
    oversized.write_all(&5000i32.to_be_bytes()).await.unwrap();
    let mut garbage = TcpStream::connect(("127.0.0.1", broker.port))
        .await
        .unwrap();
    garbage
        .write_all(&[0, 0, 0, 8, 0x7f, 0x7f, 0, 0, 0, 0, 0, 1])
        .await
        .unwrap();
    for stream in [&mut oversized, &mut garbage] {
        let mut buffer = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .unwrap();
        assert_eq!(read.unwrap(), 0, "the broker closed the connection");
    }
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 11, &fetch_request("quiet", 0, 0, 1))
        .await;
    assert_eq!(
        response.responses[0].partitions[0].error_code, 0,
        "other connections carry on"
    );
}

/// Every API that ApiVersions announces is answered: an empty request of each at its
/// highest version gets a response (not a dropped connection or silence).
#[tokio::test]
async fn every_announced_api_answers() {
    let broker = start_broker("").await;
    for (api_key, _, max) in keel::kafka::protocol::versions::SUPPORTED {
        let mut client = Client::connect(broker.port).await;
        let version = *max;
        macro_rules! check {
            ($request:ty, $response:ty, $body:expr) => {{
                let body: $request = $body;
                let _: $response = tokio::time::timeout(
                    Duration::from_secs(20),
                    client.call(*api_key, version, &body),
                )
                .await
                .unwrap_or_else(|_| panic!("{api_key:?} v{version} got no answer"));
            }};
        }
        match api_key {
            ApiKey::Produce => check!(ProduceRequest, ProduceResponse, {
                let mut r = ProduceRequest::default();
                r.acks = 1;
                r
            }),
            ApiKey::Fetch => check!(FetchRequest, FetchResponse, FetchRequest::default()),
            ApiKey::ListOffsets => check!(
                ListOffsetsRequest,
                ListOffsetsResponse,
                ListOffsetsRequest::default()
            ),
            ApiKey::Metadata => check!(
                MetadataRequest,
                MetadataResponse,
                MetadataRequest::default()
            ),
            ApiKey::ApiVersions => check!(
                ApiVersionsRequest,
                ApiVersionsResponse,
                ApiVersionsRequest::default()
            ),
            ApiKey::CreateTopics => check!(
                CreateTopicsRequest,
                CreateTopicsResponse,
                CreateTopicsRequest::default()
            ),
            ApiKey::DeleteTopics => check!(
                DeleteTopicsRequest,
                DeleteTopicsResponse,
                DeleteTopicsRequest::default()
            ),
            ApiKey::DeleteRecords => check!(
                DeleteRecordsRequest,
                DeleteRecordsResponse,
                DeleteRecordsRequest::default()
            ),
            ApiKey::InitProducerId => check!(
                InitProducerIdRequest,
                InitProducerIdResponse,
                InitProducerIdRequest::default()
            ),
            ApiKey::OffsetForLeaderEpoch => {
                check!(
                    OffsetForLeaderEpochRequest,
                    OffsetForLeaderEpochResponse,
                    OffsetForLeaderEpochRequest::default()
                )
            }
            ApiKey::DescribeConfigs => check!(
                DescribeConfigsRequest,
                DescribeConfigsResponse,
                DescribeConfigsRequest::default()
            ),
            ApiKey::AlterConfigs => check!(
                AlterConfigsRequest,
                AlterConfigsResponse,
                AlterConfigsRequest::default()
            ),
            ApiKey::DescribeLogDirs => check!(
                DescribeLogDirsRequest,
                DescribeLogDirsResponse,
                DescribeLogDirsRequest::default()
            ),
            ApiKey::CreatePartitions => {
                check!(
                    CreatePartitionsRequest,
                    CreatePartitionsResponse,
                    CreatePartitionsRequest::default()
                )
            }
            ApiKey::IncrementalAlterConfigs => check!(
                IncrementalAlterConfigsRequest,
                IncrementalAlterConfigsResponse,
                IncrementalAlterConfigsRequest::default()
            ),
            ApiKey::DescribeCluster => check!(
                DescribeClusterRequest,
                DescribeClusterResponse,
                DescribeClusterRequest::default()
            ),
            ApiKey::DescribeTopicPartitions => check!(
                DescribeTopicPartitionsRequest,
                DescribeTopicPartitionsResponse,
                DescribeTopicPartitionsRequest::default()
            ),
            ApiKey::FindCoordinator => check!(
                FindCoordinatorRequest,
                FindCoordinatorResponse,
                FindCoordinatorRequest::default()
            ),
            ApiKey::JoinGroup => check!(
                JoinGroupRequest,
                JoinGroupResponse,
                JoinGroupRequest::default()
            ),
            ApiKey::SyncGroup => check!(
                SyncGroupRequest,
                SyncGroupResponse,
                SyncGroupRequest::default()
            ),
            ApiKey::Heartbeat => check!(
                HeartbeatRequest,
                HeartbeatResponse,
                HeartbeatRequest::default()
            ),
            ApiKey::LeaveGroup => check!(
                LeaveGroupRequest,
                LeaveGroupResponse,
                LeaveGroupRequest::default()
            ),
            ApiKey::OffsetCommit => check!(
                OffsetCommitRequest,
                OffsetCommitResponse,
                OffsetCommitRequest::default()
            ),
            ApiKey::OffsetFetch => check!(
                OffsetFetchRequest,
                OffsetFetchResponse,
                OffsetFetchRequest::default()
            ),
            ApiKey::ListGroups => check!(
                ListGroupsRequest,
                ListGroupsResponse,
                ListGroupsRequest::default()
            ),
            ApiKey::DescribeGroups => check!(
                DescribeGroupsRequest,
                DescribeGroupsResponse,
                DescribeGroupsRequest::default()
            ),
            ApiKey::DeleteGroups => check!(
                DeleteGroupsRequest,
                DeleteGroupsResponse,
                DeleteGroupsRequest::default()
            ),
            ApiKey::OffsetDelete => check!(
                OffsetDeleteRequest,
                OffsetDeleteResponse,
                OffsetDeleteRequest::default()
            ),
            ApiKey::AllocateProducerIds => check!(
                AllocateProducerIdsRequest,
                AllocateProducerIdsResponse,
                AllocateProducerIdsRequest::default()
            ),
            ApiKey::ElectLeaders => check!(
                ElectLeadersRequest,
                ElectLeadersResponse,
                ElectLeadersRequest::default()
            ),
            // Without a ZooKeeper controller: NOT_CONTROLLER, as Apache's non-controllers.
            ApiKey::AlterPartitionReassignments => check!(
                AlterPartitionReassignmentsRequest,
                AlterPartitionReassignmentsResponse,
                AlterPartitionReassignmentsRequest::default()
            ),
            ApiKey::ListPartitionReassignments => check!(
                ListPartitionReassignmentsRequest,
                ListPartitionReassignmentsResponse,
                ListPartitionReassignmentsRequest::default()
            ),
            // A PLAINTEXT listener: ILLEGAL_SASL_STATE, as Apache's KafkaApis answers.
            ApiKey::SaslHandshake => check!(
                SaslHandshakeRequest,
                SaslHandshakeResponse,
                SaslHandshakeRequest::default()
            ),
            ApiKey::SaslAuthenticate => check!(
                SaslAuthenticateRequest,
                SaslAuthenticateResponse,
                SaslAuthenticateRequest::default()
            ),
            ApiKey::DescribeClientQuotas => check!(
                DescribeClientQuotasRequest,
                DescribeClientQuotasResponse,
                DescribeClientQuotasRequest::default()
            ),
            ApiKey::DescribeUserScramCredentials => check!(
                DescribeUserScramCredentialsRequest,
                DescribeUserScramCredentialsResponse,
                DescribeUserScramCredentialsRequest::default()
            ),
            ApiKey::AlterUserScramCredentials => check!(
                AlterUserScramCredentialsRequest,
                AlterUserScramCredentialsResponse,
                AlterUserScramCredentialsRequest::default()
            ),
            ApiKey::AlterClientQuotas => check!(
                AlterClientQuotasRequest,
                AlterClientQuotasResponse,
                AlterClientQuotasRequest::default()
            ),
            // No authorizer configured: SECURITY_DISABLED, as Apache without one.
            ApiKey::DescribeAcls => check!(
                DescribeAclsRequest,
                DescribeAclsResponse,
                DescribeAclsRequest::default()
            ),
            ApiKey::CreateAcls => check!(
                CreateAclsRequest,
                CreateAclsResponse,
                CreateAclsRequest::default()
            ),
            ApiKey::DeleteAcls => check!(
                DeleteAclsRequest,
                DeleteAclsResponse,
                DeleteAclsRequest::default()
            ),
            other => panic!("add {other:?} to this test"),
        }
    }
}

/// Every version of the data-path and admin APIs, with a real topic in play, gets a
/// response that decodes: fields a version lacks are never sent.
#[tokio::test]
async fn every_version_encodes_with_real_content() {
    let broker = start_broker("").await;
    let mut client = Client::connect(broker.port).await;
    metadata_until_leader(&mut client, "versions").await;
    let mut request = MetadataRequest::default();
    let mut wanted = metadata_request::MetadataRequestTopic::default();
    wanted.name = Some(topic_name("versions"));
    request.topics = Some(vec![wanted]);
    let metadata: MetadataResponse = client.call(ApiKey::Metadata, 12, &request).await;
    let topic_id = metadata.topics[0].topic_id;
    assert!(!topic_id.is_nil(), "Metadata v10+ carries topic ids");
    let _: ProduceResponse = client
        .call(
            ApiKey::Produce,
            7,
            &produce_request("versions", 1, record_batch(&["a", "b"])),
        )
        .await;
    // From the oldest version the crate encodes: older ones (read by
    // protocol::legacy) are written by hand in the legacy_* tests.
    let range = |api: ApiKey| {
        let (_, min, max) = keel::kafka::protocol::versions::SUPPORTED
            .iter()
            .find(|(key, _, _)| *key == api)
            .unwrap();
        (*min).max(api.valid_versions().min)..=*max
    };
    for version in range(ApiKey::Metadata) {
        let mut request = MetadataRequest::default();
        let mut wanted = metadata_request::MetadataRequestTopic::default();
        wanted.name = Some(topic_name("versions"));
        request.topics = Some(vec![wanted]);
        let response: MetadataResponse = client.call(ApiKey::Metadata, version, &request).await;
        assert_eq!(response.topics[0].error_code, 0, "Metadata v{version}");
    }
    // Produce v0-v2, Fetch v0-v3 and ListOffsets v0 predate the crate's encoders: see
    // legacy_produce_and_list_offsets_v0.
    for version in range(ApiKey::Produce).filter(|version| *version >= 3) {
        let response: ProduceResponse = client
            .call(
                ApiKey::Produce,
                version,
                &produce_request("versions", 1, record_batch(&["v"])),
            )
            .await;
        assert_eq!(
            response.responses[0].partition_responses[0].error_code, 0,
            "Produce v{version}"
        );
    }
    for version in range(ApiKey::Fetch).filter(|version| *version >= 4) {
        let mut request = fetch_request("versions", 0, 0, 1);
        if version >= 13 {
            request.topics[0].topic = Default::default();
            request.topics[0].topic_id = topic_id;
        }
        let response: FetchResponse = client.call(ApiKey::Fetch, version, &request).await;
        assert_eq!(
            response.responses[0].partitions[0].error_code, 0,
            "Fetch v{version}"
        );
        assert!(!response.responses[0].partitions[0]
            .records
            .as_ref()
            .unwrap()
            .is_empty());
    }
    for version in range(ApiKey::ListOffsets).filter(|version| *version >= 1) {
        let mut request = ListOffsetsRequest::default();
        request.replica_id = (-1).into();
        let mut partition = list_offsets_request::ListOffsetsPartition::default();
        partition.timestamp = -1;
        let mut topic = list_offsets_request::ListOffsetsTopic::default();
        topic.name = topic_name("versions");
        topic.partitions = vec![partition];
        request.topics = vec![topic];
        let response: ListOffsetsResponse =
            client.call(ApiKey::ListOffsets, version, &request).await;
        assert_eq!(
            response.topics[0].partitions[0].error_code, 0,
            "ListOffsets v{version}"
        );
    }
    for version in range(ApiKey::OffsetForLeaderEpoch) {
        let mut request = OffsetForLeaderEpochRequest::default();
        let mut partition = offset_for_leader_epoch_request::OffsetForLeaderPartition::default();
        partition.leader_epoch = 0;
        let mut topic = offset_for_leader_epoch_request::OffsetForLeaderTopic::default();
        topic.topic = topic_name("versions");
        topic.partitions = vec![partition];
        request.topics = vec![topic];
        let response: OffsetForLeaderEpochResponse = client
            .call(ApiKey::OffsetForLeaderEpoch, version, &request)
            .await;
        assert_eq!(
            response.topics[0].partitions[0].error_code, 0,
            "OffsetForLeaderEpoch v{version}"
        );
    }
    for version in range(ApiKey::CreateTopics) {
        let mut request = CreateTopicsRequest::default();
        let mut topic = create_topics_request::CreatableTopic::default();
        topic.name = topic_name(&format!("created-{version}"));
        topic.num_partitions = 2;
        topic.replication_factor = 1;
        request.topics = vec![topic];
        request.timeout_ms = 10_000;
        let response: CreateTopicsResponse =
            client.call(ApiKey::CreateTopics, version, &request).await;
        assert_eq!(response.topics[0].error_code, 0, "CreateTopics v{version}");
        let mut existing = request.clone();
        existing.topics[0].name = topic_name("versions");
        let response: CreateTopicsResponse =
            client.call(ApiKey::CreateTopics, version, &existing).await;
        assert_eq!(
            response.topics[0].error_code, 36,
            "CreateTopics v{version}: TOPIC_ALREADY_EXISTS"
        );
    }
    for version in range(ApiKey::DescribeConfigs) {
        let mut request = DescribeConfigsRequest::default();
        let mut resource = describe_configs_request::DescribeConfigsResource::default();
        resource.resource_type = 2;
        resource.resource_name = StrBytes::from_static_str("versions");
        resource.configuration_keys = None;
        request.resources = vec![resource];
        let response: DescribeConfigsResponse = client
            .call(ApiKey::DescribeConfigs, version, &request)
            .await;
        assert!(
            response.results[0].configs.len() > 10,
            "DescribeConfigs v{version}"
        );
    }
    for version in range(ApiKey::DescribeLogDirs) {
        let response: DescribeLogDirsResponse = client
            .call(
                ApiKey::DescribeLogDirs,
                version,
                &DescribeLogDirsRequest::default(),
            )
            .await;
        assert_eq!(response.results.len(), 1, "DescribeLogDirs v{version}");
    }
    for version in range(ApiKey::FindCoordinator) {
        let mut request = FindCoordinatorRequest::default();
        if version >= 4 {
            request.coordinator_keys = vec![StrBytes::from_static_str("group")];
        } else {
            request.key = StrBytes::from_static_str("group");
        }
        let _: FindCoordinatorResponse = client
            .call(ApiKey::FindCoordinator, version, &request)
            .await;
    }
    for version in range(ApiKey::InitProducerId) {
        let mut request = InitProducerIdRequest::default();
        request.transactional_id = None;
        let response: InitProducerIdResponse =
            client.call(ApiKey::InitProducerId, version, &request).await;
        assert_eq!(response.error_code, 0, "InitProducerId v{version}");
    }
    for version in range(ApiKey::DescribeCluster) {
        let response: DescribeClusterResponse = client
            .call(
                ApiKey::DescribeCluster,
                version,
                &DescribeClusterRequest::default(),
            )
            .await;
        assert_eq!(response.brokers.len(), 1, "DescribeCluster v{version}");
    }
    for version in range(ApiKey::DeleteTopics) {
        let mut request = DeleteTopicsRequest::default();
        let name = format!("created-{}", 2 + version);
        if version >= 6 {
            let mut state = delete_topics_request::DeleteTopicState::default();
            state.name = Some(topic_name(&name));
            request.topics = vec![state];
        } else {
            request.topic_names = vec![topic_name(&name)];
        }
        request.timeout_ms = 100;
        let _: DeleteTopicsResponse = client.call(ApiKey::DeleteTopics, version, &request).await;
    }
}

/// Reads one response frame whatever its correlation id: for pipelined requests.
async fn receive_frame(client: &mut Client, api_key: ApiKey, version: i16) -> (i32, Bytes) {
    let mut length = [0u8; 4];
    client.stream.read_exact(&mut length).await.unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(length) as usize];
    client.stream.read_exact(&mut body).await.unwrap();
    let mut bytes = Bytes::from(body);
    let header =
        ResponseHeader::decode(&mut bytes, api_key.response_header_version(version)).unwrap();
    (header.correlation_id, bytes)
}

/// (offset, value) of every record in `records`.
fn decode_values(records: &Bytes) -> Vec<(i64, String)> {
    let mut buffer = records.clone();
    kafka_protocol::records::RecordBatchDecoder::decode_all(&mut buffer)
        .unwrap()
        .into_iter()
        .flat_map(|set| set.records)
        .map(|record| {
            (
                record.offset,
                String::from_utf8(record.value.unwrap().to_vec()).unwrap(),
            )
        })
        .collect()
}

fn bulk_value(partition: i32, offset: i64) -> String {
    format!("{partition}/{offset}/{}", "x".repeat(1000))
}

#[tokio::test]
async fn big_fetches_come_from_the_segment_files_whole_and_in_order() {
    // Small segments, so a partition's data spans several files.
    let broker = start_broker("log.segment.bytes=700000\n").await;
    let mut client = Client::connect(broker.port).await;
    let mut request = CreateTopicsRequest::default();
    let mut topic = create_topics_request::CreatableTopic::default();
    topic.name = topic_name("bulk");
    topic.num_partitions = 3;
    topic.replication_factor = 1;
    request.topics = vec![topic];
    request.timeout_ms = 10_000;
    let response: CreateTopicsResponse = client.call(ApiKey::CreateTopics, 5, &request).await;
    assert_eq!(response.topics[0].error_code, 0);
    metadata_until_leader(&mut client, "bulk").await;
    let mut request = MetadataRequest::default();
    let mut wanted = metadata_request::MetadataRequestTopic::default();
    wanted.name = Some(topic_name("bulk"));
    request.topics = Some(vec![wanted]);
    let metadata: MetadataResponse = client.call(ApiKey::Metadata, 12, &request).await;
    let topic_id = metadata.topics[0].topic_id;

    const BATCHES: i64 = 8;
    const PER_BATCH: i64 = 200;
    for partition in 0..3 {
        for batch in 0..BATCHES {
            let values: Vec<String> = (0..PER_BATCH)
                .map(|index| bulk_value(partition, batch * PER_BATCH + index))
                .collect();
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let mut request = produce_request("bulk", 1, record_batch(&refs));
            request.topic_data[0].partition_data[0].index = partition;
            let response: ProduceResponse = client.call(ApiKey::Produce, 7, &request).await;
            assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
        }
    }
    let end = BATCHES * PER_BATCH;

    let fetch = |version: i16, offsets: [i64; 3], partition_max_bytes: i32| {
        let mut request = fetch_request("bulk", 0, 0, 1);
        request.topics[0].partitions = (0..3)
            .map(|partition| {
                let mut wanted = fetch_request::FetchPartition::default();
                wanted.partition = partition;
                wanted.fetch_offset = offsets[partition as usize];
                wanted.partition_max_bytes = partition_max_bytes;
                wanted
            })
            .collect();
        if version >= 13 {
            request.topics[0].topic = Default::default();
            request.topics[0].topic_id = topic_id;
        }
        request
    };

    // Pipelined: two fetches with an ApiVersions between them; the answers come back
    // in request order.
    client
        .send(ApiKey::Fetch, 11, &fetch(11, [0, 10, 399], 500_000))
        .await;
    client
        .send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    client
        .send(ApiKey::Fetch, 16, &fetch(16, [1500, 0, end], 3 << 20))
        .await;
    let first_id = client.correlation_id - 2;
    let (id, mut body) = receive_frame(&mut client, ApiKey::Fetch, 11).await;
    assert_eq!(id, first_id);
    let first = FetchResponse::decode(&mut body, 11).unwrap();
    let (id, _) = receive_frame(&mut client, ApiKey::ApiVersions, 3).await;
    assert_eq!(id, first_id + 1);
    let (id, mut body) = receive_frame(&mut client, ApiKey::Fetch, 16).await;
    assert_eq!(id, first_id + 2);
    let second = FetchResponse::decode(&mut body, 16).unwrap();

    let check = |response: &FetchResponse, partition: i32, from: i64| -> i64 {
        let data = &response.responses[0].partitions[partition as usize];
        assert_eq!(data.partition_index, partition);
        assert_eq!(data.error_code, 0);
        assert_eq!(data.high_watermark, end);
        let values = decode_values(data.records.as_ref().unwrap());
        // Whole batches, contiguous, the first one holding `from`.
        let Some((first_offset, _)) = values.first() else {
            return 0;
        };
        assert!(*first_offset <= from);
        for (index, (offset, value)) in values.iter().enumerate() {
            assert_eq!(*offset, first_offset + index as i64);
            assert_eq!(*value, bulk_value(partition, *offset));
        }
        let last = values.last().unwrap().0;
        assert!(last >= from);
        last + 1 - from
    };
    assert!(check(&first, 0, 0) > 0);
    assert!(check(&first, 1, 10) > 0);
    assert!(check(&first, 2, 399) > 0);
    assert!(check(&second, 0, 1500) > 0);
    assert!(check(&second, 1, 0) > 0);
    assert_eq!(check(&second, 2, end), 0, "nothing past the end");

    // Consume everything, every partition, with the newest version.
    let mut next = [0i64; 3];
    for _ in 0..100 {
        if next.iter().all(|offset| *offset == end) {
            break;
        }
        let response: FetchResponse = client
            .call(ApiKey::Fetch, 16, &fetch(16, next, 1 << 20))
            .await;
        for partition in 0..3 {
            let read = check(&response, partition, next[partition as usize]);
            next[partition as usize] += read;
        }
    }
    assert_eq!(next, [end; 3]);
}

#[tokio::test]
async fn fetch_sessions_answer_only_what_changed() {
    let broker = start_broker("").await;
    let mut client = Client::connect(broker.port).await;
    metadata_until_leader(&mut client, "session").await;
    let _: ProduceResponse = client
        .call(
            ApiKey::Produce,
            7,
            &produce_request("session", 1, record_batch(&["a", "b"])),
        )
        .await;
    // The partition of another topic stays quiet throughout.
    metadata_until_leader(&mut client, "quiet-neighbour").await;

    let session_fetch = |session_id: i32, epoch: i32, partitions: &[(&str, i64)]| {
        let mut request = fetch_request("session", 0, 0, 0);
        request.session_id = session_id;
        request.session_epoch = epoch;
        request.topics = partitions
            .iter()
            .map(|(topic, offset)| {
                let mut wanted = fetch_request("session", 0, 0, 0).topics.remove(0);
                wanted.topic = topic_name(topic);
                wanted.partitions[0].fetch_offset = *offset;
                wanted
            })
            .collect();
        request
    };
    let answered = |response: &FetchResponse| -> Vec<(String, i64, usize)> {
        response
            .responses
            .iter()
            .flat_map(|topic| {
                topic.partitions.iter().map(|partition| {
                    (
                        topic.topic.as_str().to_string(),
                        partition.high_watermark,
                        partition
                            .records
                            .as_ref()
                            .map_or(0, |records| records.len()),
                    )
                })
            })
            .collect()
    };

    // Full fetch, epoch 0: a session, every partition answered.
    let response: FetchResponse = client
        .call(
            ApiKey::Fetch,
            12,
            &session_fetch(0, 0, &[("session", 0), ("quiet-neighbour", 0)]),
        )
        .await;
    assert_eq!(response.error_code, 0);
    let id = response.session_id;
    assert!(id > 0, "a session was created");
    let full = answered(&response);
    assert_eq!(full.len(), 2);
    assert!(full[0].2 > 0);

    // Epoch 1, the client moved to offset 2: nothing changed, nothing answered.
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 12, &session_fetch(id, 1, &[("session", 2)]))
        .await;
    assert_eq!((response.error_code, response.session_id), (0, id));
    assert!(answered(&response).is_empty(), "{response:?}");

    // New records: only the partition that has them is answered; the request names
    // no partition (the session remembers offset 2).
    let _: ProduceResponse = client
        .call(
            ApiKey::Produce,
            7,
            &produce_request("session", 1, record_batch(&["c"])),
        )
        .await;
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 12, &session_fetch(id, 2, &[]))
        .await;
    let changed = answered(&response);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].0, "session");
    assert_eq!(changed[0].1, 3);
    assert!(changed[0].2 > 0);

    // A replayed epoch and an unknown session are refused.
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 12, &session_fetch(id, 2, &[]))
        .await;
    assert_eq!(response.error_code, 71, "INVALID_FETCH_SESSION_EPOCH");
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 12, &session_fetch(id ^ 0x5555, 1, &[]))
        .await;
    assert_eq!(response.error_code, 70, "FETCH_SESSION_ID_NOT_FOUND");

    // Epoch -1 closes the session and answers in full without one.
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 12, &session_fetch(id, -1, &[("session", 0)]))
        .await;
    assert_eq!((response.error_code, response.session_id), (0, 0));
    assert_eq!(answered(&response).len(), 1);
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 12, &session_fetch(id, 3, &[]))
        .await;
    assert_eq!(response.error_code, 70, "the session is gone");
}

/// A v0 or v1 message (Kafka 0.8-0.10 clients), CRC-32 (IEEE) included.
fn legacy_message(magic: u8, timestamp_ms: i64, value: &[u8]) -> Vec<u8> {
    let mut body = vec![magic, 0];
    if magic == 1 {
        body.extend_from_slice(&timestamp_ms.to_be_bytes());
    }
    body.extend_from_slice(&(-1i32).to_be_bytes());
    body.extend_from_slice(&(value.len() as i32).to_be_bytes());
    body.extend_from_slice(value);
    let mut message = crc32fast::hash(&body).to_be_bytes().to_vec();
    message.extend_from_slice(&body);
    let mut entry = 0i64.to_be_bytes().to_vec();
    entry.extend_from_slice(&(message.len() as i32).to_be_bytes());
    entry.extend_from_slice(&message);
    entry
}

/// Sends a request whose body is written by hand; returns the response body.
async fn raw_call(client: &mut Client, api_key: ApiKey, version: i16, body: &[u8]) -> Bytes {
    client.correlation_id += 1;
    let mut frame = Vec::new();
    frame.extend_from_slice(&(api_key as i16).to_be_bytes());
    frame.extend_from_slice(&version.to_be_bytes());
    frame.extend_from_slice(&client.correlation_id.to_be_bytes());
    frame.extend_from_slice(&4i16.to_be_bytes());
    frame.extend_from_slice(b"test");
    frame.extend_from_slice(body);
    client
        .stream
        .write_all(&(frame.len() as i32).to_be_bytes())
        .await
        .unwrap();
    client.stream.write_all(&frame).await.unwrap();
    let mut length = [0u8; 4];
    client.stream.read_exact(&mut length).await.unwrap();
    let mut response = vec![0u8; i32::from_be_bytes(length) as usize];
    client.stream.read_exact(&mut response).await.unwrap();
    assert_eq!(
        i32::from_be_bytes(response[..4].try_into().unwrap()),
        client.correlation_id
    );
    Bytes::from(response).slice(4..)
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as i16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

#[tokio::test]
async fn legacy_produce_and_list_offsets_v0() {
    let broker = start_broker("").await;
    let mut client = Client::connect(broker.port).await;
    metadata_until_leader(&mut client, "legacy").await;
    let mut expected_offset = 0i64;
    for (version, magic) in [(0i16, 0u8), (1, 0), (2, 1)] {
        let message_set = [
            legacy_message(magic, 1_000, b"first"),
            legacy_message(magic, 2_000, b"second"),
        ]
        .concat();
        let mut body = Vec::new();
        body.extend_from_slice(&1i16.to_be_bytes()); // acks
        body.extend_from_slice(&5_000i32.to_be_bytes()); // timeout
        body.extend_from_slice(&1i32.to_be_bytes());
        put_str(&mut body, "legacy");
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes());
        body.extend_from_slice(&(message_set.len() as i32).to_be_bytes());
        body.extend_from_slice(&message_set);
        let response = raw_call(&mut client, ApiKey::Produce, version, &body).await;
        // topics[1] name "legacy" partitions[1] index 0, error, base offset, ...
        let partition = &response[4 + 2 + 6 + 4..];
        assert_eq!(&partition[..4], &[0, 0, 0, 0], "Produce v{version}");
        assert_eq!(&partition[4..6], &[0, 0], "Produce v{version} error code");
        assert_eq!(
            i64::from_be_bytes(partition[6..14].try_into().unwrap()),
            expected_offset,
            "Produce v{version} base offset"
        );
        let expected_len = 4
            + 2
            + 6
            + 4
            + 4
            + 2
            + 8
            + if version >= 1 { 4 } else { 0 }
            + if version >= 2 { 8 } else { 0 };
        assert_eq!(response.len(), expected_len, "Produce v{version} layout");
        expected_offset += 2;
    }
    // The converted records read back through a current Fetch, timestamps kept
    // for format v1 and absent (-1) for v0.
    let response: FetchResponse = client
        .call(ApiKey::Fetch, 12, &fetch_request("legacy", 0, 0, 1 << 20))
        .await;
    let mut records = response.responses[0].partitions[0].records.clone().unwrap();
    let mut read: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    while !records.is_empty() {
        let batch = kafka_protocol::records::RecordBatchDecoder::decode(&mut records).unwrap();
        read.extend(batch.records.iter().map(|record| {
            (
                record.offset,
                record.timestamp,
                record.value.clone().unwrap().to_vec(),
            )
        }));
    }
    assert_eq!(
        read,
        vec![
            (0, -1, b"first".to_vec()),
            (1, -1, b"second".to_vec()),
            (2, -1, b"first".to_vec()),
            (3, -1, b"second".to_vec()),
            (4, 1_000, b"first".to_vec()),
            (5, 2_000, b"second".to_vec()),
        ]
    );

    // Fetch v0-v3: the same records down-converted to message format v0 (v0-v1)
    // or v1 (v2-v3), offsets and values intact.
    for version in 0i16..=3 {
        let mut body = Vec::new();
        body.extend_from_slice(&(-1i32).to_be_bytes()); // replica id
        body.extend_from_slice(&100i32.to_be_bytes()); // max wait
        body.extend_from_slice(&1i32.to_be_bytes()); // min bytes
        if version >= 3 {
            body.extend_from_slice(&(1i32 << 20).to_be_bytes());
        }
        body.extend_from_slice(&1i32.to_be_bytes());
        put_str(&mut body, "legacy");
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes()); // partition
        body.extend_from_slice(&0i64.to_be_bytes()); // fetch offset
        body.extend_from_slice(&(1i32 << 20).to_be_bytes());
        let response = raw_call(&mut client, ApiKey::Fetch, version, &body).await;
        let mut at = if version >= 1 { 4 } else { 0 };
        at += 4 + 2 + 6 + 4; // topics, name, partitions
        assert_eq!(
            &response[at + 4..at + 6],
            &[0, 0],
            "Fetch v{version} error code"
        );
        let high_watermark = i64::from_be_bytes(response[at + 6..at + 14].try_into().unwrap());
        assert_eq!(high_watermark, 6);
        let length = i32::from_be_bytes(response[at + 14..at + 18].try_into().unwrap()) as usize;
        let mut set = &response[at + 18..at + 18 + length];
        let magic = if version >= 2 { 1u8 } else { 0 };
        let mut read = Vec::new();
        while !set.is_empty() {
            let offset = i64::from_be_bytes(set[..8].try_into().unwrap());
            let size = i32::from_be_bytes(set[8..12].try_into().unwrap()) as usize;
            let message = &set[12..12 + size];
            assert_eq!(message[4], magic, "Fetch v{version} message format");
            assert_eq!(
                u32::from_be_bytes(message[..4].try_into().unwrap()),
                crc32fast::hash(&message[4..])
            );
            let value_at = 6 + if magic == 1 { 8 } else { 0 } + 4; // key is null
            let value_length =
                i32::from_be_bytes(message[value_at..value_at + 4].try_into().unwrap()) as usize;
            read.push((
                offset,
                message[value_at + 4..value_at + 4 + value_length].to_vec(),
            ));
            set = &set[12 + size..];
        }
        let values: Vec<(i64, Vec<u8>)> = (0..6)
            .map(|offset| {
                (
                    offset,
                    if offset % 2 == 0 {
                        b"first".to_vec()
                    } else {
                        b"second".to_vec()
                    },
                )
            })
            .collect();
        assert_eq!(read, values, "Fetch v{version}");
    }

    // ListOffsets v0: latest (max 1) and earliest.
    for (timestamp, expected) in [(-1i64, 6i64), (-2, 0)] {
        let mut body = Vec::new();
        body.extend_from_slice(&(-1i32).to_be_bytes()); // replica id
        body.extend_from_slice(&1i32.to_be_bytes());
        put_str(&mut body, "legacy");
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes());
        body.extend_from_slice(&timestamp.to_be_bytes());
        body.extend_from_slice(&1i32.to_be_bytes()); // max_num_offsets
        let response = raw_call(&mut client, ApiKey::ListOffsets, 0, &body).await;
        let partition = &response[4 + 2 + 6 + 4..];
        assert_eq!(&partition[4..6], &[0, 0], "ListOffsets v0 error code");
        assert_eq!(&partition[6..10], &[0, 0, 0, 1], "one offset");
        assert_eq!(
            i64::from_be_bytes(partition[10..18].try_into().unwrap()),
            expected,
            "ListOffsets v0 at {timestamp}"
        );
    }
}

mod controller_requests {
    //! LeaderAndIsr, StopReplica and UpdateMetadata as an Apache controller sends
    //! them: fenced by controller epoch, broker epoch and leader epoch, with Kafka's
    //! error codes, and a malformed one costs only its own connection.

    use super::*;
    use keel::kafka::peer::PeerConnection;
    use keel::kafka::protocol::inter_broker::leader_and_isr::{
        LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
    };
    use keel::kafka::protocol::inter_broker::stop_replica::{
        StopReplicaPartitionState, StopReplicaTopicState,
    };
    use keel::kafka::protocol::inter_broker::update_metadata::{
        UpdateMetadataBroker, UpdateMetadataEndpoint,
    };
    use keel::kafka::protocol::inter_broker::{
        InterBrokerRequest, InterBrokerResponse, LeaderAndIsrRequest, LeaderAndIsrResponse,
        StopReplicaRequest, StopReplicaResponse, UpdateMetadataRequest,
    };

    const STALE_CONTROLLER_EPOCH: i16 = 11;
    const FENCED_LEADER_EPOCH: i16 = 74;
    const STALE_BROKER_EPOCH: i16 = 77;

    fn leader_and_isr(
        controller_epoch: i32,
        broker_epoch: i64,
        leader_epoch: i32,
    ) -> InterBrokerRequest {
        let me = KeelBrokerId(0);
        InterBrokerRequest::LeaderAndIsr(LeaderAndIsrRequest {
            controller_id: KeelBrokerId(1),
            controller_epoch,
            broker_epoch,
            topic_states: vec![LeaderAndIsrTopicState {
                topic_name: "fenced".into(),
                topic_id: TopicId(uuid::Uuid::from_u128(77)),
                partition_states: vec![LeaderAndIsrPartitionState {
                    topic_name: "fenced".into(),
                    partition_index: 0,
                    controller_epoch,
                    leader: me,
                    leader_epoch,
                    isr: vec![me],
                    partition_epoch: leader_epoch,
                    replicas: vec![me, KeelBrokerId(1)],
                    is_new: true,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    async fn call(
        peer: &mut PeerConnection,
        version: i16,
        request: InterBrokerRequest,
    ) -> InterBrokerResponse {
        peer.call_inter_broker(version, &request, 10_000)
            .await
            .unwrap()
    }

    fn leader_and_isr_errors(response: InterBrokerResponse) -> (i16, Vec<i16>) {
        let InterBrokerResponse::LeaderAndIsr(LeaderAndIsrResponse {
            error_code, topics, ..
        }) = response
        else {
            panic!("not a LeaderAndIsr response");
        };
        let partitions = topics
            .iter()
            .flat_map(|topic| topic.partition_errors.iter().map(|p| p.error_code))
            .collect();
        (error_code, partitions)
    }

    #[tokio::test]
    async fn controller_requests_are_fenced_by_epochs() {
        let broker = start_broker("").await;
        let mut peer = PeerConnection::connect(
            "127.0.0.1",
            broker.port,
            "1".into(),
            &Default::default(),
            5_000,
        )
        .await
        .unwrap();
        // LeaderAndIsr v7 (what a 3.9 controller sends) makes this broker the leader.
        let first = call(&mut peer, 7, leader_and_isr(2, TEST_BROKER_EPOCH, 5)).await;
        assert_eq!(leader_and_isr_errors(first), (0, vec![0]));
        // The same leader epoch again: ignored, per partition.
        let again = call(&mut peer, 7, leader_and_isr(2, TEST_BROKER_EPOCH, 5)).await;
        assert_eq!(
            leader_and_isr_errors(again),
            (0, vec![STALE_CONTROLLER_EPOCH])
        );
        // An older controller: the whole request refused.
        let stale = call(&mut peer, 7, leader_and_isr(1, TEST_BROKER_EPOCH, 9)).await;
        assert_eq!(leader_and_isr_errors(stale).0, STALE_CONTROLLER_EPOCH);
        // Addressed to an older registration of this broker.
        let old = call(&mut peer, 7, leader_and_isr(2, TEST_BROKER_EPOCH - 1, 9)).await;
        assert_eq!(leader_and_isr_errors(old).0, STALE_BROKER_EPOCH);
        // Neither changed anything: epoch 6 is still news; -1 skips the broker epoch.
        let next = call(&mut peer, 7, leader_and_isr(2, -1, 6)).await;
        assert_eq!(leader_and_isr_errors(next), (0, vec![0]));

        // StopReplica below the partition's leader epoch: FENCED_LEADER_EPOCH.
        let stop = |controller_epoch: i32, leader_epoch: i32| {
            InterBrokerRequest::StopReplica(StopReplicaRequest {
                controller_id: KeelBrokerId(1),
                controller_epoch,
                broker_epoch: TEST_BROKER_EPOCH,
                topic_states: vec![StopReplicaTopicState {
                    topic_name: "fenced".into(),
                    partition_states: vec![StopReplicaPartitionState {
                        partition_index: 0,
                        leader_epoch,
                        delete_partition: false,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            })
        };
        let InterBrokerResponse::StopReplica(StopReplicaResponse {
            error_code,
            partition_errors,
            ..
        }) = call(&mut peer, 4, stop(2, 4)).await
        else {
            panic!("not a StopReplica response");
        };
        assert_eq!(
            (error_code, partition_errors[0].error_code),
            (0, FENCED_LEADER_EPOCH)
        );
        let InterBrokerResponse::StopReplica(StopReplicaResponse { error_code, .. }) =
            call(&mut peer, 4, stop(1, 6)).await
        else {
            panic!("not a StopReplica response");
        };
        assert_eq!(error_code, STALE_CONTROLLER_EPOCH);

        // UpdateMetadata from an older controller.
        let update = |controller_epoch: i32| {
            InterBrokerRequest::UpdateMetadata(UpdateMetadataRequest {
                controller_id: KeelBrokerId(1),
                controller_epoch,
                broker_epoch: TEST_BROKER_EPOCH,
                ..Default::default()
            })
        };
        let InterBrokerResponse::UpdateMetadata(response) = call(&mut peer, 8, update(1)).await
        else {
            panic!("not an UpdateMetadata response");
        };
        assert_eq!(response.error_code, STALE_CONTROLLER_EPOCH);
        let InterBrokerResponse::UpdateMetadata(response) = call(&mut peer, 8, update(2)).await
        else {
            panic!("not an UpdateMetadata response");
        };
        assert_eq!(response.error_code, 0);

        // A truncated LeaderAndIsr closes its own connection only.
        let mut raw = TcpStream::connect(("127.0.0.1", broker.port))
            .await
            .unwrap();
        let garbage: [u8; 14] = [0, 0, 0, 10, 0, 4, 0, 7, 0, 0, 0, 1, 0, 1];
        raw.write_all(&garbage).await.unwrap();
        let mut byte = [0u8; 1];
        let closed = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut byte)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "the bad connection is closed"
        );
        let again = call(&mut peer, 7, leader_and_isr(2, TEST_BROKER_EPOCH, 6)).await;
        assert_eq!(
            leader_and_isr_errors(again),
            (0, vec![STALE_CONTROLLER_EPOCH])
        );
    }

    /// A reassignment moved this broker's replica away: StopReplica(delete) removes
    /// the log although the topic lives on, a metadata picture that still lists this
    /// broker (older than the move) does not bring it back, and a LeaderAndIsr that
    /// names this broker again (a later reassignment back) creates it anew.
    #[tokio::test]
    async fn a_replica_moved_away_is_deleted_and_only_a_leader_and_isr_revives_it() {
        let broker = start_broker("").await;
        let log_dir = broker._dir.path().join("moved-0");
        let publish = |leader_epoch: i32| {
            let mut current = (*broker.metadata.current()).clone();
            let state = PartitionState {
                replicas: vec![KeelBrokerId(1), KeelBrokerId(0)],
                leader: Some(KeelBrokerId(1)),
                leader_epoch,
                isr: vec![KeelBrokerId(1), KeelBrokerId(0)],
                zk_version: leader_epoch,
            };
            current.topics.insert(
                "moved".into(),
                TopicMetadata {
                    name: "moved".into(),
                    id: TopicId(uuid::Uuid::from_u128(78)),
                    partitions: [(0, state)].into_iter().collect(),
                    configs: BTreeMap::new(),
                    marked_for_deletion: false,
                },
            );
            broker.metadata.sender.send_replace(Arc::new(current));
        };
        publish(0);
        let mut waited_ms = 0;
        while !log_dir.exists() && waited_ms < 5_000 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited_ms += 20;
        }
        assert!(log_dir.exists(), "the metadata picture opened moved-0");

        let mut peer = PeerConnection::connect(
            "127.0.0.1",
            broker.port,
            "1".into(),
            &Default::default(),
            5_000,
        )
        .await
        .unwrap();
        let stop = |delete: bool| {
            InterBrokerRequest::StopReplica(StopReplicaRequest {
                controller_id: KeelBrokerId(1),
                controller_epoch: 2,
                broker_epoch: TEST_BROKER_EPOCH,
                topic_states: vec![StopReplicaTopicState {
                    topic_name: "moved".into(),
                    partition_states: vec![StopReplicaPartitionState {
                        partition_index: 0,
                        leader_epoch: 2,
                        delete_partition: delete,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            })
        };
        for delete in [false, true] {
            let InterBrokerResponse::StopReplica(StopReplicaResponse {
                error_code,
                partition_errors,
                ..
            }) = call(&mut peer, 4, stop(delete)).await
            else {
                panic!("not a StopReplica response");
            };
            assert_eq!((error_code, partition_errors[0].error_code), (0, 0));
        }
        assert!(!log_dir.exists(), "StopReplica(delete) removed moved-0");

        // A picture from before the move (this broker still listed) changes again.
        publish(1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!log_dir.exists(), "an older picture reopened moved-0");

        // Moved back: a LeaderAndIsr naming this broker (as leader) creates it.
        let me = KeelBrokerId(0);
        let back = InterBrokerRequest::LeaderAndIsr(LeaderAndIsrRequest {
            controller_id: KeelBrokerId(1),
            controller_epoch: 2,
            broker_epoch: TEST_BROKER_EPOCH,
            topic_states: vec![LeaderAndIsrTopicState {
                topic_name: "moved".into(),
                topic_id: TopicId(uuid::Uuid::from_u128(78)),
                partition_states: vec![LeaderAndIsrPartitionState {
                    topic_name: "moved".into(),
                    partition_index: 0,
                    controller_epoch: 2,
                    leader: me,
                    leader_epoch: 5,
                    isr: vec![me],
                    partition_epoch: 5,
                    replicas: vec![me, KeelBrokerId(1)],
                    adding_replicas: vec![me],
                    is_new: true,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        let response = call(&mut peer, 7, back).await;
        assert_eq!(leader_and_isr_errors(response), (0, vec![0]));
        assert!(log_dir.exists(), "LeaderAndIsr created moved-0 again");
    }

    /// xorshift64*: the random requests below, reproducible from the seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<T: Clone>(&mut self, choices: &[T]) -> T {
            choices[self.below(choices.len())].clone()
        }
        fn int(&mut self) -> i32 {
            let random = self.next() as i32;
            self.pick(&[0, 1, 2, 5, -1, -2, i32::MAX, i32::MIN, random])
        }
        fn partition(&mut self) -> i32 {
            let random = self.int();
            self.pick(&[0, 1, -1, random])
        }
        fn ids(&mut self) -> Vec<KeelBrokerId> {
            (0..self.below(5))
                .map(|_| KeelBrokerId(self.pick(&[0, 0, 1, 2, -1, 99, i32::MAX])))
                .collect()
        }
        /// Mostly with this broker (0) first, so that most states get applied.
        fn replicas(&mut self) -> Vec<KeelBrokerId> {
            let mut replicas = self.ids();
            if self.below(4) != 0 {
                replicas.insert(0, KeelBrokerId(0));
            }
            replicas
        }
    }

    /// Seeded random LeaderAndIsr, StopReplica and UpdateMetadata requests that get
    /// past the epoch fences (any topic name, illegal ones included, any partition,
    /// leader, ISR, replica list and epoch, every version the codec writes): each is
    /// answered on its connection, no log directory appears outside the log dir, and
    /// the broker still serves a plain LeaderAndIsr and a client afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn random_controller_requests_are_answered_and_escape_nothing() {
        let broker = start_broker("").await;
        let marker = format!("keel-escape-{}", std::process::id());
        let long_name = "t".repeat(300);
        let topics = [
            "fuzz".to_string(),
            "fuzz-b".to_string(),
            String::new(),
            ".".to_string(),
            "..".to_string(),
            format!("../{marker}"),
            "a/b".to_string(),
            long_name,
            "__consumer_offsets".to_string(),
        ];
        let mut rng = Rng(0x5EED_CAFE_F00D_0001);
        let mut peer = PeerConnection::connect(
            "127.0.0.1",
            broker.port,
            "1".into(),
            &Default::default(),
            5_000,
        )
        .await
        .unwrap();
        let mut sent = 0;
        for _ in 0..400 {
            let controller_epoch = rng.pick(&[2, 2, 2, 1, 0, -1]);
            let broker_epoch = rng.pick(&[TEST_BROKER_EPOCH, TEST_BROKER_EPOCH, -1, 7]);
            let (request, version) = match rng.below(5) {
                0..=2 => {
                    let states: Vec<LeaderAndIsrPartitionState> = (0..rng.below(4))
                        .map(|_| LeaderAndIsrPartitionState {
                            topic_name: rng.pick(&topics),
                            partition_index: rng.partition(),
                            controller_epoch,
                            leader: KeelBrokerId(rng.pick(&[0, 1, -1, 99])),
                            leader_epoch: rng.int(),
                            isr: rng.ids(),
                            partition_epoch: rng.int(),
                            replicas: rng.replicas(),
                            adding_replicas: rng.ids(),
                            removing_replicas: rng.ids(),
                            is_new: rng.below(2) == 0,
                            leader_recovery_state: rng.pick(&[0, 1, -1]),
                            ..Default::default()
                        })
                        .collect();
                    let version = rng.pick(&[0i16, 1, 2, 4, 5, 6, 7, 7, 7]);
                    let mut body = LeaderAndIsrRequest {
                        controller_id: KeelBrokerId(1),
                        controller_epoch,
                        broker_epoch,
                        ..Default::default()
                    };
                    if version < 2 {
                        body.ungrouped_partition_states = states;
                    } else {
                        for state in states {
                            body.topic_states.push(LeaderAndIsrTopicState {
                                topic_name: state.topic_name.clone(),
                                topic_id: TopicId(uuid::Uuid::from_u128(rng.below(3) as u128)),
                                partition_states: vec![state],
                                ..Default::default()
                            });
                        }
                    }
                    (InterBrokerRequest::LeaderAndIsr(body), version)
                }
                3 => {
                    let body = StopReplicaRequest {
                        controller_id: KeelBrokerId(1),
                        controller_epoch,
                        broker_epoch,
                        topic_states: (0..rng.below(4))
                            .map(|_| StopReplicaTopicState {
                                topic_name: rng.pick(&topics),
                                partition_states: vec![StopReplicaPartitionState {
                                    partition_index: rng.partition(),
                                    leader_epoch: rng.int(),
                                    delete_partition: rng.below(2) == 0,
                                    ..Default::default()
                                }],
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    };
                    (InterBrokerRequest::StopReplica(body), rng.pick(&[3i16, 4]))
                }
                _ => {
                    let live_brokers = (0..rng.below(4))
                        .map(|_| UpdateMetadataBroker {
                            id: KeelBrokerId(rng.pick(&[0, 1, 2, -1, 99])),
                            endpoints: vec![UpdateMetadataEndpoint {
                                port: rng.pick(&[9092, 0, -1, 70_000, i32::MIN]),
                                host: rng.pick(&["127.0.0.1", "", "no-such-host.invalid"]).into(),
                                listener: rng.pick(&["PLAINTEXT", "", "X"]).into(),
                                security_protocol: rng.pick(&[0i16, 1, -1, 99]),
                                ..Default::default()
                            }],
                            ..Default::default()
                        })
                        .collect();
                    let body = UpdateMetadataRequest {
                        controller_id: KeelBrokerId(1),
                        controller_epoch,
                        broker_epoch,
                        live_brokers,
                        ..Default::default()
                    };
                    (
                        InterBrokerRequest::UpdateMetadata(body),
                        rng.pick(&[5i16, 6, 7, 8]),
                    )
                }
            };
            let mut encoded = BytesMut::new();
            if request.encode(&mut encoded, version).is_err() {
                continue; // a combination this version cannot carry
            }
            call(&mut peer, version, request).await;
            sent += 1;
        }
        assert!(
            sent > 200,
            "only {sent} of the random requests could be encoded"
        );
        let parent = broker._dir.path().parent().unwrap();
        let escaped: Vec<_> = std::fs::read_dir(parent)
            .unwrap()
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(&marker))
            .collect();
        assert!(
            escaped.is_empty(),
            "log dirs outside the log dir: {escaped:?}"
        );
        let legal = call(&mut peer, 7, leader_and_isr(2, TEST_BROKER_EPOCH, 1_000)).await;
        assert_eq!(leader_and_isr_errors(legal), (0, vec![0]));
        let mut client = Client::connect(broker.port).await;
        let versions: ApiVersionsResponse = client
            .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
            .await;
        assert_eq!(versions.error_code, 0);
    }
}

/// An OffsetCommit whose append fails is answered with Kafka's mapped error and
/// leaves nothing for OffsetFetch to see; FindCoordinator names the leader of the
/// group's offsets partition.
#[tokio::test]
async fn failed_offset_commit_is_refused_and_not_visible() {
    // Batches over 2000 bytes are refused by the log; offset metadata up to
    // 100000 characters passes the coordinator's own check.
    let broker = start_broker(
        "offsets.topic.replication.factor=1\noffsets.topic.num.partitions=3\nmessage.max.bytes=2000\noffset.metadata.max.bytes=100000\n",
    )
    .await;
    let mut client = Client::connect(broker.port).await;
    // Kafka answers commits for topics it does not know before the group sees them.
    metadata_until_leader(&mut client, "t").await;

    let mut find = FindCoordinatorRequest::default();
    find.key = StrBytes::from_static_str("g");
    let found: FindCoordinatorResponse = client.call(ApiKey::FindCoordinator, 3, &find).await;
    assert_eq!(found.error_code, 0);
    assert_eq!(found.node_id.0, 0);
    assert_eq!(found.port, broker.port as i32);

    let commit = |metadata: String| {
        let mut partition = offset_commit_request::OffsetCommitRequestPartition::default();
        partition.partition_index = 0;
        partition.committed_offset = 5;
        partition.committed_metadata = Some(StrBytes::from_string(metadata));
        let mut topic = offset_commit_request::OffsetCommitRequestTopic::default();
        topic.name = topic_name("t");
        topic.partitions = vec![partition];
        let mut request = OffsetCommitRequest::default();
        request.group_id = StrBytes::from_static_str("g").into();
        request.generation_id_or_member_epoch = -1;
        request.topics = vec![topic];
        request
    };
    let fetch_offset = |response: &OffsetFetchResponse| {
        let group = &response.groups[0];
        assert_eq!(group.error_code, 0);
        group.topics[0].partitions[0].committed_offset
    };
    let mut fetch = OffsetFetchRequest::default();
    let mut group = offset_fetch_request::OffsetFetchRequestGroup::default();
    group.group_id = StrBytes::from_static_str("g").into();
    let mut topic = offset_fetch_request::OffsetFetchRequestTopics::default();
    topic.name = topic_name("t");
    topic.partition_indexes = vec![0];
    group.topics = Some(vec![topic]);
    fetch.groups = vec![group];

    let committed: OffsetCommitResponse = client
        .call(ApiKey::OffsetCommit, 8, &commit("small".into()))
        .await;
    assert_eq!(committed.topics[0].partitions[0].error_code, 0);
    let fetched: OffsetFetchResponse = client.call(ApiKey::OffsetFetch, 8, &fetch).await;
    assert_eq!(fetch_offset(&fetched), 5);

    // A record too big for the log: MESSAGE_TOO_LARGE from the append, answered
    // INVALID_COMMIT_OFFSET_SIZE as Kafka's GroupMetadataManager maps it.
    let mut too_big = commit("x".repeat(5_000));
    too_big.topics[0].partitions[0].committed_offset = 77;
    let refused: OffsetCommitResponse = client.call(ApiKey::OffsetCommit, 8, &too_big).await;
    assert_eq!(
        refused.topics[0].partitions[0].error_code,
        kafka_protocol::ResponseError::InvalidCommitOffsetSize.code()
    );
    let fetched: OffsetFetchResponse = client.call(ApiKey::OffsetFetch, 8, &fetch).await;
    assert_eq!(
        fetch_offset(&fetched),
        5,
        "the refused commit became visible"
    );
    assert_eq!(
        fetched.groups[0].topics[0].partitions[0]
            .metadata
            .as_deref(),
        Some("small")
    );
}

/// When leadership of a group's offsets partition moves to another broker,
/// FindCoordinator names that broker and this one answers NOT_COORDINATOR.
#[tokio::test]
async fn group_requests_follow_offsets_partition_leadership() {
    let broker =
        start_broker("offsets.topic.replication.factor=1\noffsets.topic.num.partitions=3\n").await;
    let mut client = Client::connect(broker.port).await;
    let mut find = FindCoordinatorRequest::default();
    find.key_type = 0;
    find.coordinator_keys = vec![StrBytes::from_static_str("g")];
    let found: FindCoordinatorResponse = client.call(ApiKey::FindCoordinator, 4, &find).await;
    assert_eq!(found.coordinators[0].error_code, 0);
    assert_eq!(found.coordinators[0].node_id.0, 0);

    let mut heartbeat = HeartbeatRequest::default();
    heartbeat.group_id = StrBytes::from_static_str("g").into();
    heartbeat.member_id = StrBytes::from_static_str("nobody");
    let answer: HeartbeatResponse = client.call(ApiKey::Heartbeat, 4, &heartbeat).await;
    assert_eq!(
        answer.error_code,
        kafka_protocol::ResponseError::UnknownMemberId.code()
    );

    // Broker 1 joins and takes over the group's partition ("g" hashes to 103 % 3 = 1).
    let mut moved = (*broker.metadata.current()).clone();
    moved.brokers.insert(
        KeelBrokerId(1),
        BrokerRegistration {
            id: KeelBrokerId(1),
            endpoints: vec![Endpoint {
                listener: "PLAINTEXT".into(),
                host: "127.0.0.1".into(),
                port: 1,
            }],
            rack: None,
        },
    );
    let state = moved
        .topics
        .get_mut("__consumer_offsets")
        .unwrap()
        .partitions
        .get_mut(&1)
        .unwrap();
    state.replicas = vec![KeelBrokerId(1), KeelBrokerId(0)];
    state.leader = Some(KeelBrokerId(1));
    state.leader_epoch += 1;
    state.isr = vec![KeelBrokerId(1), KeelBrokerId(0)];
    state.zk_version += 1;
    broker.metadata.sender.send_replace(Arc::new(moved));

    let found: FindCoordinatorResponse = client.call(ApiKey::FindCoordinator, 4, &find).await;
    assert_eq!(found.coordinators[0].node_id.0, 1);
    assert_eq!(found.coordinators[0].port, 1);
    let mut answer = HeartbeatResponse::default();
    for _ in 0..50 {
        answer = client.call(ApiKey::Heartbeat, 4, &heartbeat).await;
        if answer.error_code == kafka_protocol::ResponseError::NotCoordinator.code() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        answer.error_code,
        kafka_protocol::ResponseError::NotCoordinator.code()
    );
}

/// The admin requests of 0.10-1.x AdminClients and tools, at the versions Kafka 3.9
/// still serves and Kafka 4 (so the crate) no longer writes: CreateTopics v0 and v1,
/// DescribeConfigs v0, DescribeLogDirs v0, DeleteTopics v0, in their own layouts.
#[tokio::test]
async fn legacy_admin_versions() {
    let broker = start_broker("").await;
    let mut client = Client::connect(broker.port).await;
    let read_i16 = |bytes: &[u8], at: usize| i16::from_be_bytes([bytes[at], bytes[at + 1]]);
    let read_i32 =
        |bytes: &[u8], at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    for (version, topic) in [(0i16, "legacy-admin-0"), (1, "legacy-admin-1")] {
        // topics[1]: name, 1 partition, RF 1, no assignments, configs[1]; timeout;
        // v1: validateOnly false
        let mut body = Vec::new();
        body.extend_from_slice(&1i32.to_be_bytes());
        put_str(&mut body, topic);
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&1i16.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes());
        body.extend_from_slice(&1i32.to_be_bytes());
        put_str(&mut body, "retention.ms");
        put_str(&mut body, "3600000");
        body.extend_from_slice(&30_000i32.to_be_bytes());
        if version == 1 {
            body.push(0);
        }
        let response = raw_call(&mut client, ApiKey::CreateTopics, version, &body).await;
        // topics[1]: name, error code (v1: then a nullable error message)
        assert_eq!(read_i32(&response, 0), 1, "CreateTopics v{version}");
        let name_len = read_i16(&response, 4) as usize;
        assert_eq!(&response[6..6 + name_len], topic.as_bytes());
        assert_eq!(
            read_i16(&response, 6 + name_len),
            0,
            "CreateTopics v{version} error"
        );
        let rest = response.len() - (8 + name_len);
        assert_eq!(
            rest,
            if version == 0 { 0 } else { 2 },
            "CreateTopics v{version} layout"
        );
    }
    metadata_until_leader(&mut client, "legacy-admin-0").await;

    // DescribeConfigs v0: resources[1]: type 2 (topic), name, keys null.
    let mut body = Vec::new();
    body.extend_from_slice(&1i32.to_be_bytes());
    body.push(2);
    put_str(&mut body, "legacy-admin-0");
    body.extend_from_slice(&(-1i32).to_be_bytes());
    let response = raw_call(&mut client, ApiKey::DescribeConfigs, 0, &body).await;
    // throttle, results[1]: error, message ("": Apache's default), type, name, configs
    assert_eq!(read_i32(&response, 4), 1);
    assert_eq!(read_i16(&response, 8), 0, "DescribeConfigs v0 error");
    assert_eq!(read_i16(&response, 10), 0, "empty error message");
    assert_eq!(response[12], 2);
    let name_len = read_i16(&response, 13) as usize;
    let mut at = 15 + name_len;
    let configs = read_i32(&response, at);
    at += 4;
    let mut found = None;
    for _ in 0..configs {
        let name_len = read_i16(&response, at) as usize;
        let name = std::str::from_utf8(&response[at + 2..at + 2 + name_len])
            .unwrap()
            .to_string();
        at += 2 + name_len;
        let value_len = read_i16(&response, at);
        let value = (value_len >= 0).then(|| {
            std::str::from_utf8(&response[at + 2..at + 2 + value_len as usize])
                .unwrap()
                .to_string()
        });
        at += 2 + value_len.max(0) as usize;
        let (read_only, is_default, is_sensitive) =
            (response[at], response[at + 1], response[at + 2]);
        at += 3;
        assert!(
            read_only <= 1 && is_default <= 1 && is_sensitive <= 1,
            "{name}: bools"
        );
        if name == "retention.ms" {
            found = Some((value, is_default));
        }
        // Apache 3.9 never sets IsDefault (v1+ carry ConfigSource instead).
        assert_eq!(is_default, 0, "{name}: IsDefault as Apache sends it");
    }
    assert_eq!(at, response.len(), "DescribeConfigs v0 layout");
    assert_eq!(found, Some((Some("3600000".to_string()), 0)));

    // DescribeLogDirs v0: topics null (every partition).
    let response = raw_call(
        &mut client,
        ApiKey::DescribeLogDirs,
        0,
        &(-1i32).to_be_bytes(),
    )
    .await;
    // throttle, results[n]: error, log dir, topics[...]
    assert!(
        read_i32(&response, 4) >= 1,
        "DescribeLogDirs v0 lists the log dir"
    );
    assert_eq!(read_i16(&response, 8), 0);

    // DeleteTopics v0: topic names[1], timeout. (The in-memory store deletes
    // nothing: an unknown topic, whose answer has the same layout.)
    let mut body = Vec::new();
    body.extend_from_slice(&1i32.to_be_bytes());
    put_str(&mut body, "legacy-admin-none");
    body.extend_from_slice(&1_000i32.to_be_bytes());
    let response = raw_call(&mut client, ApiKey::DeleteTopics, 0, &body).await;
    // responses[1]: name, error code; no throttle time
    assert_eq!(read_i32(&response, 0), 1);
    let name_len = read_i16(&response, 4) as usize;
    assert_eq!(&response[6..6 + name_len], b"legacy-admin-none");
    // the in-memory store's delete succeeds whatever the name (ZooKeeper's says
    // UNKNOWN_TOPIC_OR_PARTITION)
    assert!(matches!(read_i16(&response, 6 + name_len), 0 | 3));
    assert_eq!(response.len(), 8 + name_len, "DeleteTopics v0 layout");
}

/// `max.connections.per.ip`: a connection over the limit is closed at once while the
/// others keep being served; `connections.max.idle.ms` closes a silent connection.
#[tokio::test]
async fn connection_limits_per_address_and_idle_connections_close() {
    use tokio::io::AsyncReadExt;
    let broker = start_broker("max.connections.per.ip=2\nconnections.max.idle.ms=500\n").await;
    let mut first = Client::connect(broker.port).await;
    let _second = Client::connect(broker.port).await;
    let mut third = TcpStream::connect(("127.0.0.1", broker.port))
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(10), third.read(&mut byte))
        .await
        .expect("the third connection is closed, not left open");
    assert!(matches!(closed, Ok(0) | Err(_)));
    let _: ApiVersionsResponse = first
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    // Silent past connections.max.idle.ms: closed by the broker.
    let closed = tokio::time::timeout(Duration::from_secs(10), first.stream.read(&mut byte))
        .await
        .expect("an idle connection is closed");
    assert!(matches!(closed, Ok(0) | Err(_)));
    // Its slot is free again.
    let mut again = Client::connect(broker.port).await;
    let _: ApiVersionsResponse = again
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
}
