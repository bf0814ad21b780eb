use super::*;
use crate::zookeeper::jute::proto::{
    AddWatchRequest, CheckWatchesRequest, RemoveWatchesRequest, SetWatches, SetWatches2,
};
use crate::zookeeper::jute::WatcherType;

fn add_watch(harness: &mut Harness, watcher: WatcherId, path: &str, mode: i32) -> ReadOutcome {
    harness.read_as(
        SESSION,
        watcher,
        Request::AddWatch(AddWatchRequest {
            path: path.into(),
            mode,
        }),
    )
}

#[test]
fn create_fires_exist_watches_and_the_parents_child_watches() {
    let mut harness = Harness::new();
    harness.create_ok("/p");
    let outcome = harness.exists_watch(WATCHER, "/p/c");
    assert_eq!(outcome.err, ErrorCode::NoNode);
    harness.children_watch(OTHER_WATCHER, "/p");
    let written = harness.create_ok("/p/c");
    assert_eq!(
        events(&written.notifications),
        [
            (EventType::NodeCreated, "/p/c".to_string(), vec![WATCHER]),
            (
                EventType::NodeChildrenChanged,
                "/p".to_string(),
                vec![OTHER_WATCHER]
            ),
        ]
    );
    assert_eq!(written.notifications[0].zxid, written.entry.header.zxid);
    assert_eq!(written.notifications[0].acl, Some(Acl::open_unsafe()));
    // One-shot: nothing fires the second time.
    harness.delete("/p/c", -1);
    let written = harness.create_ok("/p/c");
    assert!(written.notifications.is_empty());
}

#[test]
fn delete_fires_data_watches_child_watches_of_the_node_and_the_parent() {
    let mut harness = Harness::new();
    harness.create_ok("/p");
    harness.create_ok("/p/c");
    harness.get_data_watch(WATCHER, "/p/c");
    harness.children_watch(WATCHER, "/p/c");
    harness.children_watch(OTHER_WATCHER, "/p/c");
    harness.children_watch(OTHER_WATCHER, "/p");
    let written = harness.delete("/p/c", -1);
    // WATCHER had both a data and a child watch on /p/c: one event only.
    assert_eq!(
        events(&written.notifications),
        [
            (EventType::NodeDeleted, "/p/c".to_string(), vec![WATCHER]),
            (
                EventType::NodeDeleted,
                "/p/c".to_string(),
                vec![OTHER_WATCHER]
            ),
            (
                EventType::NodeChildrenChanged,
                "/p".to_string(),
                vec![OTHER_WATCHER]
            ),
        ]
    );
    assert_eq!(harness.tree.watches().count(), 0);
}

#[test]
fn set_data_fires_data_watches_once() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    harness.get_data_watch(WATCHER, "/a");
    harness.exists_watch(OTHER_WATCHER, "/a");
    harness.children_watch(OTHER_WATCHER, "/a");
    let written = harness.set_data("/a", b"1", -1);
    assert_eq!(
        events(&written.notifications),
        [(
            EventType::NodeDataChanged,
            "/a".to_string(),
            vec![WATCHER, OTHER_WATCHER]
        )]
    );
    assert!(harness.set_data("/a", b"2", -1).notifications.is_empty());
    // The child watch is still there.
    assert_eq!(harness.tree.watches().count(), 1);
}

#[test]
fn failed_reads_leave_no_watch() {
    let mut harness = Harness::new();
    assert_eq!(
        harness.get_data_watch(WATCHER, "/none").err,
        ErrorCode::NoNode
    );
    assert_eq!(
        harness.children_watch(WATCHER, "/none").err,
        ErrorCode::NoNode
    );
    assert_eq!(harness.tree.watches().count(), 0);
    let private = vec![Acl::new(1, Id::new("digest", "u:h"))];
    assert_eq!(
        harness
            .create_with("/secret", b"", CreateMode::Persistent, private)
            .err,
        ErrorCode::Ok
    );
    assert_eq!(
        harness.get_data_watch(WATCHER, "/secret").err,
        ErrorCode::NoAuth
    );
    assert_eq!(harness.tree.watches().count(), 0);
}

