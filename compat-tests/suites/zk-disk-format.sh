# needs: none
# clients: keel-writes-apache-reads apache-writes-keel-reads
# timeout: 900
#
# zk-disk-format: keel's txn logs and snapshots against Apache ZooKeeper 3.9's own, in
# both directions (issue 3, "Durability"). Independent of --target: it starts Apache
# itself and drives keel's persistence code through two env-gated unit tests
# (src/zookeeper/persistence/tests/compat.rs), so it needs cargo and Java.
#
#   keel-writes-apache-reads: keel writes a data dir (snapshot.0, a log, a roll, a
#     snapshot, a second log: creates, sets, deletes, sequential, ephemerals of a live
#     and of a closed session, digest/ip/read-only ACLs, setACL, a container, a multi,
#     a failed request). Apache's TxnLogToolkit and SnapshotFormatter must read every
#     file (they check each checksum); then Apache 3.9 starts on the dir and every
#     node, its data, Stat and ACL as Apache serves them must equal keel's dump, and
#     Apache's `dump` four-letter word must list the live session's ephemerals.
#   apache-writes-keel-reads: Apache 3.9 (snapCount=20, so fuzzy snapshots and several
#     logs) is written to by zkCli and by DiskFormatCheck, which dumps the tree and dies
#     without closing its session; Apache is killed with SIGKILL; keel's `recover` must
#     rebuild exactly that tree, with the live session.
#
# Run by hand (no runner needed):
#   bash compat-tests/suites/zk-disk-format.sh

set -u
if ! declare -F report >/dev/null; then
  COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  for f in common fetch zookeeper; do . "$COMPAT_DIR/lib/$f.sh"; done
