//! Records of `module org.apache.zookeeper.data`: identities, ACL entries and
//! the two Stat shapes (the client's and the one stored on disk).

use super::codec::jute_records;
use super::codes::perms;

jute_records! {
    /// An identity: `world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`, `auth:`...
    pub struct Id {
        pub scheme: String,
        pub id: String,
    }

    /// One ACL entry: permission bits granted to an identity.
    pub struct Acl {
        pub perms: i32,
        pub id: Id,
    }

    /// The Stat a client sees.
    pub struct Stat {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub data_length: i32,
        pub num_children: i32,
        pub pzxid: i64,
    }

    /// The Stat the server keeps (and writes to snapshots). Its `cversion` counts
    /// child creations only; the client's is derived from it.
    pub struct StatPersisted {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub pzxid: i64,
    }

    /// One entry of a whoAmI reply.
    pub struct ClientInfo {
        pub auth_scheme: String,
        pub user: String,
    }
}

impl Id {
    pub fn new(scheme: &str, id: &str) -> Self {
        Id {
            scheme: scheme.to_string(),
            id: id.to_string(),
        }
    }

    /// `ZooDefs.Ids.ANYONE_ID_UNSAFE`.
    pub fn anyone() -> Self {
        Id::new("world", "anyone")
    }

    /// `ZooDefs.Ids.AUTH_IDS`: stands for the creator's authenticated ids.
    pub fn auth_ids() -> Self {
        Id::new("auth", "")
    }
}

impl Acl {
    pub fn new(perms: i32, id: Id) -> Self {
        Acl { perms, id }
    }

    /// `ZooDefs.Ids.OPEN_ACL_UNSAFE`.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, Id::anyone())]
    }

    /// `ZooDefs.Ids.READ_ACL_UNSAFE`.
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl::new(perms::READ, Id::anyone())]
    }

    /// `ZooDefs.Ids.CREATOR_ALL_ACL`.
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, Id::auth_ids())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::codec::{from_bytes, to_bytes};

    #[test]
    fn acl_bytes_match_jute_layout() {
        let acl = Acl::new(31, Id::anyone());
        let bytes = to_bytes(&acl);
        let mut expected = vec![0, 0, 0, 31, 0, 0, 0, 5];
        expected.extend_from_slice(b"world");
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"anyone");
        assert_eq!(bytes, expected);
        assert_eq!(from_bytes::<Acl>(&bytes, 100), Ok(acl));
    }

    #[test]
    fn stat_is_68_bytes_in_field_order() {
        let stat = Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        };
        let bytes = to_bytes(&stat);
        assert_eq!(bytes.len(), 68);
        assert_eq!(&bytes[0..8], &[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&bytes[32..36], &[0, 0, 0, 5]);
        assert_eq!(&bytes[44..52], &[0, 0, 0, 0, 0, 0, 0, 8]);
        assert_eq!(&bytes[60..68], &[0, 0, 0, 0, 0, 0, 0, 11]);
        assert_eq!(from_bytes::<Stat>(&bytes, 100), Ok(stat));
    }

    #[test]
    fn stat_persisted_is_60_bytes() {
        assert_eq!(to_bytes(&StatPersisted::default()).len(), 60);
    }
}
