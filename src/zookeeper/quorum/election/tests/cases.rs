//! Scripts against one server (format in `script`). Names follow Apache's tests
//! where one exists (`FLELostMessageTest` -> `fle_lost_message`, ...).

use super::script::run_script;

/// FLELostMessageTest: the mock server's LOOKING vote does not elect anyone, but
/// its FOLLOWING notification in my round, naming me, makes me lead: the
/// FOLLOWING vote (version 1, stored with version 0) agrees with my own LOOKING one
/// on the leader, which is all `Vote.equals` asks across versions.
#[test]
fn fle_lost_message() {
    run_script(
        "
server me=1 voters=0,1,2
start t=0 zxid=0:0 epoch=0
  send to=0 LOOKING leader=1 zxid=0:0 round=1 epoch=0
  send to=2 LOOKING leader=1 zxid=0:0 round=1 epoch=0
recv t=10 from=0 LOOKING leader=0 zxid=0:0 round=1 epoch=0 version=1
recv t=20 from=0 FOLLOWING leader=1 zxid=0:0 round=1 epoch=0 version=1
  decided LEADING leader=1 zxid=0:0 round=1 epoch=0
state
  state=LEADING round=1 deadline=none current=leader=1 zxid=0:0 round=1 epoch=0
",
    );
}

/// FLEBackwardElectionRoundTest: two FOLLOWING notifications naming me in round 1
/// elect me in round 1; the same messages replayed while I look in round 2 must
/// not, because `checkLeader` wants my own round when I am the named leader.
#[test]
fn fle_backward_election_round() {
    run_script(
        "
server me=0 voters=0,1,2
start t=0 zxid=0:0 epoch=0
  send to=1 LOOKING leader=0 zxid=0:0 round=1 epoch=0
  send to=2 LOOKING leader=0 zxid=0:0 round=1 epoch=0
recv t=1 from=1 FOLLOWING leader=0 zxid=0:0 round=1 epoch=1 version=1
recv t=2 from=2 FOLLOWING leader=0 zxid=0:0 round=1 epoch=1 version=1
  decided LEADING leader=0 zxid=0:0 round=1 epoch=1

start t=5000 zxid=0:0 epoch=0
  send to=1 LOOKING leader=0 zxid=0:0 round=2 epoch=0
  send to=2 LOOKING leader=0 zxid=0:0 round=2 epoch=0
recv t=5001 from=1 FOLLOWING leader=0 zxid=0:0 round=1 epoch=1 version=1
recv t=5002 from=2 FOLLOWING leader=0 zxid=0:0 round=1 epoch=1 version=1
recv t=5003 from=1 FOLLOWING leader=0 zxid=0:0 round=1 epoch=1 version=1
state
  state=LOOKING round=2 deadline=5203 current=leader=0 zxid=0:0 round=1 epoch=1
",
    );
}

/// FLEOutOfElectionTest (ZOOKEEPER-1732/1805/1818): a restarted server joins an
/// established ensemble in an older round. Two followers still send version-0
/// votes with the old peer epoch (only their leader is compared); the leader and
/// one follower send the refreshed epoch. The quorum is there after three, but I
/// only follow once the leader itself says LEADING.
#[test]
fn fle_out_of_election() {
    run_script(
        "
server me=3 voters=1,2,3,4,5
start t=0 zxid=23:4 epoch=23
  send to=1 LOOKING leader=3 zxid=23:4 round=1 epoch=23
  send to=2 LOOKING leader=3 zxid=23:4 round=1 epoch=23
  send to=4 LOOKING leader=3 zxid=23:4 round=1 epoch=23
  send to=5 LOOKING leader=3 zxid=23:4 round=1 epoch=23
recv t=1 from=1 FOLLOWING leader=5 zxid=15:0 round=10 epoch=23 version=0
recv t=2 from=2 FOLLOWING leader=5 zxid=15:0 round=10 epoch=23 version=0
recv t=3 from=4 FOLLOWING leader=5 zxid=15:0 round=10 epoch=24
recv t=4 from=5 LEADING leader=5 zxid=15:0 round=10 epoch=24
  decided FOLLOWING leader=5 zxid=15:0 round=10 epoch=24
state
  state=FOLLOWING round=10 deadline=none current=leader=5 zxid=15:0 round=10 epoch=24
",
    );
}

