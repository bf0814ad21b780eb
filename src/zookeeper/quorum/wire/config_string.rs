//! `QuorumMaj.toString()`: the ensemble's member list as notifications and
//! NEWLEADER carry it, built from zoo.cfg's `server.N` lines.
//!
//! ```text
//! server.1=10.0.0.1:2888:3888:participant
//! server.2=10.0.0.2:2888:3888:participant;0.0.0.0:2181
//! server.4=[0:0:0:0:0:0:0:1]:2890:3890:observer
//! version=0
//! ```
//!
//! What Apache 3.9's `QuorumServer.toString` does, and so this:
//! - the type is always written (`:participant` or `:observer`);
//! - a `;client` part appears only when the `server.N` line has one
//!   (`;2181` reads as `0.0.0.0:2181`); a `clientPort=` key never adds one,
//!   since Apache marks that address `isClientAddrFromStatic`;
//! - IP literals are written as `InetSocketAddress.getHostString` gives them
//!   (IPv6 in full, bracketed); names as written;
//! - several addresses (multiAddress) are '|'-joined after sorting the quorum
//!   and the election addresses by host, each list on its own;
//! - members come in Java `HashMap<Long, _>` iteration order (ascending for
//!   ids below the table size, 16 for up to 12 members), one per line;
//! - the last line is `version=<hex>` with no newline: 0 for a static config
//!   (reconfig off), but `newEpoch << 32` in NEWLEADER, which Leader.lead
//!   versions that way (ZOOKEEPER-1783).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::zookeeper::config::{HostPort, PeerType, QuorumServer, ServerId};

/// `java.util.HashMap`'s first table size and load factor.
const JAVA_HASH_MAP_CAPACITY_INITIAL: usize = 16;

/// The config string for `servers` with `version` (see the module header).
pub fn quorum_config_string(servers: &BTreeMap<ServerId, QuorumServer>, version: i64) -> String {
    let mut out = String::new();
    for id in java_hash_map_order(servers.keys().map(|id| id.0 as i64)) {
        let server = &servers[&ServerId(id as u64)];
        let _ = write!(out, "server.{id}=");
        write_server(&mut out, server);
        out.push('\n');
    }
    let _ = write!(out, "version={:x}", version as u64);
    out
}

/// `QuorumServer.toString`.
fn write_server(out: &mut String, server: &QuorumServer) {
    let mut quorum_addresses: Vec<&HostPort> = server.quorum_addresses.iter().collect();
    let mut election_addresses: Vec<&HostPort> = server.election_addresses.iter().collect();
    // Apache sorts by `getHostString`, a stable sort, each list separately.
    quorum_addresses.sort_by_cached_key(|address| java_host_string(&address.host));
    election_addresses.sort_by_cached_key(|address| java_host_string(&address.host));
    let pairs: Vec<String> = quorum_addresses
        .iter()
        .zip(&election_addresses)
        .map(|(quorum, election)| {
            format!(
                "{}:{}:{}",
                delimited_host(&quorum.host),
                quorum.port,
                election.port
            )
        })
        .collect();
    out.push_str(&pairs.join("|"));
    out.push_str(match server.peer_type {
        PeerType::Participant => ":participant",
        PeerType::Observer => ":observer",
    });
    if let Some(client) = &server.client_address {
        let _ = write!(out, ";{}:{}", delimited_host(&client.host), client.port);
    }
}

/// `QuorumServer.delimitedHostString`.
fn delimited_host(host: &str) -> String {
    let host = java_host_string(host);
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    }
}

/// `new InetSocketAddress(host, port).getHostString()` for a host as a config
/// names it: an IP literal comes back in Java's text form (IPv6 as eight
/// lowercase hex groups, no `::`; an IPv4-mapped one as IPv4), a name as is.
pub fn java_host_string(host: &str) -> String {
    if let Ok(address) = host.parse::<Ipv4Addr>() {
        return address.to_string();
    }
    if let Ok(address) = host.parse::<Ipv6Addr>() {
        if let Some(mapped) = address.to_ipv4_mapped() {
            return mapped.to_string();
        }
        let groups: Vec<String> = address
            .segments()
            .iter()
            .map(|group| format!("{group:x}"))
            .collect();
        return groups.join(":");
    }
    host.to_string()
}

