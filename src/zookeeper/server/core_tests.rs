//! The pipeline's ordering, driven input by input with a fixed clock: no
//! sockets, no threads, no sleeps.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use std::sync::Arc;

use super::core::{Clock, Core, CoreConfig, Effect, Input, Role};
use super::java_random::session_password;
use crate::zookeeper::jute::proto::{
    AuthPacket, ConnectRequest, ConnectResponse, CreateRequest, ExistsRequest, GetDataRequest,
    ReplyHeader, RequestHeader, SetDataRequest,
};
use crate::zookeeper::jute::{perms, Acl, Decoder, Jute, Request, TxnEntry};
use crate::zookeeper::quorum::message::{ServerId, SessionTouch};
use crate::zookeeper::tree::{DataTree, RequestContext, SessionId, TreeConfig, Zxid};

const TICK_MS: u32 = 2000;

fn config(snapshot_interval_txns: u64) -> CoreConfig {
    CoreConfig {
        server_id: 1,
        tick_ms: TICK_MS,
        session_timeout_ms_min: 4000,
        session_timeout_ms_max: 40_000,
        snapshot_interval_txns,
        container_deletions_max: 100,
        tree: TreeConfig::default(),
        role: Role::Standalone,
    }
}

fn at(now_ms: i64) -> Clock {
    Clock {
        now_ms,
        wall_ms: 1_700_000_000_000 + now_ms,
    }
}

struct Harness {
    core: Core,
    now_ms: i64,
}

/// What an effect means, in a form tests compare.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Reply {
        conn: u64,
        xid: i32,
        err: i32,
    },
    Event {
        conn: u64,
        path: String,
    },
    Connected {
        conn: u64,
        session: i64,
    },
    Close(u64),
    Append(i64),
    Roll,
    Snapshot(i64),
    SnapshotBytes,
    SnapshotEnd,
    SnapshotAbandon,
    Forward {
        session: i64,
        cxid: i32,
        op: i32,
    },
    Revalidate(i64),
    RevalidateReply {
        learner: i64,
        session: i64,
        valid: bool,
    },
    EpochExhausted,
}

impl Harness {
    fn new(snapshot_interval_txns: u64) -> Harness {
        Harness::with_role(
            snapshot_interval_txns,
            Role::Standalone,
            DataTree::new(TreeConfig::default()),
        )
    }

    fn with_role(snapshot_interval_txns: u64, role: Role, tree: DataTree) -> Harness {
        let mut config = config(snapshot_interval_txns);
        if role != Role::Standalone {
            // Ensemble tests run as server 2.
            config.server_id = 2;
        }
        config.role = role;
        Harness {
            core: Core::new(config, tree, &BTreeMap::new(), at(0), 7),
            now_ms: 0,
        }
    }

    fn input(&mut self, input: Input) -> Vec<Seen> {
        self.core.handle(input, at(self.now_ms));
        self.core
            .take_effects()
            .into_iter()
            .map(|effect| match effect {
                Effect::Send { conn, frame } => {
                    let mut decoder = Decoder::with_default_limit(&frame[4..]);
                    if (40..=41).contains(&frame.len()) && frame[4..8] == [0, 0, 0, 0] {
                        // A ConnectResponse starts with protocol version 0.
                        let response = ConnectResponse::read(&mut decoder).unwrap();
                        return Seen::Connected {
                            conn,
                            session: response.session_id,
                        };
                    }
                    let header = ReplyHeader::read(&mut decoder).unwrap();
                    if header.xid == -1 {
                        let rest = decoder.rest();
                        let length = i32::from_be_bytes(rest[8..12].try_into().unwrap()) as usize;
                        Seen::Event {
                            conn,
                            path: String::from_utf8(rest[12..12 + length].to_vec()).unwrap(),
                        }
                    } else {
                        Seen::Reply {
                            conn,
                            xid: header.xid,
                            err: header.err,
                        }
                    }
                }
                Effect::Close { conn } => Seen::Close(conn),
                Effect::Append(entry) => Seen::Append(entry.header.zxid),
                Effect::RollLog => Seen::Roll,
                Effect::SnapshotBegin { zxid, .. } => Seen::Snapshot(zxid.0),
                Effect::SnapshotBytes(_) => Seen::SnapshotBytes,
                Effect::SnapshotEnd { .. } => Seen::SnapshotEnd,
                Effect::SnapshotAbandon => Seen::SnapshotAbandon,
                Effect::Forward(request) => Seen::Forward {
                    session: request.session_id.0,
                    cxid: request.cxid,
                    op: request.op,
                },
                Effect::Revalidate { session, .. } => Seen::Revalidate(session.0),
                Effect::RevalidateReply {
                    learner,
                    session,
                    valid,
                } => Seen::RevalidateReply {
                    learner: learner.0,
                    session: session.0,
                    valid,
                },
                Effect::EpochExhausted => Seen::EpochExhausted,
            })
            .collect()
    }

