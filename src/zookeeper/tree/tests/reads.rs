use super::*;
use crate::zookeeper::jute::proto::{
    GetAclRequest, GetAllChildrenNumberRequest, GetChildren2Request, SyncRequest,
};
use crate::zookeeper::jute::{perms, MultiOp, MultiRequest, OpResult};

#[test]
fn exists_get_data_and_children() {
    let mut harness = Harness::new();
    harness.create_with("/a", b"data", CreateMode::Persistent, Acl::open_unsafe());
    harness.create_ok("/a/x");
    harness.create_ok("/a/b");

    let exists = harness.read(Request::Exists(ExistsRequest {
        path: "/a".into(),
        watch: false,
    }));
    assert_eq!(exists.response, Some(Response::Stat(harness.stat("/a"))));
    let missing = harness.read(Request::Exists(ExistsRequest {
        path: "/none".into(),
        watch: false,
    }));
    assert_eq!((missing.err, missing.response), (ErrorCode::NoNode, None));
    // exists validates nothing but NUL: a relative path is simply absent.
    let relative = harness.read(Request::Exists(ExistsRequest {
        path: "relative".into(),
        watch: false,
    }));
    assert_eq!(relative.err, ErrorCode::NoNode);
    let nul = harness.read(Request::Exists(ExistsRequest {
        path: "/a\0".into(),
        watch: false,
    }));
    assert_eq!(nul.err, ErrorCode::BadArguments);

    let data = harness.read(Request::GetData(GetDataRequest {
        path: "/a".into(),
        watch: false,
    }));
    let Some(Response::GetData(data)) = data.response else {
        panic!("{data:?}");
    };
    assert_eq!(data.data, Some(b"data".to_vec()));
    assert_eq!(data.stat.num_children, 2);

    let children = harness.read(Request::GetChildren2(GetChildren2Request {
        path: "/a".into(),
        watch: false,
    }));
    let Some(Response::GetChildren2(children)) = children.response else {
        panic!("{children:?}");
    };
    assert_eq!(children.children, ["b", "x"]);
    assert_eq!(children.stat, harness.stat("/a"));

    let root = harness.read(Request::GetChildren(GetChildrenRequest {
        path: "/".into(),
        watch: false,
    }));
    let Some(Response::GetChildren(root)) = root.response else {
        panic!("{root:?}");
    };
    assert_eq!(root.children, ["a", "zookeeper"]);
}

#[test]
fn get_acl_needs_read_or_admin_and_masks_without_admin() {
    let mut harness = Harness::new();
    let digest = Id::new("digest", "bob:hash");
    let acl = vec![
        Acl::new(perms::READ, Id::anyone()),
        Acl::new(perms::ALL, digest.clone()),
    ];
    harness.create_with("/a", b"", CreateMode::Persistent, acl.clone());
    let get =
        |harness: &mut Harness| harness.read(Request::GetAcl(GetAclRequest { path: "/a".into() }));
    let Some(Response::GetAcl(masked)) = get(&mut harness).response else {
        panic!()
    };
    assert_eq!(masked.acl[1].id.id, "bob:x");
    assert_eq!(masked.stat, harness.stat("/a"));
    harness.auth.push(digest);
    let Some(Response::GetAcl(full)) = get(&mut harness).response else {
        panic!()
    };
    assert_eq!(full.acl, acl);

    harness.create_with(
        "/w",
        b"",
        CreateMode::Persistent,
        vec![Acl::new(perms::WRITE, Id::anyone())],
    );
    let outcome = harness.read(Request::GetAcl(GetAclRequest { path: "/w".into() }));
    assert_eq!(outcome.err, ErrorCode::NoAuth);
    let outcome = harness.read(Request::GetAcl(GetAclRequest {
        path: "/none".into(),
    }));
    assert_eq!(outcome.err, ErrorCode::NoNode);
}

