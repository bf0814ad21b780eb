use super::*;
use crate::zookeeper::jute::perms;
use crate::zookeeper::tree::ephemeral::CONTAINER_OWNER;

#[test]
fn create_sets_every_stat_field_and_bumps_the_parent() {
    let mut harness = Harness::new();
    let root_before = harness.stat("/");
    let written = harness.create_with("/a", b"hello", CreateMode::Persistent, Acl::open_unsafe());
    assert_eq!(written.err, ErrorCode::Ok);
    assert_eq!(written.path(), "/a");
    let stat = written.stat();
    assert_eq!(
        stat,
        Stat {
            czxid: FIRST_ZXID,
            mzxid: FIRST_ZXID,
            ctime: START_TIME_MS,
            mtime: START_TIME_MS,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: 0,
            data_length: 5,
            num_children: 0,
            pzxid: FIRST_ZXID,
        }
    );
    assert_eq!(harness.stat("/a"), stat);
    let root = harness.stat("/");
    assert_eq!(root.cversion, root_before.cversion + 1);
    assert_eq!(root.num_children, 2);
    assert_eq!(root.pzxid, FIRST_ZXID);
    assert_eq!(root.mzxid, root_before.mzxid);
    assert_eq!(harness.tree.last_processed_zxid(), Zxid(FIRST_ZXID));
    assert_eq!(written.entry.header.op, OpCode::Create2.as_i32());
}

#[test]
fn plain_create_answers_with_the_path_only() {
    let mut harness = Harness::new();
    let written = harness.write(Request::Create(CreateRequest {
        path: "/p".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: 0,
    }));
    assert_eq!(
        written.response,
        Some(Response::Create(
            crate::zookeeper::jute::proto::CreateResponse { path: "/p".into() }
        ))
    );
    // Null data stays null.
    assert_eq!(harness.tree.node("/p").unwrap().data, None);
    assert_eq!(harness.stat("/p").data_length, 0);
}

#[test]
fn create_errors_in_apache_order() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    assert_eq!(
        harness.create("/a", CreateMode::Persistent).err,
        ErrorCode::NodeExists
    );
    assert_eq!(
        harness.create("/", CreateMode::Persistent).err,
        ErrorCode::NodeExists
    );
    assert_eq!(
        harness.create("/x/y", CreateMode::Persistent).err,
        ErrorCode::NoNode
    );
    for bad in ["a", "/a/", "/a/.", "/a\0b", "/\u{1F600}", ""] {
        assert_eq!(
            harness.create(bad, CreateMode::Persistent).err,
            ErrorCode::BadArguments,
            "{bad:?}"
        );
    }
    // The parent is looked up before the full path is validated, so an empty
    // name in the middle reads as a missing parent ("/a/").
    assert_eq!(
        harness.create("/nope/", CreateMode::Persistent).err,
        ErrorCode::NoNode
    );
    assert_eq!(
        harness.create("/a//b", CreateMode::Persistent).err,
        ErrorCode::NoNode
    );
    assert_eq!(
        harness
            .create_with("/b", b"", CreateMode::Persistent, vec![])
            .err,
        ErrorCode::InvalidAcl
    );
    let bad_flags = harness.write(Request::Create(CreateRequest {
        path: "/c".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: 7,
    }));
    assert_eq!(bad_flags.err, ErrorCode::BadArguments);
    assert_eq!(bad_flags.response, None);
}

#[test]
fn failed_writes_still_take_a_zxid_as_error_txns() {
    let mut harness = Harness::new();
    let written = harness.create("/x/y", CreateMode::Persistent);
    assert_eq!(written.entry.header.op, OpCode::Error.as_i32());
    assert_eq!(written.entry.header.zxid, FIRST_ZXID);
    assert_eq!(
        written.entry.body,
        crate::zookeeper::jute::TxnBody::Error(crate::zookeeper::jute::txn::ErrorTxn {
            err: ErrorCode::NoNode.as_i32()
        })
    );
    let next = harness.create_ok("/a");
    assert_eq!(next.stat().czxid, FIRST_ZXID + 1);
}

