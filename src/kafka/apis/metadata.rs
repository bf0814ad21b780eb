//! Metadata: brokers, controller, cluster id and topic partitions, with topics
//! auto-created on first mention when `auto.create.topics.enable` (Kafka's default,
//! which Filebeat relies on).

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::ResponseError;

use super::{groups, str_bytes};
use crate::kafka::broker::Broker;
use crate::kafka::metadata::{
    is_internal_topic, validate_topic_name, ClusterMetadata, NewTopic, TopicId, TopicMetadata,
};
use crate::kafka::security::acl::{AclOperation, ResourceType, CLUSTER_NAME};

pub async fn handle(
    broker: &Arc<Broker>,
    version: i16,
    request: MetadataRequest,
) -> MetadataResponse {
    let metadata = broker.metadata.current();
    let allow_auto_create = broker.config.auto_create_topics_enable
        && (version < 4 || request.allow_auto_topic_creation);
    let mut response = MetadataResponse::default();
    response.brokers = brokers(broker, &metadata);
    response.cluster_id = Some(str_bytes(&metadata.cluster_id));
    response.controller_id = metadata.controller_id.map_or(-1, |id| id.0).into();

    // v0 asks for every topic with an empty list; v1+ with null.
    // Which authorized-operation fields were asked for; the topics move out below.
    let wanted_operations = (
        request.include_cluster_authorized_operations,
        request.include_topic_authorized_operations,
    );
    let requested = match request.topics {
        None => None,
        Some(topics) if topics.is_empty() && version == 0 => None,
        Some(topics) => Some(topics),
    };
    let Some(requested) = requested else {
        // Topics the requester may not describe are left out, unlogged.
        response.topics = metadata
            .topics
            .values()
            .filter(|topic| !topic.marked_for_deletion)
            .filter(|topic| {
                broker.authorize_quietly(AclOperation::Describe, ResourceType::Topic, &topic.name)
            })
            .map(|topic| topic_response(&metadata, topic))
            .collect();
        authorized_operations(
            broker,
            version,
            wanted_operations,
            &mut response.topics,
            &mut response.cluster_authorized_operations,
        );
        return response;
    };
    // Kafka answers the topics it refuses after the others: first those it may
    // not create, then those it may not describe (whose existence is not told).
    let mut refused_create = Vec::new();
    let mut refused_describe = Vec::new();
    for wanted in requested {
        let name = match (&wanted.name, wanted.topic_id.is_nil()) {
            (Some(name), _) => name.as_str().to_string(),
            (None, false) => match metadata.topic_by_id(TopicId(wanted.topic_id)) {
                Some(topic) => topic.name.clone(),
                None => {
                    let mut unknown = MetadataResponseTopic::default();
                    unknown.name = None;
                    unknown.topic_id = wanted.topic_id;
                    unknown.error_code = ResponseError::UnknownTopicId.code();
                    response.topics.push(unknown);
                    continue;
                }
            },
            (None, true) => String::new(),
        };
        if !broker.authorize(AclOperation::Describe, ResourceType::Topic, &name) {
            let mut refused = MetadataResponseTopic::default();
            if wanted.name.is_some() {
                refused.name = Some(TopicName(str_bytes(&name)));
            } else {
                refused.topic_id = wanted.topic_id;
            }
            refused.error_code = ResponseError::TopicAuthorizationFailed.code();
            refused.topic_authorized_operations = i32::MIN;
            refused_describe.push(refused);
            continue;
        }
        if let Some(topic) = metadata
            .topics
            .get(&name)
            .filter(|topic| !topic.marked_for_deletion)
        {
            response.topics.push(topic_response(&metadata, topic));
            continue;
        }
        let may_create = || {
            broker.authorize_quietly(AclOperation::Create, ResourceType::Cluster, CLUSTER_NAME)
                || broker.authorize(AclOperation::Create, ResourceType::Topic, &name)
        };
        if allow_auto_create && !may_create() {
            let mut refused = MetadataResponseTopic::default();
            refused.name = Some(TopicName(str_bytes(&name)));
            refused.error_code = ResponseError::TopicAuthorizationFailed.code();
            refused.is_internal = is_internal_topic(&name);
            refused.topic_authorized_operations = i32::MIN;
            refused_create.push(refused);
            continue;
        }
        let error = if validate_topic_name(&name).is_err() {
            ResponseError::InvalidTopicException
        } else if allow_auto_create && name == groups::OFFSETS_TOPIC {
            // Kafka's AutoTopicCreationManager creates the offsets topic with its own
            // settings (Burrow asks for it before any group has committed).
            auto_create(broker, groups::offsets_topic_spec(broker)).await
        } else if allow_auto_create && !is_internal_topic(&name) {
            let topic = NewTopic {
                name: name.clone(),
                partitions: -1,
                replication_factor: -1,
                assignments: Default::default(),
                configs: Default::default(),
            };
            auto_create(broker, topic).await
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        let mut topic = MetadataResponseTopic::default();
        topic.name = Some(TopicName(str_bytes(&name)));
        topic.error_code = error.code();
        topic.is_internal = is_internal_topic(&name);
        response.topics.push(topic);
    }
    authorized_operations(
        broker,
        version,
        wanted_operations,
        &mut response.topics,
        &mut response.cluster_authorized_operations,
    );
    response.topics.extend(refused_create);
    response.topics.extend(refused_describe);
    response
}

/// As KafkaApis.handleTopicMetadataRequest (v8+; the cluster's only up to v10):
/// the operations the requester may perform (all a resource supports without an
/// authorizer); the cluster's only for a requester that may describe it.
fn authorized_operations(
    broker: &Broker,
    version: i16,
    (include_cluster, include_topics): (bool, bool),
    topics: &mut [MetadataResponseTopic],
    cluster: &mut i32,
) {
    if version < 8 {
        return;
    }
    if version <= 10 && include_cluster {
        *cluster = if broker.authorize(AclOperation::Describe, ResourceType::Cluster, CLUSTER_NAME)
        {
            broker.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
        } else {
            0
        };
    }
    if include_topics {
        for topic in topics {
            if topic.error_code != ResponseError::UnknownTopicId.code() {
                let name = topic.name.as_ref().map_or("", |name| name.as_str());
                topic.topic_authorized_operations =
                    broker.authorized_operations(ResourceType::Topic, name);
            }
        }
    }
}

/// Creates a topic a Metadata request named; the client sees LEADER_NOT_AVAILABLE
/// and retries, as with Kafka. (`__transaction_state` is not created: keel has no
/// transaction coordinator to use it.)
async fn auto_create(broker: &Arc<Broker>, topic: NewTopic) -> ResponseError {
    let name = topic.name.clone();
    let name = name.as_str();
    match broker.metadata.create_topic(topic, false).await {
        Ok(()) => {
            tracing::info!(topic = name, "auto-created topic");
            ResponseError::LeaderNotAvailable
        }
        Err(error) if error.code == ResponseError::TopicAlreadyExists.code() => {
            ResponseError::LeaderNotAvailable
        }
        Err(error) => {
            if let Some(occurrences) = crate::warn_limit::occurrence("kafka-auto-create", name) {
                tracing::warn!(topic = name, %error, occurrences, "auto-creating a topic failed");
            }
            ResponseError::try_from_code(error.code).unwrap_or(ResponseError::UnknownServerError)
        }
    }
}

fn brokers(broker: &Broker, metadata: &ClusterMetadata) -> Vec<MetadataResponseBroker> {
    metadata
        .brokers
        .values()
        .filter_map(|registration| {
            let endpoint = broker.client_endpoint(registration)?;
            let mut described = MetadataResponseBroker::default();
            described.node_id = registration.id.0.into();
            described.host = str_bytes(&endpoint.host);
            described.port = endpoint.port as i32;
            described.rack = registration.rack.as_deref().map(str_bytes);
            Some(described)
        })
        .collect()
}

fn topic_response(metadata: &ClusterMetadata, topic: &TopicMetadata) -> MetadataResponseTopic {
    let mut response = MetadataResponseTopic::default();
    response.name = Some(TopicName(str_bytes(&topic.name)));
    response.topic_id = topic.id.0;
    response.is_internal = is_internal_topic(&topic.name);
    response.partitions = topic
        .partitions
        .iter()
        .map(|(index, state)| {
            let mut partition = MetadataResponsePartition::default();
            partition.partition_index = *index;
            partition.leader_id = state.leader.map_or(-1, |id| id.0).into();
            partition.leader_epoch = state.leader_epoch;
            partition.replica_nodes = state.replicas.iter().map(|id| id.0.into()).collect();
            partition.isr_nodes = state.isr.iter().map(|id| id.0.into()).collect();
            partition.offline_replicas = state
                .replicas
                .iter()
                .filter(|id| !metadata.brokers.contains_key(id))
                .map(|id| id.0.into())
                .collect();
            if state.leader.is_none() {
                partition.error_code = ResponseError::LeaderNotAvailable.code();
            }
            partition
        })
        .collect();
    response
}