#[test]
fn persistent_watch_sees_data_and_child_events_and_stays() {
    let mut harness = Harness::new();
    let outcome = add_watch(&mut harness, WATCHER, "/p", 0);
    assert_eq!(outcome.err, ErrorCode::Ok);
    assert_eq!(
        outcome.response,
        Some(Response::Error(
            crate::zookeeper::jute::proto::ErrorResponse { err: 0 }
        ))
    );
    let created = harness.create_ok("/p");
    assert_eq!(
        events(&created.notifications),
        [(EventType::NodeCreated, "/p".to_string(), vec![WATCHER])]
    );
    let child = harness.create_ok("/p/c");
    assert_eq!(
        events(&child.notifications),
        [(
            EventType::NodeChildrenChanged,
            "/p".to_string(),
            vec![WATCHER]
        )]
    );
    // Not recursive: the grandchild's events do not reach it.
    assert!(harness.set_data("/p/c", b"x", -1).notifications.is_empty());
    let changed = harness.set_data("/p", b"x", -1);
    assert_eq!(changed.notifications.len(), 1);
    let changed = harness.set_data("/p", b"y", -1);
    assert_eq!(changed.notifications.len(), 1);
}

#[test]
fn persistent_recursive_watch_sees_descendants_but_no_child_events() {
    let mut harness = Harness::new();
    add_watch(&mut harness, WATCHER, "/r", 1);
    let created = harness.create_ok("/r");
    assert_eq!(
        events(&created.notifications),
        [(EventType::NodeCreated, "/r".to_string(), vec![WATCHER])]
    );
    let child = harness.create_ok("/r/a");
    assert_eq!(
        events(&child.notifications),
        [(EventType::NodeCreated, "/r/a".to_string(), vec![WATCHER])]
    );
    let grandchild = harness.create_ok("/r/a/b");
    assert_eq!(
        events(&grandchild.notifications),
        [(EventType::NodeCreated, "/r/a/b".to_string(), vec![WATCHER])]
    );
    let changed = harness.set_data("/r/a/b", b"v", -1);
    assert_eq!(
        events(&changed.notifications),
        [(
            EventType::NodeDataChanged,
            "/r/a/b".to_string(),
            vec![WATCHER]
        )]
    );
    let deleted = harness.delete("/r/a/b", -1);
    assert_eq!(
        events(&deleted.notifications),
        [(EventType::NodeDeleted, "/r/a/b".to_string(), vec![WATCHER])]
    );
    assert!(harness.create_ok("/other").notifications.is_empty());
}

#[test]
fn check_and_remove_watches_by_type() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    harness.get_data_watch(WATCHER, "/a");
    harness.children_watch(WATCHER, "/a");
    let check = |kind: WatcherType| {
        Request::CheckWatches(CheckWatchesRequest {
            path: "/a".into(),
            watcher_type: kind.as_i32(),
        })
    };
    let remove = |kind: WatcherType| {
        Request::RemoveWatches(RemoveWatchesRequest {
            path: "/a".into(),
            watcher_type: kind.as_i32(),
        })
    };
    assert_eq!(harness.read(check(WatcherType::Data)).err, ErrorCode::Ok);
    assert_eq!(
        harness.read(check(WatcherType::Persistent)).err,
        ErrorCode::NoWatcher
    );
    assert_eq!(
        harness
            .read_as(SESSION, OTHER_WATCHER, check(WatcherType::Any))
            .err,
        ErrorCode::NoWatcher
    );
    assert_eq!(
        harness.read(remove(WatcherType::Children)).err,
        ErrorCode::Ok
    );
    assert_eq!(
        harness.read(remove(WatcherType::Children)).err,
        ErrorCode::NoWatcher
    );
    assert_eq!(harness.read(remove(WatcherType::Any)).err, ErrorCode::Ok);
    assert_eq!(
        harness.read(check(WatcherType::Any)).err,
        ErrorCode::NoWatcher
    );
    assert_eq!(
        harness.read(check(WatcherType::Unknown(9))).err,
        ErrorCode::MarshallingError
    );
    assert!(harness.set_data("/a", b"x", -1).notifications.is_empty());
}

