//! Authentication schemes and ACL decisions, as Apache's auth providers and
//! `ZooKeeperServer.checkACL` / `PrepRequestProcessor.fixupACL` make them.
//!
//! Schemes: `world` (only `anyone`), `auth` (stands for the caller's
//! authenticated ids when setting an ACL), `digest` (`user:base64(sha1)`), `ip`
//! (address with optional prefix length), `sasl` (the user a SASL exchange
//! authenticated, when `authProvider.N` registers Apache's SASLAuthenticationProvider),
//! `x509` (a TLS client's certificate subject, when the secure client port is on)
//! and `super` (an id, never an ACL scheme: it passes every check).

use super::digest::generate_digest;
use crate::zookeeper::jute::{Acl, ClientInfo, ErrorCode, Id};

/// What the ACL decisions depend on besides the ACL and the caller's ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// `zookeeper.skipACL=yes`: every check passes.
    pub skip_acl: bool,
    /// `zookeeper.DigestAuthenticationProvider.enabled` (default true).
    pub digest_enabled: bool,
    /// `zookeeper.DigestAuthenticationProvider.superDigest`: `super:<hash>`.
    pub super_digest: Option<String>,
    /// SASLAuthenticationProvider registered (`authProvider.N=...`): the `sasl`
    /// ACL scheme is valid and matched.
    pub sasl_enabled: bool,
    /// The SASL (DIGEST-MD5) users of the JAAS `Server` section; `None`: no SASL
    /// login, so SASL requests fail.
    pub sasl_users: Option<SaslUsers>,
    /// `zookeeper.superUser`: the SASL user who also gets `super`.
    pub sasl_super_user: Option<String>,
    /// X509AuthenticationProvider registered (the secure client port is on): the
    /// `x509` ACL scheme is valid and matched.
    pub x509_enabled: bool,
    /// `zookeeper.X509AuthenticationProvider.superUser`: the certificate subject
    /// that also gets `super`.
    pub x509_super_user: Option<String>,
    /// `enforce.auth.enabled` / `sessionRequireClientSASLAuth`: a connection needs an
    /// id of one of these schemes before any request but `auth` and `sasl`.
    pub enforced_schemes: Option<Vec<String>>,
}

/// The users a SASL server accepts (`user_<name>="<password>"`), kept out of logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SaslUsers(pub std::collections::BTreeMap<String, String>);

impl std::fmt::Debug for SaslUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            skip_acl: false,
            digest_enabled: true,
            super_digest: None,
            sasl_enabled: false,
            sasl_users: None,
            sasl_super_user: None,
            x509_enabled: false,
            x509_super_user: None,
            enforced_schemes: None,
        }
    }
}

/// The schemes with a server-side provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Digest,
    Ip,
    Sasl,
    X509,
}

impl AuthConfig {
    fn provider(&self, scheme: &str) -> Option<Provider> {
        match scheme {
            "digest" if self.digest_enabled => Some(Provider::Digest),
            "ip" => Some(Provider::Ip),
            "sasl" if self.sasl_enabled => Some(Provider::Sasl),
            "x509" if self.x509_enabled => Some(Provider::X509),
            _ => None,
        }
    }

    /// The ids an `auth` packet adds to a connection, or `AuthFailed`. `ip`
    /// authentication is done by the server from the peer address, not here.
    pub fn authenticate(&self, scheme: &str, auth: &[u8]) -> Result<Vec<Id>, ErrorCode> {
        match self.provider(scheme) {
            Some(Provider::Digest) => {
                let digest = generate_digest(&String::from_utf8_lossy(auth));
                let mut ids = Vec::new();
                if self.super_digest.as_deref() == Some(digest.as_str()) {
                    ids.push(Id::new("super", ""));
                }
                ids.push(Id::new("digest", &digest));
                Ok(ids)
            }
            _ => Err(ErrorCode::AuthFailed),
        }
    }

    /// AuthenticationHelper.enforceAuthentication: may a connection with `ids` send
    /// requests other than `auth` and `sasl`?
    pub fn admits(&self, ids: &[Id]) -> bool {
        match &self.enforced_schemes {
            None => true,
            Some(schemes) => ids.iter().any(|id| schemes.contains(&id.scheme)),
        }
    }

