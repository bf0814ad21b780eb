//! Seeded deterministic simulation of Kafka replication (tests only).
