//! Unit tests of the replication core.