    fn durable(&mut self, zxid: i64) -> Vec<Seen> {
        self.input(Input::Durable { zxid: Zxid(zxid) })
    }

    /// Accepts `conn` and opens a new session on it; returns the session id.
    fn connect(&mut self, conn: u64) -> i64 {
        let peer: SocketAddr = format!("127.0.0.1:{}", 40_000 + conn).parse().unwrap();
        self.input(Input::Accepted { conn, peer });
        let effects = self.input(Input::Connect {
            conn,
            request: ConnectRequest {
                time_out: 10_000,
                passwd: vec![0; 16],
                read_only: Some(false),
                ..Default::default()
            },
        });
        let [Seen::Append(zxid)] = effects[..] else {
            panic!("a createSession txn: {effects:?}");
        };
        let effects = self.durable(zxid);
        let [Seen::Connected { session, .. }] = effects[..] else {
            panic!("a connect response: {effects:?}");
        };
        session
    }

    fn request(&mut self, conn: u64, xid: i32, request: Request) -> Vec<Seen> {
        self.input(Input::Request {
            conn,
            header: RequestHeader {
                xid,
                op: request.op().as_i32(),
            },
            request,
        })
    }
}

fn create(path: &str, flags: i32, acl: Vec<Acl>) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Some(b"v".to_vec()),
        acl,
        flags,
    })
}

fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.into(),
        watch,
    })
}

fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(ExistsRequest {
        path: path.into(),
        watch,
    })
}

#[test]
fn a_session_reads_its_own_writes_and_other_sessions_do_not_wait() {
    let mut harness = Harness::new(100_000);
    harness.connect(1);
    harness.connect(2);
    let append = harness.request(1, 1, create("/x", 0, Acl::open_unsafe()));
    let [Seen::Append(zxid)] = append[..] else {
        panic!("{append:?}")
    };
    // Session 1's read waits behind its write; session 2's does not.
    assert_eq!(harness.request(1, 2, get_data("/x", false)), []);
    assert_eq!(
        harness.request(2, 1, get_data("/x", false)),
        [Seen::Reply {
            conn: 2,
            xid: 1,
            err: -101
        }]
    );
    assert_eq!(
        harness.durable(zxid),
        [
            Seen::Reply {
                conn: 1,
                xid: 1,
                err: 0
            },
            Seen::Reply {
                conn: 1,
                xid: 2,
                err: 0
            },
        ]
    );
}

#[test]
fn a_standalone_server_carries_past_the_last_counter_of_an_epoch() {
    // Recovered at counter 0xfffffffe: the next two writes take 0xffffffff
    // and (1 << 32), as Apache's standalone server does, with no panic.
    let mut tree = DataTree::new(TreeConfig::default());
    tree.set_last_processed_zxid(Zxid::new(0, u32::MAX - 1));
    let mut harness = Harness {
        core: Core::new(config(100_000), tree, &BTreeMap::new(), at(0), 7),
        now_ms: 0,
    };
    harness.connect(1);
    let effects = harness.request(1, 5, create("/a", 0, Acl::open_unsafe()));
    assert_eq!(effects, [Seen::Append(Zxid::new(1, 0).0)]);
    assert_eq!(
        harness.durable(Zxid::new(1, 0).0),
        [Seen::Reply {
            conn: 1,
            xid: 5,
            err: 0
        }]
    );
    assert_eq!(harness.core.tree().last_processed_zxid(), Zxid::new(1, 0));
}

#[test]
fn group_commit_applies_in_zxid_order_and_replies_follow() {
    let mut harness = Harness::new(100_000);
    harness.connect(1);
    harness.connect(2);
    let first = harness.request(1, 5, create("/a", 0, Acl::open_unsafe()));
    let second = harness.request(2, 9, create("/a", 0, Acl::open_unsafe()));
    let (Seen::Append(first), Seen::Append(second)) = (first[0].clone(), second[0].clone()) else {
        panic!()
    };
    assert_eq!(second, first + 1);
    // Nothing is answered before the log says so.
    assert_eq!(harness.durable(first - 1), []);
    assert_eq!(
        harness.durable(second),
        [
            Seen::Reply {
                conn: 1,
                xid: 5,
                err: 0
            },
            Seen::Reply {
                conn: 2,
                xid: 9,
                err: -110
            },
        ]
    );
}

