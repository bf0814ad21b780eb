//! Client quotas as Kafka 3.9's `ClientQuotaManager` and `ClientRequestQuotaManager` enforce them, pure: the quota
//! configs of `/config/users`, `/config/clients` and `/config/users/<u>/clients/<c>`
//! (with `<default>` entities), which of them applies to a (user, client id) by
//! Kafka's eight-level precedence, and the sampled rate of each quota sensor
//! (`SampledStat` / `Rate`: `quota.window.num` samples of
//! `quota.window.size.seconds`), with the throttle time Kafka derives from a
//! violation (`QuotaUtils.throttleTime`). Time is an input: the broker passes its
//! clock, tests pass numbers.

use std::collections::{BTreeMap, HashMap};

/// The quota a sensor enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QuotaKind {
    /// `producer_byte_rate`: bytes of Produce requests per second.
    Produce,
    /// `consumer_byte_rate`: bytes of Fetch responses per second.
    Fetch,
    /// `request_percentage`: request-handler time, as a percentage of one thread's
    /// time per second (`ClientRequestQuotaManager`).
    Request,
}

impl QuotaKind {
    pub fn config_key(self) -> &'static str {
        match self {
            QuotaKind::Produce => "producer_byte_rate",
            QuotaKind::Fetch => "consumer_byte_rate",
            QuotaKind::Request => "request_percentage",
        }
    }

    const ALL: [QuotaKind; 3] = [QuotaKind::Produce, QuotaKind::Fetch, QuotaKind::Request];
}

/// One side of a quota entity: a named user or client id (sanitized, as in the
/// znode), or the `<default>` one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityName {
    Default,
    Named(String),
}

/// The entity a quota config belongs to (`KafkaQuotaEntity`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaEntity {
    pub user: Option<EntityName>,
    pub client: Option<EntityName>,
}

/// The entity-name string of a default entity in znodes.
pub const DEFAULT_ENTITY: &str = "<default>";

impl EntityName {
    pub fn from_znode(name: &str) -> EntityName {
        if name == DEFAULT_ENTITY {
            EntityName::Default
        } else {
            EntityName::Named(name.to_string())
        }
    }
}

/// Every quota configured, by entity and kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuotaTable {
    by_entity: BTreeMap<QuotaEntity, BTreeMap<QuotaKind, f64>>,
}

/// No value is NaN (`set_entity` skips them), so equality is total.
impl Eq for QuotaTable {}

/// Which sensor a request is counted in (Kafka's quota metric tags): the sanitized
/// user and the client id, each empty when the applying quota does not name it.
/// Clients sharing a user-level quota share its sensor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SensorKey {
    pub kind: QuotaKind,
    pub user: String,
    pub client_id: String,
}

impl QuotaTable {
    pub fn is_empty(&self) -> bool {
        self.by_entity.is_empty()
    }

    /// Replaces an entity's quotas from its config (keys other than the three enforced quotas
    /// are ignored; a value that does not parse as a number is skipped, as Kafka
    /// validates values before it writes them).
    pub fn set_entity(&mut self, entity: QuotaEntity, config: &BTreeMap<String, String>) {
        let quotas: BTreeMap<QuotaKind, f64> = QuotaKind::ALL
            .iter()
            .filter_map(|kind| {
                let value = config.get(kind.config_key())?.trim().parse::<f64>().ok()?;
                (!value.is_nan()).then_some((*kind, value))
            })
            .collect();
        if quotas.is_empty() {
            self.by_entity.remove(&entity);
        } else {
            self.by_entity.insert(entity, quotas);
        }
    }

    fn get(
        &self,
        kind: QuotaKind,
        user: Option<EntityName>,
        client: Option<EntityName>,
    ) -> Option<f64> {
        self.by_entity
            .get(&QuotaEntity { user, client })
            .and_then(|quotas| quotas.get(&kind))
            .copied()
    }

    fn has(&self, kind: QuotaKind, user: Option<EntityName>, client: Option<EntityName>) -> bool {
        self.get(kind, user, client).is_some()
    }

