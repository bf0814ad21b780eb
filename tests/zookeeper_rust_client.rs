//! The Rust `zookeeper-client` crate (0.11, tokio) against keel's standalone
//! ZooKeeper server started in-process on 127.0.0.1:0 with a temporary dataDir
//! (issue 3, "Proof": the Rust client in `cargo test`).
//!
//! Each test starts its own server; together they cover every create mode, get/set
//! with versions (BadVersion), children, one-shot exists/data watches, multi (all or
//! nothing), a persistent recursive watch, digest ACLs and the end of a session
//! taking its ephemerals with it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keel::config::Properties;
use keel::zookeeper::config::ZooKeeperConfig;
use keel::zookeeper::server::{storage_for, Server};
use keel::zookeeper::tree::digest::generate_digest;
use zookeeper_client as zk;
use zookeeper_client::{
    Acl, Acls, AddWatchMode, AuthId, CreateMode, EventType, MultiWriteResult, Permission,
};

const WAIT: Duration = Duration::from_secs(10);

async fn start(data_dir: &Path) -> (Server, String) {
    let text = format!(
        "tickTime=2000\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n",
        data_dir.display()
    );
    let properties = Properties::parse(&PathBuf::from("zoo.cfg"), &text).unwrap();
    let config = ZooKeeperConfig::from_properties(&properties, &|_| None).unwrap();
    let server = Server::start(&config, storage_for(&config)).await.unwrap();
    let connect = server.client_address.to_string();
    (server, connect)
}

async fn connect(address: &str) -> zk::Client {
    tokio::time::timeout(
        WAIT,
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(6))
            .connect(address),
    )
    .await
    .expect("connects in time")
    .expect("connects")
}

async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("the event arrives in time")
}

fn persistent() -> zk::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

#[tokio::test]
async fn create_every_mode_get_set_with_versions_and_children() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = start(dir.path()).await;
    let client = connect(&address).await;

    let (stat, sequence) = client.create("/app", b"v0", &persistent()).await.unwrap();
    assert_eq!(sequence.into_i64(), -1);
    assert_eq!(
        (stat.version, stat.num_children, stat.data_length),
        (0, 0, 2)
    );
    assert!(stat.czxid > 0 && stat.czxid == stat.mzxid);
    assert_eq!(
        client.create("/app", b"", &persistent()).await.unwrap_err(),
        zk::Error::NodeExists
    );
    assert_eq!(
        client
            .create("/missing/child", b"", &persistent())
            .await
            .unwrap_err(),
        zk::Error::NoNode
    );

    // Sequential names come from the parent's cversion, ten digits.
    let seq = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    let (_, first) = client.create("/app/seq-", b"a", &seq).await.unwrap();
    let (_, second) = client.create("/app/seq-", b"b", &seq).await.unwrap();
    assert_eq!(second.into_i64(), first.into_i64() + 1);
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    let (eph_stat, _) = client.create("/app/eph", b"e", &eph).await.unwrap();
    assert_eq!(eph_stat.ephemeral_owner, client.session_id().0);
    let eph_seq = CreateMode::EphemeralSequential.with_acls(Acls::anyone_all());
    let (_, third) = client.create("/app/eseq-", b"", &eph_seq).await.unwrap();
    assert_eq!(third.into_i64(), first.into_i64() + 3);
    assert_eq!(
        client
            .create("/app/eph/child", b"", &persistent())
            .await
            .unwrap_err(),
        zk::Error::NoChildrenForEphemerals
    );
    let container = CreateMode::Container.with_acls(Acls::anyone_all());
    client.create("/app/box", b"", &container).await.unwrap();

    let mut children = client.list_children("/app").await.unwrap();
    children.sort();
    let expected_seq = |n: i64| format!("seq-{n:010}");
    assert_eq!(
        children,
        vec![
            "box".to_string(),
            "eph".to_string(),
            format!("eseq-{:010}", third.into_i64()),
            expected_seq(first.into_i64()),
            expected_seq(second.into_i64()),
        ]
    );
    let (_, parent) = client.get_children("/app").await.unwrap();
    assert_eq!(parent.num_children, 5);
    assert_eq!(parent.cversion, 5);

    // get / set with versions
    let (data, stat) = client.get_data("/app").await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"v0"[..], 0));
    let stat = client.set_data("/app", b"v1", Some(0)).await.unwrap();
    assert_eq!(stat.version, 1);
    assert_eq!(
        client
            .set_data("/app", b"stale", Some(0))
            .await
            .unwrap_err(),
        zk::Error::BadVersion
    );
    let stat = client.set_data("/app", b"v2", None).await.unwrap();
    assert_eq!(stat.version, 2);
    let (data, stat) = client.get_data("/app").await.unwrap();
    assert_eq!(
        (data.as_slice(), stat.version, stat.data_length),
        (&b"v2"[..], 2, 2)
    );
    assert_eq!(
        client.get_data("/nothing").await.unwrap_err(),
        zk::Error::NoNode
    );
    assert!(client.check_stat("/nothing").await.unwrap().is_none());

    // delete with versions
    let path = format!("/app/{}", expected_seq(first.into_i64()));
    assert_eq!(
        client.delete(&path, Some(5)).await.unwrap_err(),
        zk::Error::BadVersion
    );
    client.delete(&path, Some(0)).await.unwrap();
    assert_eq!(
        client.delete("/app", None).await.unwrap_err(),
        zk::Error::NotEmpty
    );
    assert_eq!(client.count_descendants_number("/app").await.unwrap(), 4);
    let mut ephemerals = client.list_ephemerals("/").await.unwrap();
    ephemerals.sort();
    assert_eq!(
        ephemerals,
        vec![
            "/app/eph".to_string(),
            format!("/app/eseq-{:010}", third.into_i64())
        ]
    );
}

