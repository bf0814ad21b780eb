//! The `keel` binary's entry points: argument handling and one-line config errors.

use std::process::Command;

fn keel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keel"))
}

fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("keel runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The lines keel itself printed (not tracing's log lines).
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("keel: "))
        .collect()
}

#[test]
fn help_lists_the_three_entry_points() {
    let (code, stdout, _) = run(keel().arg("--help"));
    assert_eq!(code, 0);
    for command in ["zookeeper", "kafka", "standalone"] {
        assert!(stdout.contains(command), "{stdout}");
    }
}

#[test]
fn missing_config_file_is_one_clear_line() {
    let (code, _, stderr) = run(keel().args(["zookeeper", "/nonexistent/zoo.cfg"]));
    assert_ne!(code, 0);
    let lines = error_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("keel: /nonexistent/zoo.cfg: cannot read"),
        "{stderr}"
    );
}

#[test]
fn zoo_cfg_error_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zoo.cfg");
    std::fs::write(&path, "dataDir=/tmp/x\nclientPort=21o1\n").unwrap();
    let (code, _, stderr) = run(keel().arg("zookeeper").arg(&path));
    assert_ne!(code, 0);
    let lines = error_lines(&stderr);
    assert_eq!(
        lines,
        vec![format!(
            "keel: {}:2: clientPort: expected a number, found \"21o1\"",
            path.display()
        )]
    );
}

#[test]
fn ensemble_without_myid_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zoo.cfg");
    let text = format!(
        "dataDir={}\nclientPort=2181\ninitLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n",
        dir.path().display()
    );
    std::fs::write(&path, text).unwrap();
    let (code, _, stderr) = run(keel().arg("zookeeper").arg(&path));
    assert_ne!(code, 0);
    assert_eq!(
        error_lines(&stderr),
        vec![format!(
            "keel: {}: myid file is missing",
            dir.path().join("myid").display()
        )]
    );
}

#[test]
fn server_properties_error_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.properties");
    std::fs::write(&path, "broker.id=1\n\nnum.partitions=many\n").unwrap();
    let (code, _, stderr) = run(keel().arg("kafka").arg(&path));
    assert_ne!(code, 0);
    assert_eq!(
        error_lines(&stderr),
        vec![format!(
            "keel: {}:3: num.partitions: expected a number, found \"many\"",
            path.display()
        )]
    );
}

#[test]
fn override_error_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.properties");
    std::fs::write(&path, "broker.id=1\n").unwrap();
    let (code, _, stderr) = run(keel()
        .arg("kafka")
        .arg(&path)
        .args(["--override", "broker.id=x"]));
    assert_ne!(code, 0);
    assert_eq!(
        error_lines(&stderr),
        vec![format!(
            "keel: {}: broker.id: expected a number, found \"x\"",
            path.display()
        )]
    );
    let (code, _, stderr) = run(keel()
        .arg("kafka")
        .arg(&path)
        .args(["--override", "novalue"]));
    assert_eq!(code, 2, "{stderr}");
}

/// Runs `keel zookeeper` on a client port that is taken (so it logs its start
/// and stops) with the given logging environment; its stderr.
fn zookeeper_start_log(keel_log: &str) -> String {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zoo.cfg");
    std::fs::write(
        &path,
        format!(
            "dataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let (code, _, stderr) = run(keel()
        .arg("zookeeper")
        .arg(&path)
        .env("KEEL_LOG_FORMAT", "json")
        .env("KEEL_LOG", keel_log));
    assert_ne!(code, 0, "the client port is taken: {stderr}");
    stderr
}

/// `KEEL_LOG_FORMAT=json`: one JSON object per log line, with the level, the
/// target and the message; `KEEL_LOG` sets levels per module at start.
#[test]
fn json_logs_with_levels_per_module() {
    let records = |stderr: &str| -> Vec<serde_json::Value> {
        stderr
            .lines()
            .filter(|line| !line.starts_with("keel: "))
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect()
    };
    let info_from = |records: &[serde_json::Value], target: &str| {
        records
            .iter()
            .filter(|record| record["level"] == "INFO" && record["target"] == target)
            .count()
    };
    let stderr = zookeeper_start_log("warn,keel::cli=info");
    let logged = records(&stderr);
    assert!(
        logged.iter().any(|record| record["target"] == "keel::cli"
            && record["fields"]["message"] == "zookeeper configuration read"
            && record["timestamp"].is_string()),
        "{stderr}"
    );
    assert!(
        logged
            .iter()
            .all(|record| record["level"] != "INFO" || record["target"] == "keel::cli"),
        "only keel::cli logs at INFO: {stderr}"
    );
    let quiet = records(&zookeeper_start_log("warn"));
    assert_eq!(info_from(&quiet, "keel::cli"), 0);
}
