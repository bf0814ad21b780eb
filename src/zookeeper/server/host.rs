//! Facts the monitoring commands report about the host rather than the tree:
//! the sizes of the data directories, file descriptors, the host name. Reading
//! them means directory walks and `/proc`, so they are sampled on a blocking
//! thread by whoever asks (a four-letter-word connection, the AdminServer, a
//! metrics scrape) and handed to the pipeline with the command: a monitoring
//! poll never stalls the clients' requests.

use std::path::PathBuf;

/// What to sample: the server's two data directories (`dataDir/version-2`,
/// `dataLogDir/version-2`).
#[derive(Debug, Clone, Default)]
pub struct HostProbe {
    pub snapshot_dir: Option<PathBuf>,
    pub log_dir: Option<PathBuf>,
}

/// One sample. `Default` is what a command that reports none of it gets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub data_dir_bytes: u64,
    pub log_dir_bytes: u64,
    /// -1 when `/proc` cannot be read, as Apache's `UnixOperatingSystemMXBean`
    /// fallback reports.
    pub open_file_descriptors: i64,
    pub max_file_descriptors: i64,
    pub host_name: String,
    pub user_dir: String,
}

/// Whether a four-letter word or admin command reports host facts; the others
/// (`ruok` above all, which readiness probes send often) skip the sample.
pub fn needs_host_facts(command: &str) -> bool {
    matches!(
        command,
        "mntr"
            | "monitor"
            | "dirs"
            | "conf"
            | "configuration"
            | "envi"
            | "environment"
            | "server_stats"
            | "stats"
    )
}

impl HostProbe {
    /// Samples on a blocking thread; the caller's task waits, the pipeline does not.
    pub async fn sample(&self) -> HostFacts {
        let probe = self.clone();
        tokio::task::spawn_blocking(move || probe.sample_now())
            .await
            .unwrap_or_default()
    }

    /// Samples on the calling thread (blocking IO).
    pub fn sample_now(&self) -> HostFacts {
        HostFacts {
            data_dir_bytes: directory_bytes(&self.snapshot_dir),
            log_dir_bytes: directory_bytes(&self.log_dir),
            open_file_descriptors: open_file_descriptors().unwrap_or(-1),
            max_file_descriptors: max_file_descriptors().unwrap_or(-1),
            host_name: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|name| name.trim().to_string())
                .unwrap_or_else(|_| "localhost".to_string()),
            user_dir: std::env::current_dir()
                .map(|dir| dir.display().to_string())
                .unwrap_or_default(),
        }
    }
}

/// The bytes of the files directly in `dir` (Apache's `FileTxnSnapLog` sizes
/// count the files of `version-2`, not subdirectories).
fn directory_bytes(dir: &Option<PathBuf>) -> u64 {
    let Some(dir) = dir else {
        return 0;
    };
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.metadata().ok())
                .filter(|metadata| metadata.is_file())
                .map(|metadata| metadata.len())
                .sum()
        })
        .unwrap_or(0)
}

/// This process's open file descriptors (`/proc/self/fd`).
pub(super) fn open_file_descriptors() -> Option<i64> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count() as i64)
}

/// The soft limit on them (`/proc/self/limits`).
pub(super) fn max_file_descriptors() -> Option<i64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_the_files_of_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("log.1"), vec![0u8; 1000]).unwrap();
        std::fs::write(dir.path().join("snapshot.0"), vec![0u8; 24]).unwrap();
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        let probe = HostProbe {
            snapshot_dir: Some(dir.path().to_path_buf()),
            log_dir: None,
        };
        let facts = probe.sample_now();
        assert_eq!(facts.data_dir_bytes, 1024);
        assert_eq!(facts.log_dir_bytes, 0);
        assert!(facts.open_file_descriptors > 0);
        assert!(!facts.host_name.is_empty());
    }

    #[test]
    fn readiness_words_skip_the_sample() {
        assert!(!needs_host_facts("ruok"));
        assert!(needs_host_facts("mntr"));
        assert!(needs_host_facts("monitor"));
    }
}
