//! Disk work from async handlers without stalling the tokio worker they run on.
//!
//! Appends (with `flush.messages` fsyncs and segment rolls), follower appends and
//! reads of segments not in the page cache block the calling thread; on a tokio
//! worker that holds up every other connection scheduled there. The periodic duties
//! (flush, checkpoints, retention, cleaning) run on the blocking pool already; the
//! request paths use `blocking`.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `work` on this thread after telling a multi-thread runtime to hand this
/// worker's other tasks to another thread (`block_in_place`). On a current-thread
/// runtime (unit tests) or outside tokio it simply runs `work`.
pub fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_outside_a_runtime() {
        assert_eq!(blocking(|| 7), 7);
    }

    #[tokio::test]
    async fn runs_on_a_current_thread_runtime() {
        assert_eq!(blocking(|| 8), 8);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_on_a_multi_thread_runtime() {
        assert_eq!(blocking(|| 9), 9);
    }
}
