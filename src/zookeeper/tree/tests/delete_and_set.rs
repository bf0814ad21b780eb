use super::*;
use crate::zookeeper::jute::perms;
use crate::zookeeper::jute::proto::{
    CheckVersionRequest, DeleteContainerRequest, ReconfigRequest, SetAclRequest,
};

#[test]
fn delete_checks_version_children_and_special_paths() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    harness.create_ok("/a/b");
    assert_eq!(harness.delete("/a", -1).err, ErrorCode::NotEmpty);
    assert_eq!(harness.delete("/a/b", 3).err, ErrorCode::BadVersion);
    assert_eq!(harness.delete("/a/missing", -1).err, ErrorCode::NoNode);
    assert_eq!(harness.delete("/missing/b", -1).err, ErrorCode::NoNode);
    for special in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert_eq!(
            harness.delete(special, -1).err,
            ErrorCode::BadArguments,
            "{special}"
        );
    }
    assert_eq!(harness.delete("nope", -1).err, ErrorCode::BadArguments);
    assert_eq!(harness.delete("/a\0", -1).err, ErrorCode::BadArguments);

    let before = harness.stat("/a");
    let deleted = harness.delete("/a/b", 0);
    assert_eq!(deleted.err, ErrorCode::Ok);
    assert_eq!(deleted.response, None);
    let after = harness.stat("/a");
    assert_eq!(after.num_children, 0);
    assert_eq!(after.cversion, before.cversion + 1);
    assert_eq!(after.pzxid, deleted.entry.header.zxid);
    assert_eq!(after.mzxid, before.mzxid);
    assert!(harness.tree.node("/a/b").is_none());
}

#[test]
fn delete_needs_delete_permission_on_the_parent() {
    let mut harness = Harness::new();
    let no_delete = vec![Acl::new(perms::ALL & !perms::DELETE, Id::anyone())];
    harness.create_with("/p", b"", CreateMode::Persistent, no_delete);
    harness.create_ok("/p/c");
    assert_eq!(harness.delete("/p/c", -1).err, ErrorCode::NoAuth);
    // The node's own ACL does not matter.
    assert_eq!(harness.delete("/p", -1).err, ErrorCode::NotEmpty);
}

#[test]
fn delete_container_refuses_ephemerals_and_non_empty_nodes() {
    let mut harness = Harness::new();
    harness.create("/e", CreateMode::Ephemeral);
    harness.create_ok("/full");
    harness.create_ok("/full/c");
    let delete_container =
        |path: &str| Request::DeleteContainer(DeleteContainerRequest { path: path.into() });
    assert_eq!(
        harness.write(delete_container("/e")).err,
        ErrorCode::BadVersion
    );
    assert_eq!(
        harness.write(delete_container("/full")).err,
        ErrorCode::NotEmpty
    );
    assert_eq!(
        harness.write(delete_container("/none")).err,
        ErrorCode::NoNode
    );
    assert_eq!(
        harness.write(delete_container("/")).err,
        ErrorCode::BadArguments
    );
    // Apache deletes a plain persistent childless node too.
    assert_eq!(
        harness.write(delete_container("/full/c")).err,
        ErrorCode::Ok
    );
}

#[test]
fn set_data_bumps_version_mzxid_and_mtime_only() {
    let mut harness = Harness::new();
    let created = harness.create_ok("/a").stat();
    let written = harness.set_data("/a", b"new data", 0);
    assert_eq!(written.err, ErrorCode::Ok);
    let stat = written.stat();
    assert_eq!(stat.version, 1);
    assert_eq!(stat.mzxid, written.entry.header.zxid);
    assert_eq!(stat.mtime, written.entry.header.time);
    assert_eq!(stat.data_length, 8);
    assert_eq!(
        (stat.czxid, stat.ctime, stat.pzxid),
        (created.czxid, created.ctime, created.pzxid)
    );
    assert_eq!((stat.cversion, stat.aversion), (0, 0));
    assert_eq!(harness.set_data("/a", b"x", 0).err, ErrorCode::BadVersion);
    assert_eq!(harness.set_data("/a", b"x", -1).stat().version, 2);
    assert_eq!(
        harness.set_data("/missing", b"x", -1).err,
        ErrorCode::NoNode
    );
    assert_eq!(
        harness.set_data("bad", b"x", -1).err,
        ErrorCode::BadArguments
    );
    // The root may be written.
    assert_eq!(harness.set_data("/", b"r", -1).stat().version, 1);
}