    /// `checkACL`: may a caller with `auth` ids do `perm` on a node with `acl`?
    pub fn check(&self, acl: &[Acl], perm: i32, auth: &[Id]) -> Result<(), ErrorCode> {
        if self.skip_acl || acl.is_empty() {
            return Ok(());
        }
        if auth.iter().any(|id| id.scheme == "super") {
            return Ok(());
        }
        for entry in acl.iter().filter(|entry| entry.perms & perm != 0) {
            if entry.id.scheme == "world" && entry.id.id == "anyone" {
                return Ok(());
            }
            let Some(provider) = self.provider(&entry.id.scheme) else {
                continue;
            };
            let matched = auth
                .iter()
                .filter(|id| id.scheme == entry.id.scheme)
                .any(|id| match provider {
                    Provider::Digest => id.id == entry.id.id,
                    Provider::Ip => ip_matches(&id.id, &entry.id.id),
                    // SASLAuthenticationProvider.matches: a SASL user named "super"
                    // matches every sasl entry, as in Apache.
                    Provider::Sasl => id.id == "super" || id.id == entry.id.id,
                    Provider::X509 => id.id == entry.id.id,
                });
            if matched {
                return Ok(());
            }
        }
        Err(ErrorCode::NoAuth)
    }

    /// `fixupACL`: drops duplicates, expands `auth` into the caller's
    /// authenticated ids and refuses anything a provider would not accept.
    pub fn fixup(&self, acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
        let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
        for entry in acl {
            if !unique.contains(&entry) {
                unique.push(entry);
            }
        }
        if unique.is_empty() {
            return Err(ErrorCode::InvalidAcl);
        }
        let mut fixed = Vec::with_capacity(unique.len());
        for entry in unique {
            let id = &entry.id;
            if id.scheme == "world" && id.id == "anyone" {
                fixed.push(entry.clone());
            } else if id.scheme == "auth" {
                // Only providers that really authenticate (digest, sasl, x509; not ip) count.
                let mut expanded = false;
                for caller in java_auth_order(auth) {
                    if matches!(
                        self.provider(&caller.scheme),
                        Some(Provider::Digest | Provider::Sasl | Provider::X509)
                    ) {
                        expanded = true;
                        fixed.push(Acl::new(entry.perms, caller.clone()));
                    }
                }
                if !expanded {
                    return Err(ErrorCode::InvalidAcl);
                }
            } else {
                let valid = match self.provider(&id.scheme) {
                    Some(Provider::Digest) => java_split(&id.id, ':').len() == 2,
                    Some(Provider::Ip) => ip_is_valid(&id.id),
                    Some(Provider::Sasl) => kerberos_name_is_valid(&id.id),
                    Some(Provider::X509) => crate::tls::x509::is_distinguished_name(&id.id),
                    None => false,
                };
                if !valid {
                    return Err(ErrorCode::InvalidAcl);
                }
                fixed.push(entry.clone());
            }
        }
        Ok(fixed)
    }

    /// whoAmI: one entry per id, with the provider's user name ("" when the
    /// scheme has no provider, as for `super`).
    pub fn client_infos(&self, auth: &[Id]) -> Vec<ClientInfo> {
        java_auth_order(auth)
            .into_iter()
            .map(|id| ClientInfo {
                auth_scheme: id.scheme.clone(),
                user: match self.provider(&id.scheme) {
                    Some(Provider::Digest) => java_split(&id.id, ':')
                        .first()
                        .map(|user| user.to_string())
                        .unwrap_or_default(),
                    Some(Provider::Ip | Provider::Sasl | Provider::X509) => id.id.clone(),
                    None => String::new(),
                },
            })
            .collect()
    }
}

/// getACL without ADMIN permission hides digest hashes: Apache rewrites
/// `user:hash` with `replaceAll(":.*", ":x")`.
pub fn mask_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|entry| {
            if entry.id.scheme != "digest" {
                return entry.clone();
            }
            let masked = match entry.id.id.find(':') {
                Some(colon) => format!("{}:x", &entry.id.id[..colon]),
                None => entry.id.id.clone(),
            };
            Acl::new(entry.perms, Id::new("digest", &masked))
        })
        .collect()
}

/// The order Apache keeps a connection's ids in: a set backed by a
/// ConcurrentHashMap (16 bins for a handful of ids, by the spread jute `Id.hashCode`,
/// insertion order within a bin). whoAmI lists them, and `auth` ACLs expand them, in
/// that order.
pub fn java_auth_order(auth: &[Id]) -> Vec<&Id> {
    let java_hash = |text: &str| {
        text.encode_utf16().fold(0i32, |hash, unit| {
            hash.wrapping_mul(31).wrapping_add(i32::from(unit as i16))
        })
    };
    let bin = |id: &Id| {
        let hash = 37i32
            .wrapping_mul(37i32.wrapping_mul(17).wrapping_add(java_hash(&id.scheme)))
            .wrapping_add(java_hash(&id.id));
        let spread = (hash ^ ((hash as u32) >> 16) as i32) & 0x7fff_ffff;
        (spread & 15) as usize
    };
    let mut ordered: Vec<(usize, usize, &Id)> = auth
        .iter()
        .enumerate()
        .map(|(index, id)| (bin(id), index, id))
        .collect();
    ordered.sort_by_key(|(bin, index, _)| (*bin, *index));
    ordered.into_iter().map(|(_, _, id)| id).collect()
}

