//! Scripted conversations with one core: the ZOOKEEPER-* regressions, each
//! asserting the order of persistence, sends and applies Apache's fix requires.

use std::sync::Arc;

use super::leader::{plan_sync, SyncPlan};
use super::log::CommittedLog;
use super::*;
use crate::zookeeper::quorum::message::LearnerInfo;
use crate::zookeeper::quorum::sim::make_txn;

fn sid(id: i64) -> ServerId {
    ServerId(id)
}

fn config(my_id: i64) -> ZabConfig {
    let mut config = ZabConfig::new(sid(my_id), vec![sid(1), sid(2), sid(3)], vec![sid(4)]);
    config.tick_ms = 100;
    config
}

fn txn(epoch: u32, counter: u32) -> Arc<TxnEntry> {
    Arc::new(make_txn(u64::from(counter), Zxid::new(epoch, counter)))
}

fn names(outputs: &[Output]) -> Vec<String> {
    outputs.iter().map(|output| format!("{output:?}")).collect()
}

fn from_leader(zab: &mut Zab, message: QuorumMessage) -> Vec<String> {
    zab.step(
        0,
        Input::Message {
            from: sid(1),
            message,
        },
    );
    names(&zab.take_outputs())
}

fn input(zab: &mut Zab, input: Input) -> Vec<String> {
    zab.step(0, input);
    names(&zab.take_outputs())
}

/// A follower (server 2, empty history, epochs 0) registered with leader 1 for
/// epoch 1, waiting for the first sync packet.
fn registered_follower() -> Zab {
    let recovered = Recovered {
        accepted_epoch: Some(Epoch(0)),
        current_epoch: Some(Epoch(0)),
        ..Default::default()
    };
    let mut zab = Zab::new(config(2), recovered).expect("starts");
    input(
        &mut zab,
        Input::Elected(Decision::Follow { leader: sid(1) }),
    );
    assert_eq!(
        input(&mut zab, Input::LeaderConnected { leader: sid(1) }),
        ["Send(1, FOLLOWERINFO 0x0)"]
    );
    let leader_info = QuorumMessage::LeaderInfo {
        zxid: Epoch(1).zxid_base(),
        protocol_version: ZAB_PROTOCOL_VERSION,
    };
    assert_eq!(
        from_leader(&mut zab, leader_info),
        ["PersistAcceptedEpoch(1)"],
        "acceptedEpoch first"
    );
    assert_eq!(
        input(
            &mut zab,
            Input::EpochPersisted {
                file: EpochFile::Accepted,
                epoch: Epoch(1)
            }
        ),
        ["Send(1, ACKEPOCH 0x0 0)"]
    );
    zab
}

fn new_leader() -> QuorumMessage {
    QuorumMessage::NewLeader {
        zxid: Epoch(1).zxid_base(),
        config: None,
    }
}

