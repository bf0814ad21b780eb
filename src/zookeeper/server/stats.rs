//! Counters the four-letter words and the AdminServer report: request latency
//! (min/avg/max, as Apache's `AvgMinMaxCounter`) and packets in and out, for
//! the whole server and per connection.

/// Latency in whole milliseconds. An empty counter reports 0 for everything.
#[derive(Debug, Clone, Default)]
pub struct LatencyCounter {
    count: u64,
    total_ms: u64,
    min_ms: Option<u64>,
    max_ms: u64,
}

impl LatencyCounter {
    pub fn add(&mut self, latency_ms: u64) {
        self.count += 1;
        self.total_ms += latency_ms;
        self.min_ms = Some(self.min_ms.map_or(latency_ms, |min| min.min(latency_ms)));
        self.max_ms = self.max_ms.max(latency_ms);
    }

    pub fn min_ms(&self) -> u64 {
        self.min_ms.unwrap_or(0)
    }

    pub fn max_ms(&self) -> u64 {
        self.max_ms
    }

    /// Apache prints the server's average as a Java double.
    pub fn avg_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total_ms as f64 / self.count as f64
        }
    }

    /// Connections print theirs as a Java long (integer division).
    pub fn avg_ms_whole(&self) -> u64 {
        self.total_ms.checked_div(self.count).unwrap_or(0)
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Server-wide counters (`ServerStats`).
#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    pub latency: LatencyCounter,
    pub packets_received: u64,
    pub packets_sent: u64,
    pub auth_failed: u64,
}

impl ServerStats {
    /// `srst`.
    pub fn reset(&mut self) {
        *self = ServerStats::default();
    }
}

/// Per-connection counters (`ServerCnxn`'s stats).
#[derive(Debug, Clone)]
pub struct ConnectionStats {
    pub latency: LatencyCounter,
    pub packets_received: u64,
    pub packets_sent: u64,
    /// Short name of the last op answered ("NA" before any), as Apache's `lop`.
    pub last_operation: &'static str,
    pub last_cxid: i64,
    pub last_zxid: i64,
    /// Wall-clock milliseconds of the last response.
    pub last_response_time_ms: i64,
    pub last_latency_ms: u64,
}

impl Default for ConnectionStats {
    fn default() -> Self {
        ConnectionStats {
            latency: LatencyCounter::default(),
            packets_received: 0,
            packets_sent: 0,
            last_operation: "NA",
            last_cxid: -1,
            last_zxid: -1,
            last_response_time_ms: 0,
            last_latency_ms: 0,
        }
    }
}

impl ConnectionStats {
    /// `crst`.
    pub fn reset(&mut self) {
        *self = ConnectionStats::default();
    }
}

/// Apache's short op names for `lop` (`Request.op2String` is longer; the
/// connection dump uses these four-letter forms from FinalRequestProcessor).
pub fn last_operation_name(op: crate::zookeeper::jute::OpCode) -> &'static str {
    use crate::zookeeper::jute::OpCode;
    match op {
        OpCode::Ping => "PING",
        OpCode::CreateSession => "SESS",
        OpCode::CloseSession => "CLOSE",
        OpCode::Multi => "MULT",
        OpCode::MultiRead => "MLTR",
        OpCode::Create => "CREA",
        OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer => "CREA",
        OpCode::Delete | OpCode::DeleteContainer => "DELE",
        OpCode::SetData => "SETD",
        OpCode::SetAcl => "SETA",
        OpCode::Check => "CHEC",
        OpCode::Reconfig => "RECO",
        OpCode::Sync => "SYNC",
        OpCode::Exists => "EXIS",
        OpCode::GetData => "GETD",
        OpCode::GetAcl => "GETA",
        OpCode::GetChildren => "GETC",
        OpCode::GetChildren2 => "GETC",
        OpCode::GetAllChildrenNumber => "GETACN",
        OpCode::GetEphemerals => "GETE",
        OpCode::SetWatches | OpCode::SetWatches2 => "SETW",
        OpCode::CheckWatches => "CHKW",
        OpCode::RemoveWatches => "REMW",
        OpCode::AddWatch => "ADDW",
        OpCode::WhoAmI => "HOMI",
        _ => "NA",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_counter_reports_zeroes() {
        let counter = LatencyCounter::default();
        assert_eq!((counter.min_ms(), counter.max_ms()), (0, 0));
        assert_eq!(format!("{:?}", counter.avg_ms()), "0.0");
    }

    #[test]
    fn counter_tracks_min_avg_max() {
        let mut counter = LatencyCounter::default();
        for latency in [4, 1, 2] {
            counter.add(latency);
        }
        assert_eq!((counter.min_ms(), counter.max_ms()), (1, 4));
        assert_eq!(format!("{:?}", counter.avg_ms()), "2.3333333333333335");
        assert_eq!(counter.avg_ms_whole(), 2);
    }
}