/// Without `updateElectionVote` the rejoin stalls: every peer sends version 2, so
/// (leader, peer epoch) must match, and the leader's refreshed epoch 24 disagrees
/// with the followers' stale 23. Once the followers have synced and answer with
/// 24, the rejoining server follows.
#[test]
fn fle_out_of_election_needs_updated_peer_epoch() {
    run_script(
        "
server me=3 voters=1,2,3,4,5
start t=0 zxid=23:4 epoch=23
  send to=1 LOOKING leader=3 zxid=23:4 round=1 epoch=23
  send to=2 LOOKING leader=3 zxid=23:4 round=1 epoch=23
  send to=4 LOOKING leader=3 zxid=23:4 round=1 epoch=23
  send to=5 LOOKING leader=3 zxid=23:4 round=1 epoch=23
recv t=1 from=1 FOLLOWING leader=5 zxid=15:0 round=10 epoch=23
recv t=2 from=2 FOLLOWING leader=5 zxid=15:0 round=10 epoch=23
recv t=3 from=5 LEADING leader=5 zxid=15:0 round=10 epoch=24
recv t=4 from=4 FOLLOWING leader=5 zxid=15:0 round=10 epoch=24
recv t=5 from=1 FOLLOWING leader=5 zxid=15:0 round=10 epoch=24
  decided FOLLOWING leader=5 zxid=15:0 round=10 epoch=24
",
    );
}

/// Replies while decided: a LOOKING voter gets my current vote with the vote's
/// own round and my state; after `updateElectionVote` it carries the new epoch. A
/// non-voter gets an answer whatever its state, with my logical clock as the
/// round. Non-LOOKING voters get nothing, and time does nothing.
#[test]
fn replies_while_not_looking() {
    run_script(
        "
server me=3 voters=1,2,3 observers=4
start t=0 zxid=1:7 epoch=1
  send to=1 LOOKING leader=3 zxid=1:7 round=1 epoch=1
  send to=2 LOOKING leader=3 zxid=1:7 round=1 epoch=1
recv t=1 from=1 LOOKING leader=3 zxid=1:7 round=1 epoch=1
state
  state=LOOKING round=1 deadline=201 current=leader=3 zxid=1:7 round=-1 epoch=1
tick t=201
  decided LEADING leader=3 zxid=1:7 round=1 epoch=1
recv t=300 from=1 LOOKING leader=1 zxid=1:2 round=2 epoch=1
  send to=1 LEADING leader=3 zxid=1:7 round=1 epoch=1
synced epoch=2
recv t=400 from=2 LOOKING leader=2 zxid=0:0 round=1 epoch=0
  send to=2 LEADING leader=3 zxid=1:7 round=1 epoch=2
recv t=401 from=4 OBSERVING leader=MIN zxid=MIN round=1 epoch=MIN
  send to=4 LEADING leader=3 zxid=1:7 round=1 epoch=2
recv t=402 from=2 FOLLOWING leader=3 zxid=1:7 round=1 epoch=2
tick t=100000
state
  state=LEADING round=1 deadline=none current=leader=3 zxid=1:7 round=1 epoch=2
",
    );
}

/// Replies while looking: a non-voter is answered at once with my *current* vote
/// (still the initial one from `startLeaderElection`, round -1, re-stamped with my
/// logical clock), not my proposal; a LOOKING voter behind my round gets my
/// proposal. Neither notification changes my vote.
#[test]
fn replies_while_looking() {
    run_script(
        "
server me=1 voters=1,2,3 observers=4
start t=0 zxid=1:5 epoch=1
  send to=2 LOOKING leader=1 zxid=1:5 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:5 round=1 epoch=1
recv t=1 from=3 LOOKING leader=3 zxid=1:5 round=1 epoch=1
  send to=2 LOOKING leader=3 zxid=1:5 round=1 epoch=1
  send to=3 LOOKING leader=3 zxid=1:5 round=1 epoch=1
recv t=2 from=4 LOOKING leader=MIN zxid=MIN round=1 epoch=MIN
  send to=4 LOOKING leader=1 zxid=1:5 round=1 epoch=1
recv t=3 from=2 LOOKING leader=2 zxid=1:9 round=0 epoch=1
  send to=2 LOOKING leader=3 zxid=1:5 round=1 epoch=1
state
  state=LOOKING round=1 deadline=203 current=leader=1 zxid=1:5 round=-1 epoch=1
",
    );
}

