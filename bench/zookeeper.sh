#!/usr/bin/env bash
# bench/zookeeper.sh: keel's ZooKeeper against Apache ZooKeeper 3.9.4, same load.
#
# Called by `scripts/bench zookeeper`; runnable alone too. Environment:
#   BENCH_RESULTS  file the JSON result lines are appended to
#                  (default bench/.cache/zookeeper.jsonl)
#   BENCH_LONG     0 (default: about a minute, 150,000 znodes for memory)
#                  or 1 (longer phases, more fsyncs, a million znodes)
#   BENCH_REPS     repetitions (default 3); each starts both servers afresh
#   BENCH_WORK     scratch dir for data dirs and logs (default bench/.cache/work)
#   KEEL_BIN       release keel binary (default target/release/keel, built if missing)
#   ZK_BENCH_BIN   release keel-zk-bench (set: used as is; default: built into target/release)
#   ZK_SERVER_HEAP Apache's heap in MB (default 1000, as Apache's zkEnv.sh)
#   SERVER_JVMFLAGS extra JVM flags for Apache (as Apache's zkServer.sh)
#   ZK_BENCH_OUTSTANDING  requests in flight per session (default 16)
#   ZK_BENCH_POPULATE     znodes for the memory test (default 150000; --long 1000000)
#   ZK_BENCH_ONLY         machine, workloads or memory: run only that part (development)
#
# Per repetition, Apache then keel, each freshly started on the same zoo.cfg (tickTime
# 2000, dataDir under BENCH_WORK, forceSync=yes: Apache's default, every write fsynced
# before it is acknowledged) runs `keel-zk-bench run`: sessions 1 and 32, values 100 B
# and 1 KB, phases create, getData, setData, multi(check+setData), multi(3 creates),
# delete; ops/s and latency p50/p99/p99.9 per phase. Targets (from issue 5) ride on the
# 32-session lines: ops/s >= 2.0x Apache's, p99 <= 0.5x.
#
# Memory: a fresh server's VmRSS idle, then after `keel-zk-bench populate` created
# ZK_BENCH_POPULATE znodes of 100 B (1000 per parent); the growth per million znodes
# carries the target <= 0.33x. Machine: the fsync latency of the disk under BENCH_WORK
# (4 KiB write + fdatasync into a pre-allocated file, as a txn log is written).
#
# Apache runs as Apache's bin/zkServer.sh starts it: java -Xmx${ZK_SERVER_HEAP}m
# -XX:+HeapDumpOnOutOfMemoryError -XX:OnOutOfMemoryError='kill -9 %p', JMX on
# (com.sun.management.jmxremote, local.only=false), QuorumPeerMain <zoo.cfg>, from the
# Maven jars of compat-tests (set zookeeper-3.9). keel runs as `keel zookeeper <zoo.cfg>`.

set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=../compat-tests/lib/common.sh
. "$REPO_DIR/compat-tests/lib/common.sh"
# shellcheck source=../compat-tests/lib/fetch.sh
. "$REPO_DIR/compat-tests/lib/fetch.sh"