/// ZOOKEEPER-1282: the learner persists acceptedEpoch before ACKEPOCH and
/// currentEpoch on NEWLEADER (not UPTODATE), before its ACK; the leader persists
/// acceptedEpoch before any LEADERINFO.
#[test]
fn zookeeper_1282_epochs_persisted_before_they_are_acknowledged() {
    let mut follower = registered_follower();
    from_leader(&mut follower, QuorumMessage::Diff { zxid: Zxid(0) });
    assert_eq!(
        from_leader(&mut follower, new_leader()),
        ["PersistCurrentEpoch(1)"]
    );
    assert_eq!(
        input(
            &mut follower,
            Input::EpochPersisted {
                file: EpochFile::Current,
                epoch: Epoch(1)
            }
        ),
        ["Send(1, ACK 0x100000000)"]
    );
    let serving = from_leader(&mut follower, QuorumMessage::UpToDate);
    assert_eq!(
        serving,
        ["ServeClients(Follower, 1)", "Send(1, ACK 0x100000000)"]
    );

    let mut leader = Zab::new(config(1), Recovered::default()).expect("starts");
    leader.take_outputs();
    input(&mut leader, Input::Elected(Decision::Lead));
    input(&mut leader, Input::LearnerConnected { peer: sid(2) });
    let info = LearnerInfo {
        server_id: sid(2),
        protocol_version: ZAB_PROTOCOL_VERSION,
        config_version: 0,
    };
    let outputs = input(
        &mut leader,
        Input::Message {
            from: sid(2),
            message: QuorumMessage::FollowerInfo {
                zxid: Zxid(0),
                info,
            },
        },
    );
    assert_eq!(
        outputs,
        ["PersistAcceptedEpoch(1)"],
        "no LEADERINFO before acceptedEpoch is durable"
    );
    let outputs = input(
        &mut leader,
        Input::EpochPersisted {
            file: EpochFile::Accepted,
            epoch: Epoch(1),
        },
    );
    assert_eq!(outputs, ["Send(2, LEADERINFO 0x100000000)"]);
    let outputs = input(
        &mut leader,
        Input::Message {
            from: sid(2),
            message: QuorumMessage::AckEpoch {
                last_zxid: Zxid(0),
                current_epoch: 0,
            },
        },
    );
    assert_eq!(
        outputs,
        ["PersistCurrentEpoch(1)"],
        "currentEpoch after a quorum of ACKEPOCH"
    );
}

/// ZOOKEEPER-3104: NEWLEADER is queued after the whole sync (snapshot, or
/// DIFF txns) and after the forwarded outstanding proposals.
#[test]
fn zookeeper_3104_newleader_follows_the_snapshot_and_the_txns() {
    let history: Vec<Arc<TxnEntry>> = (1..=30).map(|counter| txn(1, counter)).collect();
    let recovered = Recovered {
        accepted_epoch: Some(Epoch(1)),
        current_epoch: Some(Epoch(1)),
        last_zxid: Zxid::new(1, 30),
        recent_txns: history.clone(),
        durable_zxid: None,
    };
    let mut config = config(1);
    config.committed_log_entries_max = 10;
    let mut leader = Zab::new(config, recovered).expect("starts");
    input(&mut leader, Input::Elected(Decision::Lead));
    for (peer, last_zxid) in [(2, Zxid::new(1, 25)), (3, Zxid::new(1, 3))] {
        input(&mut leader, Input::LearnerConnected { peer: sid(peer) });
        let info = LearnerInfo {
            server_id: sid(peer),
            protocol_version: ZAB_PROTOCOL_VERSION,
            config_version: 0,
        };
        let message = QuorumMessage::FollowerInfo {
            zxid: Epoch(1).zxid_base(),
            info,
        };
        input(
            &mut leader,
            Input::Message {
                from: sid(peer),
                message,
            },
        );
        if peer == 2 {
            input(
                &mut leader,
                Input::EpochPersisted {
                    file: EpochFile::Accepted,
                    epoch: Epoch(2),
                },
            );
        }
        let ack = QuorumMessage::AckEpoch {
            last_zxid,
            current_epoch: 1,
        };
        input(
            &mut leader,
            Input::Message {
                from: sid(peer),
                message: ack,
            },
        );
    }
    let outputs = input(
        &mut leader,
        Input::EpochPersisted {
            file: EpochFile::Current,
            epoch: Epoch(2),
        },
    );
    let to_2: Vec<&String> = outputs.iter().filter(|o| o.starts_with("Send(2")).collect();
    assert_eq!(
        to_2.first().map(|s| s.as_str()),
        Some("Send(2, DIFF 0x10000001e)")
    );
    assert_eq!(to_2.len(), 1 + 2 * 5 + 1);
    assert_eq!(
        to_2.last().map(|s| s.as_str()),
        Some("Send(2, NEWLEADER 0x200000000)")
    );
    let to_3: Vec<&String> = outputs.iter().filter(|o| o.contains("(3")).collect();
    assert_eq!(
        to_3,
        [
            "Send(3, SNAP 0x10000001e)",
            "SendSnapshot(3, 0x10000001e)",
            "Send(3, NEWLEADER 0x200000000)"
        ],
        "a peer older than the committed-log window gets SNAP, NEWLEADER after the snapshot"
    );
}