/// A 3-voter cold start from one server's side: a better vote is adopted and
/// re-broadcast; with my own (self-delivered) copy that is a quorum, and I decide
/// after the 200 ms finalize wait, unless something arrives meanwhile: a
/// notification that is not better is dropped but restarts the wait.
#[test]
fn finalize_wait_restarts_on_any_notification() {
    run_script(
        "
server me=1 voters=1,2,3
start t=0 zxid=1:5 epoch=1
  send to=2 LOOKING leader=1 zxid=1:5 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:5 round=1 epoch=1
recv t=10 from=3 LOOKING leader=3 zxid=1:5 round=1 epoch=1
  send to=2 LOOKING leader=3 zxid=1:5 round=1 epoch=1
  send to=3 LOOKING leader=3 zxid=1:5 round=1 epoch=1
state
  state=LOOKING round=1 deadline=210 current=leader=1 zxid=1:5 round=-1 epoch=1
recv t=100 from=2 LOOKING leader=2 zxid=1:5 round=1 epoch=1
tick t=299
tick t=300
  decided FOLLOWING leader=3 zxid=1:5 round=1 epoch=1
",
    );
}

/// A better vote during the finalize wait re-opens the election: it is processed
/// as usual (adopted, broadcast, counted), and the wait starts again once a quorum
/// agrees with the new proposal.
#[test]
fn better_vote_during_finalize_wait_reopens() {
    run_script(
        "
server me=1 voters=1,2,3
start t=0 zxid=1:5 epoch=1
  send to=2 LOOKING leader=1 zxid=1:5 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:5 round=1 epoch=1
recv t=10 from=2 LOOKING leader=2 zxid=1:5 round=1 epoch=1
  send to=2 LOOKING leader=2 zxid=1:5 round=1 epoch=1
  send to=3 LOOKING leader=2 zxid=1:5 round=1 epoch=1
state
  state=LOOKING round=1 deadline=210 current=leader=1 zxid=1:5 round=-1 epoch=1
recv t=150 from=3 LOOKING leader=3 zxid=1:6 round=1 epoch=1
  send to=2 LOOKING leader=3 zxid=1:6 round=1 epoch=1
  send to=3 LOOKING leader=3 zxid=1:6 round=1 epoch=1
state
  state=LOOKING round=1 deadline=350 current=leader=1 zxid=1:5 round=-1 epoch=1
tick t=349
tick t=350
  decided FOLLOWING leader=3 zxid=1:6 round=1 epoch=1
",
    );
}

/// A notification from a higher round: I join that round, drop the votes of mine,
/// and choose between its vote and my *initial* vote (here mine is better, so I
/// re-broadcast my own vote in the new round). Lower rounds are ignored (apart
/// from the reply).
#[test]
fn higher_round_is_joined_lower_round_ignored() {
    run_script(
        "
server me=1 voters=1,2,3
start t=0 zxid=2:0 epoch=2
  send to=2 LOOKING leader=1 zxid=2:0 round=1 epoch=2
  send to=3 LOOKING leader=1 zxid=2:0 round=1 epoch=2
recv t=1 from=2 LOOKING leader=2 zxid=1:9 round=4 epoch=1
  send to=2 LOOKING leader=1 zxid=2:0 round=4 epoch=2
  send to=3 LOOKING leader=1 zxid=2:0 round=4 epoch=2
recv t=2 from=3 LOOKING leader=3 zxid=3:0 round=3 epoch=3
  send to=3 LOOKING leader=1 zxid=2:0 round=4 epoch=2
recv t=3 from=3 LOOKING leader=1 zxid=2:0 round=4 epoch=2
state
  state=LOOKING round=4 deadline=203 current=leader=1 zxid=2:0 round=-1 epoch=2
tick t=203
  decided LEADING leader=1 zxid=2:0 round=4 epoch=2
",
    );
}

