//! The group coordinator's settings, named as in `server.properties`, with
//! Apache Kafka's defaults (GroupCoordinatorConfig / OffsetConfig).

/// Settings the coordinator reads; the server fills them from `server.properties`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `offsets.topic.num.partitions`: how many partitions `__consumer_offsets` has.
    pub offsets_topic_partitions: i32,
    /// `group.min.session.timeout.ms`: shortest session a JoinGroup may ask for.
    pub session_timeout_ms_min: i32,
    /// `group.max.session.timeout.ms`: longest session a JoinGroup may ask for.
    pub session_timeout_ms_max: i32,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty
    /// group waits for more members before it completes.
    pub initial_rebalance_delay_ms: i32,
    /// `group.max.size`: members a classic group accepts.
    pub group_size_max: u32,
    /// How long a new member's JoinGroup may stay parked before it is dropped
    /// (Kafka's fixed `CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS`).
    pub new_member_join_timeout_ms: i32,
    /// `offset.metadata.max.bytes`: longest metadata string an offset commit may carry.
    pub offset_metadata_bytes_max: usize,
    /// `offsets.retention.minutes`, in milliseconds.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms`: how often expired offsets are removed.
    pub offsets_retention_check_interval_ms: i64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            offsets_topic_partitions: 50,
            session_timeout_ms_min: 6_000,
            session_timeout_ms_max: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            group_size_max: i32::MAX as u32,
            new_member_join_timeout_ms: 5 * 60 * 1000,
            offset_metadata_bytes_max: 4096,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
        }
    }
}