/// ZOOKEEPER-3911 / 4646 / 4785: every committed sync txn is logged and fsynced
/// before the NEWLEADER ACK.
#[test]
fn zookeeper_3911_4646_4785_sync_txns_durable_before_newleader_ack() {
    let mut follower = registered_follower();
    from_leader(
        &mut follower,
        QuorumMessage::Diff {
            zxid: Zxid::new(0, 2),
        },
    );
    for counter in 1..=2 {
        from_leader(
            &mut follower,
            QuorumMessage::Proposal {
                txn: txn(0, counter),
            },
        );
        from_leader(
            &mut follower,
            QuorumMessage::Commit {
                zxid: Zxid::new(0, counter),
            },
        );
    }
    let outputs = from_leader(&mut follower, new_leader());
    assert_eq!(
        outputs,
        [
            "AppendTxn(0x1)",
            "Apply(0x1)",
            "AppendTxn(0x2)",
            "Apply(0x2)"
        ],
        "no ACK, no epoch yet"
    );
    assert!(
        input(&mut follower, Input::LogDurable { zxid: Zxid(1) }).is_empty(),
        "half durable is not enough"
    );
    assert_eq!(
        input(&mut follower, Input::LogDurable { zxid: Zxid(2) }),
        ["PersistCurrentEpoch(1)"]
    );
    assert_eq!(
        input(
            &mut follower,
            Input::EpochPersisted {
                file: EpochFile::Current,
                epoch: Epoch(1)
            }
        ),
        ["Send(1, ACK 0x100000000)"]
    );
}

/// ZOOKEEPER-4643: currentEpoch is written only after the sync txns are durable
/// (never before they are logged), and txns of the new epoch itself after it.
#[test]
fn zookeeper_4643_current_epoch_after_the_sync_txns() {
    let mut follower = registered_follower();
    from_leader(
        &mut follower,
        QuorumMessage::Diff {
            zxid: Zxid::new(1, 1),
        },
    );
    from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(0, 1) });
    from_leader(
        &mut follower,
        QuorumMessage::Commit {
            zxid: Zxid::new(0, 1),
        },
    );
    from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(1, 1) });
    from_leader(
        &mut follower,
        QuorumMessage::Commit {
            zxid: Zxid::new(1, 1),
        },
    );
    assert_eq!(
        from_leader(&mut follower, new_leader()),
        ["AppendTxn(0x1)", "Apply(0x1)"]
    );
    assert_eq!(
        input(&mut follower, Input::LogDurable { zxid: Zxid(1) }),
        ["PersistCurrentEpoch(1)"]
    );
    assert_eq!(
        input(
            &mut follower,
            Input::EpochPersisted {
                file: EpochFile::Current,
                epoch: Epoch(1)
            }
        ),
        ["AppendTxn(0x100000001)", "Apply(0x100000001)"],
        "the epoch-1 txn follows currentEpoch=1, so the log never gets ahead of it"
    );
    assert_eq!(
        input(
            &mut follower,
            Input::LogDurable {
                zxid: Zxid::new(1, 1)
            }
        ),
        ["Send(1, ACK 0x100000000)"]
    );
}

