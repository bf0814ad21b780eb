use super::*;
use crate::zookeeper::jute::txn::CloseSessionTxn;
use crate::zookeeper::jute::TxnBody;

fn close(harness: &mut Harness, session: SessionId) -> Written {
    harness.write_as(session, Request::CloseSession)
}

#[test]
fn close_session_deletes_its_ephemerals_and_the_txn_lists_them() {
    let mut harness = Harness::new();
    harness.create_ok("/app");
    harness.write_as(
        SESSION,
        Request::Create(CreateRequest {
            path: "/app/e1".into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags: 1,
        }),
    );
    harness.create("/e2", CreateMode::Ephemeral);
    harness.write_as(
        OTHER_SESSION,
        Request::Create(CreateRequest {
            path: "/theirs".into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags: 1,
        }),
    );
    harness.exists_watch(OTHER_WATCHER, "/e2");
    harness.children_watch(OTHER_WATCHER, "/app");

    let written = close(&mut harness, SESSION);
    assert_eq!(written.err, ErrorCode::Ok);
    assert_eq!(written.response, None);
    assert_eq!(
        written.entry.body,
        TxnBody::CloseSession(Some(CloseSessionTxn {
            // Apache's order: a clone of the session's java.util.HashSet.
            paths_to_delete: vec!["/e2".into(), "/app/e1".into()],
        }))
    );
    assert!(harness.tree.node("/app/e1").is_none());
    assert!(harness.tree.node("/e2").is_none());
    assert!(harness.tree.node("/theirs").is_some());
    assert!(harness.tree.ephemerals(SESSION).is_empty());
    assert_eq!(harness.tree.sessions_with_ephemerals(), [OTHER_SESSION]);
    assert_eq!(harness.stat("/app").pzxid, written.entry.header.zxid);
    let mut seen = events(&written.notifications);
    seen.sort_by_key(|(event, path, _)| (event.as_i32(), path.clone()));
    assert_eq!(
        seen,
        [
            (
                EventType::NodeDeleted,
                "/e2".to_string(),
                vec![OTHER_WATCHER]
            ),
            (
                EventType::NodeChildrenChanged,
                "/app".to_string(),
                vec![OTHER_WATCHER]
            ),
        ]
    );
}

#[test]
fn close_session_sees_pending_creates_and_deletes() {
    let mut harness = Harness::new();
    harness.create("/gone", CreateMode::Ephemeral);
    let ephemeral = |path: &str| {
        Request::Create(CreateRequest {
            path: path.into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags: 1,
        })
    };
    let create = harness.prepare_as(SESSION, &ephemeral("/pending"));
    let delete = harness.prepare_as(
        SESSION,
        &Request::Delete(DeleteRequest {
            path: "/gone".into(),
            version: -1,
        }),
    );
    let closing = harness.prepare_as(SESSION, &Request::CloseSession);
    assert_eq!(
        closing.body,
        TxnBody::CloseSession(Some(CloseSessionTxn {
            paths_to_delete: vec!["/pending".into()],
        }))
    );
    harness.apply(create, OpCode::Create);
    harness.apply(delete, OpCode::Delete);
    harness.apply(closing, OpCode::CloseSession);
    assert!(harness.tree.node("/pending").is_none());
    assert!(harness.pending.is_empty());
}

#[test]
fn old_bodiless_close_session_deletes_everything_the_session_owns() {
    let mut harness = Harness::with_config(TreeConfig {
        close_session_txn_enabled: false,
        ..TreeConfig::default()
    });
    harness.create("/e", CreateMode::Ephemeral);
    let written = close(&mut harness, SESSION);
    assert_eq!(written.entry.body, TxnBody::CloseSession(None));
    assert!(harness.tree.node("/e").is_none());
}

#[test]
fn create_session_is_a_txn_with_the_timeout() {
    let auth = [];
    let mut tree = DataTree::new(TreeConfig::default());
    let entry = tree.prepare_create_session(
        &PendingChanges::default(),
        RequestContext {
            session: SESSION,
            cxid: 0,
            auth: &auth,
            zxid: Zxid(FIRST_ZXID),
            time_ms: START_TIME_MS,
        },
        30_000,
    );
    assert_eq!(entry.header.op, OpCode::CreateSession.as_i32());
    // It changes no node: its digest is the tree's as it stands.
    assert_eq!(
        entry.digest.as_ref().map(|digest| digest.tree_digest),
        Some(tree.digest())
    );
    let applied = tree.apply(&entry);
    assert_eq!(applied.result.err, ErrorCode::Ok);
    assert_eq!(tree.last_processed_zxid(), Zxid(FIRST_ZXID));
}

#[test]
fn get_ephemerals_lists_the_callers_own() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    harness.create("/a/e1", CreateMode::Ephemeral);
    harness.create("/b", CreateMode::Ephemeral);
    let request = |prefix: &str| {
        Request::GetEphemerals(crate::zookeeper::jute::proto::GetEphemeralsRequest {
            prefix_path: prefix.into(),
        })
    };
    let list = |outcome: ReadOutcome| match outcome.response {
        Some(Response::Ephemerals(response)) => response.ephemerals,
        other => panic!("{other:?}"),
    };
    assert_eq!(list(harness.read(request("/"))), ["/a/e1", "/b"]);
    assert_eq!(list(harness.read(request(" "))), ["/a/e1", "/b"]);
    assert_eq!(list(harness.read(request("/a"))), ["/a/e1"]);
    assert!(list(harness.read_as(OTHER_SESSION, WATCHER, request("/"))).is_empty());
}