#[test]
fn events_precede_the_reply_and_respect_read_acls() {
    let mut harness = Harness::new(100_000);
    harness.connect(1);
    harness.connect(2);
    harness.connect(3);
    // Connection 3 authenticates as the only reader of /secret.
    let auth = harness.request(
        3,
        -4,
        Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"reader:secret".to_vec(),
        }),
    );
    assert_eq!(
        auth,
        [Seen::Reply {
            conn: 3,
            xid: -4,
            err: 0
        }]
    );
    for conn in [1, 2, 3] {
        let watched = harness.request(conn, 1, exists("/secret", true));
        assert_eq!(
            watched,
            [Seen::Reply {
                conn,
                xid: 1,
                err: -101
            }]
        );
    }
    let digest = crate::zookeeper::tree::digest::generate_digest("reader:secret");
    let acl = vec![Acl::new(
        perms::READ,
        crate::zookeeper::jute::Id::new("digest", &digest),
    )];
    let append = harness.request(1, 2, create("/secret", 0, acl));
    let [Seen::Append(zxid)] = append[..] else {
        panic!("{append:?}")
    };
    // Only connection 3 may read the node: 1 and 2 hear nothing, and 1's
    // reply comes after 3's event.
    assert_eq!(
        harness.durable(zxid),
        [
            Seen::Event {
                conn: 3,
                path: "/secret".into()
            },
            Seen::Reply {
                conn: 1,
                xid: 2,
                err: 0
            },
        ]
    );

    // A watcher that may read hears of its own change before its reply.
    harness.request(1, 3, create("/open", 0, Acl::open_unsafe()));
    harness.durable(zxid + 1);
    harness.request(1, 4, get_data("/open", true));
    let set = harness.request(
        1,
        5,
        Request::SetData(SetDataRequest {
            path: "/open".into(),
            data: None,
            version: -1,
        }),
    );
    let [Seen::Append(zxid)] = set[..] else {
        panic!()
    };
    assert_eq!(
        harness.durable(zxid),
        [
            Seen::Event {
                conn: 1,
                path: "/open".into()
            },
            Seen::Reply {
                conn: 1,
                xid: 5,
                err: 0
            },
        ]
    );
}

#[test]
fn expired_sessions_lose_their_ephemerals_and_connections() {
    let mut harness = Harness::new(100_000);
    harness.connect(1);
    harness.connect(2);
    let append = harness.request(1, 1, create("/eph", 1, Acl::open_unsafe()));
    let [Seen::Append(zxid)] = append[..] else {
        panic!()
    };
    harness.durable(zxid);
    harness.request(2, 1, exists("/eph", true));

    // Connection 2 keeps pinging; connection 1 goes quiet.
    for step in 1..=6 {
        harness.now_ms = step * 2000;
        harness.request(2, -2, Request::Ping);
        let effects = harness.input(Input::Tick);
        if let [Seen::Append(close)] = effects[..] {
            assert_eq!(
                harness.now_ms, 12_000,
                "10 s timeout, rounded up to the tick"
            );
            assert_eq!(
                harness.durable(close),
                [
                    Seen::Event {
                        conn: 2,
                        path: "/eph".into()
                    },
                    Seen::Close(1)
                ]
            );
            assert_eq!(
                harness.request(2, 2, exists("/eph", false)),
                [Seen::Reply {
                    conn: 2,
                    xid: 2,
                    err: -101
                }]
            );
            return;
        }
        assert_eq!(effects, []);
    }
    panic!("session 1 never expired");
}

#[test]
fn reattaching_moves_the_session_and_closes_the_old_connection() {
    let mut harness = Harness::new(100_000);
    let session = harness.connect(1);
    assert_eq!(session >> 56, 1, "the server id sits in the top byte");
    harness.input(Input::Accepted {
        conn: 2,
        peer: "127.0.0.1:50000".parse().unwrap(),
    });
    let effects = harness.input(Input::Connect {
        conn: 2,
        request: ConnectRequest {
            time_out: 10_000,
            session_id: session,
            passwd: session_password(session),
            read_only: None,
            ..Default::default()
        },
    });
    assert_eq!(
        effects,
        [Seen::Close(1), Seen::Connected { conn: 2, session }]
    );
    assert_eq!(
        harness.request(2, 1, Request::Ping),
        [Seen::Reply {
            conn: 2,
            xid: 1,
            err: 0
        }]
    );
}

#[test]
fn snapshots_come_every_half_snap_count_plus_jitter() {
    let mut harness = Harness::new(8);
    harness.connect(1);
    let mut seen = Vec::new();
    for xid in 1..=8 {
        let effects = harness.request(1, xid, create(&format!("/n{xid}"), 0, Acl::open_unsafe()));
        let Some(Seen::Append(zxid)) = effects.first().cloned() else {
            panic!()
        };
        seen.extend(effects.into_iter().skip(1));
        harness.durable(zxid);
    }
    // Between 4 and 7 txns after the last snapshot (createSession counts).
    assert!(seen.len() >= 2, "{seen:?}");
    assert_eq!(seen[0], Seen::Roll);
    assert!(matches!(seen[1], Seen::Snapshot(_)));
}

