//! How election votes are ordered and counted: Apache's `totalOrderPredicate`,
//! `Vote.equals` (with its out-of-election relaxations) and the majority check of
//! `getVoteTracker` + `QuorumMaj.containsQuorum`.
//!
//! Kept apart from the state machine so the three rules can be read (and tested)
//! beside `FastLeaderElection.java` and `Vote.java` on their own.

use std::collections::{BTreeMap, BTreeSet};

use crate::zookeeper::quorum::message::{ServerId, ServerState, Vote};

/// A vote as one of Apache's vote maps (`recvset`, `outofelection`) stores it: the
/// `Vote` plus the sender's state and message version, which change how two votes
/// compare (`Vote.equals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrackedVote {
    pub vote: Vote,
    pub state: ServerState,
    /// `Notification.version`, or 0 where Apache builds the `Vote` with a
    /// constructor that leaves the version at 0 (every `recvset` entry).
    pub version: i32,
}

impl TrackedVote {
    /// `Vote.equals` on branch-3.9 (Vote.java:107-150):
    /// - if either side is LOOKING, leader, zxid, election epoch and peer epoch all
    ///   have to match;
    /// - otherwise zxid and election epoch are skipped, because a server that has
    ///   finished syncing only refreshes its peer epoch (ZOOKEEPER-1805);
    /// - and when exactly one side has version 0 (a pre-ZOOKEEPER-1732 sender, or a
    ///   `recvset` entry), only the leader is compared.
    pub fn agrees_with(&self, other: &TrackedVote) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            return self.vote.leader == other.vote.leader
                && self.vote.zxid == other.vote.zxid
                && self.vote.election_epoch == other.vote.election_epoch
                && self.vote.peer_epoch == other.vote.peer_epoch;
        }
        if (self.version > 0) != (other.version > 0) {
            return self.vote.leader == other.vote.leader;
        }
        self.vote.leader == other.vote.leader && self.vote.peer_epoch == other.vote.peer_epoch
    }
}

/// `totalOrderPredicate`: does `candidate` beat `current`? Votes are ordered by
/// (peer epoch, zxid, leader id), lexicographically. Apache first rejects a
/// candidate whose quorum weight is 0; with majority quorums (`QuorumMaj.getWeight`
/// is always 1) that never happens, and keel has no weighted (hierarchical)
/// quorums, so the check is absent here.
pub(crate) fn beats(candidate: &Vote, current: &Vote) -> bool {
    (candidate.peer_epoch, candidate.zxid, candidate.leader)
        > (current.peer_epoch, current.zxid, current.leader)
}

/// `getVoteTracker(votes, target).hasAllQuorums()` for a majority quorum: more than
/// half of the voters have a stored vote that agrees with `target`. Entries from
/// non-voters never count (`SyncedLearnerTracker.addAck` only counts voting
/// members), and an empty voter set never has a quorum (`containsQuorum` wants at
/// least one ack more than `half` = 0).
pub(crate) fn has_quorum(
    voters: &BTreeSet<ServerId>,
    votes: &BTreeMap<ServerId, TrackedVote>,
    target: &TrackedVote,
) -> bool {
    let agreeing = votes
        .iter()
        .filter(|(sender, vote)| voters.contains(sender) && target.agrees_with(vote))
        .count();
    agreeing > voters.len() / 2
}

/// `checkLeader`: a quorum naming `leader` is only enough if that leader has said
/// it is LEADING (so peers do not keep electing a leader that crashed), or, when I
/// am the named leader, if the votes are from my current round.
pub(crate) fn leader_confirmed(
    votes: &BTreeMap<ServerId, TrackedVote>,
    leader: ServerId,
    election_epoch: i64,
    my_id: ServerId,
    logical_clock: i64,
) -> bool {
    if leader != my_id {
        return votes
            .get(&leader)
            .is_some_and(|vote| vote.state == ServerState::Leading);
    }
    logical_clock == election_epoch
}

#[cfg(test)]
mod tests {
    //! The vote-tracker cases of Apache's `FLEOutOfElectionTest`, and
    //! `FLEPredicateTest`'s ordering, on the pure functions.
    use super::*;
    use crate::zookeeper::tree::Zxid;

    fn tracked(
        version: i32,
        leader: i64,
        zxid: Zxid,
        election_epoch: i64,
        peer_epoch: i64,
        state: ServerState,
    ) -> TrackedVote {
        TrackedVote {
            vote: Vote {
                leader: ServerId(leader),
                zxid,
                election_epoch,
                peer_epoch,
            },
            state,
            version,
        }
    }

    fn voters(ids: &[i64]) -> BTreeSet<ServerId> {
        ids.iter().map(|id| ServerId(*id)).collect()
    }

    fn map(entries: Vec<(i64, TrackedVote)>) -> BTreeMap<ServerId, TrackedVote> {
        entries
            .into_iter()
            .map(|(sid, vote)| (ServerId(sid), vote))
            .collect()
    }

    const FIVE: [i64; 5] = [0, 1, 2, 3, 4];

