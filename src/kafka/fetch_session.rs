//! Incremental fetch sessions (KIP-227) as a pure state machine: requests and their
//! outcomes in, decisions out. No sockets, files or clocks: time (`now_ms`) and the
//! seed of the session-id generator are inputs, so every rule is tested directly.
//!
//! Kafka's rules (FetchSession.scala), kept here:
//! - A full fetch (epoch 0, or -1 = final) closes the session it names, if any.
//!   Epoch 0 then asks for a new session, created after the read when a slot is
//!   free or one can be evicted; it caches every partition of the request with the
//!   high watermark and log start offset the response carries. Its first
//!   incremental epoch is 1. Epoch -1 gets no session.
//! - An incremental fetch (epoch > 0) names a session and its expected epoch,
//!   else FETCH_SESSION_ID_NOT_FOUND / INVALID_FETCH_SESSION_EPOCH; a session made
//!   with topic ids must go on with them (v13+) and the reverse, else
//!   FETCH_SESSION_TOPIC_ID_ERROR. Its partitions add to or update the session's,
//!   its forgotten partitions leave it; a session left empty is closed and the
//!   request answered sessionless. Every partition of the session is read; the
//!   response carries only those with records, a changed high watermark or log
//!   start offset, or an error (an error also forgets the cached high watermark,
//!   so the partition is sent again once it recovers). Partitions that returned
//!   records move to the back of the session's order, so each gets its turn at the
//!   response size limit.
//! - The cache holds `max.incremental.fetch.session.cache.slots` sessions. A new
//!   session that finds it full evicts the least recently used session if it has
//!   been idle longer than `min.incremental.fetch.session.eviction.ms`; otherwise
//!   the smallest session old enough to be evictable, when it is smaller than the
//!   newcomer (a follower's privileged session may also evict any consumer's).
//!   When nothing can go, the fetch is answered without a session (id 0), which
//!   clients accept.

use std::collections::HashMap;

use uuid::Uuid;

/// Epoch of a full fetch that wants a session.
pub const INITIAL_EPOCH: i32 = 0;
/// Epoch of a full fetch that wants none (and closes the one it names).
pub const FINAL_EPOCH: i32 = -1;
/// "No session".
pub const INVALID_SESSION_ID: i32 = 0;

/// Kafka's `JFetchMetadata.nextEpoch`.
pub fn next_epoch(epoch: i32) -> i32 {
    if epoch < 0 {
        FINAL_EPOCH
    } else if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// A topic as the request names it: by name up to v12, by id from v13.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TopicKey {
    Name(String),
    Id(Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    pub topic: TopicKey,
    pub partition: i32,
}

/// What a request asks of one partition (the session remembers it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRequest {
    pub key: PartitionKey,
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
    pub current_leader_epoch: i32,
    pub log_start_offset: i64,
    pub last_fetched_epoch: i32,
}

/// What a read of one partition found, as far as the session cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOutcome {
    pub records_bytes: u64,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub error_code: i16,
    /// A preferred read replica or a diverging epoch: always sent.
    pub must_respond: bool,
}

/// The session fields of a fetch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRequest {
    pub session_id: i32,
    pub epoch: i32,
    /// v13+: topics named by id.
    pub uses_topic_ids: bool,
    /// From a follower replica rather than a consumer.
    pub privileged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// FETCH_SESSION_ID_NOT_FOUND (70).
    NotFound,
    /// INVALID_FETCH_SESSION_EPOCH (71).
    InvalidEpoch,
    /// FETCH_SESSION_TOPIC_ID_ERROR (106).
    TopicIdMismatch,
}

impl SessionError {
    pub fn code(self) -> i16 {
        match self {
            SessionError::NotFound => 70,
            SessionError::InvalidEpoch => 71,
            SessionError::TopicIdMismatch => 106,
        }
    }
}