#[test]
fn an_auth_reply_never_overtakes_the_connect_response() {
    let mut harness = Harness::new(100_000);
    harness.input(Input::Accepted {
        conn: 1,
        peer: "127.0.0.1:40001".parse().unwrap(),
    });
    let effects = harness.input(Input::Connect {
        conn: 1,
        request: ConnectRequest {
            time_out: 10_000,
            passwd: vec![0; 16],
            ..Default::default()
        },
    });
    let [Seen::Append(zxid)] = effects[..] else {
        panic!("{effects:?}")
    };
    // Java's client queues auth right behind its ConnectRequest.
    let auth = Request::Auth(AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: b"user:secret".to_vec(),
    });
    assert_eq!(harness.request(1, -4, auth), []);
    // The ids apply at once: a create with CREATOR_ALL right behind it works.
    let create = harness.request(1, 1, create("/mine", 0, Acl::creator_all()));
    let [Seen::Append(create_zxid)] = create[..] else {
        panic!("{create:?}")
    };
    let effects = harness.durable(zxid);
    let [Seen::Connected { session, .. }, Seen::Reply {
        conn: 1,
        xid: -4,
        err: 0,
    }] = effects[..]
    else {
        panic!("the ConnectResponse, then the auth reply: {effects:?}")
    };
    assert!(session != 0);
    let effects = harness.durable(create_zxid);
    assert_eq!(
        effects,
        [Seen::Reply {
            conn: 1,
            xid: 1,
            err: 0
        }]
    );
}

/// Apache's fuzzy snapshot, as keel takes it: the pipeline encodes the tree a
/// step at a time while txns keep being applied. Whatever interleaving, the
/// snapshot file plus the log after its zxid must rebuild the live tree exactly
/// (data, every Stat field, children) — that is what start-up relies on.
#[test]
fn a_fuzzy_snapshot_plus_the_log_after_it_rebuilds_the_live_tree() {
    use crate::zookeeper::jute::proto::DeleteRequest;
    use crate::zookeeper::jute::TxnEntry;
    use crate::zookeeper::persistence::{read_snapshot, SnapshotFile};

    /// Path, data and Stat (debug-printed) of every node, in snapshot order.
    type Dump = Vec<(String, Option<Box<[u8]>>, String)>;
    fn dump(tree: &DataTree) -> Dump {
        tree.nodes_in_snapshot_order()
            .into_iter()
            .map(|(path, node)| {
                let stat = tree.stat(if path.is_empty() { "/" } else { &path });
                (path, node.data.clone(), format!("{stat:?}"))
            })
            .collect()
    }

    for seed in 1..=8u64 {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        let mut core = Core::new(
            config(1_000_000),
            DataTree::new(TreeConfig::default()),
            &BTreeMap::new(),
            at(0),
            7,
        );
        let mut log: Vec<TxnEntry> = Vec::new();
        let run = |core: &mut Core, input: Input, log: &mut Vec<TxnEntry>| {
            core.handle(input, at(0));
            for effect in core.take_effects() {
                if let Effect::Append(entry) = effect {
                    log.push((*entry).clone());
                    core.handle(
                        Input::Durable {
                            zxid: Zxid(entry.header.zxid),
                        },
                        at(0),
                    );
                    core.take_effects();
                }
            }
        };
        let peer: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        run(&mut core, Input::Accepted { conn: 1, peer }, &mut log);
        run(
            &mut core,
            Input::Connect {
                conn: 1,
                request: ConnectRequest {
                    time_out: 10_000,
                    passwd: vec![0; 16],
                    read_only: Some(false),
                    ..Default::default()
                },
            },
            &mut log,
        );
        let mut xid = 0;
        let mut random_write =
            |core: &mut Core, log: &mut Vec<TxnEntry>, next: &mut dyn FnMut(u64) -> u64| {
                xid += 1;
                let parent = format!("/p{}", next(4));
                let path = format!("{parent}/n{}", next(40));
                let request = match next(5) {
                    0 => create(&parent, 0, Acl::open_unsafe()),
                    1 | 2 => create(&path, 0, Acl::open_unsafe()),
                    3 => Request::SetData(SetDataRequest {
                        path: path.clone(),
                        data: Some(vec![next(256) as u8; next(300) as usize]),
                        version: -1,
                    }),
                    _ => Request::Delete(DeleteRequest { path, version: -1 }),
                };
                let header = RequestHeader {
                    xid,
                    op: request.op().as_i32(),
                };
                run(
                    core,
                    Input::Request {
                        conn: 1,
                        header,
                        request,
                    },
                    log,
                );
            };
        for _ in 0..300 {
            random_write(&mut core, &mut log, &mut next);
        }

        // The snapshot starts, then every step is followed by a few writes.
        let zxid = core.tree().last_processed_zxid();
        let dir = tempfile::tempdir().unwrap();
        let mut file = SnapshotFile::create(dir.path(), zxid, false).unwrap();
        core.begin_snapshot_for_test(1 + next(400) as usize);
        let mut ended = false;
        let mut end_digest = None;
        while !ended {
            core.snapshot_step();
            for effect in core.take_effects() {
                match effect {
                    Effect::SnapshotBegin { head, .. } => file.write(&head).unwrap(),
                    Effect::SnapshotBytes(bytes) => file.write(&bytes).unwrap(),
                    Effect::SnapshotEnd { digest } => {
                        end_digest = digest;
                        ended = true;
                    }
                    other => panic!("seed {seed}: unexpected {other:?}"),
                }
            }
            for _ in 0..next(6) {
                random_write(&mut core, &mut log, &mut next);
            }
        }
        let end_digest = end_digest.expect("digests are on by default");
        let path = file.finish(Some(end_digest)).unwrap();

        let mut recovered = read_snapshot(&path, TreeConfig::default()).unwrap().tree;
        for entry in log.iter().filter(|entry| entry.header.zxid > zxid.0) {
            let _ = recovered.apply(entry);
        }
        assert_eq!(dump(&recovered), dump(core.tree()), "seed {seed}");
        // The fuzzy snapshot's digest is met when replay reaches its zxid, and
        // every txn digest after it agrees with the replayed tree.
        assert!(end_digest.zxid >= zxid, "seed {seed}");
        assert_eq!(recovered.digest(), core.tree().digest(), "seed {seed}");
        assert_eq!(recovered.digest_mismatches_count(), 0, "seed {seed}");
        assert_eq!(core.tree().digest_mismatches_count(), 0, "seed {seed}");
    }
}

