//! Broker metrics in Prometheus text format, under the names that the Prometheus
//! JMX exporter's well-known Kafka configuration (`lowercaseOutputName: true`)
//! gives Apache Kafka's JMX beans, so dashboards built on an Apache broker read a
//! keel broker unchanged. The rules, for a bean `kafka.<domain><type=T, name=N,
//! k=v...>`: a meter (`...PerSec`, attribute Count) is the counter
//! `kafka_<domain>_<t>_<n without PerSec>_total{k=v}`; a gauge (Value) is
//! `kafka_<domain>_<t>_<n>{k=v}`; a histogram is `..._<n>_count` plus
//! `..._<n>{quantile="0.50"...}` from its percentiles.
//!
//! Counters are bumped by the request path (`record_*`); gauges are read from
//! the broker's state when scraped (`render`). `Endpoint` serves `/metrics` and
//! `/ready` on `keel.metrics.port` (off unless set; `keel standalone` sets it).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use kafka_protocol::messages::ApiKey;

use crate::kafka::broker::Broker;
use crate::kafka::log::checkpoint::TopicPartition;
use crate::kafka::metadata::BrokerId;
use crate::kafka::protocol::fetch_response::FetchReply;

/// Samples a histogram keeps for its percentiles: the size of the reservoir
/// Kafka's Yammer histograms sample into.
const HISTOGRAM_SAMPLES_MAX: usize = 1028;

/// The percentiles Kafka's histograms export, as the exporter labels them.
const QUANTILES: &[(f64, &str)] = &[
    (0.50, "0.50"),
    (0.75, "0.75"),
    (0.95, "0.95"),
    (0.98, "0.98"),
    (0.99, "0.99"),
    (0.999, "0.999"),
];

/// `BrokerTopicMetrics`, for one topic or for all of them.
#[derive(Debug, Default)]
pub struct TopicMeters {
    messages_in: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    total_produce_requests: AtomicU64,
    total_fetch_requests: AtomicU64,
    failed_produce_requests: AtomicU64,
    failed_fetch_requests: AtomicU64,
}

impl TopicMeters {
    fn meters(&self) -> [(&'static str, u64); 7] {
        let read = |meter: &AtomicU64| meter.load(Ordering::Relaxed);
        [
            ("messagesin", read(&self.messages_in)),
            ("bytesin", read(&self.bytes_in)),
            ("bytesout", read(&self.bytes_out)),
            ("totalproducerequests", read(&self.total_produce_requests)),
            ("totalfetchrequests", read(&self.total_fetch_requests)),
            ("failedproducerequests", read(&self.failed_produce_requests)),
            ("failedfetchrequests", read(&self.failed_fetch_requests)),
        ]
    }
}

/// A count and the latest samples, for percentiles.
#[derive(Debug, Default)]
struct Histogram {
    count: u64,
    recent: VecDeque<f64>,
}

impl Histogram {
    fn update(&mut self, value: f64) {
        self.count += 1;
        if self.recent.len() == HISTOGRAM_SAMPLES_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(value);
    }

