//! The planner against the sequences Apache's KafkaController sends.

use super::*;

fn ids(list: &[i32]) -> Vec<BrokerId> {
    list.iter().map(|id| BrokerId(*id)).collect()
}

fn broker(id: i32, epoch: i64) -> (BrokerId, LiveBroker) {
    (
        BrokerId(id),
        LiveBroker {
            epoch,
            endpoints: vec![(
                Endpoint {
                    listener: "PLAINTEXT".to_string(),
                    host: "127.0.0.1".to_string(),
                    port: 9090 + id as u16,
                },
                "PLAINTEXT".to_string(),
            )],
            rack: None,
        },
    )
}

fn state(leader: i32, leader_epoch: i32, isr: &[i32], zk_version: i32) -> Option<StateView> {
    Some(StateView {
        leader,
        leader_epoch,
        isr: ids(isr),
        controller_epoch: 3,
        zk_version,
        leader_recovery_state: 0,
    })
}

/// Controller 1 (no replicas), brokers 2, 3, 4; topic t with partitions
/// 0: [2,3,4] led by 2 and 1: [3,4,2] led by 3.
fn context() -> ControllerContext {
    let mut partitions = BTreeMap::new();
    partitions.insert(
        ("t".to_string(), 0),
        PartitionView {
            replicas: ids(&[2, 3, 4]),
            adding: vec![],
            removing: vec![],
            state: state(2, 0, &[2, 3, 4], 0),
        },
    );
    partitions.insert(
        ("t".to_string(), 1),
        PartitionView {
            replicas: ids(&[3, 4, 2]),
            adding: vec![],
            removing: vec![],
            state: state(3, 0, &[3, 4, 2], 0),
        },
    );
    ControllerContext {
        controller_id: BrokerId(1),
        controller_epoch: 7,
        listener: "PLAINTEXT".to_string(),
        brokers: [
            broker(1, 100),
            broker(2, 200),
            broker(3, 300),
            broker(4, 400),
        ]
        .into_iter()
        .collect(),
        shutting_down: BTreeSet::new(),
        topic_ids: [("t".to_string(), TopicId(uuid::Uuid::from_u128(9)))]
            .into_iter()
            .collect(),
        partitions,
        deleting: BTreeSet::new(),
    }
}

/// `(broker, "UM"/"UM+3"/"LAIR[t-0,t-1]"/"SR(delete)")` per request: the shape of a plan.
fn shape(plan: &Plan) -> Vec<(i32, String)> {
    plan.requests
        .iter()
        .map(|(id, request)| {
            let what = match request {
                InterBrokerRequest::UpdateMetadata(um) => {
                    let count: usize = um
                        .topic_states
                        .iter()
                        .map(|topic| topic.partition_states.len())
                        .sum();
                    if count == 0 {
                        "UM".to_string()
                    } else {
                        format!("UM+{count}")
                    }
                }
                InterBrokerRequest::LeaderAndIsr(lair) => {
                    let partitions: Vec<String> = lair
                        .topic_states
                        .iter()
                        .flat_map(|topic| {
                            topic.partition_states.iter().map(|p| {
                                format!(
                                    "{}-{}{}",
                                    topic.topic_name,
                                    p.partition_index,
                                    if p.is_new { "(new)" } else { "" }
                                )
                            })
                        })
                        .collect();
                    format!("LAIR[{}]", partitions.join(","))
                }
                InterBrokerRequest::StopReplica(sr) => {
                    let delete = sr.topic_states[0].partition_states[0].delete_partition;
                    format!("SR({})", if delete { "delete" } else { "stop" })
                }
                other => format!("{:?}", other.api()),
            };
            (id.0, what)
        })
        .collect()
}

fn to(broker: i32, what: &str) -> (i32, String) {
    (broker, what.to_string())
}