/// The order a `java.util.HashMap<Long, _>` built by inserting `ids` iterates
/// in: by bucket (`Long.hashCode` spread by `HashMap.hash`, masked by the
/// table size the map grew to), and within a bucket in insertion order, which
/// Apache takes from a `Properties` table; ascending id stands in for that
/// (exact whenever no two ids share a bucket, as with ids below 16).
fn java_hash_map_order(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.collect();
    let mut capacity = JAVA_HASH_MAP_CAPACITY_INITIAL;
    // Resized when the size passes three quarters of the table.
    while ids.len() > capacity / 4 * 3 {
        capacity *= 2;
    }
    let bucket = |id: i64| {
        let hash = (id ^ ((id as u64) >> 32) as i64) as i32;
        let spread = hash ^ ((hash as u32) >> 16) as i32;
        spread as u32 as usize & (capacity - 1)
    };
    ids.sort_by_key(|id| (bucket(*id), *id));
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(id: u64, line: &str) -> QuorumServer {
        let (addresses, client) = match line.split_once(';') {
            Some((addresses, client)) => (addresses, Some(client)),
            None => (line, None),
        };
        let mut quorum_addresses = Vec::new();
        let mut election_addresses = Vec::new();
        let mut peer_type = PeerType::Participant;
        for address in addresses.split('|') {
            let (host, rest) = match address.strip_prefix('[') {
                Some(after) => {
                    let (host, rest) = after.split_once("]:").unwrap();
                    (host, rest)
                }
                None => address.split_once(':').unwrap(),
            };
            let parts: Vec<&str> = rest.split(':').collect();
            if parts.get(2) == Some(&"observer") {
                peer_type = PeerType::Observer;
            }
            quorum_addresses.push(HostPort {
                host: host.to_string(),
                port: parts[0].parse().unwrap(),
            });
            election_addresses.push(HostPort {
                host: host.to_string(),
                port: parts[1].parse().unwrap(),
            });
        }
        let client_address = client.map(|client| match client.rsplit_once(':') {
            Some((host, port)) => HostPort {
                host: host.trim_matches(['[', ']']).to_string(),
                port: port.parse().unwrap(),
            },
            None => HostPort {
                host: "0.0.0.0".to_string(),
                port: client.parse().unwrap(),
            },
        });
        QuorumServer {
            id: ServerId(id),
            quorum_addresses,
            election_addresses,
            peer_type,
            client_address,
        }
    }

    #[test]
    fn static_three_node_config_has_version_zero_and_no_client_parts() {
        let servers: BTreeMap<ServerId, QuorumServer> = (1..=3)
            .map(|id| (ServerId(id), server(id, &format!("zk{id}:2888:3888"))))
            .collect();
        assert_eq!(
            quorum_config_string(&servers, 0),
            "server.1=zk1:2888:3888:participant\n\
             server.2=zk2:2888:3888:participant\n\
             server.3=zk3:2888:3888:participant\n\
             version=0"
        );
        assert!(quorum_config_string(&servers, 0x5_0000_0000).ends_with("\nversion=500000000"));
    }

    #[test]
    fn multi_addresses_are_sorted_by_host_list_by_list() {
        let servers = BTreeMap::from([(ServerId(1), server(1, "zb:1:2|za:3:4;[::1]:2181"))]);
        assert_eq!(
            quorum_config_string(&servers, 0),
            "server.1=za:3:4|zb:1:2:participant;[0:0:0:0:0:0:0:1]:2181\nversion=0"
        );
    }

    #[test]
    fn members_follow_java_hash_map_order() {
        assert_eq!(java_hash_map_order([3, 1, 2].into_iter()), [1, 2, 3]);
        // 17 shares 1's bucket in a 16-slot table; 16 is in bucket 0.
        assert_eq!(
            java_hash_map_order([1, 17, 16, 2].into_iter()),
            [16, 1, 17, 2]
        );
        // Thirteen members grow the table to 32 slots.
        let ids: Vec<i64> = (1..=12).chain([20]).collect();
        assert_eq!(java_hash_map_order(ids.clone().into_iter()), ids);
        // Long.hashCode folds the high word in.
        assert_eq!(java_hash_map_order([1 << 32, 2].into_iter()), [1 << 32, 2]);
    }

    #[test]
    fn host_strings_match_java() {
        assert_eq!(java_host_string("zk1.example"), "zk1.example");
        assert_eq!(java_host_string("10.1.2.3"), "10.1.2.3");
        assert_eq!(java_host_string("fe80::a:1"), "fe80:0:0:0:0:0:a:1");
        assert_eq!(java_host_string("::ffff:10.0.0.1"), "10.0.0.1");
    }
}