// --- ensemble roles -------------------------------------------------------------

/// The txn a leader commits for a learner's request.
fn leader_txn(zxid: i64, session: i64, cxid: i32, request: &Request) -> Arc<TxnEntry> {
    let tree = DataTree::new(TreeConfig::default());
    let mut pending = Default::default();
    let context = RequestContext {
        session: SessionId(session),
        cxid,
        auth: &[],
        zxid: Zxid(zxid),
        time_ms: 1_700_000_000_000,
    };
    Arc::new(match request {
        Request::CloseSession | Request::Create(_) => {
            tree.prepare(&mut pending, context, request).unwrap()
        }
        _ => unreachable!("only the requests these tests forward"),
    })
}

fn create_session_txn(zxid: i64, session: i64) -> Arc<TxnEntry> {
    let tree = DataTree::new(TreeConfig::default());
    Arc::new(tree.prepare_create_session(
        &Default::default(),
        RequestContext {
            session: SessionId(session),
            cxid: 0,
            auth: &[],
            zxid: Zxid(zxid),
            time_ms: 1_700_000_000_000,
        },
        10_000,
    ))
}

impl Harness {
    /// Learner: opens a session through the leader; returns its id.
    fn learner_connect(&mut self, conn: u64, zxid: i64) -> i64 {
        let peer: SocketAddr = format!("127.0.0.1:{}", 40_000 + conn).parse().unwrap();
        self.input(Input::Accepted { conn, peer });
        let effects = self.input(Input::Connect {
            conn,
            request: ConnectRequest {
                time_out: 10_000,
                passwd: vec![0; 16],
                ..Default::default()
            },
        });
        let [Seen::Forward {
            session,
            cxid: 0,
            op: -10,
        }] = effects[..]
        else {
            panic!("a forwarded createSession: {effects:?}");
        };
        assert_eq!(
            session >> 56,
            2,
            "the learner's id is the session id's top byte"
        );
        let effects = self.input(Input::Committed {
            txn: create_session_txn(zxid, session),
        });
        assert_eq!(effects, [Seen::Connected { conn, session }]);
        session
    }
}

#[test]
fn learner_forwards_writes_and_answers_them_on_the_leaders_commit() {
    let mut harness =
        Harness::with_role(100_000, Role::Learner, DataTree::new(TreeConfig::default()));
    let session = harness.learner_connect(1, 0x1_0000_0001);
    let other = harness.learner_connect(2, 0x1_0000_0002);
    assert_eq!(
        harness.request(1, 7, create("/x", 0, Acl::open_unsafe())),
        [Seen::Forward {
            session,
            cxid: 7,
            op: 1
        }]
    );
    // The session's read waits behind its forwarded write; the other session's does not.
    assert_eq!(harness.request(1, 8, get_data("/x", false)), []);
    assert_eq!(
        harness.request(2, 1, exists("/x", true)),
        [Seen::Reply {
            conn: 2,
            xid: 1,
            err: -101
        }]
    );
    // Another server's commit first: applied, nobody here answered.
    let remote = leader_txn(
        0x1_0000_0003,
        0x0300_0000_0000_0001,
        1,
        &create("/y", 0, Acl::open_unsafe()),
    );
    assert_eq!(harness.input(Input::Committed { txn: remote }), []);
    let ours = leader_txn(
        0x1_0000_0004,
        session,
        7,
        &create("/x", 0, Acl::open_unsafe()),
    );
    assert_eq!(
        harness.input(Input::Committed { txn: ours }),
        [
            Seen::Event {
                conn: 2,
                path: "/x".into()
            },
            Seen::Reply {
                conn: 1,
                xid: 7,
                err: 0
            },
            Seen::Reply {
                conn: 1,
                xid: 8,
                err: 0
            },
        ]
    );
    assert_eq!(
        harness.core.tree().last_processed_zxid(),
        Zxid(0x1_0000_0004)
    );
    let _ = other;
}

