//! Data-driven election scripts, in the manner of etcd-raft's `testdata`: each
//! unindented line is an input to one server, and the indented lines under it are
//! exactly the actions that input must produce, in order.
//!
//! ```text
//! server me=1 voters=1,2,3 observers=4      # construct (config "version=0")
//! start t=0 zxid=1:5 epoch=1                # start_looking
//!   send to=2 LOOKING leader=1 zxid=1:5 round=1 epoch=1
//! recv t=5 from=2 LOOKING leader=2 zxid=1:5 round=1 epoch=1 [version=2] [config=1]
//! tick t=205
//!   decided LEADING leader=2 zxid=1:5 round=1 epoch=1
//! synced epoch=2                            # update_election_vote
//! state                                     # prints the line below
//!   state=LEADING round=1 deadline=none current=leader=2 zxid=1:5 round=1 epoch=2
//! ```
//!
//! Zxids are written `epoch:counter`; `MIN` is `Long.MIN_VALUE` (an observer's
//! vote). `config=<hex>` sends the config text `version=<hex>`; `config=bad` sends
//! bytes that are not UTF-8; without it the peer sends version 0. Sends are
//! rendered without their version and config: every one carries version 2 and the
//! server's own config bytes, which the runner checks separately.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::zookeeper::quorum::election::{
    ElectionAction, ElectionConfig, ElectionWarning, FastLeaderElection, NOTIFICATION_VERSION,
};
use crate::zookeeper::quorum::message::{Epoch, Notification, ServerId, ServerState, Vote};
use crate::zookeeper::tree::Zxid;

pub(super) fn config_text(version: i64) -> Arc<[u8]> {
    Arc::from(format!("server.1=127.0.0.1:2888:3888:participant\nversion={version:x}").as_bytes())
}

fn render_number(value: i64) -> String {
    if value == i64::MIN {
        "MIN".to_string()
    } else {
        value.to_string()
    }
}

fn render_zxid(zxid: Zxid) -> String {
    if zxid.0 == i64::MIN {
        "MIN".to_string()
    } else if zxid.0 < 0 {
        zxid.0.to_string()
    } else {
        format!("{}:{}", zxid.epoch(), zxid.counter())
    }
}

pub(super) fn render_vote(vote: &Vote) -> String {
    format!(
        "leader={} zxid={} round={} epoch={}",
        render_number(vote.leader.0),
        render_zxid(vote.zxid),
        render_number(vote.election_epoch),
        render_number(vote.peer_epoch)
    )
}

pub(super) fn render_state(state: ServerState) -> &'static str {
    match state {
        ServerState::Looking => "LOOKING",
        ServerState::Following => "FOLLOWING",
        ServerState::Leading => "LEADING",
        ServerState::Observing => "OBSERVING",
    }
}

pub(super) fn render_action(action: &ElectionAction) -> String {
    match action {
        ElectionAction::Send { to, notification } => format!(
            "send to={} {} {}",
            to,
            render_state(notification.state),
            render_vote(&notification.vote)
        ),
        ElectionAction::Decided { state, vote } => {
            format!("decided {} {}", render_state(*state), render_vote(vote))
        }
        ElectionAction::ReconnectAll => "reconnect-all".to_string(),
        ElectionAction::Warning(ElectionWarning::ConfigVersionDiffers {
            from,
            received_version,
            my_version,
        }) => {
            format!("warn config-version from={from} received={received_version} mine={my_version}")
        }
        ElectionAction::Warning(ElectionWarning::ConfigUnreadable { from }) => {
            format!("warn config-unreadable from={from}")
        }
    }
}

fn parse_number(text: &str) -> i64 {
    if text == "MIN" {
        return i64::MIN;
    }
    text.parse()
        .unwrap_or_else(|_| panic!("not a number: {text}"))
}

fn parse_zxid(text: &str) -> Zxid {
    match text.split_once(':') {
        Some((epoch, counter)) => Zxid::new(
            epoch.parse().expect("zxid epoch"),
            counter.parse().expect("zxid counter"),
        ),
        None => Zxid(parse_number(text)),
    }
}

fn parse_ids(text: &str) -> Vec<ServerId> {
    text.split(',')
        .filter(|id| !id.is_empty())
        .map(|id| ServerId(parse_number(id)))
        .collect()
}

fn parse_state(text: &str) -> ServerState {
    match text {
        "LOOKING" => ServerState::Looking,
        "FOLLOWING" => ServerState::Following,
        "LEADING" => ServerState::Leading,
        "OBSERVING" => ServerState::Observing,
        other => panic!("unknown state {other}"),
    }
}

/// One input line: its command word, bare words and `key=value` arguments.
struct Command<'a> {
    word: &'a str,
    bare: Vec<&'a str>,
    arguments: BTreeMap<&'a str, &'a str>,
}