fi
SUITE_WORK=${SUITE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/zk-disk-format.XXXXXX")}
DISK_JAVA="$COMPAT_DIR/java/zk/DiskFormatCheck.java"
DISK_PIDS=()

disk_cleanup() {
  local pid
  for pid in "${DISK_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  DISK_PIDS=()
}
trap disk_cleanup EXIT

FAILS=""
fail() { echo "  FAIL $*"; FAILS="$FAILS; $*"; }
pass() { echo "  ok   $*"; }

# disk_rust_test NAME VAR DIR: runs one env-gated persistence test with VAR=DIR.
disk_rust_test() {
  local name=$1 var=$2 dir=$3
  (cd "$REPO_DIR" && export "$var=$dir" && timeout_run 900 cargo test -q --lib \
      "zookeeper::persistence::tests::compat::$name" -- --exact --nocapture) \
    >"$SUITE_WORK/cargo-$name.log" 2>&1
}

# disk_apache_start DIR [EXTRA_CFG_LINE...]: starts Apache 3.9 on DIR; sets DISK_PORT.
disk_apache_start() {
  local dir=$1 cp line
  shift
  cp=$(maven_classpath zookeeper-3.9) || return 1
  DISK_PORT=$(free_port)
  {
    echo "tickTime=2000"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "dataDir=$dir"
    echo "clientPort=$DISK_PORT"
    echo "clientPortAddress=127.0.0.1"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=*"
    echo "maxSessionTimeout=120000"
    for line in "$@"; do echo "$line"; done
  } >"$dir.zoo.cfg"
  # shellcheck disable=SC2086
  java $ZK_SERVER_JAVA_OPTS -cp "$cp" -Dzookeeper.admin.enableServer=false \
    -Dorg.slf4j.simpleLogger.logFile=System.out \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir.zoo.cfg" \
    >>"$dir.server.log" 2>&1 </dev/null &
  DISK_PIDS+=($!)
  DISK_APACHE_PID=$!
  local waited=0
  until zk_4lw "$DISK_PORT" srvr | grep -q '^Mode: standalone'; do
    if ! kill -0 "$DISK_APACHE_PID" 2>/dev/null || [ "$waited" -ge 300 ]; then
      echo "  Apache did not come up on $dir; last lines of its log:"
      tail -n 30 "$dir.server.log" | sed 's/^/      | /'
      return 1
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

disk_apache_kill() {
  kill -9 "$DISK_APACHE_PID" 2>/dev/null
  wait "$DISK_APACHE_PID" 2>/dev/null
}

# disk_java MODE CONNECT OUT: runs DiskFormatCheck (compiled once) with a time limit.
disk_java() {
  local cp
  cp=$(zk_java_build zookeeper-3.9 "$DISK_JAVA") || return 1
  # shellcheck disable=SC2086
  timeout_run 120 java $ZK_CLIENT_JAVA_OPTS -cp "$cp" DiskFormatCheck "$@"
}

# disk_compare WHAT EXPECTED ACTUAL: the two dumps must be identical.
disk_compare() {
  if diff -u "$2" "$3" >"$SUITE_WORK/diff.out"; then
    pass "$1 ($(wc -l <"$2") nodes identical)"
  else
    fail "$1 differs:"
    sed 's/^/      | /' "$SUITE_WORK/diff.out" | head -60
  fi
}

# --- keel writes, Apache reads ---------------------------------------------------------

keel_writes_apache_reads() {
  local dir="$SUITE_WORK/keel-wrote" cp f out
  FAILS=""
  rm -rf "$dir" "$dir".*
  mkdir -p "$dir"
  echo "== keel writes $dir, Apache 3.9 reads it"
  if ! disk_rust_test compat_write_data_dir_for_apache KEEL_ZK_DISK_WRITE_DIR "$dir"; then
    fail "keel could not write its data dir (see $SUITE_WORK/cargo-compat_write_data_dir_for_apache.log)"
    tail -n 30 "$SUITE_WORK/cargo-compat_write_data_dir_for_apache.log" | sed 's/^/      | /'
    report keel-writes-apache-reads fail "$FAILS"
    return
  fi
  ls -l "$dir/version-2" | sed 's/^/      /'
  cp=$(maven_classpath zookeeper-3.9) || return 1

  for f in "$dir"/version-2/log.*; do
    # Node data is printed raw; NUL bytes would upset the command substitution.
    out=$(timeout_run 60 java -cp "$cp" org.apache.zookeeper.server.persistence.TxnLogToolkit -d "$f" 2>&1 | tr -d '\000')
    local txns expected
    txns=$(printf '%s\n' "$out" | sed -n 's/^EOF reached after \([0-9]*\) txns.*/\1/p')
    expected=$(sed -n "s/^$(basename "$f") //p" "$dir/expected.log_counts")
    if [ -n "$txns" ] && [ "$txns" = "$expected" ] && ! printf '%s' "$out" | grep -qi 'crc error\|exception'; then
      pass "TxnLogToolkit reads $(basename "$f"): $txns txns, every checksum right"
    else
      fail "TxnLogToolkit on $(basename "$f") (read ${txns:-no} txns, keel wrote ${expected:-?})"
      printf '%s\n' "$out" | tail -n 20 | sed 's/^/      | /'
    fi
  done
  for f in "$dir"/version-2/snapshot.*; do
    if out=$(timeout_run 60 java -cp "$cp" org.apache.zookeeper.server.SnapshotFormatter "$f" 2>&1) \
        && ! printf '%s' "$out" | grep -qi 'crc\|exception'; then
      pass "SnapshotFormatter reads $(basename "$f"): $(printf '%s\n' "$out" | grep -c '^/') nodes"
    else
      fail "SnapshotFormatter on $(basename "$f")"
      printf '%s\n' "$out" | tail -n 20 | sed 's/^/      | /'
    fi
  done

  if disk_apache_start "$dir"; then
    if disk_java dump "127.0.0.1:$DISK_PORT" "$dir.apache.dump" \
        >"$SUITE_WORK/java-dump.log" 2>&1; then
      disk_compare "Apache serves keel's tree" "$dir/expected.dump" "$dir.apache.dump"
    else
      fail "DiskFormatCheck dump against Apache"
      tail -n 20 "$SUITE_WORK/java-dump.log" | sed 's/^/      | /'
    fi
    local session
    session=$(cat "$dir/expected.sessions")
    out=$(zk_4lw "$DISK_PORT" dump)
    if printf '%s\n' "$out" | grep -q "^$session:" \
        && printf '%s\n' "$out" | grep -A20 "^$session:" | grep -q '/stage1/ephemeral$'; then
      pass "Apache restored keel's live session $session with its ephemerals"
    else
      fail "Apache's dump lacks session $session and its ephemerals"
      printf '%s\n' "$out" | sed 's/^/      | /'
    fi
    disk_apache_kill
  else
    fail "Apache 3.9 refused to start on keel's data dir"
  fi
  if [ -z "$FAILS" ]; then
    report keel-writes-apache-reads pass "Apache tools read every file; Apache 3.9 serves the same tree"
  else
    report keel-writes-apache-reads fail "${FAILS#; }"
  fi
}

# --- Apache writes, keel reads ---------------------------------------------------------

apache_writes_keel_reads() {
  local dir="$SUITE_WORK/apache-wrote" out session="" cp
  FAILS=""
  rm -rf "$dir" "$dir".*
  mkdir -p "$dir"
  echo "== Apache 3.9 writes $dir, keel reads it"
  cp=$(maven_classpath zookeeper-3.9) || return 1
  if ! disk_apache_start "$dir" "snapCount=20"; then
    fail "Apache 3.9 did not start"
    report apache-writes-keel-reads fail "${FAILS#; }"
    return
  fi
  local zkcli=(timeout_run 60 java -cp "$cp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
    org.apache.zookeeper.ZooKeeperMain -server "127.0.0.1:$DISK_PORT")
  "${zkcli[@]}" create /zkcli hello >>"$SUITE_WORK/zkcli.log" 2>&1
  "${zkcli[@]}" create -s /zkcli/s- x >>"$SUITE_WORK/zkcli.log" 2>&1
  "${zkcli[@]}" set /zkcli world >>"$SUITE_WORK/zkcli.log" 2>&1
  if out=$(disk_java populate "127.0.0.1:$DISK_PORT" "$dir.apache.dump" 2>"$SUITE_WORK/java-populate.log"); then
    session=$(printf '%s\n' "$out" | sed -n 's/^session //p')
    pass "Apache written by zkCli and DiskFormatCheck (session $session left open)"
  else
    fail "DiskFormatCheck populate against Apache"
    tail -n 20 "$SUITE_WORK/java-populate.log" | sed 's/^/      | /'
  fi
  disk_apache_kill
  ls -l "$dir/version-2" | sed 's/^/      /'

  if disk_rust_test compat_read_apache_data_dir KEEL_ZK_DISK_READ_DIR "$dir"; then
    disk_compare "keel recovers Apache's tree" "$dir.apache.dump" "$dir/keel.dump"
    if [ -n "$session" ] && grep -q "^$session 120000\$" "$dir/keel.sessions"; then
      pass "keel recovered the open session $session (timeout 120000 ms)"
    else
      fail "keel's sessions lack $session: $(tr '\n' ' ' <"$dir/keel.sessions")"
    fi
  else
    fail "keel could not recover Apache's data dir"
    tail -n 30 "$SUITE_WORK/cargo-compat_read_apache_data_dir.log" | sed 's/^/      | /'
  fi
  if [ -z "$FAILS" ]; then
    report apache-writes-keel-reads pass "keel recovers the exact tree and sessions Apache wrote"
  else
    report apache-writes-keel-reads fail "${FAILS#; }"
  fi
}

keel_writes_apache_reads
apache_writes_keel_reads
disk_cleanup