/// SASLAuthenticationProvider.isValid: the id parses as a Kerberos name,
/// `primary[/instance][@REALM]`, none of the parts empty or holding `/` or `@`.
fn kerberos_name_is_valid(id: &str) -> bool {
    let (rest, realm) = match id.split_once('@') {
        Some((rest, realm)) => (rest, Some(realm)),
        None => (id, None),
    };
    let (primary, instance) = match rest.split_once('/') {
        Some((primary, instance)) => (primary, Some(instance)),
        None => (rest, None),
    };
    let part_ok = |part: &str| !part.is_empty() && !part.contains(['/', '@']);
    part_ok(primary) && instance.is_none_or(part_ok) && realm.is_none_or(part_ok)
}

/// Java's `String.split(regex)` for a one-character separator: trailing empty
/// strings are dropped (so "a:" splits into ["a"] and "" into [""]).
fn java_split(text: &str, separator: char) -> Vec<&str> {
    let mut parts: Vec<&str> = text.split(separator).collect();
    if parts.len() > 1 {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

/// Parses an address the way `IPAuthenticationProvider.addr2Bytes` does: IPv6 if
/// it has a ':', IPv4 (four decimal parts) if it has a '.'.
fn address_bytes(address: &str) -> Option<Vec<u8>> {
    if address.contains(':') {
        parse_v6(address)
    } else if address.contains('.') {
        let parts: Vec<&str> = address.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut bytes = Vec::with_capacity(4);
        for part in parts {
            // Java's Integer.parseInt accepts a leading '+' or '-'.
            let value: i64 = part.parse().ok()?;
            if !(0..=255).contains(&value) {
                return None;
            }
            bytes.push(value as u8);
        }
        Some(bytes)
    } else {
        None
    }
}

/// Apache's own IPv6 parser: segments of 1-4 hex digits, at most one "::"
/// (no embedded IPv4, no scope id).
fn parse_v6(address: &str) -> Option<Vec<u8>> {
    let halves: Vec<&str> = address.split("::").collect();
    let split_segments = |text: &str| -> Vec<String> {
        if text.is_empty() {
            Vec::new()
        } else {
            text.split(':').map(str::to_string).collect()
        }
    };
    let (head, tail) = match halves.len() {
        1 => {
            let segments: Vec<String> = address.split(':').map(str::to_string).collect();
            if segments.len() != 8 {
                return None;
            }
            (segments, Vec::new())
        }
        2 => {
            let head = split_segments(halves[0]);
            let tail = split_segments(halves[1]);
            if head.len() + tail.len() >= 8 {
                return None;
            }
            (head, tail)
        }
        _ => return None,
    };
    let parse = |segment: &String| -> Option<[u8; 2]> {
        if segment.is_empty() || segment.len() > 4 {
            return None;
        }
        let value = u16::from_str_radix(segment, 16).ok()?;
        Some(value.to_be_bytes())
    };
    let mut bytes = vec![0u8; 16];
    for (index, segment) in head.iter().enumerate() {
        bytes[index * 2..index * 2 + 2].copy_from_slice(&parse(segment)?);
    }
    let tail_start = 16 - tail.len() * 2;
    for (index, segment) in tail.iter().enumerate() {
        bytes[tail_start + index * 2..tail_start + index * 2 + 2].copy_from_slice(&parse(segment)?);
    }
    Some(bytes)
}

fn mask_bits(bytes: &mut [u8], bits: usize) {
    for (index, byte) in bytes.iter_mut().enumerate() {
        let start = index * 8;
        if start + 8 <= bits {
            continue;
        }
        let keep = bits.saturating_sub(start);
        *byte &= !(0xffu16 >> keep) as u8;
    }
}

/// Splits `address/bits` and checks the prefix length.
fn parse_ip_expression(expression: &str) -> Option<(Vec<u8>, usize)> {
    let (address, bits) = match expression.split_once('/') {
        Some((address, bits)) => (address, Some(bits)),
        None => (expression, None),
    };
    let bytes = address_bytes(address)?;
    let width = bytes.len() * 8;
    let bits = match bits {
        None => width,
        Some(text) => {
            let value: i64 = text.parse().ok()?;
            if value < 0 || value as usize > width {
                return None;
            }
            value as usize
        }
    };
    Some((bytes, bits))
}

/// `IPAuthenticationProvider.matches`: does the caller's address `id` fall in
/// the ACL's `address[/bits]`?
pub fn ip_matches(id: &str, expression: &str) -> bool {
    let Some((mut acl_bytes, bits)) = parse_ip_expression(expression) else {
        return false;
    };
    let Some(mut remote) = address_bytes(id) else {
        return false;
    };
    if remote.len() != acl_bytes.len() {
        return false;
    }
    mask_bits(&mut acl_bytes, bits);
    mask_bits(&mut remote, bits);
    remote == acl_bytes
}

/// `IPAuthenticationProvider.isValid`.
pub fn ip_is_valid(expression: &str) -> bool {
    parse_ip_expression(expression).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::perms;

    fn digest_id(user_password: &str) -> Id {
        Id::new("digest", &generate_digest(user_password))
    }

    #[test]
    fn world_anyone_and_empty_acl_pass() {
        let config = AuthConfig::default();
        assert_eq!(config.check(&Acl::open_unsafe(), perms::WRITE, &[]), Ok(()));
        assert_eq!(config.check(&[], perms::WRITE, &[]), Ok(()));
        assert_eq!(
            config.check(&Acl::read_unsafe(), perms::WRITE, &[]),
            Err(ErrorCode::NoAuth)
        );
    }

    #[test]
    fn digest_acl_needs_the_matching_id() {
        let config = AuthConfig::default();
        let alice = digest_id("alice:secret");
        let acl = vec![Acl::new(perms::READ, alice.clone())];
        assert_eq!(
            config.check(&acl, perms::READ, std::slice::from_ref(&alice)),
            Ok(())
        );
        assert_eq!(
            config.check(&acl, perms::READ, &[digest_id("alice:wrong")]),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            config.check(&acl, perms::WRITE, &[alice]),
            Err(ErrorCode::NoAuth)
        );
    }

    #[test]
    fn super_passes_everything_and_comes_from_the_super_digest() {
        let config = AuthConfig {
            super_digest: Some(generate_digest("super:test")),
            ..Default::default()
        };
        let ids = config.authenticate("digest", b"super:test").unwrap();
        assert_eq!(ids[0], Id::new("super", ""));
        assert_eq!(
            ids[1],
            Id::new("digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        );
        assert_eq!(
            config.check(&Acl::read_unsafe(), perms::ADMIN, &ids),
            Ok(())
        );
        assert_eq!(
            config.authenticate("digest", b"super:nope").unwrap().len(),
            1
        );
        assert_eq!(
            config.authenticate("kerberos", b"x"),
            Err(ErrorCode::AuthFailed)
        );
        let disabled = AuthConfig {
            digest_enabled: false,
            ..Default::default()
        };
        assert_eq!(
            disabled.authenticate("digest", b"a:b"),
            Err(ErrorCode::AuthFailed)
        );
    }

    #[test]
    fn skip_acl_passes_everything() {
        let config = AuthConfig {
            skip_acl: true,
            ..Default::default()
        };
        assert_eq!(config.check(&Acl::read_unsafe(), perms::ADMIN, &[]), Ok(()));
    }

    #[test]
    fn ip_acls() {
        let config = AuthConfig::default();
        let acl = vec![Acl::new(perms::ALL, Id::new("ip", "10.1.0.0/16"))];
        assert_eq!(
            config.check(&acl, perms::READ, &[Id::new("ip", "10.1.2.3")]),
            Ok(())
        );
        assert_eq!(
            config.check(&acl, perms::READ, &[Id::new("ip", "10.2.2.3")]),
            Err(ErrorCode::NoAuth)
        );
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(ip_matches("192.168.1.77", "192.168.1.64/26"));
        assert!(!ip_matches("192.168.1.128", "192.168.1.64/26"));
        assert!(ip_matches("10.0.0.1", "0.0.0.0/0"));
        assert!(ip_matches("::1", "0:0:0:0:0:0:0:1"));
        assert!(ip_matches("fe80::1:2", "fe80::/16"));
        assert!(!ip_matches("127.0.0.1", "::1"));
        assert!(ip_is_valid("10.0.0.0/8"));
        assert!(!ip_is_valid("10.0.0.0/33"));
        assert!(!ip_is_valid("10.0.0/8"));
        assert!(!ip_is_valid("300.0.0.1"));
        assert!(!ip_is_valid("localhost"));
        assert!(ip_is_valid("2001:db8::/32"));
        assert!(!ip_is_valid("1::2::3"));
    }

    #[test]
    fn sasl_ids_are_valid_matched_and_expanded_once_the_provider_is_registered() {
        let config = AuthConfig {
            sasl_enabled: true,
            ..AuthConfig::default()
        };
        let alice = Id::new("sasl", "alice");
        let acl = vec![Acl::new(perms::ALL, alice.clone())];
        assert_eq!(config.fixup(&acl, &[]), Ok(acl.clone()));
        assert_eq!(
            config.fixup(
                &Acl::creator_all(),
                &[Id::new("ip", "127.0.0.1"), alice.clone()]
            ),
            Ok(acl.clone())
        );
        assert_eq!(
            config.fixup(&[Acl::new(perms::ALL, Id::new("sasl", "a@b@c"))], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert!(config
            .check(&acl, perms::READ, std::slice::from_ref(&alice))
            .is_ok());
        assert!(config
            .check(&acl, perms::READ, &[Id::new("sasl", "super")])
            .is_ok());
        assert_eq!(
            config.check(&acl, perms::READ, &[Id::new("sasl", "bob")]),
            Err(ErrorCode::NoAuth)
        );
        assert!(kerberos_name_is_valid("kafka/host@REALM"));
        // whoAmI's order as Apache 3.9.4 answered it (zk-sasl).
        let ip = Id::new("ip", "127.0.0.1");
        let order = |ids: &[Id]| -> Vec<String> {
            config
                .client_infos(ids)
                .into_iter()
                .map(|info| format!("{}: {}", info.auth_scheme, info.user))
                .collect()
        };
        assert_eq!(
            order(&[ip.clone(), alice.clone()]),
            ["sasl: alice", "ip: 127.0.0.1"]
        );
        assert_eq!(
            order(&[ip.clone(), Id::new("sasl", "super"), Id::new("super", "")]),
            ["sasl: super", "super: ", "ip: 127.0.0.1"]
        );
        assert!(!kerberos_name_is_valid("kafka/"));
    }

    #[test]
    fn fixup_expands_auth_and_refuses_invalid_entries() {
        let config = AuthConfig::default();
        let alice = digest_id("alice:secret");
        let caller = vec![Id::new("ip", "127.0.0.1"), alice.clone()];
        assert_eq!(
            config.fixup(&Acl::creator_all(), &caller),
            Ok(vec![Acl::new(perms::ALL, alice.clone())])
        );
        // ip ids do not count as authenticated for the auth scheme.
        assert_eq!(
            config.fixup(&Acl::creator_all(), &[Id::new("ip", "127.0.0.1")]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(config.fixup(&[], &caller), Err(ErrorCode::InvalidAcl));
        for bad in [
            Id::new("world", "someone"),
            Id::new("digest", "nocolon"),
            Id::new("digest", "a:b:c"),
            Id::new("ip", "999.1.1.1"),
            Id::new("sasl", "bob"),
            Id::new("", ""),
        ] {
            assert_eq!(
                config.fixup(&[Acl::new(perms::ALL, bad.clone())], &caller),
                Err(ErrorCode::InvalidAcl),
                "{bad:?}"
            );
        }
        // Duplicates collapse, order is kept; "a:b:" is valid as Java's split
        // drops the trailing empty part.
        let digest = Acl::new(perms::READ, Id::new("digest", "a:b:"));
        let open = Acl::new(perms::ALL, Id::anyone());
        assert_eq!(
            config.fixup(&[digest.clone(), open.clone(), digest.clone()], &caller),
            Ok(vec![digest, open])
        );
    }

    #[test]
    fn who_am_i_and_masking() {
        let config = AuthConfig::default();
        let infos = config.client_infos(&[
            Id::new("ip", "127.0.0.1"),
            Id::new("digest", "bob:hash"),
            Id::new("super", ""),
        ]);
        let users: Vec<(&str, &str)> = infos
            .iter()
            .map(|info| (info.auth_scheme.as_str(), info.user.as_str()))
            .collect();
        // In Apache's hash-set order, not the order the ids were added.
        assert_eq!(
            users,
            [("digest", "bob"), ("super", ""), ("ip", "127.0.0.1")]
        );
        let masked = mask_digests(&[
            Acl::new(1, Id::new("digest", "bob:hash=")),
            Acl::new(1, Id::anyone()),
        ]);
        assert_eq!(masked[0].id.id, "bob:x");
        assert_eq!(masked[1].id, Id::anyone());
    }
}