#[test]
fn set_data_needs_write_permission() {
    let mut harness = Harness::new();
    harness.create_with("/ro", b"", CreateMode::Persistent, Acl::read_unsafe());
    assert_eq!(harness.set_data("/ro", b"x", -1).err, ErrorCode::NoAuth);
    // /zookeeper/config is read-only for everyone.
    assert_eq!(
        harness.set_data("/zookeeper/config", b"x", -1).err,
        ErrorCode::NoAuth
    );
}

#[test]
fn set_acl_bumps_aversion_and_needs_admin() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    let set_acl = |acl: Vec<Acl>, version: i32| {
        Request::SetAcl(SetAclRequest {
            path: "/a".into(),
            acl,
            version,
        })
    };
    let written = harness.write(set_acl(Acl::read_unsafe(), 0));
    assert_eq!(written.err, ErrorCode::Ok);
    assert_eq!(written.stat().aversion, 1);
    assert_eq!(written.stat().version, 0);
    assert_eq!(harness.tree.acl_of_path("/a").unwrap(), Acl::read_unsafe());
    // READ only now: no ADMIN.
    assert_eq!(
        harness.write(set_acl(Acl::open_unsafe(), -1)).err,
        ErrorCode::NoAuth
    );
    harness.create_ok("/b");
    let written = harness.write(Request::SetAcl(SetAclRequest {
        path: "/b".into(),
        acl: Acl::open_unsafe(),
        version: 5,
    }));
    assert_eq!(written.err, ErrorCode::BadVersion);
    let written = harness.write(Request::SetAcl(SetAclRequest {
        path: "/b".into(),
        acl: vec![],
        version: -1,
    }));
    assert_eq!(written.err, ErrorCode::InvalidAcl);
}

#[test]
fn check_alone_is_a_txn_with_the_incremented_version() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    let check = |version: i32| {
        Request::Check(CheckVersionRequest {
            path: "/a".into(),
            version,
        })
    };
    let written = harness.write(check(0));
    assert_eq!(written.err, ErrorCode::Ok);
    assert_eq!(
        written.entry.body,
        crate::zookeeper::jute::TxnBody::Check(crate::zookeeper::jute::txn::CheckVersionTxn {
            path: "/a".into(),
            version: 1
        })
    );
    assert_eq!(harness.write(check(4)).err, ErrorCode::BadVersion);
    assert_eq!(harness.stat("/a").version, 0);
}

#[test]
fn reconfig_is_disabled() {
    let mut harness = Harness::new();
    let written = harness.write(Request::Reconfig(ReconfigRequest::default()));
    assert_eq!(written.err, ErrorCode::ReconfigDisabled);
    let mut enabled = Harness::with_config(TreeConfig {
        reconfig_enabled: true,
        ..TreeConfig::default()
    });
    let written = enabled.write(Request::Reconfig(ReconfigRequest::default()));
    assert_eq!(written.err, ErrorCode::Unimplemented);
}

#[test]
fn acl_references_follow_nodes() {
    let mut harness = Harness::new();
    let private = vec![Acl::new(perms::ALL, Id::new("digest", "u:h"))];
    harness.auth.push(Id::new("digest", "u:h"));
    harness.create_with("/x", b"", CreateMode::Persistent, private.clone());
    harness.create_with("/y", b"", CreateMode::Persistent, private.clone());
    let index = harness.tree.node("/x").unwrap().acl;
    assert_eq!(harness.tree.acl_cache().references(index), 2);
    harness.delete("/x", -1);
    assert_eq!(harness.tree.acl_cache().references(index), 1);
    harness.delete("/y", -1);
    assert_eq!(harness.tree.acl_cache().references(index), 0);
}