    /// Yammer's `Snapshot.getValue`: linear between the two samples around
    /// `quantile * (n + 1)`; 0 with no samples.
    fn quantile(&self, quantile: f64) -> f64 {
        let mut values: Vec<f64> = self.recent.iter().copied().collect();
        if values.is_empty() {
            return 0.0;
        }
        values.sort_by(f64::total_cmp);
        let position = quantile * (values.len() + 1) as f64;
        if position < 1.0 {
            return values[0];
        }
        if position >= values.len() as f64 {
            return values[values.len() - 1];
        }
        let lower = values[position as usize - 1];
        let upper = values[position as usize];
        lower + (position - position.floor()) * (upper - lower)
    }
}

/// What the request path counts.
#[derive(Debug, Default)]
pub struct BrokerMetrics {
    all_topics: TopicMeters,
    topics: Mutex<BTreeMap<String, Arc<TopicMeters>>>,
    /// `RequestMetrics` RequestsPerSec by (request, version).
    requests: Mutex<BTreeMap<(String, i16), u64>>,
    /// `RequestMetrics` ErrorsPerSec by (request, error name).
    errors: Mutex<BTreeMap<(String, String), u64>>,
    /// `RequestMetrics` TotalTimeMs by request.
    total_time_ms: Mutex<BTreeMap<String, Histogram>>,
    isr_shrinks: AtomicU64,
    isr_expands: AtomicU64,
    /// AlterPartition proposals the controller refused (`FailedIsrUpdatesPerSec`).
    failed_isr_updates: AtomicU64,
    /// Bytes a follower appended from its leaders, and bytes this broker's
    /// leaders sent followers (all topics only, as Kafka keeps them).
    replication_bytes_in: AtomicU64,
    replication_bytes_out: AtomicU64,
    /// Follower lag per partition after its last fetch (`FetcherLagMetrics`).
    fetcher_lag: Mutex<BTreeMap<TopicPartition, i64>>,
}

/// The request name Kafka's `RequestMetrics` use: the API's name, with Fetch
/// split into consumers' and followers' fetches.
pub fn request_name(api_key: ApiKey, follower_fetch: bool) -> String {
    match api_key {
        ApiKey::Fetch if follower_fetch => "FetchFollower".to_string(),
        ApiKey::Fetch => "FetchConsumer".to_string(),
        other => format!("{other:?}"),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl BrokerMetrics {
    /// Kafka creates every API's timing histogram at start-up, so they are
    /// exported (at zero) before the first request.
    pub fn new(api_keys: impl IntoIterator<Item = ApiKey>) -> BrokerMetrics {
        let metrics = BrokerMetrics::default();
        {
            let mut total_time = lock(&metrics.total_time_ms);
            for api_key in api_keys {
                if api_key == ApiKey::Fetch {
                    total_time.entry(request_name(api_key, true)).or_default();
                    total_time.entry("Fetch".to_string()).or_default();
                }
                total_time.entry(request_name(api_key, false)).or_default();
            }
        }
        metrics
    }

    /// Exports a request's timing histogram (at zero) before its first request:
    /// the inter-broker APIs, which are not kafka-protocol `ApiKey`s.
    pub fn track_request(&self, name: &str) {
        lock(&self.total_time_ms)
            .entry(name.to_string())
            .or_default();
    }

    fn topic(&self, topic: &str) -> Arc<TopicMeters> {
        let mut topics = lock(&self.topics);
        if let Some(meters) = topics.get(topic) {
            return meters.clone();
        }
        let meters = Arc::new(TopicMeters::default());
        topics.insert(topic.to_string(), meters.clone());
        meters
    }

    /// A request answered: its rate by version, its time, and the errors its
    /// response carries (`errors`: Produce and Fetch count theirs by partition;
    /// Kafka counts a fetch's errors under `Fetch`, its rate and time under
    /// `FetchConsumer` / `FetchFollower`).
    pub fn record_request(&self, name: &str, version: i16, elapsed_ms: f64, errors: &[i16]) {
        *lock(&self.requests)
            .entry((name.to_string(), version))
            .or_default() += 1;
        lock(&self.total_time_ms)
            .entry(name.to_string())
            .or_default()
            // Kafka records whole milliseconds (`Math.round(totalTimeMs)`).
            .update(elapsed_ms.round());
        if !errors.is_empty() {
            let errors_name = match name {
                "FetchConsumer" | "FetchFollower" => "Fetch",
                other => other,
            };
            let mut counts = lock(&self.errors);
            for code in errors {
                *counts
                    .entry((errors_name.to_string(), error_name(*code)))
                    .or_default() += 1;
            }
        }
    }

    /// One partition of a Produce: appended (`Some(records, bytes)`) or refused.
    pub fn record_produce(&self, topic: &str, appended: Option<(u64, u64)>) {
        let meters = self.topic(topic);
        for meters in [&self.all_topics, &*meters] {
            meters
                .total_produce_requests
                .fetch_add(1, Ordering::Relaxed);
            match appended {
                Some((records, bytes)) => {
                    meters.messages_in.fetch_add(records, Ordering::Relaxed);
                    meters.bytes_in.fetch_add(bytes, Ordering::Relaxed);
                }
                None => {
                    meters
                        .failed_produce_requests
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// A Fetch answered: every partition counts as a fetch request of its topic,
    /// failed when it carries an error; a consumer's record bytes are bytes out
    /// (a follower's are replication traffic, not counted here, as in Kafka).
    pub fn record_fetch(&self, broker: &Broker, reply: &FetchReply, follower: bool) {
        let metadata = broker.metadata.current();
        for topic in &reply.responses {
            let name = if topic.topic.is_empty() {
                match metadata.topic_by_id(crate::kafka::metadata::TopicId(topic.topic_id)) {
                    Some(found) => found.name.clone(),
                    None => continue,
                }
            } else {
                topic.topic.as_str().to_string()
            };
            let meters = self.topic(&name);
            for partition in &topic.partitions {
                let bytes = if follower {
                    self.replication_bytes_out
                        .fetch_add(partition.records.len(), Ordering::Relaxed);
                    0
                } else {
                    partition.records.len()
                };
                for meters in [&self.all_topics, &*meters] {
                    meters.total_fetch_requests.fetch_add(1, Ordering::Relaxed);
                    meters.bytes_out.fetch_add(bytes, Ordering::Relaxed);
                    if partition.error_code != 0 {
                        meters.failed_fetch_requests.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// An AlterPartition the controller accepted changed a led partition's ISR
    /// from `before` to `after` members (`IsrShrinksPerSec`, `IsrExpandsPerSec`).
    pub fn record_isr_change(&self, before: usize, after: usize) {
        if after < before {
            self.isr_shrinks.fetch_add(1, Ordering::Relaxed);
        } else if after > before {
            self.isr_expands.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An AlterPartition proposal the controller refused.
    pub fn record_failed_isr_update(&self) {
        self.failed_isr_updates.fetch_add(1, Ordering::Relaxed);
    }

    /// A follower's lag behind its leader after a fetch was applied.
    pub fn record_fetcher_lag(&self, partition: &TopicPartition, lag: i64) {
        lock(&self.fetcher_lag).insert(partition.clone(), lag);
    }

    /// Bytes a follower appended from its leader.
    pub fn record_replication_bytes_in(&self, bytes: u64) {
        self.replication_bytes_in
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// Records the group coordinator appended to `__consumer_offsets` (Kafka
    /// counts internal appends as messages and bytes in, like a produce's).
    pub fn record_internal_append(&self, topic: &str, records: u64, bytes: u64) {
        let meters = self.topic(topic);
        for meters in [&self.all_topics, &*meters] {
            meters.messages_in.fetch_add(records, Ordering::Relaxed);
            meters.bytes_in.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Forgets the meters of topics no longer in the metadata (Kafka removes a
    /// deleted topic's metrics).
    fn prune_topics(&self, live: impl Fn(&str) -> bool) {
        lock(&self.topics).retain(|topic, _| live(topic));
    }
}

/// Kafka's `Errors` name for a code (the `error` label of ErrorsPerSec): the
/// protocol's error name in upper snake case (`UnknownTopicOrPartition` ->
/// `UNKNOWN_TOPIC_OR_PARTITION`), `NONE` for 0.
fn error_name(code: i16) -> String {
    let Some(error) = kafka_protocol::ResponseError::try_from_code(code) else {
        return "NONE".to_string();
    };
    if matches!(error, kafka_protocol::ResponseError::Unknown(_)) {
        return "UNKNOWN_SERVER_ERROR".to_string();
    }
    let camel = error.to_string();
    let mut name = String::with_capacity(camel.len() + 8);
    for (index, character) in camel.chars().enumerate() {
        if character.is_ascii_uppercase() && index > 0 {
            name.push('_');
        }
        name.push(character.to_ascii_uppercase());
    }
    name
}

/// One hosted partition as the gauges see it.
struct PartitionView {
    topic: String,
    partition: i32,
    leader: bool,
    /// The leader a follower fetches from.
    follows: Option<BrokerId>,
    isr: usize,
    replicas: usize,
    min_isr: usize,
    log_start_offset: i64,
    log_end_offset: i64,
    size_bytes: u64,
    segments: usize,
}

/// Appends one family: its TYPE line, then each sample.
fn family(out: &mut String, name: &str, kind: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value:?}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value:?}");
        }
    }
}

/// A label value as the text format quotes it.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Everything, in the text format.
pub fn render(broker: &Broker) -> String {
    let metrics = &broker.metrics;
    let metadata = broker.metadata.current();
    metrics.prune_topics(|topic| metadata.topics.contains_key(topic));
    let mut out = String::new();

    // BrokerTopicMetrics: all topics (no label), then per topic.
    let topics: Vec<(String, Arc<TopicMeters>)> = lock(&metrics.topics)
        .iter()
        .map(|(topic, meters)| (topic.clone(), meters.clone()))
        .collect();
    let all = metrics.all_topics.meters();
    for (index, (meter, total)) in all.iter().enumerate() {
        let mut samples = vec![(String::new(), *total as f64)];
        // Kafka creates a topic's failed-request meters at its first failure.
        let created_on_failure = meter.starts_with("failed");
        for (topic, meters) in &topics {
            let value = meters.meters()[index].1;
            if created_on_failure && value == 0 {
                continue;
            }
            samples.push((format!("topic=\"{}\"", label_value(topic)), value as f64));
        }
        family(
            &mut out,
            &format!("kafka_server_brokertopicmetrics_{meter}_total"),
            "counter",
            &samples,
        );
    }

    for (meter, value) in [
        ("replicationbytesin", &metrics.replication_bytes_in),
        ("replicationbytesout", &metrics.replication_bytes_out),
    ] {
        family(
            &mut out,
            &format!("kafka_server_brokertopicmetrics_{meter}_total"),
            "counter",
            &[(String::new(), value.load(Ordering::Relaxed) as f64)],
        );
    }

    // RequestMetrics (labels in the exporter's order: sorted by name).
    let requests: Vec<(String, f64)> = lock(&metrics.requests)
        .iter()
        .map(|((request, version), count)| {
            (
                format!("request=\"{request}\",version=\"{version}\""),
                *count as f64,
            )
        })
        .collect();
    family(
        &mut out,
        "kafka_network_requestmetrics_requests_total",
        "counter",
        &requests,
    );
    let errors: Vec<(String, f64)> = lock(&metrics.errors)
        .iter()
        .map(|((request, error), count)| {
            (
                format!("error=\"{error}\",request=\"{request}\""),
                *count as f64,
            )
        })
        .collect();
    family(
        &mut out,
        "kafka_network_requestmetrics_errors_total",
        "counter",
        &errors,
    );
    {
        let total_time = lock(&metrics.total_time_ms);
        let counts: Vec<(String, f64)> = total_time
            .iter()
            .map(|(request, histogram)| (format!("request=\"{request}\""), histogram.count as f64))
            .collect();
        family(
            &mut out,
            // The exporter (1.x) gives every counter `_total`.
            "kafka_network_requestmetrics_totaltimems_count_total",
            "counter",
            &counts,
        );
        let mut quantiles = Vec::new();
        for (request, histogram) in total_time.iter() {
            for (quantile, label) in QUANTILES {
                quantiles.push((
                    format!("quantile=\"{label}\",request=\"{request}\""),
                    histogram.quantile(*quantile),
                ));
            }
        }
        family(
            &mut out,
            "kafka_network_requestmetrics_totaltimems",
            "gauge",
            &quantiles,
        );
    }

    // ReplicaManager and Log, from the partitions hosted here.
    let views: Vec<PartitionView> = broker
        .logs
        .all()
        .iter()
        .map(|partition| {
            let tp = &partition.topic_partition;
            let gauges = partition.gauges();
            let replicas = metadata
                .topics
                .get(&tp.topic)
                .and_then(|topic| topic.partitions.get(&tp.partition))
                .map_or(1, |state| state.replicas.len());
            PartitionView {
                topic: tp.topic.clone(),
                partition: tp.partition,
                leader: gauges.leader,
                follows: gauges.leader_id.filter(|_| !gauges.leader),
                isr: gauges.isr,
                replicas,
                min_isr: gauges.min_insync_replicas,
                log_start_offset: gauges.log_start_offset,
                log_end_offset: gauges.log_end_offset,
                size_bytes: gauges.size_bytes,
                segments: gauges.segments,
            }
        })
        .collect();
    let leaders = || views.iter().filter(|view| view.leader);
    let gauge = |out: &mut String, name: &str, value: f64| {
        family(out, name, "gauge", &[(String::new(), value)]);
    };
    gauge(
        &mut out,
        "kafka_server_replicamanager_partitioncount",
        views.len() as f64,
    );
    gauge(
        &mut out,
        "kafka_server_replicamanager_leadercount",
        leaders().count() as f64,
    );
    gauge(
        &mut out,
        "kafka_server_replicamanager_underreplicatedpartitions",
        leaders().filter(|view| view.isr < view.replicas).count() as f64,
    );
    gauge(
        &mut out,
        "kafka_server_replicamanager_underminisrpartitioncount",
        leaders().filter(|view| view.isr < view.min_isr).count() as f64,
    );
    gauge(
        &mut out,
        "kafka_server_replicamanager_atminisrpartitioncount",
        leaders().filter(|view| view.isr == view.min_isr).count() as f64,
    );
    // keel stops on a failed log dir rather than serving without it.
    gauge(
        &mut out,
        "kafka_server_replicamanager_offlinereplicacount",
        0.0,
    );
    family(
        &mut out,
        "kafka_server_replicamanager_isrshrinks_total",
        "counter",
        &[(
            String::new(),
            metrics.isr_shrinks.load(Ordering::Relaxed) as f64,
        )],
    );
    family(
        &mut out,
        "kafka_server_replicamanager_isrexpands_total",
        "counter",
        &[(
            String::new(),
            metrics.isr_expands.load(Ordering::Relaxed) as f64,
        )],
    );
    family(
        &mut out,
        "kafka_server_replicamanager_failedisrupdates_total",
        "counter",
        &[(
            String::new(),
            metrics.failed_isr_updates.load(Ordering::Relaxed) as f64,
        )],
    );
    // No transactions in keel: none is ever late.
    gauge(
        &mut out,
        "kafka_server_replicamanager_partitionswithlatetransactionscount",
        0.0,
    );
    let per_partition = |value: &dyn Fn(&PartitionView) -> f64| -> Vec<(String, f64)> {
        views
            .iter()
            .map(|view| {
                (
                    format!(
                        "partition=\"{}\",topic=\"{}\"",
                        view.partition,
                        label_value(&view.topic)
                    ),
                    value(view),
                )
            })
            .collect()
    };
    family(
        &mut out,
        "kafka_log_log_size",
        "gauge",
        &per_partition(&|view| view.size_bytes as f64),
    );
    family(
        &mut out,
        "kafka_log_log_logendoffset",
        "gauge",
        &per_partition(&|view| view.log_end_offset as f64),
    );
    family(
        &mut out,
        "kafka_log_log_logstartoffset",
        "gauge",
        &per_partition(&|view| view.log_start_offset as f64),
    );
    family(
        &mut out,
        "kafka_log_log_numlogsegments",
        "gauge",
        &per_partition(&|view| view.segments as f64),
    );

    // Partition (kafka.cluster): a leader's figures, 0 on a follower.
    let flag = |condition: bool| if condition { 1.0 } else { 0.0 };
    family(
        &mut out,
        "kafka_cluster_partition_underreplicated",
        "gauge",
        &per_partition(&|view| flag(view.leader && view.isr < view.replicas)),
    );
    family(
        &mut out,
        "kafka_cluster_partition_insyncreplicascount",
        "gauge",
        &per_partition(&|view| if view.leader { view.isr as f64 } else { 0.0 }),
    );
    family(
        &mut out,
        "kafka_cluster_partition_replicascount",
        "gauge",
        &per_partition(&|view| {
            if view.leader {
                view.replicas as f64
            } else {
                0.0
            }
        }),
    );
    family(
        &mut out,
        "kafka_cluster_partition_underminisr",
        "gauge",
        &per_partition(&|view| flag(view.leader && view.isr < view.min_isr)),
    );
    family(
        &mut out,
        "kafka_cluster_partition_atminisr",
        "gauge",
        &per_partition(&|view| flag(view.leader && view.isr == view.min_isr)),
    );
    // High watermark minus last stable offset: 0 without transactions.
    family(
        &mut out,
        "kafka_cluster_partition_laststableoffsetlag",
        "gauge",
        &per_partition(&|_| 0.0),
    );

    // Replica fetchers (`ReplicaFetcherThread-0-<leader>`): each followed
    // partition's lag; the manager's MaxLag over all of them.
    let lags: Vec<(String, f64)> = {
        let mut fetcher_lag = lock(&metrics.fetcher_lag);
        let followed: BTreeMap<TopicPartition, BrokerId> = views
            .iter()
            .filter_map(|view| {
                let leader = view.follows?;
                Some((
                    TopicPartition {
                        topic: view.topic.clone(),
                        partition: view.partition,
                    },
                    leader,
                ))
            })
            .collect();
        fetcher_lag.retain(|partition, _| followed.contains_key(partition));
        fetcher_lag
            .iter()
            .map(|(partition, lag)| {
                (
                    format!(
                        "clientId=\"ReplicaFetcherThread-0-{}\",partition=\"{}\",topic=\"{}\"",
                        followed[partition].0,
                        partition.partition,
                        label_value(&partition.topic)
                    ),
                    *lag as f64,
                )
            })
            .collect()
    };
    let max_lag = lags.iter().map(|(_, lag)| *lag).fold(0.0, f64::max);
    family(
        &mut out,
        "kafka_server_fetcherlagmetrics_consumerlag",
        "gauge",
        &lags,
    );
    for (name, value) in [
        ("maxlag", max_lag),
        // keel's fetchers are tasks that do not die, and a storage failure stops
        // the broker instead of failing partitions.
        ("deadthreadcount", 0.0),
        ("failedpartitionscount", 0.0),
    ] {
        family(
            &mut out,
            &format!("kafka_server_replicafetchermanager_{name}"),
            "gauge",
            &[("clientId=\"Replica\"".to_string(), value)],
        );
    }

    // KafkaController: the cluster-wide counts only the active controller reports.
    let active = metadata.controller_id == Some(broker.id);
    let live_topics = || {
        metadata
            .topics
            .values()
            .filter(|topic| !topic.marked_for_deletion)
    };
    let controller_gauge = |value: usize| if active { value as f64 } else { 0.0 };
    gauge(
        &mut out,
        "kafka_controller_kafkacontroller_activecontrollercount",
        if active { 1.0 } else { 0.0 },
    );
    gauge(
        &mut out,
        "kafka_controller_kafkacontroller_globaltopiccount",
        controller_gauge(live_topics().count()),
    );
    gauge(
        &mut out,
        "kafka_controller_kafkacontroller_globalpartitioncount",
        controller_gauge(live_topics().map(|topic| topic.partitions.len()).sum()),
    );
    gauge(
        &mut out,
        "kafka_controller_kafkacontroller_offlinepartitionscount",
        controller_gauge(
            live_topics()
                .flat_map(|topic| topic.partitions.values())
                .filter(|state| state.leader.is_none())
                .count(),
        ),
    );
    gauge(
        &mut out,
        "kafka_controller_kafkacontroller_preferredreplicaimbalancecount",
        controller_gauge(
            live_topics()
                .flat_map(|topic| topic.partitions.values())
                .filter(|state| {
                    state.leader.is_some() && state.leader != state.replicas.first().copied()
                })
                .count(),
        ),
    );

    gauge(
        &mut out,
        "kafka_controller_kafkacontroller_activebrokercount",
        controller_gauge(metadata.brokers.len()),
    );
    // ZooKeeper mode fences no broker.
    gauge(
        &mut out,
        "kafka_controller_kafkacontroller_fencedbrokercount",
        0.0,
    );
    gauge(
        &mut out,
        "kafka_controller_kafkacontroller_topicstodeletecount",
        controller_gauge(
            metadata
                .topics
                .values()
                .filter(|topic| topic.marked_for_deletion)
                .count(),
        ),
    );
    gauge(
        &mut out,
        "kafka_server_metadataloader_currentcontrollerid",
        metadata.controller_id.map_or(-1.0, |id| id.0 as f64),
    );

    // FetchSessionCache (KIP-227).
    let (sessions, cached_partitions) = {
        let cache = broker
            .fetch_sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (cache.len(), cache.partitions())
    };
    gauge(
        &mut out,
        "kafka_server_fetchsessioncache_numincrementalfetchsessions",
        sessions as f64,
    );
    gauge(
        &mut out,
        "kafka_server_fetchsessioncache_numincrementalfetchpartitionscached",
        cached_partitions as f64,
    );

    // KafkaServer BrokerState: 3 is RUNNING (keel serves only once registered).
    gauge(&mut out, "kafka_server_kafkaserver_brokerstate", 3.0);
    out
}

/// The group coordinator's gauges, read from its state (async: it lives behind
/// the coordinator's lock).
pub async fn render_groups(broker: &Broker) -> String {
    let (groups, offsets) = broker.groups.metrics_counts().await;
    let mut out = String::new();
    family(
        &mut out,
        "kafka_coordinator_group_groupmetadatamanager_numgroups",
        "gauge",
        &[(String::new(), groups as f64)],
    );
    family(
        &mut out,
        "kafka_coordinator_group_groupmetadatamanager_numoffsets",
        "gauge",
        &[(String::new(), offsets as f64)],
    );
    out
}

/// The HTTP side: bound before the broker joins the cluster, so a port already
/// taken stops start-up at once and orchestrators get 503 until it serves.
#[derive(Default)]
pub struct Endpoint {
    broker: OnceLock<Arc<Broker>>,
    serving: AtomicBool,
}

/// `/ready` and `/metrics`, as HTTP paths.
pub const READY_PATH: &str = "/ready";
pub const METRICS_PATH: &str = "/metrics";

impl Endpoint {
    /// Binds `host:port` and serves until `stop`.
    pub async fn start(
        host: &str,
        port: u16,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<(Arc<Endpoint>, std::net::SocketAddr)> {
        use anyhow::Context;
        let listener = tokio::net::TcpListener::bind((host, port))
            .await
            .with_context(|| {
                format!("binding the metrics endpoint {host}:{port} (keel.metrics.host/port)")
            })?;
        let address = listener.local_addr()?;
        let endpoint = Arc::new(Endpoint::default());
        let serving = endpoint.clone();
        tokio::spawn(crate::http::accept_each(listener, stop, move |stream| {
            let endpoint = serving.clone();
            async move {
                let _ = endpoint.serve(stream).await;
            }
        }));
        tracing::info!(%address, "Prometheus metrics at http://{address}{METRICS_PATH}, readiness at {READY_PATH}");
        Ok((endpoint, address))
    }

    /// The broker is registered and its listeners are up (`true`), or it is
    /// stopping (`false`).
    pub fn set_serving(&self, broker: &Arc<Broker>, serving: bool) {
        let _ = self.broker.set(broker.clone());
        self.serving.store(serving, Ordering::Release);
    }

    async fn serve(&self, mut stream: tokio::net::TcpStream) -> std::io::Result<()> {
        use crate::http::{read_get_path, respond};
        let Some(path) = read_get_path(&mut stream).await? else {
            return Ok(());
        };
        let broker = self
            .broker
            .get()
            .filter(|_| self.serving.load(Ordering::Acquire));
        match (path.as_str(), broker) {
            (READY_PATH, Some(_)) => respond(&mut stream, 200, "text/plain", "ready\n").await,
            (READY_PATH | METRICS_PATH, None) => {
                respond(&mut stream, 503, "text/plain", "not serving\n").await
            }
            (METRICS_PATH, Some(broker)) => {
                let mut text = render(broker);
                text.push_str(&render_groups(broker).await);
                respond(&mut stream, 200, crate::http::PROMETHEUS_TEXT, &text).await
            }
            _ => respond(&mut stream, 404, "text/plain", "not found\n").await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_as_yammer_snapshots_do() {
        let mut histogram = Histogram::default();
        for value in 1..=100 {
            histogram.update(value as f64);
        }
        assert_eq!(histogram.count, 100);
        assert!((histogram.quantile(0.5) - 50.5).abs() < 1e-9);
        assert_eq!(histogram.quantile(0.999), 100.0);
        assert_eq!(Histogram::default().quantile(0.99), 0.0);
    }

    #[test]
    fn the_reservoir_keeps_the_latest_samples_and_the_whole_count() {
        let mut histogram = Histogram::default();
        for value in 0..(HISTOGRAM_SAMPLES_MAX + 10) {
            histogram.update(value as f64);
        }
        assert_eq!(histogram.count, (HISTOGRAM_SAMPLES_MAX + 10) as u64);
        assert_eq!(histogram.recent.len(), HISTOGRAM_SAMPLES_MAX);
        assert_eq!(histogram.recent.front().copied(), Some(10.0));
    }

    #[test]
    fn errors_are_named_as_kafka_names_them() {
        assert_eq!(error_name(0), "NONE");
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(error_name(19), "NOT_ENOUGH_REPLICAS");
        assert_eq!(error_name(-1), "UNKNOWN_SERVER_ERROR");
    }

    #[test]
    fn fetch_is_named_by_who_fetches() {
        assert_eq!(request_name(ApiKey::Fetch, false), "FetchConsumer");
        assert_eq!(request_name(ApiKey::Fetch, true), "FetchFollower");
        assert_eq!(request_name(ApiKey::Produce, false), "Produce");
        assert_eq!(
            request_name(ApiKey::DescribeConfigs, false),
            "DescribeConfigs"
        );
    }

    #[test]
    fn produce_counts_go_to_the_topic_and_to_all_topics() {
        let metrics = BrokerMetrics::new([ApiKey::Produce, ApiKey::Fetch]);
        metrics.record_produce("logs", Some((10, 1000)));
        metrics.record_produce("logs", None);
        let topic = metrics.topic("logs");
        for meters in [&metrics.all_topics, &*topic] {
            let values = meters.meters();
            assert_eq!(values[0], ("messagesin", 10));
            assert_eq!(values[1], ("bytesin", 1000));
            assert_eq!(values[3], ("totalproducerequests", 2));
            assert_eq!(values[5], ("failedproducerequests", 1));
        }
        let timed = lock(&metrics.total_time_ms);
        assert!(timed.contains_key("FetchConsumer") && timed.contains_key("FetchFollower"));
    }

    #[test]
    fn families_print_in_the_text_format() {
        let mut out = String::new();
        family(
            &mut out,
            "kafka_x_total",
            "counter",
            &[
                (String::new(), 3.0),
                (format!("topic=\"{}\"", label_value("a\"b")), 1.0),
            ],
        );
        assert_eq!(
            out,
            "# TYPE kafka_x_total counter\nkafka_x_total 3.0\nkafka_x_total{topic=\"a\\\"b\"} 1.0\n"
        );
    }
}