#[test]
fn all_children_number_counts_descendants() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    harness.create_ok("/a/b");
    harness.create_ok("/a/b/c");
    harness.create_ok("/ab");
    let count = |harness: &mut Harness, path: &str| match harness
        .read(Request::GetAllChildrenNumber(GetAllChildrenNumberRequest {
            path: path.into(),
        }))
        .response
    {
        Some(Response::AllChildrenNumber(count)) => count.total_number,
        other => panic!("{other:?}"),
    };
    assert_eq!(count(&mut harness, "/a"), 2);
    assert_eq!(count(&mut harness, "/"), 7);
    let missing = harness.read(Request::GetAllChildrenNumber(GetAllChildrenNumberRequest {
        path: "/none".into(),
    }));
    assert_eq!(missing.err, ErrorCode::NoNode);
}

#[test]
fn multi_read_answers_each_op_on_its_own() {
    let mut harness = Harness::new();
    harness.create_with("/a", b"v", CreateMode::Persistent, Acl::open_unsafe());
    let outcome = harness.read(Request::MultiRead(MultiRequest {
        ops: vec![
            MultiOp::GetData(GetDataRequest {
                path: "/a".into(),
                watch: false,
            }),
            MultiOp::GetChildren(GetChildrenRequest {
                path: "/none".into(),
                watch: false,
            }),
            MultiOp::GetChildren(GetChildrenRequest {
                path: "/".into(),
                watch: true,
            }),
        ],
    }));
    assert_eq!(outcome.err, ErrorCode::Ok);
    let Some(Response::Multi(multi)) = outcome.response else {
        panic!()
    };
    assert_eq!(
        multi.results,
        [
            OpResult::GetData {
                data: Some(b"v".to_vec()),
                stat: harness.stat("/a"),
            },
            OpResult::Error {
                err: ErrorCode::NoNode.as_i32()
            },
            OpResult::GetChildren {
                children: vec!["a".into(), "zookeeper".into()],
            },
        ]
    );
    assert_eq!(harness.tree.watches().count(), 1);

    let writes = harness.read(Request::MultiRead(MultiRequest {
        ops: vec![MultiOp::Delete(DeleteRequest {
            path: "/a".into(),
            version: -1,
        })],
    }));
    assert_eq!(writes.err, ErrorCode::MarshallingError);
}

#[test]
fn sync_ping_and_who_am_i() {
    let mut harness = Harness::new();
    let sync = harness.read(Request::Sync(SyncRequest { path: "/x".into() }));
    assert_eq!(
        sync.response,
        Some(Response::Sync(
            crate::zookeeper::jute::proto::SyncResponse { path: "/x".into() }
        ))
    );
    let ping = harness.read(Request::Ping);
    assert_eq!((ping.err, ping.response), (ErrorCode::Ok, None));
    harness.auth.push(Id::new("digest", "alice:hash"));
    let Some(Response::WhoAmI(who)) = harness.read(Request::WhoAmI).response else {
        panic!()
    };
    let users: Vec<(String, String)> = who
        .client_info
        .into_iter()
        .map(|info| (info.auth_scheme, info.user))
        .collect();
    // Apache's hash-set order of the ids (`tree::auth::java_auth_order`).
    assert_eq!(
        users,
        [
            ("digest".to_string(), "alice".to_string()),
            ("ip".to_string(), "127.0.0.1".to_string())
        ]
    );
}

#[test]
fn writes_and_unknown_ops_are_not_reads() {
    let mut harness = Harness::new();
    let context = ReadContext {
        session: SESSION,
        auth: &[],
        watcher: WATCHER,
    };
    assert!(harness.tree.read(context, &Request::Unknown(999)).is_none());
    assert!(harness
        .tree
        .read(context, &Request::Delete(DeleteRequest::default()))
        .is_none());
    let context = RequestContext {
        session: SESSION,
        cxid: 0,
        auth: &[],
        zxid: Zxid(1),
        time_ms: 0,
    };
    assert!(harness
        .tree
        .prepare(&mut harness.pending, context, &Request::Ping)
        .is_none());
}
