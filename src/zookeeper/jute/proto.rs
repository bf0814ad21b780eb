//! Records of `module org.apache.zookeeper.proto`: the handshake, request and
//! reply headers, and the body of every client request and response.

use super::codec::{jute_records, write_bool, Decoder, Jute, JuteError, JuteResult};
use super::data::{Acl, ClientInfo, Stat};

/// The first frame a client sends. `read_only` is `None` when the client (3.3 and
/// older) did not send the trailing byte; the server then must not send it back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl Jute for ConnectRequest {
    fn write(&self, out: &mut Vec<u8>) {
        self.protocol_version.write(out);
        self.last_zxid_seen.write(out);
        self.time_out.write(out);
        self.session_id.write(out);
        self.passwd.write(out);
        if let Some(read_only) = self.read_only {
            write_bool(out, read_only);
        }
    }

    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        let mut request = ConnectRequest {
            protocol_version: i32::read(input)?,
            last_zxid_seen: i64::read(input)?,
            time_out: i32::read(input)?,
            session_id: i64::read(input)?,
            passwd: Vec::<u8>::read(input)?,
            read_only: None,
        };
        request.read_only = read_optional_bool(input)?;
        Ok(request)
    }
}

/// The server's answer to a ConnectRequest; `read_only` is written only when
/// `Some`, which the server sets exactly when the client sent the byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl Jute for ConnectResponse {
    fn write(&self, out: &mut Vec<u8>) {
        self.protocol_version.write(out);
        self.time_out.write(out);
        self.session_id.write(out);
        self.passwd.write(out);
        if let Some(read_only) = self.read_only {
            write_bool(out, read_only);
        }
    }

    fn read(input: &mut Decoder<'_>) -> JuteResult<Self> {
        let mut response = ConnectResponse {
            protocol_version: i32::read(input)?,
            time_out: i32::read(input)?,
            session_id: i64::read(input)?,
            passwd: Vec::<u8>::read(input)?,
            read_only: None,
        };
        response.read_only = read_optional_bool(input)?;
        Ok(response)
    }
}