#[test]
fn learner_sync_waits_for_the_leaders_sync() {
    let mut harness =
        Harness::with_role(100_000, Role::Learner, DataTree::new(TreeConfig::default()));
    let session = harness.learner_connect(1, 0x1_0000_0001);
    let sync = Request::Sync(crate::zookeeper::jute::proto::SyncRequest { path: "/".into() });
    assert_eq!(
        harness.request(1, 3, sync),
        [Seen::Forward {
            session,
            cxid: 3,
            op: 9
        }]
    );
    assert_eq!(harness.request(1, 4, exists("/", false)), []);
    assert_eq!(
        harness.input(Input::SyncReleased),
        [
            Seen::Reply {
                conn: 1,
                xid: 3,
                err: 0
            },
            Seen::Reply {
                conn: 1,
                xid: 4,
                err: 0
            }
        ]
    );
}

#[test]
fn learner_never_expires_sessions_and_reports_touches() {
    let mut harness =
        Harness::with_role(100_000, Role::Learner, DataTree::new(TreeConfig::default()));
    let session = harness.learner_connect(1, 0x1_0000_0001);
    harness.request(1, 1, exists("/", false));
    harness.now_ms = 10_000_000;
    assert_eq!(harness.input(Input::Tick), []);
    assert_eq!(
        harness.core.take_session_touches(),
        [SessionTouch {
            session_id: SessionId(session),
            timeout_ms: 10_000
        }]
    );
    assert!(harness.core.take_session_touches().is_empty());
    // The leader expires it: its closeSession closes the client here.
    let close = leader_txn(0x1_0000_0002, session, 0, &Request::CloseSession);
    assert_eq!(
        harness.input(Input::Committed { txn: close }),
        [Seen::Close(1)]
    );
}

#[test]
fn learner_revalidates_a_reconnect_through_the_leader() {
    let mut harness =
        Harness::with_role(100_000, Role::Learner, DataTree::new(TreeConfig::default()));
    let session = 0x0100_0000_0000_0001i64;
    let peer: SocketAddr = "127.0.0.1:40009".parse().unwrap();
    harness.input(Input::Accepted { conn: 9, peer });
    let effects = harness.input(Input::Connect {
        conn: 9,
        request: ConnectRequest {
            time_out: 10_000,
            session_id: session,
            passwd: session_password(session),
            ..Default::default()
        },
    });
    assert_eq!(effects, [Seen::Revalidate(session)]);
    assert_eq!(
        harness.input(Input::Revalidated {
            session: SessionId(session),
            valid: true
        }),
        [Seen::Connected { conn: 9, session }]
    );
    harness.input(Input::Accepted { conn: 10, peer });
    harness.input(Input::Connect {
        conn: 10,
        request: ConnectRequest {
            time_out: 10_000,
            session_id: session + 1,
            passwd: session_password(session + 1),
            ..Default::default()
        },
    });
    assert_eq!(
        harness.input(Input::Revalidated {
            session: SessionId(session + 1),
            valid: false
        }),
        [
            Seen::Connected {
                conn: 10,
                session: 0
            },
            Seen::Close(10)
        ]
    );
}

#[test]
fn leader_prepares_learners_requests_in_its_epoch_and_expires_their_sessions() {
    let mut harness = Harness::with_role(
        100_000,
        Role::Leader { epoch: 5 },
        DataTree::new(TreeConfig::default()),
    );
    let learner = ServerId(3);
    let session = SessionId(0x0300_0000_0000_0001);
    let effects = harness.input(Input::LearnerCreateSession {
        learner,
        session,
        timeout_ms: 6_000,
    });
    assert_eq!(effects, [Seen::Append(0x5_0000_0001)]);
    assert_eq!(harness.durable(0x5_0000_0001), []);
    let effects = harness.input(Input::LearnerRequest {
        learner,
        session,
        cxid: 1,
        request: create("/from-learner", 0, Acl::open_unsafe()),
        auth: Vec::new(),
    });
    assert_eq!(effects, [Seen::Append(0x5_0000_0002)]);
    assert_eq!(harness.durable(0x5_0000_0002), []);
    assert!(harness.core.tree().node("/from-learner").is_some());
    // Touches keep it alive; silence expires it.
    harness.now_ms = 5_000;
    harness.input(Input::TouchSessions {
        touches: vec![SessionTouch {
            session_id: session,
            timeout_ms: 6_000,
        }],
    });
    harness.now_ms = 9_000;
    assert_eq!(harness.input(Input::Tick), []);
    assert_eq!(
        harness.input(Input::Revalidate {
            learner,
            session,
            timeout_ms: 6_000
        }),
        [Seen::RevalidateReply {
            learner: 3,
            session: session.0,
            valid: true
        }]
    );
    harness.now_ms = 40_000;
    assert_eq!(harness.input(Input::Tick), [Seen::Append(0x5_0000_0003)]);
}

