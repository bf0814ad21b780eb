//! One enum for every reply body, so the tree can say what to answer and the
//! server only has to frame it. A reply whose header carries an error has no body.

use super::codec::Jute;
use super::data::Stat;
use super::multi::MultiResponse;
use super::proto::{
    Create2Response, CreateResponse, ErrorResponse, GetAclResponse, GetAllChildrenNumberResponse,
    GetChildren2Response, GetChildrenResponse, GetDataResponse, GetEphemeralsResponse,
    SyncResponse, WatcherEvent, WhoAmIResponse,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Create(CreateResponse),
    /// create2, createTTL and createContainer.
    Create2(Create2Response),
    /// setData, setACL, exists and check all answer with a bare Stat
    /// (SetDataResponse, SetACLResponse and ExistsResponse share its layout).
    Stat(Stat),
    GetData(GetDataResponse),
    GetAcl(GetAclResponse),
    GetChildren(GetChildrenResponse),
    GetChildren2(GetChildren2Response),
    Sync(SyncResponse),
    Multi(MultiResponse),
    AllChildrenNumber(GetAllChildrenNumberResponse),
    Ephemerals(GetEphemeralsResponse),
    WhoAmI(WhoAmIResponse),
    /// addWatch answers with an ErrorResponse carrying 0.
    Error(ErrorResponse),
    /// The body of a watch notification (reply header xid -1, err 0).
    Notification(WatcherEvent),
}

impl Response {
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Response::Create(r) => r.write(out),
            Response::Create2(r) => r.write(out),
            Response::Stat(r) => r.write(out),
            Response::GetData(r) => r.write(out),
            Response::GetAcl(r) => r.write(out),
            Response::GetChildren(r) => r.write(out),
            Response::GetChildren2(r) => r.write(out),
            Response::Sync(r) => r.write(out),
            Response::Multi(r) => r.write(out),
            Response::AllChildrenNumber(r) => r.write(out),
            Response::Ephemerals(r) => r.write(out),
            Response::WhoAmI(r) => r.write(out),
            Response::Error(r) => r.write(out),
            Response::Notification(r) => r.write(out),
        }
    }
}