/// ZOOKEEPER-4394: only committed sync txns are applied before the NEWLEADER
/// ACK; an outstanding one is logged after UPTODATE, ACKed once durable, applied
/// on its COMMIT.
#[test]
fn zookeeper_4394_only_committed_sync_txns_applied() {
    let mut follower = registered_follower();
    from_leader(
        &mut follower,
        QuorumMessage::Diff {
            zxid: Zxid::new(0, 1),
        },
    );
    from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(0, 1) });
    from_leader(
        &mut follower,
        QuorumMessage::Commit {
            zxid: Zxid::new(0, 1),
        },
    );
    from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(0, 2) });
    assert_eq!(
        from_leader(&mut follower, new_leader()),
        ["AppendTxn(0x1)", "Apply(0x1)"]
    );
    input(&mut follower, Input::LogDurable { zxid: Zxid(1) });
    input(
        &mut follower,
        Input::EpochPersisted {
            file: EpochFile::Current,
            epoch: Epoch(1),
        },
    );
    let outputs = from_leader(&mut follower, QuorumMessage::UpToDate);
    assert_eq!(
        outputs,
        [
            "ServeClients(Follower, 1)",
            "Send(1, ACK 0x100000000)",
            "AppendTxn(0x2)"
        ]
    );
    assert_eq!(
        input(&mut follower, Input::LogDurable { zxid: Zxid(2) }),
        ["Send(1, ACK 0x2)"]
    );
    assert_eq!(
        from_leader(&mut follower, QuorumMessage::Commit { zxid: Zxid(2) }),
        ["Apply(0x2)"]
    );
}

/// ZOOKEEPER-4925: a DIFF with a hole inside one epoch is refused; a jump to a
/// new epoch is not a hole.
#[test]
fn zookeeper_4925_non_contiguous_diff_rejected() {
    let mut follower = registered_follower();
    from_leader(
        &mut follower,
        QuorumMessage::Diff {
            zxid: Zxid::new(0, 3),
        },
    );
    from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(0, 1) });
    let outputs = from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(0, 3) });
    assert!(
        outputs
            .iter()
            .any(|o| o.starts_with("GoLooking(ProtocolError")),
        "{outputs:?}"
    );

    let mut follower = registered_follower();
    from_leader(
        &mut follower,
        QuorumMessage::Diff {
            zxid: Zxid::new(1, 1),
        },
    );
    from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(0, 1) });
    assert!(from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(1, 1) }).is_empty());
}

/// ZOOKEEPER-3642: a SNAP sync interrupted before NEWLEADER was acked leaves a
/// state that is not on disk; it is discarded and reloaded.
#[test]
fn zookeeper_3642_interrupted_snap_sync_reloads_from_disk() {
    let mut follower = registered_follower();
    from_leader(&mut follower, QuorumMessage::Snap { zxid: Zxid(7) });
    let snapshot: SnapshotData = Arc::new(Vec::<(Zxid, u64)>::new());
    input(
        &mut follower,
        Input::SnapshotReceived {
            from: sid(1),
            zxid: Zxid(7),
            snapshot,
        },
    );
    let outputs = input(&mut follower, Input::LeaderDisconnected { leader: sid(1) });
    assert_eq!(
        outputs,
        ["CloseLeader(1)", "GoLooking(LeaderLost)", "ReloadDatabase"]
    );
    assert!(
        input(&mut follower, Input::Elected(Decision::Lead)).is_empty(),
        "no role before the reload"
    );
    input(
        &mut follower,
        Input::DatabaseLoaded(Recovered {
            accepted_epoch: Some(Epoch(1)),
            current_epoch: Some(Epoch(0)),
            ..Default::default()
        }),
    );
    assert!(follower.is_looking());
    assert_eq!(
        follower.vote(),
        (Epoch(0), Zxid(0)),
        "the vote comes from disk, not from the lost snapshot"
    );
}

/// FollowerZooKeeperServer.commit: a COMMIT that is not the oldest pending
/// proposal ends the role (Apache exits).
#[test]
fn unmatched_commit_goes_looking() {
    let mut follower = registered_follower();
    from_leader(&mut follower, QuorumMessage::Diff { zxid: Zxid(0) });
    from_leader(&mut follower, new_leader());
    input(
        &mut follower,
        Input::EpochPersisted {
            file: EpochFile::Current,
            epoch: Epoch(1),
        },
    );
    from_leader(&mut follower, QuorumMessage::UpToDate);
    from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(1, 1) });
    from_leader(&mut follower, QuorumMessage::Proposal { txn: txn(1, 2) });
    let outputs = from_leader(
        &mut follower,
        QuorumMessage::Commit {
            zxid: Zxid::new(1, 2),
        },
    );
    assert!(
        outputs
            .iter()
            .any(|o| o.starts_with("GoLooking(ProtocolError")),
        "{outputs:?}"
    );
}