#[test]
fn leader_gives_up_its_epoch_before_the_zxid_counter_wraps() {
    let mut tree = DataTree::new(TreeConfig::default());
    tree.set_last_processed_zxid(Zxid(0x5_ffff_fffd));
    let mut harness = Harness::with_role(100_000, Role::Leader { epoch: 5 }, tree);
    let learner = ServerId(3);
    let session = SessionId(0x0300_0000_0000_0001);
    assert_eq!(
        harness.input(Input::LearnerCreateSession {
            learner,
            session,
            timeout_ms: 6_000
        }),
        [Seen::Append(0x5_ffff_fffe)]
    );
    let effects = harness.input(Input::LearnerCreateSession {
        learner,
        session: SessionId(session.0 + 1),
        timeout_ms: 6_000,
    });
    assert_eq!(effects[0], Seen::EpochExhausted);
}

#[test]
fn leader_refuses_a_write_through_a_server_the_session_left() {
    let mut harness = Harness::with_role(
        100_000,
        Role::Leader { epoch: 5 },
        DataTree::new(TreeConfig::default()),
    );
    let session = SessionId(0x0300_0000_0000_0001);
    harness.input(Input::LearnerCreateSession {
        learner: ServerId(3),
        session,
        timeout_ms: 6_000,
    });
    harness.durable(0x5_0000_0001);
    // The client moves to server 2, which revalidates it with the leader.
    assert_eq!(
        harness.input(Input::Revalidate {
            learner: ServerId(2),
            session,
            timeout_ms: 6_000
        }),
        [Seen::RevalidateReply {
            learner: 2,
            session: session.0,
            valid: true
        }]
    );
    // Server 3 still forwards an old request of that session: SessionMoved, as an
    // error txn every server logs.
    let effects = harness.input(Input::LearnerRequest {
        learner: ServerId(3),
        session,
        cxid: 4,
        request: create("/late", 0, Acl::open_unsafe()),
        auth: Vec::new(),
    });
    assert_eq!(effects, [Seen::Append(0x5_0000_0002)]);
    harness.durable(0x5_0000_0002);
    assert!(harness.core.tree().node("/late").is_none());
    // Through its new server the write goes through.
    harness.input(Input::LearnerRequest {
        learner: ServerId(2),
        session,
        cxid: 5,
        request: create("/late", 0, Acl::open_unsafe()),
        auth: Vec::new(),
    });
    harness.durable(0x5_0000_0003);
    assert!(harness.core.tree().node("/late").is_some());
    // An unknown session's request is refused too (SessionExpired).
    let effects = harness.input(Input::LearnerRequest {
        learner: ServerId(2),
        session: SessionId(0x0200_0000_0000_0042),
        cxid: 1,
        request: create("/ghost", 0, Acl::open_unsafe()),
        auth: Vec::new(),
    });
    assert_eq!(effects, [Seen::Append(0x5_0000_0004)]);
    harness.durable(0x5_0000_0004);
    assert!(harness.core.tree().node("/ghost").is_none());
}

#[test]
fn learner_answers_a_refused_forward_with_the_leaders_error() {
    let mut harness =
        Harness::with_role(100_000, Role::Learner, DataTree::new(TreeConfig::default()));
    let session = harness.learner_connect(1, 0x1_0000_0001);
    harness.request(1, 9, create("/x", 0, Acl::open_unsafe()));
    let moved = Arc::new(TxnEntry {
        header: crate::zookeeper::jute::TxnHeader {
            client_id: session,
            cxid: 9,
            zxid: 0x1_0000_0002,
            time: 1_700_000_000_000,
            op: crate::zookeeper::jute::OpCode::Error.as_i32(),
        },
        body: crate::zookeeper::jute::TxnBody::Error(crate::zookeeper::jute::txn::ErrorTxn {
            err: -118,
        }),
        digest: None,
    });
    assert_eq!(
        harness.input(Input::Committed { txn: moved }),
        [Seen::Reply {
            conn: 1,
            xid: 9,
            err: -118
        }]
    );
}