#[tokio::test]
async fn one_shot_watches_fire_created_changed_deleted_and_children() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = start(dir.path()).await;
    let watcher_client = connect(&address).await;
    let writer = connect(&address).await;

    let (stat, watch) = watcher_client.check_and_watch_stat("/w").await.unwrap();
    assert!(stat.is_none());
    writer.create("/w", b"1", &persistent()).await.unwrap();
    let event = within(watch.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeCreated, "/w")
    );

    let (stat, watch) = watcher_client.check_and_watch_stat("/w").await.unwrap();
    assert_eq!(stat.unwrap().version, 0);
    writer.set_data("/w", b"2", None).await.unwrap();
    let event = within(watch.changed()).await;
    assert_eq!(event.event_type, EventType::NodeDataChanged);
    assert!(event.zxid > 0);

    let (_, _, children_watch) = watcher_client.get_and_watch_children("/w").await.unwrap();
    writer.create("/w/c", b"", &persistent()).await.unwrap();
    let event = within(children_watch.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeChildrenChanged, "/w")
    );
    writer.delete("/w/c", None).await.unwrap();

    let (data, _, data_watch) = watcher_client.get_and_watch_data("/w").await.unwrap();
    assert_eq!(data, b"2");
    let (_, exists_watch) = watcher_client.check_and_watch_stat("/w").await.unwrap();
    writer.delete("/w", None).await.unwrap();
    let event = within(data_watch.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeDeleted, "/w")
    );
    let event = within(exists_watch.changed()).await;
    assert_eq!(event.event_type, EventType::NodeDeleted);
}

#[tokio::test]
async fn multi_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = start(dir.path()).await;
    let client = connect(&address).await;
    client.create("/m", b"", &persistent()).await.unwrap();

    let mut multi = client.new_multi_writer();
    multi.add_create("/m/a", b"a", &persistent()).unwrap();
    multi.add_set_data("/m", b"top", Some(0)).unwrap();
    multi.add_check_version("/m", 1).unwrap();
    multi
        .add_create(
            "/m/s-",
            b"",
            &CreateMode::PersistentSequential.with_acls(Acls::anyone_all()),
        )
        .unwrap();
    multi.add_delete("/m/a", Some(0)).unwrap();
    let results = multi.commit().await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(matches!(&results[0], MultiWriteResult::Create { path, .. } if path == "/m/a"));
    assert!(matches!(&results[1], MultiWriteResult::SetData { stat } if stat.version == 1));
    assert!(matches!(results[2], MultiWriteResult::Check));
    assert!(
        matches!(&results[3], MultiWriteResult::Create { path, .. } if path == "/m/s-0000000001")
    );
    assert!(matches!(results[4], MultiWriteResult::Delete));

    // A failing op (bad version) rolls back everything before it.
    let mut multi = client.new_multi_writer();
    multi.add_create("/m/b", b"b", &persistent()).unwrap();
    multi.add_set_data("/m", b"nope", Some(0)).unwrap();
    multi.add_create("/m/c", b"c", &persistent()).unwrap();
    match multi.commit().await.unwrap_err() {
        zk::MultiWriteError::OperationFailed { index, source } => {
            assert_eq!((index, source), (1, zk::Error::BadVersion));
        }
        other => panic!("expected the set (index 1) to fail with BadVersion, got {other:?}"),
    }
    assert!(client.check_stat("/m/b").await.unwrap().is_none());
    assert!(client.check_stat("/m/c").await.unwrap().is_none());
    let (data, stat) = client.get_data("/m").await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"top"[..], 1));

    // multiRead
    let mut reader = client.new_multi_reader();
    reader.add_get_data("/m").unwrap();
    reader.add_get_children("/m").unwrap();
    reader.add_get_data("/m/none").unwrap();
    let results = reader.commit().await.unwrap();
    assert_eq!(results.len(), 3);
    assert!(matches!(&results[0], zk::MultiReadResult::Data { data, .. } if data == b"top"));
    assert!(
        matches!(&results[1], zk::MultiReadResult::Children { children } if children == &vec!["s-0000000001".to_string()])
    );
    assert!(matches!(
        &results[2],
        zk::MultiReadResult::Error { err } if *err == zk::Error::NoNode
    ));
}

