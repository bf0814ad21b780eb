//! Latency percentiles from a sorted vector of microsecond samples (exact, and
//! small enough: a million samples are 4 MB), and the JSON lines of the bench
//! result contract.

use serde_json::json;

/// Latency samples in microseconds.
#[derive(Debug, Default)]
pub struct Latencies {
    samples: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    pub fn push_micros(&mut self, micros: u64) {
        self.samples.push(micros.min(u32::MAX as u64) as u32);
        self.sorted = false;
    }

    pub fn extend(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// The `q`-quantile (0..=1) in milliseconds, nearest-rank; `None` without
    /// samples.
    pub fn quantile_ms(&mut self, q: f64) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        if !self.sorted {
            self.samples.sort_unstable();
            self.sorted = true;
        }
        let rank = ((q * self.samples.len() as f64).ceil() as usize).clamp(1, self.samples.len());
        Some(self.samples[rank - 1] as f64 / 1000.0)
    }
}

/// Where result lines go and what they are stamped with.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub server: String,
    pub rep: u32,
}

impl Reporter {
    /// Prints one result line (stdout; the caller appends it to BENCH_RESULTS).
    pub fn line(
        &self,
        test: &str,
        metric: &str,
        unit: &str,
        value: f64,
        better: &str,
        target: Option<&str>,
    ) {
        let mut line = json!({
            "area": "zookeeper",
            "test": test,
            "metric": metric,
            "unit": unit,
            "server": self.server,
            "rep": self.rep,
            "value": round(value),
            "better": better,
        });
        if let Some(target) = target {
            line["target"] = json!(target);
        }
        println!("{line}");
    }
}

/// Three decimals are plenty for ops/s and milliseconds alike.
fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut latencies = Latencies::default();
        for micros in (1..=1000).rev() {
            latencies.push_micros(micros * 1000);
        }
        assert_eq!(latencies.quantile_ms(0.5), Some(500.0));
        assert_eq!(latencies.quantile_ms(0.99), Some(990.0));
        assert_eq!(latencies.quantile_ms(0.999), Some(999.0));
        assert_eq!(latencies.quantile_ms(1.0), Some(1000.0));
        assert_eq!(Latencies::default().quantile_ms(0.5), None);
    }
}