/// Apache's ProtocolManager reads the trailing `readOnly` flag if present and
/// treats its absence as an old client.
fn read_optional_bool(input: &mut Decoder<'_>) -> JuteResult<Option<bool>> {
    match input.read_bool() {
        Ok(value) => Ok(Some(value)),
        Err(JuteError::Incomplete { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

jute_records! {
    pub struct SetWatches {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
    }

    pub struct SetWatches2 {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
        pub persistent_watches: Vec<String>,
        pub persistent_recursive_watches: Vec<String>,
    }

    /// Precedes every request after the handshake. `op` is the raw op code.
    pub struct RequestHeader {
        pub xid: i32,
        pub op: i32,
    }

    /// Precedes each op of a multi request and each result of a multi response.
    pub struct MultiHeader {
        pub op: i32,
        pub done: bool,
        pub err: i32,
    }

    pub struct AuthPacket {
        pub auth_type: i32,
        pub scheme: String,
        pub auth: Vec<u8>,
    }

    /// Precedes every reply and every watch notification.
    pub struct ReplyHeader {
        pub xid: i32,
        pub zxid: i64,
        pub err: i32,
    }

    pub struct GetDataRequest {
        pub path: String,
        pub watch: bool,
    }

    pub struct SetDataRequest {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub version: i32,
    }

    pub struct ReconfigRequest {
        pub joining_servers: Option<String>,
        pub leaving_servers: Option<String>,
        pub new_members: Option<String>,
        pub cur_config_id: i64,
    }

    pub struct SetDataResponse {
        pub stat: Stat,
    }

    pub struct GetSaslRequest {
        pub token: Vec<u8>,
    }

    pub struct SetSaslRequest {
        pub token: Vec<u8>,
    }

    pub struct SetSaslResponse {
        pub token: Vec<u8>,
    }

    /// Used by create (1), create2 (15) and createContainer (19).
    pub struct CreateRequest {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub acl: Vec<Acl>,
        pub flags: i32,
    }

    pub struct CreateTtlRequest {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub acl: Vec<Acl>,
        pub flags: i32,
        pub ttl: i64,
    }

    pub struct DeleteRequest {
        pub path: String,
        pub version: i32,
    }

    /// Body of deleteContainer (20); not in zookeeper.jute but hand-written in
    /// Apache with this one field.
    pub struct DeleteContainerRequest {
        pub path: String,
    }

    pub struct GetChildrenRequest {
        pub path: String,
        pub watch: bool,
    }

    pub struct GetAllChildrenNumberRequest {
        pub path: String,
    }

    pub struct GetChildren2Request {
        pub path: String,
        pub watch: bool,
    }

    pub struct CheckVersionRequest {
        pub path: String,
        pub version: i32,
    }

    pub struct GetMaxChildrenRequest {
        pub path: String,
    }

    pub struct GetMaxChildrenResponse {
        pub max: i32,
    }

    pub struct SetMaxChildrenRequest {
        pub path: String,
        pub max: i32,
    }

    pub struct SyncRequest {
        pub path: String,
    }

    pub struct SyncResponse {
        pub path: String,
    }

    pub struct GetAclRequest {
        pub path: String,
    }

    pub struct SetAclRequest {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }

    pub struct SetAclResponse {
        pub stat: Stat,
    }

    pub struct AddWatchRequest {
        pub path: String,
        pub mode: i32,
    }

    /// The body of a watch notification (reply xid -1).
    pub struct WatcherEvent {
        pub event_type: i32,
        pub state: i32,
        pub path: String,
    }

    pub struct ErrorResponse {
        pub err: i32,
    }

    pub struct CreateResponse {
        pub path: String,
    }

    pub struct Create2Response {
        pub path: String,
        pub stat: Stat,
    }

    pub struct ExistsRequest {
        pub path: String,
        pub watch: bool,
    }

    pub struct ExistsResponse {
        pub stat: Stat,
    }

    pub struct GetDataResponse {
        pub data: Option<Vec<u8>>,
        pub stat: Stat,
    }

    pub struct GetChildrenResponse {
        pub children: Vec<String>,
    }

    pub struct GetAllChildrenNumberResponse {
        pub total_number: i32,
    }

    pub struct GetChildren2Response {
        pub children: Vec<String>,
        pub stat: Stat,
    }

    pub struct GetAclResponse {
        pub acl: Vec<Acl>,
        pub stat: Stat,
    }

    pub struct CheckWatchesRequest {
        pub path: String,
        pub watcher_type: i32,
    }

    pub struct RemoveWatchesRequest {
        pub path: String,
        pub watcher_type: i32,
    }

    pub struct GetEphemeralsRequest {
        pub prefix_path: String,
    }

    pub struct GetEphemeralsResponse {
        pub ephemerals: Vec<String>,
    }

    pub struct WhoAmIResponse {
        pub client_info: Vec<ClientInfo>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper::jute::codec::{from_bytes, to_bytes};
    use crate::zookeeper::jute::data::Id;

    fn connect_bytes(with_read_only: bool) -> Vec<u8> {
        let mut bytes = vec![
            0, 0, 0, 0, // protocolVersion
            0, 0, 0, 0, 0, 0, 0, 0x2a, // lastZxidSeen
            0, 0, 0x75, 0x30, // timeOut 30000
            0, 0, 0, 0, 0, 0, 0, 0, // sessionId
            0, 0, 0, 16, // passwd length
        ];
        bytes.extend_from_slice(&[0; 16]);
        if with_read_only {
            bytes.push(1);
        }
        bytes
    }

    #[test]
    fn connect_request_remembers_whether_read_only_was_sent() {
        let modern = from_bytes::<ConnectRequest>(&connect_bytes(true), 1024).unwrap();
        assert_eq!(modern.last_zxid_seen, 42);
        assert_eq!(modern.time_out, 30000);
        assert_eq!(modern.passwd, vec![0; 16]);
        assert_eq!(modern.read_only, Some(true));
        assert_eq!(to_bytes(&modern), connect_bytes(true));

        let old = from_bytes::<ConnectRequest>(&connect_bytes(false), 1024).unwrap();
        assert_eq!(old.read_only, None);
        assert_eq!(to_bytes(&old), connect_bytes(false));
    }

    #[test]
    fn connect_request_truncated_before_passwd_is_incomplete() {
        let bytes = connect_bytes(true);
        assert!(matches!(
            from_bytes::<ConnectRequest>(&bytes[..30], 1024),
            Err(JuteError::Incomplete { .. })
        ));
    }

    #[test]
    fn connect_response_echoes_read_only_only_when_set() {
        let mut response = ConnectResponse {
            protocol_version: 0,
            time_out: 4000,
            session_id: 0x0100000000000001,
            passwd: vec![7; 16],
            read_only: None,
        };
        assert_eq!(to_bytes(&response).len(), 4 + 4 + 8 + 4 + 16);
        response.read_only = Some(false);
        let bytes = to_bytes(&response);
        assert_eq!(bytes.len(), 37);
        assert_eq!(bytes[36], 0);
        assert_eq!(from_bytes::<ConnectResponse>(&bytes, 1024), Ok(response));
    }

    #[test]
    fn request_and_reply_headers() {
        let header = RequestHeader { xid: 1, op: 4 };
        assert_eq!(to_bytes(&header), [0, 0, 0, 1, 0, 0, 0, 4]);
        let reply = ReplyHeader {
            xid: -1,
            zxid: 0x100000002,
            err: -101,
        };
        assert_eq!(
            to_bytes(&reply),
            [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0x9b]
        );
    }

    #[test]
    fn create_request_bytes() {
        let request = CreateRequest {
            path: "/a".into(),
            data: Some(b"x".to_vec()),
            acl: vec![Acl::new(31, Id::anyone())],
            flags: 3,
        };
        let bytes = to_bytes(&request);
        let mut expected = vec![0, 0, 0, 2, b'/', b'a', 0, 0, 0, 1, b'x', 0, 0, 0, 1];
        expected.extend_from_slice(&[0, 0, 0, 31, 0, 0, 0, 5]);
        expected.extend_from_slice(b"world");
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"anyone");
        expected.extend_from_slice(&[0, 0, 0, 3]);
        assert_eq!(bytes, expected);
        assert_eq!(from_bytes::<CreateRequest>(&bytes, 1024), Ok(request));
    }

    #[test]
    fn null_data_survives_a_round_trip() {
        let request = SetDataRequest {
            path: "/n".into(),
            data: None,
            version: -1,
        };
        let bytes = to_bytes(&request);
        assert_eq!(&bytes[6..10], &[0xff; 4]);
        assert_eq!(from_bytes::<SetDataRequest>(&bytes, 1024), Ok(request));
    }

    #[test]
    fn watcher_event_bytes() {
        let event = WatcherEvent {
            event_type: 4,
            state: 3,
            path: "/".into(),
        };
        assert_eq!(to_bytes(&event), [0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 1, b'/']);
    }

    #[test]
    fn reconfig_keeps_null_member_lists() {
        let request = ReconfigRequest {
            joining_servers: None,
            leaving_servers: Some("2".into()),
            new_members: None,
            cur_config_id: -1,
        };
        let bytes = to_bytes(&request);
        assert_eq!(&bytes[0..4], &[0xff; 4]);
        assert_eq!(from_bytes::<ReconfigRequest>(&bytes, 1024), Ok(request));
    }
}