/// Duplicates (a SendWorker resends its last message on reconnect) change
/// nothing, and the notification timeout restarts with every notification.
#[test]
fn duplicate_notifications_are_harmless() {
    run_script(
        "
server me=1 voters=1,2,3,4,5
start t=0 zxid=1:1 epoch=1
  send to=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:1 round=1 epoch=1
  send to=4 LOOKING leader=1 zxid=1:1 round=1 epoch=1
  send to=5 LOOKING leader=1 zxid=1:1 round=1 epoch=1
recv t=50 from=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
recv t=60 from=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
recv t=70 from=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
state
  state=LOOKING round=1 deadline=270 current=leader=1 zxid=1:1 round=-1 epoch=1
recv t=80 from=3 LOOKING leader=1 zxid=1:1 round=1 epoch=1
recv t=90 from=3 LOOKING leader=1 zxid=1:1 round=1 epoch=1
state
  state=LOOKING round=1 deadline=290 current=leader=1 zxid=1:1 round=-1 epoch=1
tick t=290
  decided LEADING leader=1 zxid=1:1 round=1 epoch=1
",
    );
}

/// Notification timeouts: reconnect, re-send, and double the wait (200, 400, 800
/// ms, ...). My own copy counts again each time, which is harmless.
#[test]
fn notification_timeout_backs_off() {
    run_script(
        "
server me=1 voters=1,2,3
start t=0 zxid=1:1 epoch=1
  send to=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:1 round=1 epoch=1
tick t=199
tick t=200
  reconnect-all
  send to=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:1 round=1 epoch=1
state
  state=LOOKING round=1 deadline=600 current=leader=1 zxid=1:1 round=-1 epoch=1
tick t=599
tick t=600
  reconnect-all
  send to=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:1 round=1 epoch=1
state
  state=LOOKING round=1 deadline=1400 current=leader=1 zxid=1:1 round=-1 epoch=1
recv t=1000 from=2 LOOKING leader=2 zxid=1:0 round=1 epoch=1
state
  state=LOOKING round=1 deadline=1800 current=leader=1 zxid=1:1 round=-1 epoch=1
",
    );
}

/// A received config with another version is reported, not acted on; unreadable
/// config bytes likewise. The notification itself is processed as usual.
#[test]
fn config_version_mismatch_is_reported_not_acted_on() {
    run_script(
        "
server me=1 voters=1,2,3 version=100000000
start t=0 zxid=1:1 epoch=1
  send to=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:1 round=1 epoch=1
recv t=1 from=2 LOOKING leader=2 zxid=1:1 round=1 epoch=1 config=200000000
  warn config-version from=2 received=8589934592 mine=4294967296
  send to=2 LOOKING leader=2 zxid=1:1 round=1 epoch=1
  send to=3 LOOKING leader=2 zxid=1:1 round=1 epoch=1
recv t=2 from=3 LOOKING leader=2 zxid=1:1 round=1 epoch=1 config=bad
  warn config-unreadable from=3
recv t=3 from=3 LOOKING leader=2 zxid=1:1 round=1 epoch=1 config=100000000
tick t=203
  decided FOLLOWING leader=2 zxid=1:1 round=1 epoch=1
",
    );
}

/// An observer votes (MIN, MIN, MIN), sends only to voters, never counts itself,
/// and follows a leader that a quorum follows and that says LEADING. Another
/// observer is answered at once.
#[test]
fn observer_joins_established_ensemble() {
    run_script(
        "
server me=4 voters=1,2,3 observers=4,5
start t=0 zxid=2:3 epoch=2
  send to=1 LOOKING leader=MIN zxid=MIN round=1 epoch=MIN
  send to=2 LOOKING leader=MIN zxid=MIN round=1 epoch=MIN
  send to=3 LOOKING leader=MIN zxid=MIN round=1 epoch=MIN
recv t=1 from=5 LOOKING leader=MIN zxid=MIN round=1 epoch=MIN
  send to=5 LOOKING leader=4 zxid=2:3 round=1 epoch=2
recv t=2 from=1 FOLLOWING leader=3 zxid=2:3 round=7 epoch=3
recv t=3 from=3 LEADING leader=3 zxid=2:3 round=7 epoch=3
  decided OBSERVING leader=3 zxid=2:3 round=7 epoch=3
state
  state=OBSERVING round=7 deadline=none current=leader=3 zxid=2:3 round=7 epoch=3
",
    );
}

