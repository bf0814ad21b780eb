//! Connections per client address, as Kafka's `ConnectionQuotas` counts them:
//! `max.connections.per.ip` (default unbounded) with per-host exceptions in
//! `max.connections.per.ip.overrides` (`host:count,...`), counted across all
//! listeners. A connection over the limit is closed at once; the others are not
//! affected. Pure bookkeeping: the server asks and drops the returned guard.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::config::{ConfigError, Properties};

/// The configured limits (part of `KafkaConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionLimits {
    default_max: Option<u32>,
    overrides: HashMap<IpAddr, u32>,
}

/// The limits and the live counts, shared by every listener of a broker.
#[derive(Debug, Default)]
pub struct ConnectionQuotas {
    limits: ConnectionLimits,
    counts: Mutex<HashMap<IpAddr, u32>>,
}

/// One counted connection; dropping it releases the count.
pub struct ConnectionSlot {
    quotas: Arc<ConnectionQuotas>,
    address: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.quotas.counts.lock().expect("quota lock");
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl ConnectionLimits {
    /// Reads the two settings as Kafka validates them (a negative limit, or an
    /// override that is not `host:count`, is a configuration error).
    pub fn from_properties(properties: &Properties) -> Result<ConnectionLimits, ConfigError> {
        let default_max = match properties.get_number::<i64>("max.connections.per.ip")? {
            None => None,
            Some(value) if value < 0 => {
                return Err(properties.error(
                    "max.connections.per.ip",
                    format!("Invalid value {value} for configuration max.connections.per.ip: Value must be at least 0"),
                ))
            }
            Some(value) => Some(value.min(i64::from(u32::MAX)) as u32),
        };
        let mut overrides = HashMap::new();
        let key = "max.connections.per.ip.overrides";
        for item in properties
            .get_trimmed(key)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let (host, count) = item
                .rsplit_once(':')
                .and_then(|(host, count)| Some((host.trim(), count.trim().parse::<u32>().ok()?)))
                .ok_or_else(|| {
                    properties.error(key, format!("Invalid value {item}: expected host:count"))
                })?;
            // Kafka resolves host names; keel takes literal addresses and localhost.
            let address: IpAddr = match host {
                "localhost" => IpAddr::from([127, 0, 0, 1]),
                literal => literal.trim_matches(['[', ']']).parse().map_err(|_| {
                    properties.error(key, format!("{host} is not an IP address keel can match"))
                })?,
            };
            overrides.insert(address, count);
        }
        if default_max == Some(0) && overrides.is_empty() {
            return Err(properties.error(
                "max.connections.per.ip",
                "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set.",
            ));
        }
        Ok(ConnectionLimits {
            default_max,
            overrides,
        })
    }

    fn limit(&self, address: IpAddr) -> Option<u32> {
        self.overrides.get(&address).copied().or(self.default_max)
    }
}

impl ConnectionQuotas {
    pub fn new(limits: ConnectionLimits) -> ConnectionQuotas {
        ConnectionQuotas {
            limits,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new connection from `address`; `Err(limit)` when it is one too many.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<ConnectionSlot, u32> {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let mut counts = self.counts.lock().expect("quota lock");
        let count = counts.entry(address).or_insert(0);
        if let Some(limit) = self.limits.limit(address) {
            if *count >= limit {
                if *count == 0 {
                    counts.remove(&address);
                }
                return Err(limit);
            }
        }
        *count += 1;
        Ok(ConnectionSlot {
            quotas: self.clone(),
            address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotas(text: &str) -> Result<Arc<ConnectionQuotas>, ConfigError> {
        let properties = Properties::parse(std::path::Path::new("server.properties"), text)?;
        ConnectionLimits::from_properties(&properties)
            .map(|limits| Arc::new(ConnectionQuotas::new(limits)))
    }

    #[test]
    fn limits_per_address_with_overrides_and_release_on_drop() {
        let quotas = quotas(
            "max.connections.per.ip=2\nmax.connections.per.ip.overrides=127.0.0.2:0,::1:3\n",
        )
        .unwrap();
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        let first = quotas.admit(one).unwrap();
        let _second = quotas.admit(one).unwrap();
        assert_eq!(quotas.admit(one).err(), Some(2));
        drop(first);
        assert!(quotas.admit(one).is_ok());
        assert_eq!(quotas.admit("127.0.0.2".parse().unwrap()).err(), Some(0));
        let six: IpAddr = "::1".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| quotas.admit(six).unwrap()).collect();
        assert!(quotas.admit(six).is_err());
        drop(held);
        assert!(quotas.counts.lock().unwrap().get(&six).is_none());
    }

    #[test]
    fn unbounded_by_default_and_bad_values_refused() {
        let quotas = quotas("").unwrap();
        let held: Vec<_> = (0..1000)
            .map(|_| quotas.admit("10.0.0.1".parse().unwrap()).unwrap())
            .collect();
        assert_eq!(held.len(), 1000);
        for text in [
            "max.connections.per.ip=-1\n",
            "max.connections.per.ip=0\n",
            "max.connections.per.ip.overrides=nohost\n",
            "max.connections.per.ip.overrides=some.host:3\n",
        ] {
            assert!(self::quotas(text).is_err(), "{text}");
        }
    }
}