/// How to serve a fetch request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchContext {
    /// Read the request's partitions, answer them all with session id 0.
    Sessionless,
    /// Read the request's partitions, answer them all, then `create_session`.
    Full,
    /// Read these partitions (the session's, in its order), then
    /// `complete_incremental` says which to answer.
    Incremental {
        session_id: i32,
        /// The session's epoch once this request is done: `complete_incremental`
        /// checks that no other request moved it meanwhile.
        epoch: i32,
        partitions: Vec<PartitionRequest>,
    },
    /// Answer with this top-level error, session id 0 and no partitions.
    Error(SessionError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCacheConfig {
    /// `max.incremental.fetch.session.cache.slots`.
    pub slots_max: usize,
    /// `min.incremental.fetch.session.eviction.ms`.
    pub eviction_ms: i64,
}

impl Default for SessionCacheConfig {
    /// Kafka's defaults.
    fn default() -> SessionCacheConfig {
        SessionCacheConfig {
            slots_max: 1000,
            eviction_ms: 120_000,
        }
    }
}

#[derive(Debug, Clone)]
struct CachedPartition {
    request: PartitionRequest,
    /// -1 until a response carried one, and again after an error.
    high_watermark: i64,
    log_start_offset: i64,
}

#[derive(Debug, Clone)]
struct Session {
    id: i32,
    privileged: bool,
    uses_topic_ids: bool,
    creation_ms: i64,
    last_used_ms: i64,
    /// The epoch the next incremental request must carry.
    epoch: i32,
    /// The partitions in session order.
    order: Vec<PartitionKey>,
    partitions: HashMap<PartitionKey, CachedPartition>,
}

impl Session {
    fn size(&self) -> usize {
        self.partitions.len()
    }

    /// Kafka's EvictableKey order: consumers before followers, then smaller
    /// sessions, then lower ids.
    fn evictable_key(&self) -> (bool, usize, i32) {
        (self.privileged, self.size(), self.id)
    }

    fn upsert(&mut self, request: &PartitionRequest) {
        match self.partitions.get_mut(&request.key) {
            Some(cached) => cached.request = request.clone(),
            None => {
                self.order.push(request.key.clone());
                self.partitions.insert(
                    request.key.clone(),
                    CachedPartition {
                        request: request.clone(),
                        high_watermark: -1,
                        log_start_offset: -1,
                    },
                );
            }
        }
    }

    fn forget(&mut self, key: &PartitionKey) {
        if self.partitions.remove(key).is_some() {
            self.order.retain(|kept| kept != key);
        }
    }
}

/// The broker's fetch sessions.
#[derive(Debug)]
pub struct FetchSessionCache {
    config: SessionCacheConfig,
    sessions: HashMap<i32, Session>,
    /// xorshift64* state for session ids.
    random: u64,
}

impl FetchSessionCache {
    pub fn new(config: SessionCacheConfig, seed: u64) -> FetchSessionCache {
        FetchSessionCache {
            config,
            sessions: HashMap::new(),
            random: seed | 1,
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Partitions cached over all sessions.
    pub fn partitions(&self) -> usize {
        self.sessions.values().map(Session::size).sum()
    }

    /// Decides how to serve a request (Kafka's `FetchManager.newContext`).
    pub fn new_context(
        &mut self,
        request: &SessionRequest,
        partitions: &[PartitionRequest],
        forgotten: &[PartitionKey],
        now_ms: i64,
    ) -> FetchContext {
        if request.epoch == INITIAL_EPOCH || request.epoch == FINAL_EPOCH {
            if request.session_id != INVALID_SESSION_ID {
                self.sessions.remove(&request.session_id);
            }
            return if request.epoch == FINAL_EPOCH {
                FetchContext::Sessionless
            } else {
                FetchContext::Full
            };
        }
        let Some(session) = self.sessions.get_mut(&request.session_id) else {
            return FetchContext::Error(SessionError::NotFound);
        };
        if session.epoch != request.epoch {
            return FetchContext::Error(SessionError::InvalidEpoch);
        }
        if session.uses_topic_ids != request.uses_topic_ids {
            return FetchContext::Error(SessionError::TopicIdMismatch);
        }
        for partition in partitions {
            session.upsert(partition);
        }
        for key in forgotten {
            session.forget(key);
        }
        if session.partitions.is_empty() {
            self.sessions.remove(&request.session_id);
            return FetchContext::Sessionless;
        }
        session.last_used_ms = now_ms;
        session.epoch = next_epoch(session.epoch);
        FetchContext::Incremental {
            session_id: session.id,
            epoch: session.epoch,
            partitions: session
                .order
                .iter()
                .map(|key| session.partitions[key].request.clone())
                .collect(),
        }
    }

    /// After a full fetch was read: makes a session of its partitions if there is a
    /// slot (evicting if Kafka's rules allow). Returns the session id, or 0.
    pub fn create_session(
        &mut self,
        request: &SessionRequest,
        served: &[(PartitionRequest, PartitionOutcome)],
        now_ms: i64,
    ) -> i32 {
        if self.sessions.len() >= self.config.slots_max
            && !self.try_evict(request.privileged, served.len(), now_ms)
        {
            return INVALID_SESSION_ID;
        }
        if self.sessions.len() >= self.config.slots_max {
            return INVALID_SESSION_ID; // a cache of zero slots
        }
        let id = self.new_session_id();
        let mut session = Session {
            id,
            privileged: request.privileged,
            uses_topic_ids: request.uses_topic_ids,
            creation_ms: now_ms,
            last_used_ms: now_ms,
            epoch: next_epoch(INITIAL_EPOCH),
            order: Vec::with_capacity(served.len()),
            partitions: HashMap::with_capacity(served.len()),
        };
        for (partition, outcome) in served {
            session.upsert(partition);
            let cached = session
                .partitions
                .get_mut(&partition.key)
                .expect("just added");
            if outcome.error_code == 0 {
                cached.high_watermark = outcome.high_watermark;
            }
            cached.log_start_offset = outcome.log_start_offset;
        }
        self.sessions.insert(id, session);
        id
    }

    /// After an incremental fetch was read (`outcomes` in the context's order):
    /// which partitions the response carries. Updates the cached offsets and moves
    /// partitions that returned records to the back.
    pub fn complete_incremental(
        &mut self,
        session_id: i32,
        epoch: i32,
        outcomes: &[(PartitionKey, PartitionOutcome)],
    ) -> Result<Vec<bool>, SessionError> {
        let Some(session) = self.sessions.get_mut(&session_id) else {
            // Evicted meanwhile: answer everything; the next request learns the
            // session is gone.
            return Ok(vec![true; outcomes.len()]);
        };
        if session.epoch != epoch {
            return Err(SessionError::InvalidEpoch);
        }
        let mut include = Vec::with_capacity(outcomes.len());
        let mut rotated = Vec::new();
        for (key, outcome) in outcomes {
            let Some(cached) = session.partitions.get_mut(key) else {
                include.push(true);
                continue;
            };
            let mut must_respond = outcome.records_bytes > 0 || outcome.must_respond;
            if cached.high_watermark != outcome.high_watermark {
                must_respond = true;
                cached.high_watermark = outcome.high_watermark;
            }
            if cached.log_start_offset != outcome.log_start_offset {
                must_respond = true;
                cached.log_start_offset = outcome.log_start_offset;
            }
            if outcome.error_code != 0 {
                cached.high_watermark = -1;
                must_respond = true;
            }
            if outcome.records_bytes > 0 {
                rotated.push(key.clone());
            }
            include.push(must_respond);
        }
        if !rotated.is_empty() {
            session.order.retain(|key| !rotated.contains(key));
            session.order.extend(rotated);
        }
        Ok(include)
    }

    /// Kafka's `FetchSessionCache.tryEvict`.
    fn try_evict(&mut self, privileged: bool, size: usize, now_ms: i64) -> bool {
        let stale = self
            .sessions
            .values()
            .min_by_key(|session| (session.last_used_ms, session.id))
            .filter(|session| now_ms - session.last_used_ms > self.config.eviction_ms)
            .map(|session| session.id);
        if let Some(id) = stale {
            self.sessions.remove(&id);
            return true;
        }
        let eviction_ms = self.config.eviction_ms;
        let candidate = self
            .sessions
            .values()
            .filter(|session| {
                let old = now_ms - session.creation_ms > eviction_ms;
                if privileged {
                    !session.privileged || old
                } else {
                    old
                }
            })
            .map(Session::evictable_key)
            .min();
        match candidate {
            Some(key) if (privileged, size, 0) >= key => {
                self.sessions.remove(&key.2);
                true
            }
            _ => false,
        }
    }

    fn new_session_id(&mut self) -> i32 {
        loop {
            self.random ^= self.random >> 12;
            self.random ^= self.random << 25;
            self.random ^= self.random >> 27;
            let value = self.random.wrapping_mul(0x2545_f491_4f6c_dd1d);
            let id = (value >> 33) as i32; // 31 bits: never negative
            if id != INVALID_SESSION_ID && !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(topic: &str, partition: i32) -> PartitionKey {
        PartitionKey {
            topic: TopicKey::Name(topic.to_string()),
            partition,
        }
    }

    fn want(topic: &str, partition: i32, fetch_offset: i64) -> PartitionRequest {
        PartitionRequest {
            key: key(topic, partition),
            fetch_offset,
            partition_max_bytes: 1 << 20,
            current_leader_epoch: -1,
            log_start_offset: -1,
            last_fetched_epoch: -1,
        }
    }

    fn outcome(records_bytes: u64, high_watermark: i64) -> PartitionOutcome {
        PartitionOutcome {
            records_bytes,
            high_watermark,
            log_start_offset: 0,
            error_code: 0,
            must_respond: false,
        }
    }

    fn full(session_id: i32) -> SessionRequest {
        SessionRequest {
            session_id,
            epoch: INITIAL_EPOCH,
            uses_topic_ids: false,
            privileged: false,
        }
    }

    fn incremental(session_id: i32, epoch: i32) -> SessionRequest {
        SessionRequest {
            session_id,
            epoch,
            uses_topic_ids: false,
            privileged: false,
        }
    }

    fn cache(slots_max: usize) -> FetchSessionCache {
        FetchSessionCache::new(
            SessionCacheConfig {
                slots_max,
                eviction_ms: 1000,
            },
            42,
        )
    }

    /// A full fetch of `partitions` (all at high watermark 10) that makes a session.
    fn open(cache: &mut FetchSessionCache, partitions: &[PartitionRequest], now_ms: i64) -> i32 {
        assert_eq!(
            cache.new_context(&full(0), partitions, &[], now_ms),
            FetchContext::Full
        );
        let served: Vec<_> = partitions
            .iter()
            .map(|partition| (partition.clone(), outcome(0, 10)))
            .collect();
        cache.create_session(&full(0), &served, now_ms)
    }

    fn keys(context: &FetchContext) -> Vec<PartitionKey> {
        match context {
            FetchContext::Incremental { partitions, .. } => {
                partitions.iter().map(|p| p.key.clone()).collect()
            }
            other => panic!("not incremental: {other:?}"),
        }
    }

    #[test]
    fn epochs_count_up_and_wrap_to_one() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(41), 42);
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(-1), -1);
    }

    #[test]
    fn a_full_fetch_creates_a_session_and_incremental_fetches_follow_it() {
        let mut cache = cache(10);
        let id = open(&mut cache, &[want("a", 0, 0), want("a", 1, 5)], 0);
        assert!(id > 0);
        assert_eq!(cache.len(), 1);

        // Epoch 1: nothing new, the session's partitions are read at their cached
        // offsets, and only changed ones are answered.
        let context = cache.new_context(&incremental(id, 1), &[], &[], 10);
        let FetchContext::Incremental {
            session_id,
            epoch,
            partitions,
        } = context
        else {
            panic!("{context:?}")
        };
        assert_eq!((session_id, epoch), (id, 2));
        assert_eq!(partitions, vec![want("a", 0, 0), want("a", 1, 5)]);
        let include = cache
            .complete_incremental(
                id,
                2,
                &[(key("a", 0), outcome(0, 10)), (key("a", 1), outcome(0, 11))],
            )
            .unwrap();
        assert_eq!(include, vec![false, true], "only the moved high watermark");

        // Epoch 2: the client moved partition 0 and added b-0.
        let context = cache.new_context(
            &incremental(id, 2),
            &[want("a", 0, 7), want("b", 0, 0)],
            &[],
            20,
        );
        let FetchContext::Incremental { partitions, .. } = &context else {
            panic!("{context:?}")
        };
        assert_eq!(
            partitions,
            &vec![want("a", 0, 7), want("a", 1, 5), want("b", 0, 0)]
        );
        let include = cache
            .complete_incremental(
                id,
                3,
                &[
                    (key("a", 0), outcome(0, 10)),
                    (key("a", 1), outcome(0, 11)),
                    (key("b", 0), outcome(0, 0)),
                ],
            )
            .unwrap();
        assert_eq!(
            include,
            vec![false, false, true],
            "a new partition is always answered once (its cached high watermark is -1)"
        );

        // Epoch 3: forget a-1.
        let context = cache.new_context(&incremental(id, 3), &[], &[key("a", 1)], 30);
        assert_eq!(keys(&context), vec![key("a", 0), key("b", 0)]);
    }

    #[test]
    fn records_and_errors_are_always_answered_and_records_rotate_the_order() {
        let mut cache = cache(10);
        let id = open(
            &mut cache,
            &[want("t", 0, 0), want("t", 1, 0), want("t", 2, 0)],
            0,
        );
        cache.new_context(&incremental(id, 1), &[], &[], 1);
        let mut error = outcome(0, -1);
        error.error_code = 6;
        let include = cache
            .complete_incremental(
                id,
                2,
                &[
                    (key("t", 0), outcome(100, 10)),
                    (key("t", 1), error),
                    (key("t", 2), outcome(0, 10)),
                ],
            )
            .unwrap();
        assert_eq!(include, vec![true, true, false]);
        // t-0 returned records: it goes to the back.
        let context = cache.new_context(&incremental(id, 2), &[], &[], 2);
        assert_eq!(keys(&context), vec![key("t", 1), key("t", 2), key("t", 0)]);
        // t-1 recovered with the same high watermark as before the error: sent again.
        let include = cache
            .complete_incremental(
                id,
                3,
                &[
                    (key("t", 1), outcome(0, 10)),
                    (key("t", 2), outcome(0, 10)),
                    (key("t", 0), outcome(0, 10)),
                ],
            )
            .unwrap();
        assert_eq!(include, vec![true, false, false]);
        // A moved log start offset is news too.
        cache.new_context(&incremental(id, 3), &[], &[], 3);
        let mut trimmed = outcome(0, 10);
        trimmed.log_start_offset = 4;
        let include = cache
            .complete_incremental(
                id,
                4,
                &[
                    (key("t", 1), outcome(0, 10)),
                    (key("t", 2), trimmed),
                    (key("t", 0), outcome(0, 10)),
                ],
            )
            .unwrap();
        assert_eq!(include, vec![false, true, false]);
    }

    #[test]
    fn unknown_sessions_wrong_epochs_and_topic_id_switches_are_errors() {
        let mut cache = cache(10);
        let id = open(&mut cache, &[want("t", 0, 0)], 0);
        assert_eq!(
            cache.new_context(&incremental(id + 1, 1), &[], &[], 1),
            FetchContext::Error(SessionError::NotFound)
        );
        assert_eq!(
            cache.new_context(&incremental(id, 5), &[], &[], 1),
            FetchContext::Error(SessionError::InvalidEpoch)
        );
        let mut with_ids = incremental(id, 1);
        with_ids.uses_topic_ids = true;
        assert_eq!(
            cache.new_context(&with_ids, &[], &[], 1),
            FetchContext::Error(SessionError::TopicIdMismatch)
        );
        // Errors change nothing: epoch 1 is still expected.
        assert!(matches!(
            cache.new_context(&incremental(id, 1), &[], &[], 1),
            FetchContext::Incremental { epoch: 2, .. }
        ));
        // A replayed request (epoch 1 again) is refused.
        assert_eq!(
            cache.new_context(&incremental(id, 1), &[], &[], 1),
            FetchContext::Error(SessionError::InvalidEpoch)
        );
        assert_eq!(SessionError::NotFound.code(), 70);
        assert_eq!(SessionError::InvalidEpoch.code(), 71);
        assert_eq!(SessionError::TopicIdMismatch.code(), 106);
    }

    #[test]
    fn a_concurrent_request_that_moved_the_epoch_fails_the_older_one() {
        let mut cache = cache(10);
        let id = open(&mut cache, &[want("t", 0, 0)], 0);
        let FetchContext::Incremental { epoch: first, .. } =
            cache.new_context(&incremental(id, 1), &[], &[], 1)
        else {
            panic!()
        };
        let FetchContext::Incremental { epoch: second, .. } =
            cache.new_context(&incremental(id, 2), &[], &[], 1)
        else {
            panic!()
        };
        assert_eq!(
            cache.complete_incremental(id, first, &[(key("t", 0), outcome(0, 10))]),
            Err(SessionError::InvalidEpoch)
        );
        assert!(cache
            .complete_incremental(id, second, &[(key("t", 0), outcome(0, 10))])
            .is_ok());
    }

    #[test]
    fn full_fetches_close_the_named_session() {
        let mut cache = cache(10);
        let id = open(&mut cache, &[want("t", 0, 0)], 0);
        // Epoch 0 naming the session: closed, and a new one may be made.
        assert_eq!(
            cache.new_context(&full(id), &[want("t", 0, 0)], &[], 1),
            FetchContext::Full
        );
        assert!(cache.is_empty());
        let id = open(&mut cache, &[want("t", 0, 0)], 1);
        // Epoch -1: closed, and no new session.
        let close = SessionRequest {
            session_id: id,
            epoch: FINAL_EPOCH,
            uses_topic_ids: false,
            privileged: false,
        };
        assert_eq!(
            cache.new_context(&close, &[], &[], 2),
            FetchContext::Sessionless
        );
        assert!(cache.is_empty());
        // Pre-v7 requests and clients without sessions: (0, -1).
        let sessionless = SessionRequest {
            session_id: 0,
            epoch: FINAL_EPOCH,
            uses_topic_ids: false,
            privileged: false,
        };
        assert_eq!(
            cache.new_context(&sessionless, &[want("t", 0, 0)], &[], 3),
            FetchContext::Sessionless
        );
        assert!(cache.is_empty());
    }

    #[test]
    fn forgetting_every_partition_closes_the_session() {
        let mut cache = cache(10);
        let id = open(&mut cache, &[want("t", 0, 0)], 0);
        assert_eq!(
            cache.new_context(&incremental(id, 1), &[], &[key("t", 0)], 1),
            FetchContext::Sessionless
        );
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_evicts_stale_then_smaller_old_sessions_else_declines() {
        let mut cache = cache(2); // eviction_ms = 1000
        let small = open(&mut cache, &[want("s", 0, 0)], 0);
        let big = open(
            &mut cache,
            &[want("b", 0, 0), want("b", 1, 0), want("b", 2, 0)],
            0,
        );
        assert_eq!(cache.len(), 2);
        // Young sessions, none idle: a third is declined (id 0), nothing evicted.
        assert_eq!(open(&mut cache, &[want("n", 0, 0)], 500), 0);
        assert_eq!(cache.len(), 2);

        // Keep `big` in use; `small` stays idle past eviction_ms and goes.
        cache.new_context(&incremental(big, 1), &[], &[], 900);
        let newcomer = open(&mut cache, &[want("n", 0, 0)], 1200);
        assert!(newcomer > 0);
        assert!(cache
            .new_context(&incremental(small, 1), &[], &[], 1200)
            .eq(&FetchContext::Error(SessionError::NotFound)));

        // Both live, both used recently; `newcomer` (1 partition) is old enough to
        // be evictable at 2300 and smaller than a 2-partition newcomer.
        cache.new_context(&incremental(newcomer, 1), &[], &[], 2000);
        cache.new_context(&incremental(big, 2), &[], &[], 2000);
        let two = open(&mut cache, &[want("x", 0, 0), want("x", 1, 0)], 2300);
        assert!(two > 0);
        assert!(matches!(
            cache.new_context(&incremental(newcomer, 2), &[], &[], 2300),
            FetchContext::Error(SessionError::NotFound)
        ));
        // A one-partition newcomer evicts nothing bigger than itself.
        assert_eq!(open(&mut cache, &[want("y", 0, 0)], 2400), 0);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.partitions(), 5);
    }

    #[test]
    fn a_follower_may_evict_any_consumer_session() {
        let mut cache = cache(1);
        let consumer = open(&mut cache, &[want("c", 0, 0), want("c", 1, 0)], 0);
        let follower = SessionRequest {
            privileged: true,
            ..full(0)
        };
        assert_eq!(
            cache.new_context(&follower, &[want("f", 0, 0)], &[], 10),
            FetchContext::Full
        );
        let id = cache.create_session(&follower, &[(want("f", 0, 0), outcome(0, 1))], 10);
        assert!(id > 0 && id != consumer);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_cache_of_zero_slots_makes_no_sessions() {
        let mut cache = cache(0);
        assert_eq!(open(&mut cache, &[want("t", 0, 0)], 0), 0);
        assert!(cache.is_empty());
    }

    #[test]
    fn session_ids_are_positive_and_distinct() {
        let mut cache = cache(5000);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5000 {
            let id = open(&mut cache, &[want("t", 0, 0)], 0);
            assert!(id > 0);
            assert!(seen.insert(id));
        }
        assert_eq!(cache.len(), 5000);
    }
}
