//! Records of `org.apache.zookeeper.server.quorum` and `.persistence`: what peers
//! exchange and what opens every log and snapshot file.

use super::codec::jute_records;
use super::data::Id;

jute_records! {
    pub struct LearnerInfo {
        pub server_id: i64,
        pub protocol_version: i32,
        pub config_version: i64,
    }

    pub struct QuorumPacket {
        pub packet_type: i32,
        pub zxid: i64,
        pub data: Option<Vec<u8>>,
        pub auth_info: Vec<Id>,
    }

    pub struct QuorumAuthPacket {
        pub magic: i64,
        pub status: i32,
        pub token: Vec<u8>,
    }

    /// Opens every `log.*` and `snapshot.*` file.
    pub struct FileHeader {
        pub magic: i32,
        pub version: i32,
        pub dbid: i64,
    }
}
