//! The safety checker the simulation reports into: one leader per epoch,
//! committed histories never diverge, acknowledged writes survive in place,
//! strictly increasing application per server, and convergence at the end.

use std::collections::BTreeMap;

use crate::zookeeper::quorum::message::ServerId;
use crate::zookeeper::tree::Zxid;

/// One applied txn of the model application: its zxid and the unique value the
/// client wrote.
pub type Applied = (Zxid, u64);

#[derive(Debug, Default)]
pub struct Checker {
    /// (1): the server that established leadership in each epoch.
    leaders_by_epoch: BTreeMap<u32, ServerId>,
    /// (2): the committed history as seen by serving servers.
    committed: Vec<Applied>,
    /// (3): writes whose commit the accepting leader delivered.
    acknowledged: Vec<Applied>,
    pub violations: Vec<String>,
}

impl Checker {
    fn violation(&mut self, now_ms: u64, what: String) {
        if self.violations.len() < 20 {
            self.violations.push(format!("t={now_ms}ms: {what}"));
        }
    }

    /// (1) A leader established (NEWLEADER quorum) in `epoch`.
    pub fn leader_established(&mut self, now_ms: u64, epoch: u32, server: ServerId) {
        match self.leaders_by_epoch.get(&epoch) {
            Some(previous) if *previous != server => {
                let previous = *previous;
                self.violation(
                    now_ms,
                    format!("two leaders in epoch {epoch}: {previous} and {server}"),
                );
            }
            _ => {
                self.leaders_by_epoch.insert(epoch, server);
            }
        }
    }

    /// (2) A server started serving: its whole state must agree with the
    /// committed history.
    pub fn serving_state(&mut self, now_ms: u64, server: ServerId, state: &[Applied]) {
        let common = state.len().min(self.committed.len());
        if let Some(position) = (0..common).find(|&i| state[i] != self.committed[i]) {
            let (mine, theirs) = (state[position], self.committed[position]);
            self.violation(
                now_ms,
                format!("server {server} diverges at position {position}: {mine:?} vs committed {theirs:?}"),
            );
            return;
        }
        if state.len() > self.committed.len() {
            self.committed
                .extend_from_slice(&state[self.committed.len()..]);
        }
    }

    /// (2) A serving server applied the txn at `position`.
    pub fn serving_apply(
        &mut self,
        now_ms: u64,
        server: ServerId,
        position: usize,
        applied: Applied,
    ) {
        match self.committed.get(position) {
            Some(existing) if *existing != applied => {
                let existing = *existing;
                self.violation(
                    now_ms,
                    format!("server {server} applied {applied:?} at {position}, committed has {existing:?}"),
                );
            }
            Some(_) => {}
            None if position == self.committed.len() => self.committed.push(applied),
            None => self.violation(
                now_ms,
                format!("server {server} applied past the committed history at {position}"),
            ),
        }
    }

    /// (5) Apply order on one server.
    pub fn apply_order(
        &mut self,
        now_ms: u64,
        server: ServerId,
        previous: Option<Zxid>,
        zxid: Zxid,
    ) {
        if previous.is_some_and(|previous| previous >= zxid) {
            self.violation(
                now_ms,
                format!("server {server} applied {zxid} after {}", previous.unwrap()),
            );
        }
    }

    /// (3) The accepting leader delivered the commit of a client's write.
    pub fn acknowledged(&mut self, applied: Applied) {
        self.acknowledged.push(applied);
    }

    pub fn acknowledged_count(&self) -> usize {
        self.acknowledged.len()
    }

    /// (3)+(4) At the end: every server holds the same state, which extends the
    /// committed history, and every acknowledged write sits where it was
    /// committed.
    pub fn final_states(&mut self, now_ms: u64, states: &[(ServerId, Vec<Applied>)]) {
        let Some((first_id, first)) = states.first() else {
            return;
        };
        for (id, state) in states {
            if state != first {
                let position = state
                    .iter()
                    .zip(first.iter())
                    .position(|(a, b)| a != b)
                    .unwrap_or(state.len().min(first.len()));
                self.violation(
                    now_ms,
                    format!(
                        "final states differ: {id} has {} entries, {first_id} has {}; first difference at {position}",
                        state.len(),
                        first.len()
                    ),
                );
                return;
            }
        }
        self.serving_state(now_ms, *first_id, first);
        let positions: BTreeMap<Applied, usize> = self
            .committed
            .iter()
            .enumerate()
            .map(|(position, applied)| (*applied, position))
            .collect();
        for applied in self.acknowledged.clone() {
            match positions.get(&applied) {
                Some(&position) if first.get(position) == Some(&applied) => {}
                _ => self.violation(
                    now_ms,
                    format!("acknowledged write {applied:?} missing from the final state"),
                ),
            }
        }
    }
}
