//! Tests for the election state machine: `script` is an etcd-raft style runner
//! (inputs in, the exact actions out) and `cases` its scripts against one server;
//! `scenarios` wires a few servers together with a hand-driven network; `sim` is
//! the seeded randomized network with crashes.

mod cases;
mod scenarios;
mod script;
mod sim;