    /// The sensor and bound for a request of `user` (the principal's name,
    /// sanitized: `ANONYMOUS` on a plaintext listener) and `client_id`, or `None`
    /// when no quota applies: `DefaultQuotaCallback.quotaMetricTags`, then
    /// `quotaLimit` for those tags.
    pub fn resolve(
        &self,
        kind: QuotaKind,
        user: &str,
        client_id: &str,
    ) -> Option<(SensorKey, f64)> {
        use EntityName::{Default, Named};
        let named_user = || Some(Named(user.to_string()));
        let named_client = || Some(Named(client_id.to_string()));
        // quotaMetricTags: the most specific level that has a quota picks the tags.
        let (user_tag, client_tag) = if self.has(kind, named_user(), named_client())
            || self.has(kind, named_user(), Some(Default))
        {
            (user, client_id)
        } else if self.has(kind, named_user(), None) {
            (user, "")
        } else if self.has(kind, Some(Default), named_client())
            || self.has(kind, Some(Default), Some(Default))
        {
            (user, client_id)
        } else if self.has(kind, Some(Default), None) {
            (user, "")
        } else {
            ("", client_id)
        };
        // quotaLimit for those tags.
        let bound = match (user_tag.is_empty(), client_tag.is_empty()) {
            (false, false) => self
                .get(kind, named_user(), named_client())
                .or_else(|| self.get(kind, named_user(), Some(Default)))
                .or_else(|| self.get(kind, Some(Default), named_client()))
                .or_else(|| self.get(kind, Some(Default), Some(Default))),
            (false, true) => self
                .get(kind, named_user(), None)
                .or_else(|| self.get(kind, Some(Default), None)),
            (true, false) => self
                .get(kind, None, named_client())
                .or_else(|| self.get(kind, None, Some(Default))),
            (true, true) => None,
        }?;
        Some((
            SensorKey {
                kind,
                user: user_tag.to_string(),
                client_id: client_tag.to_string(),
            },
            bound,
        ))
    }
}

/// `quota.window.num` and `quota.window.size.seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    pub samples: u32,
    pub sample_ms: i64,
}

impl Default for QuotaWindow {
    fn default() -> QuotaWindow {
        QuotaWindow {
            samples: 11,
            sample_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    value: f64,
    event_count: u64,
    start_ms: i64,
    last_event_ms: i64,
}

impl Sample {
    fn new(now_ms: i64) -> Sample {
        Sample {
            value: 0.0,
            event_count: 0,
            start_ms: now_ms,
            last_event_ms: now_ms,
        }
    }
}

/// Kafka's `Rate` over a `WindowedSum` (`SampledStat`), per second.
#[derive(Debug, Clone, Default)]
pub struct SampledRate {
    samples: Vec<Sample>,
    current: usize,
}

impl SampledRate {
    pub fn record(&mut self, window: QuotaWindow, value: f64, now_ms: i64) {
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now_ms));
        }
        if now_ms - self.samples[self.current].start_ms >= window.sample_ms {
            // One extra sample overlaps the start of the monitored window.
            let slots = window.samples as usize + 1;
            self.current = (self.current + 1) % slots;
            if self.current >= self.samples.len() {
                self.samples.push(Sample::new(now_ms));
            } else {
                self.samples[self.current] = Sample::new(now_ms);
            }
        }
        let sample = &mut self.samples[self.current];
        sample.value += value;
        sample.event_count += 1;
        sample.last_event_ms = now_ms;
    }

    fn purge_obsolete(&mut self, window: QuotaWindow, now_ms: i64) {
        let expire_age_ms = i64::from(window.samples) * window.sample_ms;
        for sample in &mut self.samples {
            if now_ms - sample.last_event_ms >= expire_age_ms {
                *sample = Sample::new(now_ms);
            }
        }
    }

    /// `Rate.windowSize`: at least `samples - 1` whole samples, never 0.
    pub fn window_ms(&mut self, window: QuotaWindow, now_ms: i64) -> i64 {
        self.purge_obsolete(window, now_ms);
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now_ms));
        }
        let oldest = self
            .samples
            .iter()
            .map(|s| s.start_ms)
            .min()
            .unwrap_or(now_ms);
        let mut elapsed_ms = now_ms - oldest;
        let full_windows = elapsed_ms / window.sample_ms;
        let full_windows_min = i64::from(window.samples) - 1;
        if full_windows < full_windows_min {
            elapsed_ms += (full_windows_min - full_windows) * window.sample_ms;
        }
        elapsed_ms.max(1)
    }

    /// The rate per second now (`Rate.measure`).
    pub fn measure(&mut self, window: QuotaWindow, now_ms: i64) -> f64 {
        self.purge_obsolete(window, now_ms);
        let total: f64 = self.samples.iter().map(|s| s.value).sum();
        total / (self.window_ms(window, now_ms) as f64 / 1000.0)
    }
}

