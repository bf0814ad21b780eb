//! The controller's answers to brokers, as pure decisions: AlterPartition's checks
//! (`KafkaController.tryProcessAlterPartition`) and the broker-epoch checks of
//! AlterPartition, ControlledShutdown and AllocateProducerIds. The driver looks up
//! the cached state, asks here, and does the ZooKeeper writes that come out.

use std::collections::BTreeSet;

use crate::kafka::metadata::BrokerId;
use crate::kafka::protocol::inter_broker::alter_partition::AlterPartitionPartitionData;
use crate::kafka::protocol::inter_broker::leader_and_isr::{
    LEADER_RECOVERY_STATE_RECOVERED, LEADER_RECOVERY_STATE_RECOVERING,
};

/// Kafka error codes these answers use.
pub mod errors {
    pub const NONE: i16 = 0;
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const BROKER_NOT_AVAILABLE: i16 = 8;
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
    pub const NOT_CONTROLLER: i16 = 41;
    pub const INVALID_REQUEST: i16 = 42;
    pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
    pub const FENCED_LEADER_EPOCH: i16 = 74;
    pub const STALE_BROKER_EPOCH: i16 = 77;
    pub const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;
    pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: i16 = 83;
    pub const ELECTION_NOT_NEEDED: i16 = 84;
    pub const INVALID_UPDATE_VERSION: i16 = 95;
    pub const UNKNOWN_TOPIC_ID: i16 = 100;
    pub const INELIGIBLE_REPLICA: i16 = 107;
    pub const BROKER_ID_NOT_REGISTERED: i16 = 109;
}

/// A partition's leader and ISR with its partition epoch (`LeaderAndIsr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsrState {
    pub leader: BrokerId,
    pub leader_epoch: i32,
    pub isr: Vec<BrokerId>,
    pub leader_recovery_state: i8,
    /// The state znode's version.
    pub partition_epoch: i32,
}

/// What to do with one partition of an AlterPartition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterDecision {
    /// Answer with this error code.
    Reject(i16),
    /// Already so: answer with the current state, write nothing (idempotence).
    AlreadyApplied(LeaderAndIsrState),
    /// Write this state, conditional on `partition_epoch` (the expected version).
    Write(LeaderAndIsrState),
}

/// The request-level broker-epoch check of AlterPartition: the sender must be a
/// live broker presenting exactly its registration's czxid.
pub fn check_alter_partition_epoch(cached: Option<i64>, requested: i64) -> Result<(), i16> {
    match cached {
        Some(epoch) if epoch == requested => Ok(()),
        // Unknown broker, or an epoch other than the cached one.
        _ => Err(errors::STALE_BROKER_EPOCH),
    }
}

/// `processAllocateProducerIds`'s checks.
pub fn check_allocate_producer_ids_epoch(cached: Option<i64>, requested: i64) -> Result<(), i16> {
    match cached {
        None => Err(errors::BROKER_ID_NOT_REGISTERED),
        Some(epoch) if epoch != requested => Err(errors::STALE_BROKER_EPOCH),
        Some(_) => Ok(()),
    }
}

/// `doControlledShutdown`'s checks: an epoch lower than the cached one is stale (-1,
/// from a broker predating KIP-380, is accepted); a broker that is not registered is
/// not available.
pub fn check_controlled_shutdown_epoch(cached: Option<i64>, requested: i64) -> Result<(), i16> {
    const UNKNOWN_BROKER_EPOCH: i64 = -1;
    match cached {
        // Apache looks the epoch up with `liveBrokerIdAndEpochs(id)`, which throws
        // for an unknown broker before BROKER_NOT_AVAILABLE is reached unless the
        // request carries -1; both end as an error to the sender.
        None if requested != UNKNOWN_BROKER_EPOCH => Err(errors::UNKNOWN_SERVER_ERROR),
        None => Err(errors::BROKER_NOT_AVAILABLE),
        Some(epoch) if requested != UNKNOWN_BROKER_EPOCH && requested < epoch => {
            Err(errors::STALE_BROKER_EPOCH)
        }
        Some(_) => Ok(()),
    }
}

/// The new ISR a partition entry asks for: `NewIsrWithEpochs` (v3+) when present,
/// else `NewIsr`. Broker epochs in it are -1 in ZooKeeper mode and not checked.
pub fn requested_isr(partition: &AlterPartitionPartitionData) -> Vec<BrokerId> {
    if partition.new_isr_with_epochs.is_empty() {
        partition.new_isr.clone()
    } else {
        partition
            .new_isr_with_epochs
            .iter()
            .map(|state| state.broker_id)
            .collect()
    }
}

