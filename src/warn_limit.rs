//! Warnings about a peer or client that would otherwise repeat for every
//! request or connection (a client retrying with a wrong password, a flood of
//! connections over the limit, a topic name a client asks for on every
//! metadata refresh): each (kind, key) is logged at its 1st, 2nd, 4th, 8th...
//! occurrence with the count, so the log names every offender at once and a
//! persistent one costs a line per doubling, not a line per request.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Keys remembered at most; when full the counts start over (an offender is
/// then named once more).
const KEYS_MAX: usize = 4096;

static OCCURRENCES: OnceLock<Mutex<HashMap<(&'static str, String), u64>>> = OnceLock::new();

/// Counts one occurrence of `kind` for `key` (a peer address, a client id, a
/// topic); `Some(count)` when this one should be logged.
pub fn occurrence(kind: &'static str, key: &str) -> Option<u64> {
    let mut occurrences = OCCURRENCES
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if occurrences.len() >= KEYS_MAX && !occurrences.contains_key(&(kind, key.to_string())) {
        occurrences.clear();
    }
    let count = occurrences.entry((kind, key.to_string())).or_insert(0);
    *count += 1;
    count.is_power_of_two().then_some(*count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_at_each_doubling_per_key() {
        let logged: Vec<u64> = (0..20)
            .filter_map(|_| occurrence("test-doubling", "10.0.0.1"))
            .collect();
        assert_eq!(logged, vec![1, 2, 4, 8, 16]);
        assert_eq!(occurrence("test-doubling", "10.0.0.2"), Some(1));
        assert_eq!(occurrence("test-other-kind", "10.0.0.1"), Some(1));
    }
}