#[test]
fn sequential_names_come_from_the_parent_cversion() {
    let mut harness = Harness::new();
    harness.create_ok("/q");
    let first = harness.create("/q/n-", CreateMode::PersistentSequential);
    assert_eq!(first.path(), "/q/n-0000000000");
    let second = harness.create("/q/n-", CreateMode::EphemeralSequential);
    assert_eq!(second.path(), "/q/n-0000000001");
    // Deletions do not reuse numbers: the persisted cversion counts creations.
    assert_eq!(harness.delete("/q/n-0000000001", -1).err, ErrorCode::Ok);
    let third = harness.create("/q/", CreateMode::PersistentSequential);
    assert_eq!(third.path(), "/q/0000000002");
    let q = harness.stat("/q");
    // Clients see creations plus deletions.
    assert_eq!(q.cversion, 4);
    assert_eq!(q.num_children, 2);
}

#[test]
fn ephemerals_belong_to_the_session_and_have_no_children() {
    let mut harness = Harness::new();
    let written = harness.create("/e", CreateMode::Ephemeral);
    assert_eq!(written.stat().ephemeral_owner, SESSION.0);
    assert_eq!(harness.tree.ephemerals(SESSION), ["/e".to_string()].into());
    assert_eq!(
        harness.create("/e/child", CreateMode::Persistent).err,
        ErrorCode::NoChildrenForEphemerals
    );
    assert_eq!(
        harness
            .create("/e/child", CreateMode::PersistentSequential)
            .err,
        ErrorCode::NoChildrenForEphemerals
    );
}

#[test]
fn containers_hide_their_owner_and_become_cleanup_candidates() {
    let mut harness = Harness::new();
    let written = harness.write(Request::CreateContainer(CreateRequest {
        path: "/c".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: CreateMode::Container.flag(),
    }));
    assert_eq!(written.err, ErrorCode::Ok);
    assert_eq!(written.stat().ephemeral_owner, 0);
    assert_eq!(
        harness.tree.node("/c").unwrap().stat.ephemeral_owner,
        CONTAINER_OWNER
    );
    // Never used: kept, unless the never-used interval says otherwise.
    assert!(harness
        .tree
        .cleanup_candidates(START_TIME_MS + 1_000_000, 0)
        .is_empty());
    assert_eq!(
        harness.tree.cleanup_candidates(START_TIME_MS + 1_000, 500),
        ["/c".to_string()]
    );
    harness.create_ok("/c/child");
    assert!(harness.tree.cleanup_candidates(START_TIME_MS, 0).is_empty());
    harness.delete("/c/child", -1);
    assert_eq!(
        harness.tree.cleanup_candidates(START_TIME_MS, 0),
        ["/c".to_string()]
    );
    // The server deletes it with deleteContainer.
    let deleted = harness.write(Request::DeleteContainer(
        crate::zookeeper::jute::proto::DeleteContainerRequest { path: "/c".into() },
    ));
    assert_eq!(deleted.err, ErrorCode::Ok);
    assert!(harness.tree.containers().is_empty());
}

#[test]
fn ttl_nodes_need_extended_types() {
    let mut harness = Harness::new();
    assert_eq!(
        harness
            .create_ttl("/t", CreateMode::PersistentWithTtl, 100)
            .err,
        ErrorCode::Unimplemented
    );
    // A plain create with a TTL mode has no TTL (-1) at all.
    assert_eq!(
        harness.create("/t", CreateMode::PersistentWithTtl).err,
        ErrorCode::Unimplemented
    );

    let mut harness = Harness::with_config(TreeConfig {
        extended_types_enabled: true,
        ..TreeConfig::default()
    });
    assert_eq!(
        harness
            .create_ttl("/t", CreateMode::PersistentWithTtl, 0)
            .err,
        ErrorCode::BadArguments
    );
    assert_eq!(
        harness.create_ttl("/t", CreateMode::Persistent, 100).err,
        ErrorCode::BadArguments
    );
    assert_eq!(
        harness.create("/t", CreateMode::PersistentWithTtl).err,
        ErrorCode::BadArguments
    );
    let written = harness.create_ttl("/t", CreateMode::PersistentSequentialWithTtl, 100);
    assert_eq!(written.err, ErrorCode::Ok);
    let path = written.path();
    assert_eq!(path, "/t0000000000");
    assert_eq!(written.stat().ephemeral_owner, 0);
    assert!(harness
        .tree
        .cleanup_candidates(START_TIME_MS + 100, 0)
        .is_empty());
    assert_eq!(
        harness.tree.cleanup_candidates(START_TIME_MS + 200, 0),
        [path]
    );
}