/// One partition of an AlterPartition from `requester`, against the cached
/// `current` state, in Apache's order of checks. `eligible` holds the live brokers
/// that are not shutting down; `uses_topic_ids` is true for v2+ requests, which get
/// INELIGIBLE_REPLICA where older ones get OPERATION_NOT_ATTEMPTED.
pub fn decide_alter_partition(
    requester: BrokerId,
    partition: &AlterPartitionPartitionData,
    current: Option<&LeaderAndIsrState>,
    eligible: &BTreeSet<BrokerId>,
    uses_topic_ids: bool,
) -> AlterDecision {
    let Some(current) = current else {
        return AlterDecision::Reject(errors::UNKNOWN_TOPIC_OR_PARTITION);
    };
    let proposed = LeaderAndIsrState {
        leader: requester,
        leader_epoch: partition.leader_epoch,
        isr: requested_isr(partition),
        leader_recovery_state: partition.leader_recovery_state,
        partition_epoch: partition.partition_epoch,
    };
    // A leader ahead of this controller has likely heard from a newer one
    // (KAFKA-14154): NOT_CONTROLLER sends it looking for the controller again.
    if proposed.partition_epoch > current.partition_epoch
        || proposed.leader_epoch > current.leader_epoch
    {
        return AlterDecision::Reject(errors::NOT_CONTROLLER);
    }
    if proposed.leader_epoch < current.leader_epoch {
        return AlterDecision::Reject(errors::FENCED_LEADER_EPOCH);
    }
    // Before the partition-epoch fence, so a retried request is idempotent.
    if proposed.leader == current.leader
        && proposed.leader_epoch == current.leader_epoch
        && proposed.isr == current.isr
        && proposed.leader_recovery_state == current.leader_recovery_state
        && proposed.partition_epoch <= current.partition_epoch
    {
        return AlterDecision::AlreadyApplied(current.clone());
    }
    if proposed.partition_epoch < current.partition_epoch {
        return AlterDecision::Reject(errors::INVALID_UPDATE_VERSION);
    }
    if proposed.leader_recovery_state == LEADER_RECOVERY_STATE_RECOVERING && proposed.isr.len() > 1
    {
        return AlterDecision::Reject(errors::INVALID_REQUEST);
    }
    if current.leader_recovery_state == LEADER_RECOVERY_STATE_RECOVERED
        && proposed.leader_recovery_state == LEADER_RECOVERY_STATE_RECOVERING
    {
        return AlterDecision::Reject(errors::INVALID_REQUEST);
    }
    // KIP-841: every member of the new ISR (not only the added ones) must be live
    // and not shutting down.
    if proposed.isr.iter().any(|id| !eligible.contains(id)) {
        return AlterDecision::Reject(if uses_topic_ids {
            errors::INELIGIBLE_REPLICA
        } else {
            errors::OPERATION_NOT_ATTEMPTED
        });
    }
    AlterDecision::Write(proposed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::inter_broker::alter_partition::BrokerState;

    fn ids(list: &[i32]) -> Vec<BrokerId> {
        list.iter().map(|id| BrokerId(*id)).collect()
    }

    fn current(
        leader: i32,
        leader_epoch: i32,
        isr: &[i32],
        partition_epoch: i32,
    ) -> LeaderAndIsrState {
        LeaderAndIsrState {
            leader: BrokerId(leader),
            leader_epoch,
            isr: ids(isr),
            leader_recovery_state: LEADER_RECOVERY_STATE_RECOVERED,
            partition_epoch,
        }
    }

    fn ask(leader_epoch: i32, isr: &[i32], partition_epoch: i32) -> AlterPartitionPartitionData {
        AlterPartitionPartitionData {
            partition_index: 0,
            leader_epoch,
            new_isr_with_epochs: isr
                .iter()
                .map(|id| BrokerState {
                    broker_id: BrokerId(*id),
                    broker_epoch: -1,
                    ..Default::default()
                })
                .collect(),
            partition_epoch,
            ..Default::default()
        }
    }

    fn eligible(list: &[i32]) -> BTreeSet<BrokerId> {
        ids(list).into_iter().collect()
    }

    #[test]
    fn broker_epoch_must_match_exactly() {
        assert_eq!(check_alter_partition_epoch(Some(42), 42), Ok(()));
        assert_eq!(
            check_alter_partition_epoch(Some(42), 41),
            Err(errors::STALE_BROKER_EPOCH)
        );
        // Newer than cached is stale too for AlterPartition (exact match).
        assert_eq!(
            check_alter_partition_epoch(Some(42), 43),
            Err(errors::STALE_BROKER_EPOCH)
        );
        assert_eq!(
            check_alter_partition_epoch(None, 42),
            Err(errors::STALE_BROKER_EPOCH)
        );
        assert_eq!(
            check_allocate_producer_ids_epoch(None, 1),
            Err(errors::BROKER_ID_NOT_REGISTERED)
        );
        assert_eq!(
            check_controlled_shutdown_epoch(Some(42), 43),
            Ok(()),
            "a newer epoch is accepted by ControlledShutdown"
        );
        assert_eq!(check_controlled_shutdown_epoch(Some(42), -1), Ok(()));
        assert_eq!(
            check_controlled_shutdown_epoch(Some(42), 41),
            Err(errors::STALE_BROKER_EPOCH)
        );
        assert_eq!(
            check_controlled_shutdown_epoch(None, -1),
            Err(errors::BROKER_NOT_AVAILABLE)
        );
    }

    #[test]
    fn expansion_is_written_with_the_same_leader_epoch() {
        let state = current(2, 5, &[2, 3], 7);
        let decision = decide_alter_partition(
            BrokerId(2),
            &ask(5, &[2, 3, 4], 7),
            Some(&state),
            &eligible(&[2, 3, 4]),
            true,
        );
        assert_eq!(decision, AlterDecision::Write(current(2, 5, &[2, 3, 4], 7)));
    }

    #[test]
    fn checks_run_in_apaches_order() {
        let state = current(2, 5, &[2, 3], 7);
        let all = eligible(&[2, 3, 4]);
        let decide = |request: AlterPartitionPartitionData| {
            decide_alter_partition(BrokerId(2), &request, Some(&state), &all, true)
        };
        // Ahead of the controller, in either epoch: NOT_CONTROLLER.
        assert_eq!(
            decide(ask(6, &[2], 7)),
            AlterDecision::Reject(errors::NOT_CONTROLLER)
        );
        assert_eq!(
            decide(ask(5, &[2], 8)),
            AlterDecision::Reject(errors::NOT_CONTROLLER)
        );
        // Behind in leader epoch: fenced, even with a stale partition epoch.
        assert_eq!(
            decide(ask(4, &[2], 6)),
            AlterDecision::Reject(errors::FENCED_LEADER_EPOCH)
        );
        // The same ISR with an older partition epoch: idempotent success.
        assert_eq!(
            decide(ask(5, &[2, 3], 6)),
            AlterDecision::AlreadyApplied(state.clone())
        );
        // A different ISR with an older partition epoch: INVALID_UPDATE_VERSION.
        assert_eq!(
            decide(ask(5, &[2], 6)),
            AlterDecision::Reject(errors::INVALID_UPDATE_VERSION)
        );
        // RECOVERING with two members, or RECOVERED -> RECOVERING.
        let mut recovering = ask(5, &[2, 3], 7);
        recovering.leader_recovery_state = LEADER_RECOVERY_STATE_RECOVERING;
        assert_eq!(
            decide(recovering),
            AlterDecision::Reject(errors::INVALID_REQUEST)
        );
        let mut recovering = ask(5, &[2], 7);
        recovering.leader_recovery_state = LEADER_RECOVERY_STATE_RECOVERING;
        assert_eq!(
            decide(recovering),
            AlterDecision::Reject(errors::INVALID_REQUEST)
        );
        // A member that is not live (or is shutting down).
        assert_eq!(
            decide(ask(5, &[2, 3, 5], 7)),
            AlterDecision::Reject(errors::INELIGIBLE_REPLICA)
        );
        assert_eq!(
            decide_alter_partition(
                BrokerId(2),
                &ask(5, &[2, 3, 5], 7),
                Some(&state),
                &all,
                false
            ),
            AlterDecision::Reject(errors::OPERATION_NOT_ATTEMPTED)
        );
        // Unknown partition.
        assert_eq!(
            decide_alter_partition(BrokerId(2), &ask(5, &[2], 7), None, &all, true),
            AlterDecision::Reject(errors::UNKNOWN_TOPIC_OR_PARTITION)
        );
    }

    #[test]
    fn requested_isr_reads_either_shape() {
        let mut v0 = AlterPartitionPartitionData {
            new_isr: ids(&[1, 2]),
            ..Default::default()
        };
        assert_eq!(requested_isr(&v0), ids(&[1, 2]));
        v0.new_isr.clear();
        assert_eq!(requested_isr(&ask(0, &[3, 1], 0)), ids(&[3, 1]));
    }
}
