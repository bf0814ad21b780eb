//! The simulation's stand-in for FastLeaderElection: an oracle that sees the
//! whole (simulated) ensemble and decides roles the way FLE converges. The real
//! `quorum::election` plugs in behind [`ElectionOracle`] later (see
//! `Sim::run_election` for the one call site).

use crate::zookeeper::quorum::message::{Epoch, ServerId};
use crate::zookeeper::quorum::zab::Decision;
use crate::zookeeper::tree::Zxid;

/// What an election can observe of one server.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub index: usize,
    pub id: ServerId,
    pub voter: bool,
    pub alive: bool,
    pub looking: bool,
    /// `Some(epoch)` when the server is leading (epoch once chosen).
    pub leading: Option<Option<Epoch>>,
    /// `(currentEpoch, lastLoggedZxid)`: FLE's `peerEpoch` and `zxid`.
    pub vote: (Epoch, Zxid),
    /// The partition group: servers talk only within a group.
    pub group: u32,
}

/// The interface any election must offer the simulation: given the servers, the
/// decisions for the LOOKING ones (index, decision).
pub trait ElectionOracle {
    fn decide(&mut self, candidates: &[Candidate], voter_count: usize) -> Vec<(usize, Decision)>;
}

/// Within each partition group: LOOKING servers join a server already leading
/// there (FLE's out-of-election path: the ensemble reports FOLLOWING/LEADING);
/// otherwise, if the LOOKING voters are a majority of all voters, the one with the
/// highest `(currentEpoch, lastLoggedZxid, sid)` leads (`totalOrderPredicate`).
#[derive(Debug, Default)]
pub struct MajorityOracle;

impl ElectionOracle for MajorityOracle {
    fn decide(&mut self, candidates: &[Candidate], voter_count: usize) -> Vec<(usize, Decision)> {
        let mut decisions = Vec::new();
        let mut groups: Vec<u32> = candidates
            .iter()
            .filter(|c| c.alive)
            .map(|c| c.group)
            .collect();
        groups.sort();
        groups.dedup();
        for group in groups {
            let members: Vec<&Candidate> = candidates
                .iter()
                .filter(|c| c.alive && c.group == group)
                .collect();
            let looking: Vec<&Candidate> = members.iter().copied().filter(|c| c.looking).collect();
            if looking.is_empty() {
                continue;
            }
            let existing_leader = members
                .iter()
                .filter(|c| c.leading.is_some())
                .max_by_key(|c| (c.leading.flatten(), c.id))
                .map(|c| c.id);
            let leader = match existing_leader {
                Some(leader) => leader,
                None => {
                    let looking_voters: Vec<&Candidate> =
                        looking.iter().copied().filter(|c| c.voter).collect();
                    if looking_voters.len() * 2 <= voter_count {
                        continue;
                    }
                    let winner = looking_voters
                        .iter()
                        .max_by_key(|c| (c.vote, c.id))
                        .expect("non-empty");
                    decisions.push((winner.index, Decision::Lead));
                    winner.id
                }
            };
            for candidate in looking {
                if candidate.id == leader {
                    continue;
                }
                let decision = if candidate.voter {
                    Decision::Follow { leader }
                } else {
                    Decision::Observe { leader }
                };
                decisions.push((candidate.index, decision));
            }
        }
        decisions
    }
}
