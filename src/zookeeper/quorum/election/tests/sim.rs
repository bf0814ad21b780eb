//! Seeded randomized network.