    #[test]
    fn out_of_election_ignores_zxid_and_election_epoch() {
        use ServerState::*;
        let votes = map(vec![
            (0, tracked(1, 4, Zxid::new(1, 1), 1, 2, Following)),
            (1, tracked(1, 4, Zxid::new(1, 2), 1, 2, Following)),
            (3, tracked(1, 4, Zxid::new(2, 1), 2, 2, Following)),
            (4, tracked(1, 4, Zxid::new(2, 1), 2, 2, Leading)),
        ]);
        let target = tracked(0, 4, Zxid::new(2, 1), 2, 2, Following);
        assert!(has_quorum(&voters(&FIVE), &votes, &target));
    }

    #[test]
    fn out_of_election_with_different_versions() {
        use ServerState::*;
        let votes = map(vec![
            (0, tracked(1, 4, Zxid::new(1, 1), 1, 1, Following)),
            (1, tracked(1, 4, Zxid::new(1, 1), 1, 1, Following)),
            (3, tracked(0, 4, Zxid::new(2, 1), 2, 2, Following)),
            (4, tracked(0, 4, Zxid::new(2, 1), 2, 2, Leading)),
        ]);
        let target = tracked(0, 4, Zxid::new(2, 1), 2, 2, Following);
        assert!(has_quorum(&voters(&FIVE), &votes, &target));
    }

    #[test]
    fn looking_votes_must_match_exactly() {
        use ServerState::*;
        let normal = map(vec![
            (0, tracked(0, 4, Zxid::new(2, 1), 1, 1, Looking)),
            (1, tracked(0, 4, Zxid::new(2, 1), 1, 1, Looking)),
            (3, tracked(0, 4, Zxid::new(2, 1), 1, 1, Looking)),
            (4, tracked(0, 4, Zxid::new(2, 1), 1, 1, Leading)),
        ]);
        let target = tracked(0, 4, Zxid::new(2, 1), 1, 1, Looking);
        assert!(has_quorum(&voters(&FIVE), &normal, &target));

        let different_rounds = map(vec![
            (0, tracked(0, 4, Zxid::new(1, 1), 1, 1, Looking)),
            (1, tracked(0, 4, Zxid::new(2, 1), 2, 2, Looking)),
            (3, tracked(0, 4, Zxid::new(2, 1), 3, 2, Looking)),
            (4, tracked(0, 4, Zxid::new(2, 1), 3, 2, Leading)),
        ]);
        let target = tracked(0, 4, Zxid::new(2, 1), 2, 2, Looking);
        assert!(!has_quorum(&voters(&FIVE), &different_rounds, &target));
    }

    #[test]
    fn out_of_election_quorum_and_leader_check() {
        use ServerState::*;
        // Two followers still report the pre-sync peer epoch 0x17 with version 0;
        // the leader and one follower have refreshed theirs to 0x18 (ZOOKEEPER-1732).
        let votes = map(vec![
            (1, tracked(0, 5, Zxid::new(15, 0), 0xa, 0x17, Following)),
            (2, tracked(0, 5, Zxid::new(15, 0), 0xa, 0x17, Following)),
            (4, tracked(1, 5, Zxid::new(15, 0), 0xa, 0x18, Following)),
            (5, tracked(1, 5, Zxid::new(15, 0), 0xa, 0x18, Leading)),
        ]);
        let target = tracked(1, 5, Zxid::new(15, 0), 0xa, 0x18, Leading);
        assert!(has_quorum(&voters(&[1, 2, 3, 4, 5]), &votes, &target));
        assert!(leader_confirmed(&votes, ServerId(5), 0xa, ServerId(3), 1));
    }

    #[test]
    fn non_voters_never_count_and_zero_voters_never_agree() {
        use ServerState::*;
        let votes = map(vec![
            (1, tracked(2, 1, Zxid(0), 1, 0, Looking)),
            (9, tracked(2, 1, Zxid(0), 1, 0, Looking)),
        ]);
        let target = tracked(0, 1, Zxid(0), 1, 0, Looking);
        assert!(!has_quorum(&voters(&[1, 2, 3]), &votes, &target));
        assert!(!has_quorum(&voters(&[]), &votes, &target));
    }

    #[test]
    fn order_is_peer_epoch_then_zxid_then_id() {
        let vote = |leader: i64, zxid: i64, peer_epoch: i64| Vote {
            leader: ServerId(leader),
            zxid: Zxid(zxid),
            election_epoch: 1,
            peer_epoch,
        };
        // FLEPredicateTest: a higher id wins on equal zxid and epoch; a higher zxid
        // wins over a higher id; a higher epoch wins over a higher zxid.
        assert!(beats(&vote(1, 0, 0), &vote(0, 0, 0)));
        assert!(!beats(&vote(0, 0, 0), &vote(0, 0, 0)));
        assert!(beats(&vote(0, 1, 0), &vote(1, 0, 0)));
        assert!(beats(&vote(0, 0, 1), &vote(1, 9, 0)));
        // An observer's (MIN, MIN, MIN) loses to any voter.
        assert!(beats(&vote(1, 0, 0), &vote(i64::MIN, i64::MIN, i64::MIN)));
    }
}
