use super::*;
use crate::zookeeper::jute::proto::{CheckVersionRequest, GetDataRequest};
use crate::zookeeper::jute::{MultiOp, MultiRequest, OpResult};

fn create_op(path: &str, flags: i32) -> MultiOp {
    MultiOp::Create {
        op: OpCode::Create,
        request: CreateRequest {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: Acl::open_unsafe(),
            flags,
        },
    }
}

fn results(written: &Written) -> Vec<OpResult> {
    match &written.response {
        Some(Response::Multi(multi)) => multi.results.clone(),
        other => panic!("not a multi reply: {other:?}"),
    }
}

#[test]
fn successful_multi_reports_each_op_and_shares_one_zxid() {
    let mut harness = Harness::new();
    harness.create_ok("/existing");
    let written = harness.write(Request::Multi(MultiRequest {
        ops: vec![
            create_op("/m", 0),
            MultiOp::Create {
                op: OpCode::Create2,
                request: CreateRequest {
                    path: "/m/s-".into(),
                    data: None,
                    acl: Acl::open_unsafe(),
                    flags: 2,
                },
            },
            MultiOp::SetData(SetDataRequest {
                path: "/m".into(),
                data: Some(b"two".to_vec()),
                version: 0,
            }),
            MultiOp::Check(CheckVersionRequest {
                path: "/m".into(),
                version: 1,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/existing".into(),
                version: -1,
            }),
        ],
    }));
    assert_eq!(written.err, ErrorCode::Ok);
    let zxid = written.entry.header.zxid;
    let results = results(&written);
    assert_eq!(results[0], OpResult::Create { path: "/m".into() });
    let OpResult::Create2 { path, stat } = &results[1] else {
        panic!("{:?}", results[1]);
    };
    assert_eq!(path, "/m/s-0000000000");
    assert_eq!(stat.czxid, zxid);
    let OpResult::SetData { stat } = &results[2] else {
        panic!("{:?}", results[2]);
    };
    assert_eq!(stat.version, 1);
    assert_eq!(stat.mzxid, zxid);
    assert_eq!(results[3], OpResult::Check);
    assert_eq!(results[4], OpResult::Delete);
    assert!(harness.tree.node("/existing").is_none());
    assert_eq!(harness.stat("/m").num_children, 1);
}

#[test]
fn failed_multi_changes_nothing_and_reports_ok_code_then_minus_two() {
    let mut harness = Harness::new();
    harness.create_ok("/a");
    let before = harness.tree.clone();
    let written = harness.write(Request::Multi(MultiRequest {
        ops: vec![
            create_op("/b", 0),
            MultiOp::Check(CheckVersionRequest {
                path: "/a".into(),
                version: 7,
            }),
            create_op("/c", 0),
            MultiOp::Delete(DeleteRequest {
                path: "/a".into(),
                version: -1,
            }),
        ],
    }));
    // The reply header of a multi is Ok; the client reads the results.
    assert_eq!(written.err, ErrorCode::Ok);
    assert_eq!(
        results(&written),
        [
            OpResult::Error { err: 0 },
            OpResult::Error {
                err: ErrorCode::BadVersion.as_i32()
            },
            OpResult::Error { err: -2 },
            OpResult::Error { err: -2 },
        ]
    );
    assert!(harness.tree.node("/b").is_none());
    assert_eq!(harness.tree.node("/"), before.node("/"));
    assert!(harness.pending.is_empty());
    assert_eq!(written.entry.header.op, OpCode::Multi.as_i32());
}

#[test]
fn ops_in_a_multi_see_the_earlier_ops() {
    let mut harness = Harness::new();
    let written = harness.write(Request::Multi(MultiRequest {
        ops: vec![
            create_op("/p", 0),
            create_op("/p/c", 0),
            MultiOp::Delete(DeleteRequest {
                path: "/p/c".into(),
                version: 0,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/p".into(),
                version: 0,
            }),
        ],
    }));
    assert_eq!(
        results(&written),
        [
            OpResult::Create { path: "/p".into() },
            OpResult::Create {
                path: "/p/c".into()
            },
            OpResult::Delete,
            OpResult::Delete,
        ]
    );
    assert!(harness.tree.node("/p").is_none());
}

#[test]
fn a_failed_multi_rolls_back_its_pending_changes() {
    let mut harness = Harness::new();
    let failing = Request::Multi(MultiRequest {
        ops: vec![create_op("/r", 0), create_op("/missing/x", 0)],
    });
    let failed = harness.prepare_as(SESSION, &failing);
    // Prepared before the failed multi is applied: /r must not look pending.
    let retry = harness.prepare_as(
        SESSION,
        &Request::Multi(MultiRequest {
            ops: vec![create_op("/r", 0)],
        }),
    );
    let failed = harness.apply(failed, OpCode::Multi);
    let retry = harness.apply(retry, OpCode::Multi);
    assert_eq!(
        results(&failed),
        [
            OpResult::Error { err: 0 },
            OpResult::Error {
                err: ErrorCode::NoNode.as_i32()
            },
        ]
    );
    assert_eq!(results(&retry), [OpResult::Create { path: "/r".into() }]);
}

#[test]
fn read_ops_in_a_write_multi_are_a_marshalling_error() {
    let mut harness = Harness::new();
    let written = harness.write(Request::Multi(MultiRequest {
        ops: vec![MultiOp::GetData(GetDataRequest {
            path: "/".into(),
            watch: false,
        })],
    }));
    assert_eq!(
        results(&written),
        [OpResult::Error {
            err: ErrorCode::MarshallingError.as_i32()
        }]
    );
}

#[test]
fn empty_multi_succeeds_with_no_results() {
    let mut harness = Harness::new();
    let written = harness.write(Request::Multi(MultiRequest::default()));
    assert_eq!(written.err, ErrorCode::Ok);
    assert!(results(&written).is_empty());
}

#[test]
fn multi_events_fire_for_each_applied_op() {
    let mut harness = Harness::new();
    harness.children_watch(WATCHER, "/");
    let written = harness.write(Request::Multi(MultiRequest {
        ops: vec![create_op("/a", 0), create_op("/b", 0)],
    }));
    assert_eq!(
        events(&written.notifications),
        [(
            EventType::NodeChildrenChanged,
            "/".to_string(),
            vec![WATCHER]
        )]
    );
    assert_eq!(written.notifications[0].zxid, written.entry.header.zxid);
}