/// LearnerHandler.syncFollower's table, including "never TRUNC across epochs".
#[test]
fn sync_plan_follows_learner_handler() {
    let mut log = CommittedLog::new(500);
    for zxid in [
        Zxid::new(1, 1),
        Zxid::new(1, 2),
        Zxid::new(2, 1),
        Zxid::new(2, 2),
    ] {
        log.push(Arc::new(make_txn(1, zxid)));
    }
    let last = Zxid::new(2, 2);
    assert_eq!(
        plan_sync(&log, last, last),
        SyncPlan::Diff {
            zxid: last,
            txns_after: None
        }
    );
    assert_eq!(
        plan_sync(&log, last, Zxid::new(2, 9)),
        SyncPlan::Trunc {
            zxid: last,
            txns_after: None
        }
    );
    assert_eq!(
        plan_sync(&log, last, Zxid::new(1, 2)),
        SyncPlan::Diff {
            zxid: last,
            txns_after: Some(Zxid::new(1, 2))
        }
    );
    assert_eq!(
        plan_sync(&log, last, Zxid::new(1, 3)),
        SyncPlan::Snap,
        "a TRUNC from (1,3) would cross into epoch 2"
    );
    assert_eq!(
        plan_sync(&log, last, Zxid::new(0, 5)),
        SyncPlan::Snap,
        "older than the window"
    );
    assert_eq!(
        plan_sync(&log, last, Zxid::new(2, 0)),
        SyncPlan::Diff {
            zxid: last,
            txns_after: Some(Zxid::new(2, 0))
        },
        "a new-epoch zxid never gets TRUNC"
    );
    let mut log = CommittedLog::new(500);
    for counter in [1, 2, 4] {
        log.push(Arc::new(make_txn(1, Zxid::new(1, counter))));
    }
    assert_eq!(
        plan_sync(&log, Zxid::new(1, 4), Zxid::new(1, 3)),
        SyncPlan::Trunc {
            zxid: Zxid::new(1, 2),
            txns_after: Some(Zxid::new(1, 3))
        },
        "the peer has (1,3) the leader lacks: truncate to the leader's previous zxid"
    );
}

/// The leader commits only with its own durable ACK in the quorum, in order.
#[test]
fn leader_commits_after_its_own_fsync() {
    let mut config = config(1);
    config.voters = vec![sid(1)];
    config.observers = vec![];
    let mut leader = Zab::new(config, Recovered::default()).expect("starts");
    leader.take_outputs();
    input(&mut leader, Input::Elected(Decision::Lead));
    input(
        &mut leader,
        Input::EpochPersisted {
            file: EpochFile::Accepted,
            epoch: Epoch(1),
        },
    );
    let outputs = input(
        &mut leader,
        Input::EpochPersisted {
            file: EpochFile::Current,
            epoch: Epoch(1),
        },
    );
    assert_eq!(outputs, ["ServeClients(Leader, 1)"]);
    let proposed = leader.propose(0, make_txn(9, Zxid(0))).expect("leader");
    assert_eq!(
        txn_zxid(&proposed),
        Zxid::new(1, 1),
        "the first zxid of an epoch has counter 1"
    );
    assert_eq!(
        names(&leader.take_outputs()),
        ["AppendTxn(0x100000001)"],
        "not applied before the fsync"
    );
    assert_eq!(
        input(
            &mut leader,
            Input::LogDurable {
                zxid: Zxid::new(1, 1)
            }
        ),
        ["Apply(0x100000001)"]
    );
}
