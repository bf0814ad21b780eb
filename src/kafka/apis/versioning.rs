//! Fits a response to the version it is sent at: fields a version does not carry
//! go back to their defaults (the codec refuses to drop a set field silently).
//!
//! Handlers fill every field they know; this one place knows which versions carry
//! which field, so a handler never has to.

use kafka_protocol::messages::ResponseKind;

pub fn fit(response: &mut ResponseKind, version: i16) {
    match response {
        ResponseKind::Metadata(metadata) => {
            if version < 1 {
                metadata.controller_id = (-1).into();
                for broker in &mut metadata.brokers {
                    broker.rack = None;
                }
            }
            if version < 2 {
                metadata.cluster_id = None;
            }
            if version < 8 {
                metadata.cluster_authorized_operations = i32::MIN;
            }
            if version < 13 {
                metadata.error_code = 0;
            }
            for topic in &mut metadata.topics {
                if version < 1 {
                    topic.is_internal = false;
                }
                if version < 8 {
                    topic.topic_authorized_operations = i32::MIN;
                }
                if version < 10 {
                    topic.topic_id = uuid::Uuid::nil();
                }
                if version < 12 && topic.name.is_none() {
                    topic.name = Some(Default::default());
                }
                for partition in &mut topic.partitions {
                    if version < 5 {
                        partition.offline_replicas.clear();
                    }
                    if version < 7 {
                        partition.leader_epoch = -1;
                    }
                }
            }
        }
        ResponseKind::Produce(produce) => {
            for topic in &mut produce.responses {
                for partition in &mut topic.partition_responses {
                    if version < 5 {
                        partition.log_start_offset = -1;
                    }
                    if version < 8 {
                        partition.error_message = None;
                        partition.record_errors.clear();
                    }
                }
            }
        }
        ResponseKind::Fetch(fetch) => {
            if version < 7 {
                fetch.session_id = 0;
                fetch.error_code = 0;
            }
            for topic in &mut fetch.responses {
                if version < 13 {
                    topic.topic_id = uuid::Uuid::nil();
                }
                for partition in &mut topic.partitions {
                    if version < 5 {
                        partition.log_start_offset = -1;
                    }
                    if version < 11 {
                        partition.preferred_read_replica = (-1).into();
                    }
                }
            }
        }
        ResponseKind::ListOffsets(list) => {
            for topic in &mut list.topics {
                for partition in &mut topic.partitions {
                    if version < 4 {
                        partition.leader_epoch = -1;
                    }
                }
            }
        }
        ResponseKind::CreateTopics(create) => {
            for topic in &mut create.topics {
                if version < 1 {
                    topic.error_message = None;
                }
                if version < 5 {
                    topic.num_partitions = -1;
                    topic.replication_factor = -1;
                    topic.configs = Some(Default::default());
                    topic.topic_config_error_code = 0;
                }
                if version < 7 {
                    topic.topic_id = uuid::Uuid::nil();
                }
            }
        }
        ResponseKind::DeleteTopics(delete) => {
            for topic in &mut delete.responses {
                if version < 5 {
                    topic.error_message = None;
                }
                if version < 6 {
                    topic.topic_id = uuid::Uuid::nil();
                    if topic.name.is_none() {
                        topic.name = Some(Default::default());
                    }
                }
            }
        }
        ResponseKind::DescribeLogDirs(dirs) => {
            if version < 3 {
                dirs.error_code = 0;
            }
            for dir in &mut dirs.results {
                if version < 4 {
                    dir.total_bytes = -1;
                    dir.usable_bytes = -1;
                }
            }
        }
        ResponseKind::DescribeConfigs(describe) => {
            for result in &mut describe.results {
                for config in &mut result.configs {
                    if version < 3 {
                        config.config_type = 0;
                        config.documentation = None;
                    }
                }
            }
        }
        ResponseKind::FindCoordinator(find) if version < 1 => {
            find.error_message = None;
        }
        _ => {}
    }
}
