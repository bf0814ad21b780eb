# needs: none
# clients: java-3.9
# timeout: 420
#
# zk-crash: ZooKeeper crash test (issue 3, "Proof": clients writing, kill -9, restart:
# every acknowledged write present, sequence counters continue, sessions that had not
# timed out resume). Starts its own standalone server of the chosen target (zk_start,
# so keel or Apache 3.9 from the same zoo.cfg) and runs java/zk/ZkCrash.java (ZooKeeper
# 3.9 client):
#   - ZK_CRASH_WRITERS writers (default 2, one JVM each, each under its own root) each
#     hold one session (40 s timeout) with an ephemeral node and write without pause:
#     pipelined async creates (persistent and persistent_sequential) and setData with
#     versions, logging every acknowledged write;
#   - the server snapshots every few hundred txns (snapCount=400);
#   - the suite kills the server with SIGKILL mid-stream and restarts it on the same
#     dataDir and port well within the session timeout, ZK_CRASH_ROUNDS times (default 2);
#   - each writer must reconnect with the same session and find its ephemeral (same owner);
#   - a verifier per writer (fresh session) finds every acknowledged create/setData with
#     its data and version, every acknowledged sequential node, no name acknowledged twice,
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
SESSION_MS=40000   # the most a default zoo.cfg allows (maxSessionTimeout = 20 ticks)
# A snapshot every few hundred txns (Apache: a random point between snapCount/2 and
# snapCount), so kills land during snapshots and recovery replays logs over snapshots
# that were written while the tree changed (fuzzy snapshots, as Apache's).
export ZK_CFG_EXTRA=${ZK_CFG_EXTRA:-snapCount=400}
name=zcrash-$$
stopf="$SUITE_WORK/writer.stop"
root="/crash-$(date +%s)-$$"
WRITERS=${ZK_CRASH_WRITERS:-2}
WRITER_PIDS=()

crash_cleanup() {
  local pid
  for pid in "${WRITER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
  done
  WRITER_PIDS=()
  zk_stop "$name" >/dev/null 2>&1
}
trap crash_cleanup EXIT
trap 'exit 143' TERM INT HUP

FAILS=""
fail() { echo "  FAIL $*"; FAILS="$FAILS; $*"; }
pass() { echo "  ok   $*"; }
ackf() { printf '%s/acked-%s.txt' "$SUITE_WORK" "$1"; }
# acks [W]: acknowledged writes of writer W, or of all writers
acks() {
  local n total=0 w
  for w in ${1:-$(seq 1 "$WRITERS")}; do
    n=$(grep -c '^\(create\|set\|seq\) ' "$(ackf "$w")" 2>/dev/null)
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for WHAT TIMEOUT_S CMD...: until CMD succeeds (and every writer still runs).
wait_for() {
  local what=$1 limit=$2 waited=0 pid
  shift 2
  until "$@"; do
    for pid in "${WRITER_PIDS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then fail "a writer exited while waiting for $what"; return 1; fi
    done
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -ge $((limit * 5)) ]; then fail "no $what after ${limit}s"; return 1; fi
  done
}
# each_acked_at_least N...: writer w has at least the w-th N acknowledged writes
each_acked_at_least() {
  local w=1 n
  for n in "$@"; do
    [ "$(acks "$w")" -ge "$n" ] || return 1
    w=$((w + 1))
  done
}
all_reconnected() {
  local w
  for w in $(seq 1 "$WRITERS"); do grep -q "^reconnected $1 " "$(ackf "$w")" || return 1; done
}
# acks_each_plus N: the argument list for each_acked_at_least: every writer's count + N
acks_each_plus() {
  local w
  for w in $(seq 1 "$WRITERS"); do printf '%s ' $(($(acks "$w") + $1)); done
}