/// Request-handler time as the request quota counts it: the percentage of one
/// thread's second (`ClientRequestQuotaManager.nanosToPercentage`).
pub fn nanos_to_percentage(nanos: u64) -> f64 {
    nanos as f64 * 100.0 / 1e9
}

/// The sensors of one broker: records what each client did and answers with the
/// throttle time Kafka would give.
#[derive(Debug, Default)]
pub struct QuotaSensors {
    window: QuotaWindow,
    sensors: HashMap<SensorKey, (SampledRate, i64)>,
}

/// A sensor unused this long is dropped (Kafka's quota sensors expire after an
/// hour of inactivity), which bounds the map by the clients of the last hour.
const SENSOR_IDLE_MS: i64 = 3_600_000;

impl QuotaSensors {
    pub fn new(window: QuotaWindow) -> QuotaSensors {
        QuotaSensors {
            window,
            sensors: HashMap::new(),
        }
    }

    /// `recordAndGetThrottleTimeMs`: counts `value`, then, if the rate is over
    /// `bound`, the time that brings it back under (`(rate - bound) / bound *
    /// window`), rounded as Kafka rounds it.
    pub fn record(&mut self, key: &SensorKey, bound: f64, value: f64, now_ms: i64) -> i64 {
        if self.sensors.len() > 1024 {
            self.sensors
                .retain(|_, (_, last_used_ms)| now_ms - *last_used_ms < SENSOR_IDLE_MS);
        }
        let window = self.window;
        let (rate, last_used_ms) = self
            .sensors
            .entry(key.clone())
            .or_insert_with(|| (SampledRate::default(), now_ms));
        *last_used_ms = now_ms;
        rate.record(window, value, now_ms);
        let observed = rate.measure(window, now_ms);
        if observed <= bound {
            return 0;
        }
        let window_ms = rate.window_ms(window, now_ms) as f64;
        let throttle_ms = if bound <= 0.0 {
            window_ms.round() as i64
        } else {
            ((observed - bound) / bound * window_ms).round() as i64
        };
        if key.kind == QuotaKind::Request {
            // ClientRequestQuotaManager bounds its throttle by one sample
            // (`boundedThrottleTime` with quota.window.size.seconds).
            throttle_ms.min(window.sample_ms)
        } else {
            throttle_ms
        }
    }