/// An observer in a cold start takes the best voter's proposal, and decides on
/// LOOKING votes alone only if a quorum of voters sent that exact vote.
#[test]
fn observer_cold_start() {
    run_script(
        "
server me=4 voters=1,2,3 observers=4
start t=0 zxid=0:0 epoch=0
  send to=1 LOOKING leader=MIN zxid=MIN round=1 epoch=MIN
  send to=2 LOOKING leader=MIN zxid=MIN round=1 epoch=MIN
  send to=3 LOOKING leader=MIN zxid=MIN round=1 epoch=MIN
recv t=1 from=1 LOOKING leader=1 zxid=0:0 round=1 epoch=0
  send to=1 LOOKING leader=1 zxid=0:0 round=1 epoch=0
  send to=2 LOOKING leader=1 zxid=0:0 round=1 epoch=0
  send to=3 LOOKING leader=1 zxid=0:0 round=1 epoch=0
recv t=2 from=3 LOOKING leader=3 zxid=0:0 round=1 epoch=0
  send to=1 LOOKING leader=3 zxid=0:0 round=1 epoch=0
  send to=2 LOOKING leader=3 zxid=0:0 round=1 epoch=0
  send to=3 LOOKING leader=3 zxid=0:0 round=1 epoch=0
recv t=3 from=1 LOOKING leader=3 zxid=0:0 round=1 epoch=0
state
  state=LOOKING round=1 deadline=203 current=leader=4 zxid=0:0 round=-1 epoch=0
tick t=203
  decided OBSERVING leader=3 zxid=0:0 round=1 epoch=0
",
    );
}

/// Zero voters: nobody to send to, nobody whose vote counts, every sender answered
/// as a non-voter; the election never ends and only backs off.
#[test]
fn zero_voters_never_decide() {
    run_script(
        "
server me=4 voters= observers=4
start t=0 zxid=1:1 epoch=1
recv t=1 from=9 LOOKING leader=9 zxid=1:1 round=1 epoch=1
  send to=9 LOOKING leader=4 zxid=1:1 round=1 epoch=1
tick t=200
  reconnect-all
tick t=600
  reconnect-all
state
  state=LOOKING round=1 deadline=1400 current=leader=4 zxid=1:1 round=-1 epoch=1
",
    );
}

/// One voter: my own self-delivered vote is the quorum.
#[test]
fn single_voter_elects_itself() {
    run_script(
        "
server me=1 voters=1
start t=0 zxid=1:1 epoch=1
state
  state=LOOKING round=1 deadline=200 current=leader=1 zxid=1:1 round=-1 epoch=1
tick t=200
  decided LEADING leader=1 zxid=1:1 round=1 epoch=1
",
    );
}

/// Ignored input: anything claiming to come from my own id, a vote for a
/// non-member (it still restarts the notification timeout, as dequeuing does in
/// Apache), and LOOKING votes while my zxid is -1 (no data loaded) or theirs is.
#[test]
fn ignored_notifications() {
    run_script(
        "
server me=1 voters=1,2,3
start t=0 zxid=1:1 epoch=1
  send to=2 LOOKING leader=1 zxid=1:1 round=1 epoch=1
  send to=3 LOOKING leader=1 zxid=1:1 round=1 epoch=1
recv t=1 from=1 LEADING leader=1 zxid=1:1 round=1 epoch=1
recv t=2 from=2 LOOKING leader=7 zxid=9:9 round=1 epoch=9
recv t=3 from=2 LOOKING leader=2 zxid=-1 round=1 epoch=9
state
  state=LOOKING round=1 deadline=203 current=leader=1 zxid=1:1 round=-1 epoch=1

server me=1 voters=1,2,3
start t=0 zxid=-1 epoch=0
  send to=2 LOOKING leader=1 zxid=-1 round=1 epoch=0
  send to=3 LOOKING leader=1 zxid=-1 round=1 epoch=0
recv t=1 from=2 LOOKING leader=2 zxid=1:1 round=1 epoch=1
recv t=2 from=3 LOOKING leader=1 zxid=-1 round=1 epoch=0
tick t=202
  reconnect-all
  send to=2 LOOKING leader=1 zxid=-1 round=1 epoch=0
  send to=3 LOOKING leader=1 zxid=-1 round=1 epoch=0
",
    );
}

/// Before `start_looking` nothing is answered (there is no vote yet).
#[test]
fn idle_until_started() {
    run_script(
        "
server me=1 voters=1,2,3
recv t=1 from=2 LOOKING leader=2 zxid=1:1 round=1 epoch=1
tick t=1000
state
  state=LOOKING round=0 deadline=none current=none
",
    );
}