#[test]
fn set_watches_fires_for_what_changed_since_the_relative_zxid() {
    let mut harness = Harness::new();
    let unchanged = harness.create_ok("/unchanged").entry.header.zxid;
    harness.create_ok("/changed");
    harness.create_ok("/parent");
    let relative_zxid = harness.create_ok("/gone").entry.header.zxid;
    harness.set_data("/changed", b"x", -1);
    harness.create_ok("/parent/new");
    harness.delete("/gone", -1);
    assert!(unchanged < relative_zxid);

    let outcome = harness.read(Request::SetWatches(SetWatches {
        relative_zxid,
        data_watches: vec!["/unchanged".into(), "/changed".into(), "/gone".into()],
        exist_watches: vec!["/unchanged".into(), "/not-yet".into()],
        child_watches: vec!["/parent".into(), "/unchanged".into(), "/gone".into()],
    }));
    assert_eq!(outcome.err, ErrorCode::Ok);
    assert_eq!(
        events(&outcome.notifications),
        [
            (
                EventType::NodeDataChanged,
                "/changed".to_string(),
                vec![WATCHER]
            ),
            (EventType::NodeDeleted, "/gone".to_string(), vec![WATCHER]),
            (
                EventType::NodeCreated,
                "/unchanged".to_string(),
                vec![WATCHER]
            ),
            (
                EventType::NodeChildrenChanged,
                "/parent".to_string(),
                vec![WATCHER]
            ),
            (EventType::NodeDeleted, "/gone".to_string(), vec![WATCHER]),
        ]
    );
    assert!(outcome
        .notifications
        .iter()
        .all(|event| event.zxid == -1 && event.acl.is_none()));
    // The rest were registered: data on /unchanged, exist on /not-yet, child on
    // /unchanged.
    let written = harness.set_data("/unchanged", b"y", -1);
    assert_eq!(written.notifications.len(), 1);
    let written = harness.create_ok("/not-yet");
    assert_eq!(written.notifications.len(), 1);
    let written = harness.create_ok("/unchanged/kid");
    assert_eq!(written.notifications.len(), 1);
}

#[test]
fn set_watches2_re_adds_persistent_watches() {
    let mut harness = Harness::new();
    harness.create_ok("/p");
    harness.read(Request::SetWatches2(SetWatches2 {
        relative_zxid: 0,
        persistent_watches: vec!["/p".into()],
        persistent_recursive_watches: vec!["/".into()],
        ..Default::default()
    }));
    let written = harness.create_ok("/p/c");
    assert_eq!(
        events(&written.notifications),
        [
            (EventType::NodeCreated, "/p/c".to_string(), vec![WATCHER]),
            (
                EventType::NodeChildrenChanged,
                "/p".to_string(),
                vec![WATCHER]
            ),
        ]
    );
}

#[test]
fn closing_a_connection_drops_its_watches() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    harness.get_data_watch(WATCHER, "/a");
    add_watch(&mut harness, WATCHER, "/", 1);
    harness.tree.remove_watcher(WATCHER);
    assert!(harness.set_data("/a", b"x", -1).notifications.is_empty());
}

#[test]
fn unknown_add_watch_mode_is_a_marshalling_error() {
    let mut harness = Harness::new();
    assert_eq!(
        add_watch(&mut harness, WATCHER, "/", 2).err,
        ErrorCode::MarshallingError
    );
}