#[test]
fn create_needs_create_permission_on_the_parent() {
    let mut harness = Harness::new();
    let read_only = vec![Acl::new(perms::ALL & !perms::CREATE, Id::anyone())];
    harness.create_with("/locked", b"", CreateMode::Persistent, read_only);
    assert_eq!(
        harness.create("/locked/child", CreateMode::Persistent).err,
        ErrorCode::NoAuth
    );
    // NoNode beats NoAuth only when the parent is missing; NodeExists comes
    // after the ACL check.
    assert_eq!(
        harness.create("/locked", CreateMode::Persistent).err,
        ErrorCode::NodeExists
    );
}

#[test]
fn replayed_create_of_an_existing_node_still_moves_the_parent() {
    let mut harness = Harness::new();
    let written = harness.create_ok("/a");
    let mut replay = written.entry.clone();
    replay.header.op = OpCode::Create.as_i32();
    replay.header.zxid = FIRST_ZXID + 10;
    if let crate::zookeeper::jute::TxnBody::Create(txn) = &mut replay.body {
        txn.parent_c_version = 5;
    }
    let applied = harness.tree.apply(&replay);
    assert_eq!(applied.result.err, ErrorCode::NodeExists);
    let root = harness.tree.node("/").unwrap();
    assert_eq!(root.stat.cversion, 5);
    assert_eq!(root.stat.pzxid, FIRST_ZXID + 10);
}

#[test]
fn pipelined_creates_see_each_other() {
    let mut harness = Harness::new();
    let request = |path: &str, flags: i32| {
        Request::Create(CreateRequest {
            path: path.into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags,
        })
    };
    let first = harness.prepare_as(SESSION, &request("/p", 0));
    let child = harness.prepare_as(SESSION, &request("/p/s-", 2));
    let second_child = harness.prepare_as(SESSION, &request("/p/s-", 2));
    let duplicate = harness.prepare_as(SESSION, &request("/p", 0));
    assert_eq!(duplicate.header.op, OpCode::Error.as_i32());
    assert_eq!(harness.pending.len(), 6);
    let first = harness.apply(first, OpCode::Create);
    let child = harness.apply(child, OpCode::Create);
    let second_child = harness.apply(second_child, OpCode::Create);
    let duplicate = harness.apply(duplicate, OpCode::Create);
    assert_eq!(first.path(), "/p");
    assert_eq!(child.path(), "/p/s-0000000000");
    assert_eq!(second_child.path(), "/p/s-0000000001");
    assert_eq!(duplicate.err, ErrorCode::NodeExists);
    assert!(harness.pending.is_empty());
}

/// An Apache quirk kept on purpose: a plain create (op 1) with the container
/// flag (Apache's Java client sends createContainer instead, but the protocol
/// allows it) is digested by prepare as a container (ephemeralOwner
/// 0x8000000000000000) while the CreateTxn it makes, having no container
/// field, creates a plain node. Apache's digest then disagrees with its own
/// tree; keel's carries the very same digest, and counts the same mismatch.
#[test]
fn a_plain_create_with_the_container_flag_mismatches_as_in_apache() {
    let mut harness = Harness::new();
    let request = Request::Create(CreateRequest {
        path: "/c".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: CreateMode::Container.flag(),
    });
    let entry = harness.prepare_as(SESSION, &request);
    let prepared = entry.digest.clone().unwrap().tree_digest;
    harness.tree.apply(&entry);
    assert_eq!(harness.tree.node("/c").unwrap().stat.ephemeral_owner, 0);
    assert_ne!(prepared, harness.tree.digest());
    assert_eq!(harness.tree.digest_mismatches_count(), 1);
    // What prepare predicted is the tree with /c as a container.
    let mut container = DataTree::new(TreeConfig::default());
    let mut out = Vec::new();
    let stat = container
        .create_node(
            "/c",
            None,
            &Acl::open_unsafe(),
            CONTAINER_OWNER,
            -1,
            Zxid(entry.header.zxid),
            entry.header.time,
            &mut out,
        )
        .unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "containers hide their owner");
    assert_eq!(container.digest(), prepared);
}