/// The runner itself: a wrong expectation fails.
#[test]
#[should_panic(expected = "after `tick t=200`")]
fn runner_rejects_a_wrong_trace() {
    run_script(
        "
server me=1 voters=1
start t=0 zxid=1:1 epoch=1
tick t=200
  decided FOLLOWING leader=1 zxid=1:1 round=1 epoch=1
",
    );
}

/// The notification timeout doubles from 200 ms and stays at 60 s, and the
/// configured bounds (Apache's system properties) are honoured.
#[test]
fn notification_timeout_caps_at_max_interval() {
    use crate::zookeeper::quorum::election::{
        ElectionAction, ElectionConfig, FastLeaderElection, MAX_NOTIFICATION_INTERVAL_MS,
    };
    use crate::zookeeper::quorum::message::{Epoch, ServerId};
    use crate::zookeeper::tree::Zxid;

    let intervals = |config: ElectionConfig| -> Vec<u64> {
        let mut election = FastLeaderElection::new(config);
        election.start_looking(0, Zxid(0), Epoch(0));
        let mut intervals = Vec::new();
        let mut last_ms = 0;
        for _ in 0..12 {
            let deadline_ms = election.next_deadline_ms().expect("looking");
            intervals.push(deadline_ms - last_ms);
            last_ms = deadline_ms;
            let actions = election.tick(deadline_ms);
            assert_eq!(actions.first(), Some(&ElectionAction::ReconnectAll));
        }
        intervals
    };
    let members = || [ServerId(1), ServerId(2), ServerId(3)];
    let config = ElectionConfig::new(ServerId(1), members(), [], super::script::config_text(0))
        .expect("config");
    assert_eq!(
        intervals(config.clone()),
        [200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 60_000, 60_000, 60_000]
    );
    assert_eq!(MAX_NOTIFICATION_INTERVAL_MS, 60_000);
    let fast = config
        .with_notification_intervals(50, 300)
        .expect("intervals");
    assert_eq!(
        intervals(fast),
        [50, 100, 200, 300, 300, 300, 300, 300, 300, 300, 300, 300]
    );
}

/// Configurations that cannot be run are refused with a reason.
#[test]
fn config_errors() {
    use crate::zookeeper::quorum::election::{
        config_version, ElectionConfig, ElectionConfigError, MAX_ENSEMBLE_MEMBERS,
    };
    use crate::zookeeper::quorum::message::ServerId;
    use std::sync::Arc;

    let text = super::script::config_text;
    let ids = |range: std::ops::Range<i64>| range.map(ServerId).collect::<Vec<_>>();
    assert_eq!(
        ElectionConfig::new(ServerId(9), ids(1..4), [], text(0)),
        Err(ElectionConfigError::NotAMember(ServerId(9)))
    );
    assert_eq!(
        ElectionConfig::new(ServerId(1), ids(1..4), ids(3..5), text(0)),
        Err(ElectionConfigError::VoterAndObserver(ServerId(3)))
    );
    let too_many = MAX_ENSEMBLE_MEMBERS as i64 + 1;
    assert_eq!(
        ElectionConfig::new(ServerId(1), ids(1..too_many + 1), [], text(0)),
        Err(ElectionConfigError::TooManyMembers {
            count: MAX_ENSEMBLE_MEMBERS + 1,
            max: MAX_ENSEMBLE_MEMBERS
        })
    );
    assert_eq!(
        ElectionConfig::new(ServerId(1), ids(1..4), [], Arc::from(&b"version=zz"[..])),
        Err(ElectionConfigError::UnreadableConfig)
    );
    let config = ElectionConfig::new(ServerId(1), ids(1..4), [], text(0x1_0000_0003)).unwrap();
    assert_eq!(config.config_version(), 0x1_0000_0003);
    assert!(config.clone().with_notification_intervals(0, 10).is_err());
    assert!(config.with_notification_intervals(20, 10).is_err());
    assert_eq!(config_version(b"server.1=a:1:2:participant"), Some(0));
    assert_eq!(
        config_version(b"server.1=a:1:2:participant\nversion=1f"),
        Some(0x1f)
    );
    assert_eq!(config_version(&[0xff]), None);
}