#[test]
fn failover_sends_brokers_then_current_states() {
    let next = context();
    let plan = plan(None, &next);
    assert_eq!(
        shape(&plan),
        vec![
            to(1, "UM"),
            to(2, "UM"),
            to(3, "UM"),
            to(4, "UM"),
            to(2, "LAIR[t-0,t-1]"),
            to(3, "LAIR[t-0,t-1]"),
            to(4, "LAIR[t-0,t-1]"),
            to(1, "UM+2"),
            to(2, "UM+2"),
            to(3, "UM+2"),
            to(4, "UM+2"),
        ]
    );
    // Each request carries its recipient's czxid and the controller's epoch; each
    // partition the znode's own controller epoch and version.
    for (id, request) in &plan.requests {
        let expected_epoch = next.brokers[id].epoch;
        match request {
            InterBrokerRequest::UpdateMetadata(um) => {
                assert_eq!(um.broker_epoch, expected_epoch);
                assert_eq!(um.controller_epoch, 7);
                assert_eq!(um.controller_id, BrokerId(1));
                assert_eq!(um.live_brokers.len(), 4);
                assert_eq!(um.live_brokers[1].endpoints[0].port, 9092);
            }
            InterBrokerRequest::LeaderAndIsr(lair) => {
                assert_eq!(lair.broker_epoch, expected_epoch);
                assert_eq!(lair.controller_epoch, 7);
                assert_eq!(lair.topic_states[0].topic_id, next.topic_ids["t"]);
                let first = &lair.topic_states[0].partition_states[0];
                assert_eq!(first.controller_epoch, 3);
                assert_eq!(first.leader, BrokerId(2));
                assert_eq!(first.partition_epoch, 0);
                assert!(!first.is_new);
                assert_eq!(lair.live_leaders.len(), 2);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(plan.deletions_started.is_empty());
}

#[test]
fn nothing_changed_sends_nothing() {
    let next = context();
    assert_eq!(plan(Some(&next), &next), Plan::default());
}

#[test]
fn a_starting_broker_learns_the_picture_before_its_replicas() {
    let before = {
        let mut context = context();
        context.brokers.remove(&BrokerId(4));
        context
    };
    let next = context();
    assert_eq!(
        shape(&plan(Some(&before), &next)),
        vec![
            to(1, "UM"),
            to(2, "UM"),
            to(3, "UM"),
            to(4, "UM+2"),
            to(4, "LAIR[t-0,t-1]"),
            to(1, "UM+2"),
            to(2, "UM+2"),
            to(3, "UM+2"),
            to(4, "UM+2"),
        ]
    );
    // A bounce (new czxid) is a start too.
    let mut bounced = context();
    bounced.brokers.get_mut(&BrokerId(3)).unwrap().epoch = 301;
    let shapes = shape(&plan(Some(&next), &bounced));
    assert_eq!(shapes[3], to(3, "UM+2"));
    assert_eq!(shapes[4], to(3, "LAIR[t-0,t-1]"));
}

#[test]
fn leader_moves_go_to_live_replicas_and_isr_changes_only_to_metadata() {
    let before = context();
    // Broker 2 died; the controller moved t-0 to 3 with an epoch bump.
    let mut next = context();
    next.brokers.remove(&BrokerId(2));
    next.partitions
        .get_mut(&("t".to_string(), 0))
        .unwrap()
        .state = state(3, 1, &[3, 4], 1);
    next.partitions
        .get_mut(&("t".to_string(), 1))
        .unwrap()
        .state = state(3, 1, &[3, 4], 1);
    assert_eq!(
        shape(&plan(Some(&before), &next)),
        vec![
            to(1, "UM"),
            to(3, "UM"),
            to(4, "UM"),
            to(3, "LAIR[t-0,t-1]"),
            to(4, "LAIR[t-0,t-1]"),
            to(1, "UM+2"),
            to(3, "UM+2"),
            to(4, "UM+2"),
        ]
    );
    // An AlterPartition: same leader epoch, new ISR and version: metadata only.
    let mut expanded = next.clone();
    expanded
        .partitions
        .get_mut(&("t".to_string(), 0))
        .unwrap()
        .state = state(3, 1, &[3, 4, 2], 2);
    let plan = plan(Some(&next), &expanded);
    assert_eq!(
        shape(&plan),
        vec![to(1, "UM+1"), to(3, "UM+1"), to(4, "UM+1")]
    );
    let InterBrokerRequest::UpdateMetadata(um) = &plan.requests[0].1 else {
        panic!()
    };
    let partition = &um.topic_states[0].partition_states[0];
    assert_eq!(partition.zk_version, 2);
    // Broker 2 is not live: listed offline.
    assert_eq!(partition.offline_replicas, ids(&[2]));
}

#[test]
fn new_partitions_are_sent_as_new_to_their_isr() {
    let before = context();
    let mut next = context();
    next.partitions.insert(
        ("u".to_string(), 0),
        PartitionView {
            replicas: ids(&[4, 2]),
            adding: vec![],
            removing: vec![],
            state: None,
        },
    );
    // Assigned but not yet given a state: nothing to send.
    assert_eq!(plan(Some(&before), &next), Plan::default());
    let mut created = next.clone();
    created
        .partitions
        .get_mut(&("u".to_string(), 0))
        .unwrap()
        .state = state(4, 0, &[4, 2], 0);
    assert_eq!(
        shape(&plan(Some(&next), &created)),
        vec![
            to(2, "LAIR[u-0(new)]"),
            to(4, "LAIR[u-0(new)]"),
            to(1, "UM+1"),
            to(2, "UM+1"),
            to(3, "UM+1"),
            to(4, "UM+1"),
        ]
    );
}

#[test]
fn deletion_evicts_everywhere_then_stops_and_deletes_replicas() {
    let before = context();
    let mut next = context();
    next.deleting.insert("t".to_string());
    let plan = plan(Some(&before), &next);
    assert_eq!(
        shape(&plan),
        vec![
            to(1, "UM+2"),
            to(2, "UM+2"),
            to(3, "UM+2"),
            to(4, "UM+2"),
            to(2, "SR(stop)"),
            to(2, "SR(delete)"),
            to(3, "SR(stop)"),
            to(3, "SR(delete)"),
            to(4, "SR(stop)"),
            to(4, "SR(delete)"),
        ]
    );
    let InterBrokerRequest::UpdateMetadata(um) = &plan.requests[0].1 else {
        panic!()
    };
    assert!(um.topic_states[0]
        .partition_states
        .iter()
        .all(|p| p.leader == BrokerId(LEADER_DURING_DELETE)));
    let InterBrokerRequest::StopReplica(sr) = &plan.requests[5].1 else {
        panic!()
    };
    assert_eq!(sr.broker_epoch, 200);
    assert!(sr.topic_states[0]
        .partition_states
        .iter()
        .all(|p| p.delete_partition && p.leader_epoch == LEADER_EPOCH_DURING_DELETE));
    assert_eq!(plan.deletions_started.len(), 6);
    // Already under way: nothing again, unless a replica's broker (re)starts.
    assert_eq!(super::plan(Some(&next), &next), Plan::default());
}

#[test]
fn requests_encode_at_the_versions_sent() {
    for (_, request) in plan(None, &context()).requests {
        let mut out = BytesMut::new();
        let api = request.api();
        let header = RequestHeader {
            request_api_key: api.key(),
            request_api_version: version_of(api),
            correlation_id: 1,
            client_id: Some("1".to_string()),
            unknown_tagged_fields: Vec::new(),
        };
        encode_request(&header, &request, &mut out).expect("encodes");
        let (decoded_header, decoded) =
            crate::kafka::protocol::inter_broker::decode_request(&out).expect("decodes");
        assert_eq!(decoded_header, header);
        assert_eq!(decoded, request);
    }
}

/// A reassignment of t-0 from [2,3,4] to [2,3,1]: phase A tells every replica of
/// RS (the new one as IsNew) with AddingReplicas/RemovingReplicas; phase B tells
/// TRS, then stops and deletes the removed replica with the current leader epoch.
#[test]
fn reassignment_phases_send_what_apache_sends() {
    let before = context();
    let mut started = context();
    let view = started.partitions.get_mut(&("t".to_string(), 0)).unwrap();
    view.replicas = ids(&[2, 3, 1, 4]);
    view.adding = ids(&[1]);
    view.removing = ids(&[4]);
    view.state = state(2, 1, &[2, 3, 4], 1);
    let phase_a = plan(Some(&before), &started);
    assert_eq!(
        shape(&phase_a),
        vec![
            to(1, "LAIR[t-0(new)]"),
            to(2, "LAIR[t-0]"),
            to(3, "LAIR[t-0]"),
            to(4, "LAIR[t-0]"),
            to(1, "UM+1"),
            to(2, "UM+1"),
            to(3, "UM+1"),
            to(4, "UM+1"),
        ]
    );
    let InterBrokerRequest::LeaderAndIsr(lair) = &phase_a.requests[1].1 else {
        panic!("LeaderAndIsr first");
    };
    let partition = &lair.topic_states[0].partition_states[0];
    assert_eq!(partition.replicas, ids(&[2, 3, 1, 4]));
    assert_eq!(partition.adding_replicas, ids(&[1]));
    assert_eq!(partition.removing_replicas, ids(&[4]));

    let mut done = context();
    let view = done.partitions.get_mut(&("t".to_string(), 0)).unwrap();
    view.replicas = ids(&[2, 3, 1]);
    view.state = state(2, 3, &[2, 3, 1], 3);
    let phase_b = plan(Some(&started), &done);
    assert_eq!(
        shape(&phase_b),
        vec![
            to(1, "LAIR[t-0]"),
            to(2, "LAIR[t-0]"),
            to(3, "LAIR[t-0]"),
            to(4, "SR(stop)"),
            to(4, "SR(delete)"),
            to(1, "UM+1"),
            to(2, "UM+1"),
            to(3, "UM+1"),
            to(4, "UM+1"),
        ]
    );
    let InterBrokerRequest::StopReplica(stop) = &phase_b.requests[4].1 else {
        panic!("StopReplica(delete) to the removed replica");
    };
    assert_eq!(stop.topic_states[0].partition_states[0].leader_epoch, 3);
    // Not a topic deletion: nothing waits for these answers.
    assert!(phase_b.deletions_started.is_empty());
}