#[tokio::test]
async fn persistent_recursive_watch_sees_the_whole_subtree() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = start(dir.path()).await;
    let watcher_client = connect(&address).await;
    let writer = connect(&address).await;
    writer.create("/r", b"", &persistent()).await.unwrap();

    let mut watcher = watcher_client
        .watch("/r", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    writer.create("/r/a", b"", &persistent()).await.unwrap();
    writer.create("/r/a/b", b"", &persistent()).await.unwrap();
    writer.set_data("/r/a/b", b"x", None).await.unwrap();
    writer.set_data("/r", b"y", None).await.unwrap();
    writer.delete("/r/a/b", None).await.unwrap();
    writer
        .create("/elsewhere", b"", &persistent())
        .await
        .unwrap();
    writer.delete("/r/a", None).await.unwrap();

    let mut seen = Vec::new();
    for _ in 0..6 {
        let event = within(watcher.changed()).await;
        seen.push((event.event_type, event.path));
    }
    assert_eq!(
        seen,
        vec![
            (EventType::NodeCreated, "/r/a".to_string()),
            (EventType::NodeCreated, "/r/a/b".to_string()),
            (EventType::NodeDataChanged, "/r/a/b".to_string()),
            (EventType::NodeDataChanged, "/r".to_string()),
            (EventType::NodeDeleted, "/r/a/b".to_string()),
            (EventType::NodeDeleted, "/r/a".to_string()),
        ]
    );
}

#[tokio::test]
async fn digest_acls_need_the_right_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = start(dir.path()).await;
    let owner = zk::Client::connector()
        .with_auth("digest", b"alice:secret")
        .connect(&address)
        .await
        .unwrap();
    let stranger = connect(&address).await;
    let wrong = zk::Client::connector()
        .with_auth("digest", b"alice:wrong")
        .connect(&address)
        .await
        .unwrap();

    // An explicit digest id, alice:base64(sha1("alice:secret")), plus world read.
    let digest = Acl::new(
        Permission::ALL,
        AuthId::new("digest", &generate_digest("alice:secret")),
    );
    let world_read = Acl::new(Permission::READ, AuthId::anyone());
    let acls = [digest.clone(), world_read.clone()];
    owner
        .create(
            "/secret",
            b"s",
            &CreateMode::Persistent.with_acls(Acls::new(&acls)),
        )
        .await
        .unwrap();
    let (read_back, _) = owner.get_acl("/secret").await.unwrap();
    assert_eq!(read_back, vec![digest.clone(), world_read]);
    assert_eq!(stranger.get_data("/secret").await.unwrap().0, b"s");
    assert_eq!(
        stranger.set_data("/secret", b"x", None).await.unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        wrong.set_data("/secret", b"x", None).await.unwrap_err(),
        zk::Error::NoAuth
    );
    owner.set_data("/secret", b"t", None).await.unwrap();

    // creator_all ("auth" scheme) turns into the creator's digest id.
    owner
        .create(
            "/mine",
            b"m",
            &CreateMode::Persistent.with_acls(Acls::creator_all()),
        )
        .await
        .unwrap();
    let (acl, _) = owner.get_acl("/mine").await.unwrap();
    assert_eq!(acl, vec![digest]);
    assert_eq!(
        stranger.get_data("/mine").await.unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(owner.get_data("/mine").await.unwrap().0, b"m");
    // Adding the credentials later grants access.
    stranger.auth("digest", b"alice:secret").await.unwrap();
    assert_eq!(stranger.get_data("/mine").await.unwrap().0, b"m");
    let users = stranger.list_auth_users().await.unwrap();
    assert!(users
        .iter()
        .any(|user| user.scheme() == "digest" && user.user() == "alice"));
    // creator_all without any credentials is InvalidAcl.
    let anonymous = connect(&address).await;
    assert_eq!(
        anonymous
            .create(
                "/x",
                b"",
                &CreateMode::Persistent.with_acls(Acls::creator_all())
            )
            .await
            .unwrap_err(),
        zk::Error::InvalidAcl
    );
}

#[tokio::test]
async fn closing_a_session_removes_its_ephemerals() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = start(dir.path()).await;
    let observer = connect(&address).await;
    let owner = connect(&address).await;
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    owner.create("/lease", b"", &eph).await.unwrap();
    let (_, seq) = owner
        .create(
            "/lease-",
            b"",
            &CreateMode::EphemeralSequential.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap();
    let seq_path = format!("/lease-{seq}");
    let owner_session = owner.session_id();

    let (stat, gone) = observer.check_and_watch_stat("/lease").await.unwrap();
    assert_eq!(stat.unwrap().ephemeral_owner, owner_session.0);
    drop(owner); // the last handle: the client sends closeSession
    let event = within(gone.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeDeleted, "/lease")
    );
    assert!(observer.check_stat("/lease").await.unwrap().is_none());
    assert!(observer.check_stat(&seq_path).await.unwrap().is_none());
    assert!(observer.list_ephemerals("/").await.unwrap().is_empty());
}