/// A SASL DIGEST-MD5 login (as zkCli's Java client runs it) gives the connection
/// `sasl:alice`, which a `sasl` ACL then admits; a bad response is AUTHFAILED and
/// closes the connection.
#[test]
fn sasl_login_grants_the_sasl_id_and_a_bad_one_closes() {
    use crate::zookeeper::jute::proto::{GetSaslRequest, SetSaslResponse};
    use crate::zookeeper::jute::Id;
    use crate::zookeeper::tree::auth::SaslUsers;
    use md5::{Digest, Md5};

    let mut tree_config = TreeConfig::default();
    tree_config.auth.sasl_enabled = true;
    tree_config.auth.sasl_users = Some(SaslUsers(
        [("alice".to_string(), "alice-secret".to_string())].into(),
    ));
    let mut harness = Harness::with_role(100_000, Role::Standalone, DataTree::new(tree_config));
    harness.connect(1);
    harness.connect(2);
    // The raw token of a SASL reply.
    let sasl = |harness: &mut Harness, conn: u64, xid: i32, token: Vec<u8>| -> (i32, Vec<u8>) {
        let request = Request::Sasl(GetSaslRequest { token });
        harness.core.handle(
            Input::Request {
                conn,
                header: RequestHeader {
                    xid,
                    op: request.op().as_i32(),
                },
                request,
            },
            at(harness.now_ms),
        );
        for effect in harness.core.take_effects() {
            if let Effect::Send { frame, .. } = effect {
                let mut decoder = Decoder::with_default_limit(&frame[4..]);
                let header = ReplyHeader::read(&mut decoder).unwrap();
                if header.err != 0 {
                    return (header.err, Vec::new());
                }
                return (0, SetSaslResponse::read(&mut decoder).unwrap().token);
            }
        }
        panic!("no SASL reply");
    };
    let (err, challenge) = sasl(&mut harness, 1, 1, Vec::new());
    assert_eq!(err, 0);
    let challenge = String::from_utf8(challenge).unwrap();
    let nonce = challenge
        .split(',')
        .find_map(|part| part.strip_prefix("nonce=\""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut a1 = Md5::digest(b"alice:zk-sasl-md5:alice-secret").to_vec();
    a1.extend_from_slice(format!(":{nonce}:cn").as_bytes());
    let ha1 = hex(&Md5::digest(&a1));
    let ha2 = hex(&Md5::digest(b"AUTHENTICATE:zookeeper/zk-sasl-md5"));
    let response = hex(&Md5::digest(
        format!("{ha1}:{nonce}:00000001:cn:auth:{ha2}").as_bytes(),
    ));
    let token = format!("username=\"alice\",realm=\"zk-sasl-md5\",nonce=\"{nonce}\",nc=00000001,cnonce=\"cn\",digest-uri=\"zookeeper/zk-sasl-md5\",response={response},qop=auth");
    let (err, rspauth) = sasl(&mut harness, 1, 2, token.into_bytes());
    assert_eq!(err, 0);
    assert!(rspauth.starts_with(b"rspauth="));

    // alice's node: alice reads it, connection 2 (no SASL) may not.
    let acl = vec![Acl::new(perms::ALL, Id::new("sasl", "alice"))];
    let append = harness.request(1, 3, create("/mine", 0, acl));
    let [Seen::Append(zxid)] = append[..] else {
        panic!("{append:?}")
    };
    harness.durable(zxid);
    assert_eq!(
        harness.request(1, 4, get_data("/mine", false)),
        [Seen::Reply {
            conn: 1,
            xid: 4,
            err: 0
        }]
    );
    assert_eq!(
        harness.request(2, 1, get_data("/mine", false)),
        [Seen::Reply {
            conn: 2,
            xid: 1,
            err: -102
        }]
    );

    // A wrong response: AUTHFAILED, then the connection closes.
    sasl(&mut harness, 2, 2, Vec::new());
    let bad = Request::Sasl(GetSaslRequest {
        token: b"username=\"alice\",nonce=\"x\",nc=00000001,cnonce=\"c\",digest-uri=\"zookeeper/zk-sasl-md5\",response=00".to_vec(),
    });
    let seen = harness.request(2, 3, bad);
    assert_eq!(
        seen,
        [
            Seen::Reply {
                conn: 2,
                xid: 3,
                err: -115
            },
            Seen::Close(2)
        ]
    );
}

/// `enforce.auth.enabled` with `enforce.auth.schemes=digest`: a connection without a
/// digest id gets SESSIONCLOSEDREQUIRESASLAUTH for its first request and is closed,
/// as Apache's AuthenticationHelper does; `auth` itself is always allowed, and after
/// it the connection is served.
#[test]
fn enforced_authentication_closes_connections_without_the_scheme() {
    let mut tree_config = TreeConfig::default();
    tree_config.auth.enforced_schemes = Some(vec!["digest".to_string()]);
    let mut harness = Harness::with_role(100_000, Role::Standalone, DataTree::new(tree_config));
    harness.connect(1);
    harness.connect(2);
    assert_eq!(
        harness.request(1, 1, get_data("/", false)),
        [
            Seen::Reply {
                conn: 1,
                xid: 1,
                err: -124
            },
            Seen::Close(1)
        ]
    );
    let auth = Request::Auth(AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: b"reader:secret".to_vec(),
    });
    assert_eq!(
        harness.request(2, -4, auth),
        [Seen::Reply {
            conn: 2,
            xid: -4,
            err: 0
        }]
    );
    assert_eq!(
        harness.request(2, 2, get_data("/", false)),
        [Seen::Reply {
            conn: 2,
            xid: 2,
            err: 0
        }]
    );
}