run() {
  local cp round before t_kill t_up w rc dir port
  rm -f "$stopf"
  zk_start "$TARGET" standalone "$name" || { fail "$TARGET did not start"; return; }
  dir=$(zk_server_dir "$name" 1)
  port=${ZK_CONNECT##*:}
  cp=$(zk_java_build zookeeper-3.9 "$CRASH_JAVA") || { fail "ZkCrash.java does not compile"; return; }
  for w in $(seq 1 "$WRITERS"); do
    : >"$(ackf "$w")"
    # shellcheck disable=SC2086
    java $ZK_CLIENT_JAVA_OPTS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp" ZkCrash write \
      "$ZK_CONNECT" "$root-w$w" "$(ackf "$w")" "$stopf" "$SESSION_MS" \
      >"$SUITE_WORK/writer-$w.out" 2>"$SUITE_WORK/writer-$w.err" &
    WRITER_PIDS+=($!)
  done
  # shellcheck disable=SC2046
  wait_for "first 200 acknowledged writes of each writer" 120 each_acked_at_least $(acks_each_plus 200) || return
  for round in $(seq 1 "$CRASH_ROUNDS"); do
    before=$(acks)
    t_kill=$(date +%s.%N)
    zk_kill_server "$name" 1
    log "round $round: $TARGET killed (SIGKILL) after $before acknowledged writes"
    sleep 1
    zk_restart_server "$name" 1 || { fail "$TARGET did not restart on its data dir"; tail -n 30 "$dir/server.log"; return; }
    t_up=$(secs_since "$t_kill")
    log "round $round: $TARGET serving again after ${t_up}s: $(zk_mode "$port")"
    wait_for "reconnection $round of every writer's session" 90 all_reconnected "$round" || return
    before=$(acks)
    # shellcheck disable=SC2046
    wait_for "200 acknowledged writes of each writer after restart $round" 120 \
      each_acked_at_least $(acks_each_plus 200) || return
    pass "round $round: restarted in ${t_up}s, $WRITERS writers reconnected, $(($(acks) - before))+ writes since"
  done
  touch "$stopf"
  for w in $(seq 1 "$WRITERS"); do
    local pid=${WRITER_PIDS[$((w - 1))]}
    if timeout_run 90 bash -c 'while kill -0 "$0" 2>/dev/null; do sleep 0.2; done' "$pid"; then
      wait "$pid"
      rc=$?
      sed "s/^/    writer $w: /" "$SUITE_WORK/writer-$w.out"
      [ "$rc" -eq 0 ] || { fail "writer $w: $(grep '^FAIL' "$SUITE_WORK/writer-$w.out" | tr '\n' ' ')"; tail -n 20 "$SUITE_WORK/writer-$w.err"; }
    else
      fail "writer $w did not stop"
    fi
  done
  WRITER_PIDS=()
  for w in $(seq 1 "$WRITERS"); do
    log "writer $w: $(acks "$w") acknowledged writes, $(grep -c '^uncertain' "$(ackf "$w")") in flight at a crash"
    # shellcheck disable=SC2086
    if timeout_run 120 java $ZK_CLIENT_JAVA_OPTS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp" \
        ZkCrash verify "$ZK_CONNECT" "$root-w$w" "$(ackf "$w")" >"$SUITE_WORK/verify-$w.out" 2>"$SUITE_WORK/verify-$w.err"; then
      sed "s/^/    verify $w: /" "$SUITE_WORK/verify-$w.out"
    else
      sed "s/^/    verify $w: /" "$SUITE_WORK/verify-$w.out"
      tail -n 20 "$SUITE_WORK/verify-$w.err"
      fail "verify $w: $(grep '^FAIL' "$SUITE_WORK/verify-$w.out" | head -5 | tr '\n' ' ')"
    fi
  done
}

log "zk-crash against $TARGET: $WRITERS writers, $CRASH_ROUNDS kill -9 / restart round(s), session timeout ${SESSION_MS} ms"
run
crash_cleanup
if [ -z "$FAILS" ]; then
  report java-3.9 pass "$CRASH_ROUNDS x kill -9 + restart of $TARGET under $WRITERS writers: $(acks) acknowledged writes all present, sequences continue, sessions and ephemerals resume"
  exit 0
else
  report java-3.9 fail "${FAILS#; }"
  exit 1
fi
