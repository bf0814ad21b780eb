# needs: none
# clients: java-3.9
# timeout: 420
#
# zk-crash: ZooKeeper crash test (issue 3, "Proof": clients writing, kill -9, restart:
# every acknowledged write present, sequence counters continue, sessions that had not
# timed out resume). Starts its own standalone server of the chosen target (zk_start,
# so keel or Apache 3.9 from the same zoo.cfg) and runs java/zk/ZkCrash.java (ZooKeeper
# 3.9 client):
#   - the writer holds one session (30 s timeout) with an ephemeral node and writes
#     without pause: pipelined async creates (persistent and persistent_sequential) and
#     setData with versions, logging every acknowledged write;
#   - the suite kills the server with SIGKILL mid-stream and restarts it on the same
#     dataDir and port well within the session timeout, ZK_CRASH_ROUNDS times (default 2);
#   - the writer must reconnect with the same session and find its ephemeral (same owner);
#   - a verifier (fresh session) finds every acknowledged create/setData with its data and
#     version, every acknowledged sequential node, no sequential name acknowledged twice,
#     sequential numbers after each restart above all before, and a new sequential create
#     numbered after every acknowledged one.
#
# Run by hand: TARGET=keel KEEL_BIN=target/debug/keel bash compat-tests/suites/zk-crash.sh

set -u
if ! declare -F report >/dev/null; then
  COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  for f in common fetch zookeeper; do . "$COMPAT_DIR/lib/$f.sh"; done
fi
TARGET=${TARGET:-keel}
SUITE_WORK=${SUITE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/zk-crash.XXXXXX")}
RUN_DIR=${RUN_DIR:-$SUITE_WORK}
CRASH_ROUNDS=${ZK_CRASH_ROUNDS:-2}
CRASH_JAVA="$COMPAT_DIR/java/zk/ZkCrash.java"
SESSION_MS=30000
name=zcrash-$$
ackf="$SUITE_WORK/acked.txt"
stopf="$SUITE_WORK/writer.stop"
root="/crash-$(date +%s)-$$"
WRITER_PID=""

crash_cleanup() {
  if [ -n "$WRITER_PID" ] && kill -0 "$WRITER_PID" 2>/dev/null; then
    kill -TERM "$WRITER_PID" 2>/dev/null
    wait "$WRITER_PID" 2>/dev/null
  fi
  WRITER_PID=""
  zk_stop "$name" >/dev/null 2>&1
}
trap crash_cleanup EXIT
trap 'exit 143' TERM INT HUP

FAILS=""
fail() { echo "  FAIL $*"; FAILS="$FAILS; $*"; }
pass() { echo "  ok   $*"; }
acks() { local n; n=$(grep -c '^\(create\|set\|seq\) ' "$ackf" 2>/dev/null); echo "${n:-0}"; }
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for WHAT TIMEOUT_S CMD...: until CMD succeeds (and the writer still runs).
wait_for() {
  local what=$1 limit=$2 waited=0
  shift 2
  until "$@"; do
    if ! kill -0 "$WRITER_PID" 2>/dev/null; then fail "writer exited while waiting for $what"; return 1; fi
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -ge $((limit * 5)) ]; then fail "no $what after ${limit}s"; return 1; fi
  done
}
acks_at_least() { [ "$(acks)" -ge "$1" ]; }
reconnected() { grep -q "^reconnected $1 " "$ackf"; }

run() {
  local cp round before t_kill t_up
  : >"$ackf"
  rm -f "$stopf"
  zk_start "$TARGET" standalone "$name" || { fail "$TARGET did not start"; return; }
  local dir port
  dir=$(zk_server_dir "$name" 1)
  port=${ZK_CONNECT##*:}
  cp=$(zk_java_build zookeeper-3.9 "$CRASH_JAVA") || { fail "ZkCrash.java does not compile"; return; }
  # shellcheck disable=SC2086
  java $ZK_CLIENT_JAVA_OPTS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp" ZkCrash write \
    "$ZK_CONNECT" "$root" "$ackf" "$stopf" "$SESSION_MS" >"$SUITE_WORK/writer.out" 2>"$SUITE_WORK/writer.err" &
  WRITER_PID=$!
  wait_for "first 300 acknowledged writes" 90 acks_at_least 300 || return
  for round in $(seq 1 "$CRASH_ROUNDS"); do
    before=$(acks)
    t_kill=$(date +%s.%N)
    zk_kill_server "$name" 1
    log "round $round: $TARGET killed (SIGKILL) after $before acknowledged writes"
    sleep 1
    zk_restart_server "$name" 1 || { fail "$TARGET did not restart on its data dir"; tail -n 30 "$dir/server.log"; return; }
    t_up=$(secs_since "$t_kill")
    log "round $round: $TARGET serving again after ${t_up}s: $(zk_mode "$port")"
    wait_for "reconnection $round of the writer's session" 60 reconnected "$round" || return
    before=$(acks)
    wait_for "300 acknowledged writes after restart $round" 90 acks_at_least $((before + 300)) || return
    pass "round $round: restarted in ${t_up}s, writer reconnected, $(($(acks) - before))+ writes since"
  done
  touch "$stopf"
  if timeout_run 90 bash -c 'while kill -0 "$0" 2>/dev/null; do sleep 0.2; done' "$WRITER_PID"; then
    wait "$WRITER_PID"
    local rc=$?
    WRITER_PID=""
    sed 's/^/    writer: /' "$SUITE_WORK/writer.out"
    [ "$rc" -eq 0 ] || { fail "writer: $(grep '^FAIL' "$SUITE_WORK/writer.out" | tr '\n' ' ')"; tail -n 20 "$SUITE_WORK/writer.err"; }
  else
    fail "writer did not stop"
    return
  fi
  log "ack file: $(acks) acknowledged writes, $(grep -c '^uncertain' "$ackf") in flight at a crash"
  # shellcheck disable=SC2086
  if timeout_run 120 java $ZK_CLIENT_JAVA_OPTS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp" \
      ZkCrash verify "$ZK_CONNECT" "$root" "$ackf" >"$SUITE_WORK/verify.out" 2>"$SUITE_WORK/verify.err"; then
    sed 's/^/    verify: /' "$SUITE_WORK/verify.out"
  else
    sed 's/^/    verify: /' "$SUITE_WORK/verify.out"
    tail -n 20 "$SUITE_WORK/verify.err"
    fail "verify: $(grep '^FAIL' "$SUITE_WORK/verify.out" | head -5 | tr '\n' ' ')"
  fi
}

log "zk-crash against $TARGET: $CRASH_ROUNDS kill -9 / restart round(s), session timeout ${SESSION_MS} ms"
run
if [ -n "$WRITER_PID" ] && kill -0 "$WRITER_PID" 2>/dev/null; then
  sed 's/^/    writer: /' "$SUITE_WORK/writer.out"
  tail -n 20 "$SUITE_WORK/writer.err"
fi
crash_cleanup
if [ -z "$FAILS" ]; then
  report java-3.9 pass "$CRASH_ROUNDS x kill -9 + restart of $TARGET: $(acks) acknowledged writes all present, sequence continues, session and ephemeral resume"
  exit 0
else
  report java-3.9 fail "${FAILS#; }"
  exit 1
fi