impl<'a> Command<'a> {
    fn parse(line: &'a str) -> Command<'a> {
        let mut tokens = line.split_whitespace();
        let word = tokens.next().expect("empty command");
        let mut bare = Vec::new();
        let mut arguments = BTreeMap::new();
        for token in tokens {
            match token.split_once('=') {
                Some((key, value)) => {
                    arguments.insert(key, value);
                }
                None => bare.push(token),
            }
        }
        Command {
            word,
            bare,
            arguments,
        }
    }

    fn get(&self, key: &str) -> &'a str {
        self.arguments
            .get(key)
            .unwrap_or_else(|| panic!("`{}` needs {key}=", self.word))
    }

    fn time_ms(&self) -> u64 {
        self.get("t").parse().expect("t= in ms")
    }
}

/// Runs a script; on the first mismatch panics with the whole trace so far.
pub(super) fn run_script(script: &str) {
    let mut election: Option<FastLeaderElection> = None;
    let mut trace = String::new();
    let lines: Vec<&str> = script.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].split('#').next().unwrap_or("").trim_end();
        index += 1;
        if line.trim().is_empty() {
            continue;
        }
        assert!(
            !line.starts_with(' '),
            "expected output with no input before it: {line}\n{trace}"
        );
        let mut expected = Vec::new();
        while index < lines.len() {
            let next = lines[index].split('#').next().unwrap_or("").trim_end();
            if !next.starts_with(' ') && !next.trim().is_empty() {
                break;
            }
            if !next.trim().is_empty() {
                expected.push(next.trim().to_string());
            }
            index += 1;
        }
        let command = Command::parse(line);
        let actual: Vec<String> = match command.word {
            "server" => {
                let my_id = ServerId(parse_number(command.get("me")));
                let voters = parse_ids(command.get("voters"));
                let observers = command
                    .arguments
                    .get("observers")
                    .map(|ids| parse_ids(ids))
                    .unwrap_or_default();
                let version = command
                    .arguments
                    .get("version")
                    .map(|hex| i64::from_str_radix(hex, 16).expect("hex version"))
                    .unwrap_or(0);
                let config = ElectionConfig::new(my_id, voters, observers, config_text(version))
                    .expect("script config");
                election = Some(FastLeaderElection::new(config));
                Vec::new()
            }
            "state" => {
                let election = election.as_ref().expect("no server yet");
                let deadline = election
                    .next_deadline_ms()
                    .map(|deadline| deadline.to_string())
                    .unwrap_or_else(|| "none".to_string());
                let current = election
                    .current_vote()
                    .map(|vote| render_vote(&vote))
                    .unwrap_or_else(|| "none".to_string());
                vec![format!(
                    "state={} round={} deadline={} current={}",
                    render_state(election.state()),
                    election.logical_clock(),
                    deadline,
                    current
                )]
            }
            "synced" => {
                let epoch: u32 = command.get("epoch").parse().expect("epoch");
                election
                    .as_mut()
                    .expect("no server yet")
                    .update_election_vote(Epoch(epoch));
                Vec::new()
            }
            word => {
                let election = election.as_mut().expect("no server yet");
                let actions = match word {
                    "start" => election.start_looking(
                        command.time_ms(),
                        parse_zxid(command.get("zxid")),
                        Epoch(command.get("epoch").parse().expect("epoch")),
                    ),
                    "tick" => election.tick(command.time_ms()),
                    "recv" => {
                        let from = ServerId(parse_number(command.get("from")));
                        let state = parse_state(command.bare.first().expect("recv needs a state"));
                        let config = command.arguments.get("config").map(|value| {
                            if *value == "bad" {
                                Arc::from(&[0xffu8, 0xfe][..])
                            } else {
                                config_text(i64::from_str_radix(value, 16).expect("hex"))
                            }
                        });
                        let version = command
                            .arguments
                            .get("version")
                            .map(|text| text.parse().expect("version"))
                            .unwrap_or(NOTIFICATION_VERSION);
                        let notification = Notification {
                            state,
                            vote: Vote {
                                leader: ServerId(parse_number(command.get("leader"))),
                                zxid: parse_zxid(command.get("zxid")),
                                election_epoch: parse_number(command.get("round")),
                                peer_epoch: parse_number(command.get("epoch")),
                            },
                            version,
                            config: config.or_else(|| {
                                (version >= NOTIFICATION_VERSION).then(|| config_text(0))
                            }),
                        };
                        election.receive(command.time_ms(), from, notification)
                    }
                    other => panic!("unknown command {other}"),
                };
                for action in &actions {
                    if let ElectionAction::Send { notification, .. } = action {
                        assert_eq!(notification.version, NOTIFICATION_VERSION);
                        assert_eq!(
                            notification.config.as_deref(),
                            Some(&*election.config().config_bytes)
                        );
                    }
                }
                actions.iter().map(render_action).collect()
            }
        };
        trace.push_str(line);
        trace.push('\n');
        for action in &actual {
            trace.push_str("  ");
            trace.push_str(action);
            trace.push('\n');
        }
        assert_eq!(
            actual, expected,
            "after `{line}`\n--- trace so far (actual) ---\n{trace}"
        );
    }
}