    /// Takes back a recorded value (Kafka unrecords a throttled fetch, whose
    /// response goes out empty).
    pub fn unrecord(&mut self, key: &SensorKey, value: f64, now_ms: i64) {
        let window = self.window;
        if let Some((rate, _)) = self.sensors.get_mut(key) {
            rate.record(window, -value, now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_quota_counts_handler_time_and_throttles_at_most_one_sample() {
        let mut table = QuotaTable::default();
        table.set_entity(
            QuotaEntity {
                user: None,
                client: Some(EntityName::Named("busy".into())),
            },
            &config(&[("request_percentage", "0.01")]),
        );
        let (key, bound) = table.resolve(QuotaKind::Request, "", "busy").unwrap();
        assert_eq!(bound, 0.01);
        assert!(table.resolve(QuotaKind::Produce, "", "busy").is_none());
        let mut sensors = QuotaSensors::new(QuotaWindow::default());
        // 0.5 ms of handler time = 0.05 units; over the 10 s minimum window a rate of
        // 0.005 per second: half the quota.
        assert_eq!(nanos_to_percentage(500_000), 0.05);
        assert_eq!(
            sensors.record(&key, bound, nanos_to_percentage(500_000), 0),
            0
        );
        // Another 0.6 ms: 0.11 / 10 s = 0.011, 10% over: (0.011 - 0.01) / 0.01 * 10 s.
        let throttle_ms = sensors.record(&key, bound, nanos_to_percentage(600_000), 10);
        assert!((990..=1000).contains(&throttle_ms), "{throttle_ms}");
        // Far over the quota the throttle stays at one sample (1000 ms), where a byte
        // rate's would keep growing.
        assert_eq!(sensors.record(&key, bound, 100.0, 20), 1000);
    }

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn named(name: &str) -> Option<EntityName> {
        Some(EntityName::Named(name.to_string()))
    }

    #[test]
    fn the_most_specific_entity_wins_in_kafkas_order() {
        let mut table = QuotaTable::default();
        let produce = |rate: &str| config(&[("producer_byte_rate", rate)]);
        table.set_entity(
            QuotaEntity {
                user: None,
                client: Some(EntityName::Default),
            },
            &produce("8"),
        );
        assert_eq!(
            table
                .resolve(QuotaKind::Produce, "alice", "c1")
                .map(|(k, b)| (k.user, k.client_id, b)),
            Some((String::new(), "c1".to_string(), 8.0))
        );
        table.set_entity(
            QuotaEntity {
                user: None,
                client: named("c1"),
            },
            &produce("7"),
        );
        assert_eq!(
            table.resolve(QuotaKind::Produce, "alice", "c1").unwrap().1,
            7.0
        );
        table.set_entity(
            QuotaEntity {
                user: Some(EntityName::Default),
                client: None,
            },
            &produce("6"),
        );
        let (key, bound) = table.resolve(QuotaKind::Produce, "alice", "c1").unwrap();
        assert_eq!(
            (key.user.as_str(), key.client_id.as_str(), bound),
            ("alice", "", 6.0)
        );
        table.set_entity(
            QuotaEntity {
                user: named("alice"),
                client: None,
            },
            &produce("5"),
        );
        assert_eq!(
            table.resolve(QuotaKind::Produce, "alice", "c1").unwrap().1,
            5.0
        );
        table.set_entity(
            QuotaEntity {
                user: named("alice"),
                client: named("c1"),
            },
            &produce("4"),
        );
        let (key, bound) = table.resolve(QuotaKind::Produce, "alice", "c1").unwrap();
        assert_eq!(
            (key.user.as_str(), key.client_id.as_str(), bound),
            ("alice", "c1", 4.0)
        );
        // Another user falls back to the default user.
        assert_eq!(
            table.resolve(QuotaKind::Produce, "bob", "c1").unwrap().1,
            6.0
        );
        // No fetch quota anywhere.
        assert!(table.resolve(QuotaKind::Fetch, "alice", "c1").is_none());
        // Removing the config removes the entity.
        table.set_entity(
            QuotaEntity {
                user: named("alice"),
                client: named("c1"),
            },
            &config(&[]),
        );
        assert_eq!(
            table.resolve(QuotaKind::Produce, "alice", "c1").unwrap().1,
            5.0
        );
    }

    #[test]
    fn throttle_time_follows_kafkas_formula() {
        let window = QuotaWindow::default();
        let mut sensors = QuotaSensors::new(window);
        let key = SensorKey {
            kind: QuotaKind::Produce,
            user: String::new(),
            client_id: "c".into(),
        };
        // 10 KB/s over a 10 s minimum window: 50 KB is 5 KB/s, within the quota.
        assert_eq!(sensors.record(&key, 10_240.0, 51_200.0, 1_000), 0);
        // Another 100 KB at the same instant: 150 KB / 10 s = 15 KB/s, 50% over:
        // half the window to wait.
        assert_eq!(sensors.record(&key, 10_240.0, 102_400.0, 1_000), 5_000);
        // Eleven seconds later the old samples have expired.
        assert_eq!(sensors.record(&key, 10_240.0, 1_024.0, 12_001), 0);
    }

    #[test]
    fn samples_rotate_and_expire_as_kafkas_sampled_stat() {
        let window = QuotaWindow {
            samples: 3,
            sample_ms: 1000,
        };
        let mut rate = SampledRate::default();
        for second in 0..10 {
            rate.record(window, 100.0, second * 1000);
        }
        // Four slots (samples + 1) hold the samples of 6, 7, 8 and 9 s; measuring
        // at 9 s expires the one last written at 6 s (3 s ago), leaving 300 bytes
        // over the 2 s since the oldest kept sample started (the minimum of
        // samples - 1 whole samples): 150 per second.
        let measured = rate.measure(window, 9_000);
        assert!((measured - 150.0).abs() < 1e-9, "{measured}");
        // Idle past samples * sample_ms: everything expires.
        assert_eq!(rate.measure(window, 20_000), 0.0);
    }
}