log() { printf '[bench zookeeper %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_DIR/.cache/zookeeper.jsonl}
BENCH_LONG=${BENCH_LONG:-0}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_WORK=${BENCH_WORK:-$BENCH_DIR/.cache/work}
KEEL_BIN=${KEEL_BIN:-$REPO_DIR/target/release/keel}
ZK_SERVER_HEAP=${ZK_SERVER_HEAP:-1000}
ZK_BENCH_OUTSTANDING=${ZK_BENCH_OUTSTANDING:-16}
ZK_BENCH_ONLY=${ZK_BENCH_ONLY:-}
ZK_BENCH_BIN=${ZK_BENCH_BIN:-$REPO_DIR/target/release/keel-zk-bench}

if [ "$BENCH_LONG" = 1 ]; then
  PHASE_SECONDS=3 RAMP_SECONDS=0.5 WARMUP_SECONDS=5 FSYNC_COUNT=3000
  ZK_BENCH_POPULATE=${ZK_BENCH_POPULATE:-1000000}
else
  PHASE_SECONDS=0.75 RAMP_SECONDS=0.25 WARMUP_SECONDS=2 FSYNC_COUNT=500
  ZK_BENCH_POPULATE=${ZK_BENCH_POPULATE:-150000}
fi

mkdir -p "$BENCH_WORK" "$(dirname "$BENCH_RESULTS")"
BENCH_WORK=$(cd "$BENCH_WORK" && pwd)

SERVER_PID=""
SERVER_PORT=""

need_command() {
  local command=$1 package=$2
  command -v "$command" >/dev/null 2>&1 && return 0
  log "installing $package (for $command)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null 2>&1 \
    || die "could not install $package"
}

build() {
  local bins=()
  # The default keel-zk-bench is rebuilt each run, as it always was; a given one is used as is.
  if [ "$ZK_BENCH_BIN" = "$REPO_DIR/target/release/keel-zk-bench" ]; then
    bins+=(--bin keel-zk-bench)
  else
    [ -x "$ZK_BENCH_BIN" ] || die "no keel-zk-bench at $ZK_BENCH_BIN"
  fi
  [ -x "$KEEL_BIN" ] || bins+=(--bin keel)
  [ ${#bins[@]} -gt 0 ] || return 0
  log "cargo build --release ${bins[*]}"
  (cd "$REPO_DIR" && cargo build --release --quiet "${bins[@]}") || die "cargo build failed"
  [ -x "$KEEL_BIN" ] || KEEL_BIN=$REPO_DIR/target/release/keel
}

# srvr PORT: the `srvr` four-letter word's reply ("" while the server is down).
srvr() {
  local port=$1 reply=""
  if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    printf 'srvr' >&3
    reply=$(timeout 3 cat <&3 2>/dev/null)
    exec 3<&- 3>&-
  fi
  printf '%s' "$reply"
}

# start_server apache|keel DIR: writes DIR/zoo.cfg, starts the server, waits for it.
start_server() {
  local target=$1 dir=$2 waited=0
  rm -rf "$dir"
  mkdir -p "$dir/data"
  SERVER_PORT=$(free_port)
  cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$SERVER_PORT
clientPortAddress=127.0.0.1
forceSync=yes
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,mntr
EOF
  case "$target" in
    apache)
      local cp
      cp=$(maven_classpath zookeeper-3.9) || die "could not resolve Apache ZooKeeper's jars"
      # The command line of Apache's bin/zkServer.sh (with zkEnv.sh's -Xmx).
      # shellcheck disable=SC2086
      (cd "$dir" && exec java "-Dzookeeper.log.dir=$dir" "-Dzookeeper.log.file=zookeeper.log" \
        -XX:+HeapDumpOnOutOfMemoryError "-XX:OnOutOfMemoryError=kill -9 %p" \
        -cp "$cp" "-Xmx${ZK_SERVER_HEAP}m" ${SERVER_JVMFLAGS:-} \
        -Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.local.only=false \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg") \
        >"$dir/server.log" 2>&1 </dev/null &
      SERVER_PID=$!
      ;;
    keel)
      "$KEEL_BIN" zookeeper "$dir/zoo.cfg" >"$dir/server.log" 2>&1 </dev/null &
      SERVER_PID=$!
      ;;
  esac
  while ! srvr "$SERVER_PORT" | grep -q '^Mode:'; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 30 "$dir/server.log" >&2
      die "$target exited at start-up (log: $dir/server.log)"
    fi
    sleep 0.2
    waited=$((waited + 1))
    [ "$waited" -lt 600 ] || die "$target not serving after 120 s (log: $dir/server.log)"
  done
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    local i
    for i in $(seq 1 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null
  fi
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# status_bytes PID KEY: VmRSS / VmHWM of a process, in bytes.
status_bytes() {
  awk -v key="$2:" '$1 == key { print $2 * 1024 }' "/proc/$1/status" 2>/dev/null
}

# result TEST METRIC UNIT SERVER REP VALUE BETTER [TARGET]: one JSON result line.
result() {
  local target=""
  [ -n "${8:-}" ] && target=$(printf ',"target":"%s"' "$8")
  printf '{"area":"zookeeper","test":"%s","metric":"%s","unit":"%s","server":"%s","rep":%s,"value":%s,"better":"%s"%s}\n' \
    "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$target" >>"$BENCH_RESULTS"
}

# workloads TARGET REP: the timed workloads against a fresh server.
workloads() {
  local target=$1 rep=$2 dir="$BENCH_WORK/zk-$1-rep$2"
  log "rep $rep: $target: workloads"
  start_server "$target" "$dir"
  "$ZK_BENCH_BIN" run --server "127.0.0.1:$SERVER_PORT" --label "$target" --rep "$rep" \
    --sessions 1,32 --values 100,1024 --outstanding "$ZK_BENCH_OUTSTANDING" \
    --seconds "$PHASE_SECONDS" --ramp-seconds "$RAMP_SECONDS" \
    --warmup-seconds "$WARMUP_SECONDS" >>"$BENCH_RESULTS" 2>"$dir/bench.log"
  local status=$?
  grep -v '^keel-zk-bench: .* ops/s, p50' "$dir/bench.log" >&2
  grep '^keel-zk-bench: .* ops/s, p50' "$dir/bench.log" | sed 's/^keel-zk-bench: /  /' >&2
  stop_server
  [ "$status" = 0 ] || log "rep $rep: $target: keel-zk-bench run failed (status $status)"
  return "$status"
}

# memory TARGET REP: resident memory idle and after populating ZK_BENCH_POPULATE znodes.
memory() {
  local target=$1 rep=$2 dir="$BENCH_WORK/zk-$1-mem-rep$2" idle after peak
  local test="memory $ZK_BENCH_POPULATE znodes 100B"
  log "rep $rep: $target: memory, populating $ZK_BENCH_POPULATE znodes"
  start_server "$target" "$dir"
  sleep 2
  idle=$(status_bytes "$SERVER_PID" VmRSS)
  "$ZK_BENCH_BIN" populate --server "127.0.0.1:$SERVER_PORT" --label "$target" --rep "$rep" \
    --count "$ZK_BENCH_POPULATE" --value-bytes 100 >>"$BENCH_RESULTS" 2>"$dir/bench.log"
  local status=$?
  cat "$dir/bench.log" >&2
  # Let a snapshot that the last creates triggered finish before measuring.
  sleep 3
  after=$(status_bytes "$SERVER_PID" VmRSS)
  peak=$(status_bytes "$SERVER_PID" VmHWM)
  stop_server
  if [ "$status" != 0 ] || [ -z "$idle" ] || [ -z "$after" ]; then
    log "rep $rep: $target: memory test failed"
    return 1
  fi
  result "$test" "RSS idle" bytes "$target" "$rep" "$idle" lower
  result "$test" "RSS after populate" bytes "$target" "$rep" "$after" lower
  result "$test" "RSS peak (VmHWM)" bytes "$target" "$rep" "$peak" lower
  result "$test" "RSS growth per million znodes" bytes "$target" "$rep" \
    "$(( (after - idle) * 1000000 / ZK_BENCH_POPULATE ))" lower "<= 0.33x"
  log "  $target: RSS idle $((idle >> 20)) MiB, after $((after >> 20)) MiB, peak $((peak >> 20)) MiB"
}

main() {
  need_command java openjdk-17-jdk-headless
  need_command mvn maven
  build
  maven_classpath zookeeper-3.9 >/dev/null || die "could not resolve Apache ZooKeeper's jars"
  log "results -> $BENCH_RESULTS (reps $BENCH_REPS, long $BENCH_LONG)"

  local rep failed=0
  part() { [ -z "$ZK_BENCH_ONLY" ] || [ "$ZK_BENCH_ONLY" = "$1" ]; }
  if part machine; then
    log "machine: fsync latency of $BENCH_WORK"
    "$ZK_BENCH_BIN" fsync --dir "$BENCH_WORK" --count "$FSYNC_COUNT" --label machine --rep 1 \
      >>"$BENCH_RESULTS" || failed=1
  fi
  for rep in $(seq 1 "$BENCH_REPS"); do
    if part workloads; then
      for target in apache keel; do
        workloads "$target" "$rep" || failed=1
      done
    fi
    if part memory && [ "$rep" = 1 ]; then
      for target in apache keel; do
        memory "$target" "$rep" || failed=1
      done
    fi
  done
  rm -rf "$BENCH_WORK"/zk-*/data
  return "$failed"
}

main "$@"
