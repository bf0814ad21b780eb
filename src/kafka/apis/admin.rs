//! Topic administration and cluster description: CreateTopics, DeleteTopics,
//! CreatePartitions, DescribeCluster, DescribeTopicPartitions, DeleteRecords,
//! DescribeLogDirs.
//!
//! Changes go through the MetadataStore (ZooKeeper, as AdminZkClient writes them);
//! like Kafka, the broker then waits, up to the request's timeout, until the
//! metadata shows the result (leaders elected, topic gone).

use crate::kafka::security::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::describe_topic_partitions_response::{
    DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::str_bytes;
use crate::kafka::broker::Broker;
use crate::kafka::config::BrokerId as KeelBrokerId;
use crate::kafka::log::checkpoint::TopicPartition;
use crate::kafka::metadata::{
    is_internal_topic, validate_topic_name, ClusterMetadata, MetadataError, NewTopic, TopicId,
};
use crate::kafka::topic_config;

fn error_of(error: &MetadataError) -> ResponseError {
    ResponseError::try_from_code(error.code).unwrap_or(ResponseError::UnknownServerError)
}

fn all_partitions_led(metadata: &ClusterMetadata, name: &str) -> bool {
    metadata.topics.get(name).is_some_and(|topic| {
        !topic.partitions.is_empty() && topic.partitions.values().all(|p| p.leader.is_some())
    })
}

pub async fn create_topics(
    broker: &Arc<Broker>,
    version: i16,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut response = CreateTopicsResponse::default();
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<String> = request
        .topics
        .iter()
        .filter(|topic| !seen.insert(topic.name.as_str().to_string()))
        .map(|topic| topic.name.as_str().to_string())
        .collect();
    let mut created = Vec::new();
    // CREATE on the cluster covers every topic; else CREATE on each.
    let cluster_create =
        broker.authorize_quietly(AclOperation::Create, ResourceType::Cluster, CLUSTER_NAME);
    for topic in request.topics {
        let name = topic.name.as_str().to_string();
        let mut result = CreatableTopicResult::default();
        result.name = topic.name.clone();
        // Null unless there is an error, as Apache answers (the crate's default is "").
        result.error_message = None;
        let outcome: Result<(), (ResponseError, String)> = async {
            if duplicates.contains(&name) {
                return Err((ResponseError::InvalidRequest, format!("Create topics request from client contains multiple entries for the following topics: {name}")));
            }
            if !cluster_create && !broker.authorize(AclOperation::Create, ResourceType::Topic, &name) {
                return Err((ResponseError::TopicAuthorizationFailed, "Authorization failed.".to_string()));
            }
            validate_topic_name(&name).map_err(|message| (ResponseError::InvalidTopicException, message))?;
            let mut configs = BTreeMap::new();
            for config in &topic.configs {
                let key = config.name.as_str().to_string();
                let value = config.value.as_ref().map(|value| value.as_str().to_string()).unwrap_or_default();
                topic_config::validate(&key, &value).map_err(|message| (ResponseError::InvalidConfig, message))?;
                configs.insert(key, value);
            }
            if !topic.assignments.is_empty() && (topic.num_partitions != -1 || topic.replication_factor != -1) {
                return Err((ResponseError::InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".to_string()));
            }
            let new_topic = NewTopic {
                name: name.clone(),
                partitions: topic.num_partitions,
                replication_factor: topic.replication_factor,
                assignments: topic
                    .assignments
                    .iter()
                    .map(|assignment| {
                        (assignment.partition_index, assignment.broker_ids.iter().map(|id| KeelBrokerId(id.0)).collect())
                    })
                    .collect(),
                configs,
            };
            broker
                .metadata
                .create_topic(new_topic, request.validate_only)
                .await
                .map_err(|error| (error_of(&error), error.message))
        }
        .await;
        match outcome {
            Ok(()) => {
                if !request.validate_only {
                    created.push(name.clone());
                }
            }
            Err((error, message)) => {
                result.error_code = error.code();
                result.error_message = Some(str_bytes(&message));
            }
        }
        response.topics.push(result);
    }
    if !created.is_empty() {
        let done = broker
            .wait_for_metadata(request.timeout_ms, |metadata| {
                created
                    .iter()
                    .all(|name| all_partitions_led(metadata, name))
            })
            .await;
        if !done {
            for result in &mut response.topics {
                if created.contains(&result.name.as_str().to_string()) && result.error_code == 0 {
                    result.error_code = ResponseError::RequestTimedOut.code();
                }
            }
        }
    }
    // v5+ describe what was created.
    let metadata = broker.metadata.current();
    for result in &mut response.topics {
        if result.error_code != 0 || version < 5 {
            if result.error_code != 0 {
                result.num_partitions = -1;
                result.replication_factor = -1;
            }
            continue;
        }
        if let Some(topic) = metadata.topics.get(result.name.as_str()) {
            result.topic_id = topic.id.0;
            result.num_partitions = topic.partitions.len() as i32;
            result.replication_factor = topic
                .partitions
                .values()
                .next()
                .map_or(-1, |p| p.replicas.len() as i16);
            let configs = topic_config::TOPIC_CONFIGS
                .iter()
                .filter_map(|def| {
                    let (value, source) = topic_config::resolve(
                        def.name,
                        &topic.configs,
                        &metadata,
                        broker.id,
                        &broker.config,
                    )?;
                    let mut config = CreatableTopicConfigs::default();
                    config.name = str_bytes(def.name);
                    config.value = Some(str_bytes(&value));
                    config.config_source = source as i8;
                    Some(config)
                })
                .collect();
            result.configs = Some(configs);
        }
    }
    response
}

pub async fn delete_topics(
    broker: &Arc<Broker>,
    version: i16,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let metadata = broker.metadata.current();
    // v6 names topics by name or id; earlier versions by name only.
    let wanted: Vec<(Option<String>, uuid::Uuid)> = if version >= 6 {
        request
            .topics
            .iter()
            .map(|topic| {
                (
                    topic.name.as_ref().map(|name| name.as_str().to_string()),
                    topic.topic_id,
                )
            })
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|name| (Some(name.as_str().to_string()), uuid::Uuid::nil()))
            .collect()
    };
    let mut response = DeleteTopicsResponse::default();
    let mut deleting = Vec::new();
    for (name, id) in wanted {
        let mut result = DeletableTopicResult::default();
        result.topic_id = id;
        let name = match name {
            Some(name) => Some(name),
            None => metadata
                .topic_by_id(TopicId(id))
                .map(|topic| topic.name.clone()),
        };
        let Some(name) = name else {
            result.error_code = ResponseError::UnknownTopicId.code();
            response.responses.push(result);
            continue;
        };
        result.name = Some(TopicName(str_bytes(&name)));
        // Kafka answers a topic one may not describe as unauthorized whether or
        // not it exists; DELETE is needed to delete it.
        if !broker.authorize(AclOperation::Describe, ResourceType::Topic, &name)
            || !broker.authorize(AclOperation::Delete, ResourceType::Topic, &name)
        {
            result.error_code = ResponseError::TopicAuthorizationFailed.code();
            response.responses.push(result);
            continue;
        }
        if let Some(topic) = metadata.topics.get(&name) {
            result.topic_id = topic.id.0;
        }
        match broker.metadata.delete_topic(name.clone()).await {
            Ok(()) => deleting.push(name),
            Err(error) => {
                // Apache 3.9 in ZooKeeper mode answers DeleteTopics with error codes
                // only; the text stays in the log.
                tracing::debug!(
                    topic = name,
                    code = error.code,
                    message = error.message,
                    "topic not deleted"
                );
                result.error_code = error.code;
            }
        }
        response.responses.push(result);
    }
    if !deleting.is_empty() {
        let done = broker
            .wait_for_metadata(request.timeout_ms, |metadata| {
                deleting
                    .iter()
                    .all(|name| !metadata.topics.contains_key(name))
            })
            .await;
        if !done {
            for result in &mut response.responses {
                let name = result
                    .name
                    .as_ref()
                    .map(|name| name.as_str().to_string())
                    .unwrap_or_default();
                if deleting.contains(&name) && result.error_code == 0 {
                    result.error_code = ResponseError::RequestTimedOut.code();
                }
            }
        }
    }
    response
}

pub async fn create_partitions(
    broker: &Arc<Broker>,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut response = CreatePartitionsResponse::default();
    let mut growing = Vec::new();
    for topic in request.topics {
        let mut result = CreatePartitionsTopicResult::default();
        result.name = topic.name.clone();
        if !broker.authorize(
            AclOperation::Alter,
            ResourceType::Topic,
            topic.name.as_str(),
        ) {
            result.error_code = ResponseError::TopicAuthorizationFailed.code();
            result.error_message = Some(str_bytes("Authorization failed."));
            response.results.push(result);
            continue;
        }
        let assignments = topic.assignments.map(|assignments| {
            assignments
                .iter()
                .map(|a| a.broker_ids.iter().map(|id| KeelBrokerId(id.0)).collect())
                .collect()
        });
        match broker
            .metadata
            .create_partitions(
                topic.name.as_str().to_string(),
                topic.count,
                assignments,
                request.validate_only,
            )
            .await
        {
            Ok(()) => {
                if !request.validate_only {
                    growing.push((topic.name.as_str().to_string(), topic.count));
                }
            }
            Err(error) => {
                result.error_code = error.code;
                result.error_message = Some(str_bytes(&error.message));
            }
        }
        response.results.push(result);
    }
    if !growing.is_empty() {
        let done = broker
            .wait_for_metadata(request.timeout_ms, |metadata| {
                growing.iter().all(|(name, count)| {
                    metadata.topics.get(name).is_some_and(|topic| {
                        topic.partitions.len() as i32 >= *count
                            && topic.partitions.values().all(|p| p.leader.is_some())
                    })
                })
            })
            .await;
        if !done {
            for result in &mut response.results {
                if result.error_code == 0
                    && growing.iter().any(|(name, _)| name == result.name.as_str())
                {
                    result.error_code = ResponseError::RequestTimedOut.code();
                }
            }
        }
    }
    response
}

pub fn describe_cluster(
    broker: &Arc<Broker>,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let metadata = broker.metadata.current();
    let mut response = DescribeClusterResponse::default();
    if request.include_cluster_authorized_operations {
        response.cluster_authorized_operations =
            if broker.authorize(AclOperation::Describe, ResourceType::Cluster, CLUSTER_NAME) {
                broker.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
            } else {
                0
            };
    }
    response.cluster_id = str_bytes(&metadata.cluster_id);
    response.controller_id = metadata.controller_id.map_or(-1, |id| id.0).into();
    response.brokers = metadata
        .brokers
        .values()
        .filter_map(|registration| {
            let endpoint = broker.client_endpoint(registration)?;
            let mut described = DescribeClusterBroker::default();
            described.broker_id = registration.id.0.into();
            described.host = str_bytes(&endpoint.host);
            described.port = endpoint.port as i32;
            described.rack = registration.rack.as_deref().map(str_bytes);
            Some(described)
        })
        .collect();
    response
}

pub fn describe_topic_partitions(
    broker: &Arc<Broker>,
    request: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let metadata = broker.metadata.current();
    let limit = if request.response_partition_limit > 0 {
        request.response_partition_limit as usize
    } else {
        2000
    };
    let names: Vec<String> = if request.topics.is_empty() {
        metadata
            .topics
            .values()
            .filter(|topic| !topic.marked_for_deletion)
            .map(|topic| topic.name.clone())
            .collect()
    } else {
        let mut names: Vec<String> = request
            .topics
            .iter()
            .map(|topic| topic.name.as_str().to_string())
            .collect();
        names.sort();
        names
    };
    let (cursor_topic, cursor_partition) =
        request
            .cursor
            .as_ref()
            .map_or((String::new(), 0), |cursor| {
                (
                    cursor.topic_name.as_str().to_string(),
                    cursor.partition_index,
                )
            });
    let mut response = DescribeTopicPartitionsResponse::default();
    let mut emitted = 0usize;
    for name in names.into_iter().filter(|name| *name >= cursor_topic) {
        let mut described = DescribeTopicPartitionsResponseTopic::default();
        described.name = Some(TopicName(str_bytes(&name)));
        described.is_internal = is_internal_topic(&name);
        // Apache sets it on every topic it answers for, known or not.
        described.topic_authorized_operations =
            broker.authorized_operations(ResourceType::Topic, &name);
        let Some(topic) = metadata
            .topics
            .get(&name)
            .filter(|topic| !topic.marked_for_deletion)
        else {
            described.error_code = ResponseError::UnknownTopicOrPartition.code();
            response.topics.push(described);
            continue;
        };
        described.topic_id = topic.id.0;
        let first = if name == cursor_topic {
            cursor_partition
        } else {
            0
        };
        for (index, state) in topic.partitions.range(first..) {
            if emitted == limit {
                let mut cursor = describe_topic_partitions_response::Cursor::default();
                cursor.topic_name = TopicName(str_bytes(&name));
                cursor.partition_index = *index;
                response.next_cursor = Some(cursor);
                response.topics.push(described);
                return response;
            }
            let mut partition = DescribeTopicPartitionsResponsePartition::default();
            partition.partition_index = *index;
            partition.leader_id = state.leader.map_or(-1, |id| id.0).into();
            partition.leader_epoch = state.leader_epoch;
            partition.replica_nodes = state.replicas.iter().map(|id| id.0.into()).collect();
            partition.isr_nodes = state.isr.iter().map(|id| id.0.into()).collect();
            partition.eligible_leader_replicas = Some(Vec::new());
            partition.last_known_elr = Some(Vec::new());
            partition.offline_replicas = state
                .replicas
                .iter()
                .filter(|id| !metadata.brokers.contains_key(id))
                .map(|id| id.0.into())
                .collect();
            described.partitions.push(partition);
            emitted += 1;
        }
        response.topics.push(described);
    }
    response
}

pub async fn delete_records(
    broker: &Arc<Broker>,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let metadata = broker.metadata.current();
    let mut response = DeleteRecordsResponse::default();
    for topic in request.topics {
        let mut topic_result = DeleteRecordsTopicResult::default();
        topic_result.name = topic.name.clone();
        let allowed = broker.authorize(
            AclOperation::Delete,
            ResourceType::Topic,
            topic.name.as_str(),
        );
        for partition in topic.partitions {
            let mut result = DeleteRecordsPartitionResult::default();
            result.partition_index = partition.partition_index;
            let outcome = if !allowed {
                Err(ResponseError::TopicAuthorizationFailed)
            } else {
                broker
                    .leader_partition(&metadata, topic.name.as_str(), partition.partition_index)
                    .and_then(|(local, _)| {
                        // -1 means "up to the high watermark".
                        let offset = if partition.offset == -1 {
                            local.offsets().high_watermark
                        } else {
                            partition.offset
                        };
                        local
                            .delete_records_before(offset)
                            .map_err(|error| error.error)
                    })
            };
            match outcome {
                Ok(low_watermark) => result.low_watermark = low_watermark,
                Err(error) => {
                    result.error_code = error.code();
                    result.low_watermark = -1;
                }
            }
            topic_result.partitions.push(result);
        }
        response.topics.push(topic_result);
    }
    response
}

pub fn describe_log_dirs(
    broker: &Arc<Broker>,
    request: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    let wanted: Option<BTreeSet<(String, i32)>> = request.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|topic| {
                topic
                    .partitions
                    .iter()
                    .map(move |p| (topic.topic.as_str().to_string(), *p))
            })
            .collect()
    });
    let mut response = DescribeLogDirsResponse::default();
    for dir in broker.logs.dirs() {
        let mut result = DescribeLogDirsResult::default();
        result.log_dir = str_bytes(&dir.display().to_string());
        let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
        for partition in broker.logs.all() {
            let tp: &TopicPartition = &partition.topic_partition;
            if broker.logs.dir_of(tp) != Some(dir.as_path()) {
                continue;
            }
            if wanted
                .as_ref()
                .is_some_and(|wanted| !wanted.contains(&(tp.topic.clone(), tp.partition)))
            {
                continue;
            }
            let mut described = DescribeLogDirsPartition::default();
            described.partition_index = tp.partition;
            described.partition_size = partition.size_bytes() as i64;
            described.offset_lag = 0;
            by_topic
                .entry(tp.topic.clone())
                .or_default()
                .push(described);
        }
        result.topics = by_topic
            .into_iter()
            .map(|(name, partitions)| {
                let mut topic = DescribeLogDirsTopic::default();
                topic.name = TopicName(str_bytes(&name));
                topic.partitions = partitions;
                topic
            })
            .collect();
        let (total_bytes, usable_bytes) = disk_space(dir);
        result.total_bytes = total_bytes;
        result.usable_bytes = usable_bytes;
        response.results.push(result);
    }
    response
}

/// Total and free bytes of the file system holding `dir` (-1 when unknown).
fn disk_space(dir: &std::path::Path) -> (i64, i64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return (-1, -1);
    };
    // SAFETY: statvfs only writes into the zeroed struct we pass and reads the
    // NUL-terminated path.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return (-1, -1);
    }
    let fragment = stats.f_frsize as i64;
    (
        stats.f_blocks as i64 * fragment,
        stats.f_bavail as i64 * fragment,
    )
}
