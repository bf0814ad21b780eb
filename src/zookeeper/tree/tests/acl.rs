use super::*;
use crate::zookeeper::jute::perms;
use crate::zookeeper::tree::digest::generate_digest;

#[test]
fn digest_auth_then_creator_acl() {
    let mut harness = Harness::new();
    let ids = harness
        .tree
        .config()
        .auth
        .authenticate("digest", b"alice:secret")
        .unwrap();
    harness.auth.extend(ids);
    let written = harness.create_with("/mine", b"", CreateMode::Persistent, Acl::creator_all());
    assert_eq!(written.err, ErrorCode::Ok);
    let alice = Id::new("digest", &generate_digest("alice:secret"));
    assert_eq!(
        harness.tree.acl_of_path("/mine").unwrap(),
        [Acl::new(perms::ALL, alice)]
    );
    // Another connection (only its ip) cannot read or write it.
    harness.auth = vec![Id::new("ip", "127.0.0.1")];
    let stranger = harness.read_as(
        OTHER_SESSION,
        WATCHER,
        Request::GetData(GetDataRequest {
            path: "/mine".into(),
            watch: false,
        }),
    );
    assert_eq!(stranger.err, ErrorCode::NoAuth);
    assert_eq!(harness.set_data("/mine", b"x", -1).err, ErrorCode::NoAuth);
    assert_eq!(
        harness.create("/mine/c", CreateMode::Persistent).err,
        ErrorCode::NoAuth
    );
    // The creator-all ACL without any digest identity is invalid.
    assert_eq!(
        harness
            .create_with("/other", b"", CreateMode::Persistent, Acl::creator_all())
            .err,
        ErrorCode::InvalidAcl
    );
}

#[test]
fn super_user_passes_every_acl() {
    let config = TreeConfig {
        auth: AuthConfig {
            super_digest: Some(generate_digest("super:test")),
            ..AuthConfig::default()
        },
        ..TreeConfig::default()
    };
    let mut harness = Harness::with_config(config);
    harness.create_with(
        "/locked",
        b"",
        CreateMode::Persistent,
        vec![Acl::new(perms::READ, Id::new("digest", "x:y"))],
    );
    assert_eq!(harness.set_data("/locked", b"v", -1).err, ErrorCode::NoAuth);
    let ids = harness
        .tree
        .config()
        .auth
        .authenticate("digest", b"super:test")
        .unwrap();
    harness.auth.extend(ids);
    assert_eq!(harness.set_data("/locked", b"v", -1).err, ErrorCode::Ok);
    assert_eq!(
        harness.set_data("/zookeeper/config", b"v", -1).err,
        ErrorCode::Ok
    );
}

#[test]
fn ip_acls_match_the_connection_address() {
    let mut harness = Harness::new();
    harness.create_with(
        "/lan",
        b"",
        CreateMode::Persistent,
        vec![Acl::new(perms::ALL, Id::new("ip", "127.0.0.0/8"))],
    );
    assert_eq!(harness.set_data("/lan", b"v", -1).err, ErrorCode::Ok);
    harness.auth = vec![Id::new("ip", "10.0.0.1")];
    assert_eq!(harness.set_data("/lan", b"v", -1).err, ErrorCode::NoAuth);
}

#[test]
fn skip_acl_ignores_acls() {
    let config = TreeConfig {
        auth: AuthConfig {
            skip_acl: true,
            ..AuthConfig::default()
        },
        ..TreeConfig::default()
    };
    let mut harness = Harness::with_config(config);
    assert_eq!(
        harness.set_data("/zookeeper/config", b"v", -1).err,
        ErrorCode::Ok
    );
}

#[test]
fn watch_notifications_carry_the_acl_for_delivery_checks() {
    let mut harness = Harness::new();
    let private = vec![Acl::new(perms::ALL, Id::new("digest", "u:h"))];
    harness.auth.push(Id::new("digest", "u:h"));
    harness.create_with("/p", b"", CreateMode::Persistent, private.clone());
    harness.children_watch(OTHER_WATCHER, "/p");
    let written = harness.create_ok("/p/c");
    // The child event is checked against the parent's ACL.
    assert_eq!(written.notifications[0].acl, Some(private));
}
