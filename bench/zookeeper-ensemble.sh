#!/usr/bin/env bash
# bench/zookeeper-ensemble.sh: keel's ZooKeeper ensemble against Apache ZooKeeper 3.9.4's,
# three servers each, same load.
#
# Called by `scripts/bench zookeeper-ensemble`; runnable alone too. Environment:
#   BENCH_RESULTS  file the JSON result lines are appended to
#                  (default bench/.cache/zookeeper-ensemble.jsonl)
#   BENCH_NOTES    markdown notes for the results page (default: none)
#   BENCH_LONG     0 (default: a few minutes, 150,000 znodes for memory, 3 failovers)
#                  or 1 (longer phases, 1 KB reads too, a million znodes, 7 failovers)
#   BENCH_REPS     repetitions of the throughput tests (default 1); each starts both
#                  ensembles afresh
#   BENCH_WORK     scratch dir for data dirs and logs (default bench/.cache/work)
#   KEEL_BIN       release keel binary (default target/release/keel, built if missing)
#   ZK_BENCH_BIN   release keel-zk-bench (default target/release/keel-zk-bench, built
#                  if missing)
#   ZK_SERVER_HEAP Apache's heap per server in MB (default 1000, as Apache's zkEnv.sh)
#   SERVER_JVMFLAGS extra JVM flags for Apache (as Apache's zkServer.sh)
#   ZK_BENCH_OUTSTANDING   requests in flight per session (default 16)
#   ZK_BENCH_POPULATE      znodes for the memory test (default 150000; --long 1000000)
#   ZK_ENSEMBLE_FAILOVERS  failover repetitions per server kind (default 3; --long 7)
#   ZK_ENSEMBLE_ONLY       writes, reads, failover or memory: run only that part
#
# Every server of an ensemble gets the same zoo.cfg (tickTime 2000, initLimit 10,
# syncLimit 5, forceSync yes, dataDir of its own under BENCH_WORK, server.1-3 =
# 127.0.0.1:<quorum port>:<election port>, maxClientCnxns=200 so that 32 sessions from
# 127.0.0.1 plus the ones a bench process is closing fit under the per-address cap;
# the observer test adds server.4=...:observer, and peerType=observer in the
# observer's own file) plus a myid file. Apache (its Maven jars, the command line of
# bin/zkServer.sh, -Xmx${ZK_SERVER_HEAP}m per server) and keel (`keel zookeeper
# <zoo.cfg>`) run one after the other, never at once; each test starts its ensemble
# fresh and waits for one leader and two followers (and the observer).
#
# Tests (result area zookeeper-ensemble; latency/ops lines as bench/zookeeper.sh's):
#   reads     getData of 100 B (--long: and 1 KB) values at 32 sessions spread over the
#             3 voters (11+11+10), then on a fresh ensemble of 3 voters + 1 observer
#             (8 per server): reads should scale with the observer, target "observer
#             gain" (ops/s with / without) > 1.
#   writes    create and setData of 100 B and 1 KB at 32 sessions, all on the leader,
#             then spread over the 3 voters (the followers forward writes to the
#             leader); targets ops/s >= 2.0x Apache's and p99 <= 0.5x.
#             The load always comes from one keel-zk-bench process per 11 (or 8)
#             sessions, so the client side is the same in every test; their ops/s add
#             up and a merged latency percentile is the largest of the processes' (an
#             upper bound, bench/lib/zk_ensemble_merge.py).
#   failover  kill -9 the leader during a paced write load (one writer per server,
#             100 setData/s each, bench/lib/zk_failover.py): time from the kill to the
#             first acknowledged write (target <= 1.0x Apache's median), to every
#             writer acknowledged again, and to a survivor's srvr saying leader.
#             Apache and keel alternate, a fresh ensemble per repetition.
#   memory    VmRSS of each server idle, then after `keel-zk-bench populate` created
#             ZK_BENCH_POPULATE znodes of 100 B through the leader; the mean over the
#             three servers carries the target <= 0.33x.
# Notes: the machine's load average before each part, the CPU the servers used and
# the CPU left for everything else (the clients, other work on the machine), and for
# the write tests the threads of each server that used the CPU (bench/lib/threadcpu.py).

set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=../compat-tests/lib/common.sh
. "$REPO_DIR/compat-tests/lib/common.sh"
# shellcheck source=../compat-tests/lib/fetch.sh
. "$REPO_DIR/compat-tests/lib/fetch.sh"
# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"

log() { printf '[bench zookeeper-ensemble %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

AREA=zookeeper-ensemble
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_DIR/.cache/zookeeper-ensemble.jsonl}
BENCH_NOTES=${BENCH_NOTES:-}
BENCH_LONG=${BENCH_LONG:-0}
BENCH_REPS=${BENCH_REPS:-1}
BENCH_WORK=${BENCH_WORK:-$BENCH_DIR/.cache/work}
KEEL_BIN=${KEEL_BIN:-$REPO_DIR/target/release/keel}
ZK_BENCH_BIN=${ZK_BENCH_BIN:-$REPO_DIR/target/release/keel-zk-bench}
ZK_SERVER_HEAP=${ZK_SERVER_HEAP:-1000}
ZK_BENCH_OUTSTANDING=${ZK_BENCH_OUTSTANDING:-16}
ZK_ENSEMBLE_ONLY=${ZK_ENSEMBLE_ONLY:-}
export BENCH_RESULTS BENCH_NOTES

SESSIONS=32
if [ "$BENCH_LONG" = 1 ]; then
  PHASE_SECONDS=3 RAMP_SECONDS=0.5 WARMUP_SECONDS=5 FIRST_WARMUP_SECONDS=10 READ_VALUES=100,1024
  ZK_BENCH_POPULATE=${ZK_BENCH_POPULATE:-1000000}
  ZK_ENSEMBLE_FAILOVERS=${ZK_ENSEMBLE_FAILOVERS:-7}
else
  PHASE_SECONDS=1 RAMP_SECONDS=0.25 WARMUP_SECONDS=2 FIRST_WARMUP_SECONDS=6 READ_VALUES=100
  ZK_BENCH_POPULATE=${ZK_BENCH_POPULATE:-150000}
  ZK_ENSEMBLE_FAILOVERS=${ZK_ENSEMBLE_FAILOVERS:-3}
fi
WRITE_VALUES=100,1024
FAILOVER_LOAD_SECONDS=2
FAILOVER_RATE_PER_WRITER=100
ENSEMBLE_START_TIMEOUT_S=120

mkdir -p "$BENCH_WORK" "$(dirname "$BENCH_RESULTS")"
BENCH_WORK=$(cd "$BENCH_WORK" && pwd)

# The running ensemble: per server (index 0..n-1) its pid, client port, dir; the
# index of the leader.
PIDS=()
CLIENT_PORTS=()
SERVER_DIRS=()
LEADER=""
ENSEMBLE_TARGET=""
LAUNCHED_PID=""

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
  [ -x "$ZK_BENCH_BIN" ] || bins+=(--bin keel-zk-bench)
  [ -x "$KEEL_BIN" ] || bins+=(--bin keel)
  [ ${#bins[@]} -eq 0 ] && return 0
  log "cargo build --release ${bins[*]}"
  (cd "$REPO_DIR" && cargo build --release --quiet "${bins[@]}") || die "cargo build failed"
  [ -x "$KEEL_BIN" ] || KEEL_BIN=$REPO_DIR/target/release/keel
  [ -x "$ZK_BENCH_BIN" ] || ZK_BENCH_BIN=$REPO_DIR/target/release/keel-zk-bench
}

# srvr_mode PORT: the Mode of a server's `srvr` ("" while it is down or not serving).
srvr_mode() {
  local reply=""
  if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
    printf 'srvr' >&3
    reply=$(timeout 3 cat <&3 2>/dev/null)
    exec 3<&- 3>&-
  fi
  printf '%s' "$reply" | sed -n 's/^Mode: *//p' | tr -d '\r' | head -n 1
}

# ports N: N distinct free ports, one per line.
ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
}

# launch TARGET DIR: starts one server from DIR/zoo.cfg; sets LAUNCHED_PID (not
# printed: a server started inside $(...) would not be this shell's child).
launch() {
  local target=$1 dir=$2
  case "$target" in
    apache)
      local cp
      cp=$(maven_classpath zookeeper-3.9) || die "could not resolve Apache ZooKeeper's jars"
      # The command line of Apache's bin/zkServer.sh (with zkEnv.sh's -Xmx); the log
      # lines carry times, as the distribution's logback.xml has them.
      # shellcheck disable=SC2086
      (cd "$dir" && exec java "-Dzookeeper.log.dir=$dir" "-Dzookeeper.log.file=zookeeper.log" \
        -XX:+HeapDumpOnOutOfMemoryError "-XX:OnOutOfMemoryError=kill -9 %p" \
        -cp "$cp" "-Xmx${ZK_SERVER_HEAP}m" ${SERVER_JVMFLAGS:-} \
        -Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.local.only=false \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        -Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd\'T\'HH:mm:ss.SSS \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg") \
        >"$dir/server.log" 2>&1 </dev/null &
      ;;
    keel)
      "$KEEL_BIN" zookeeper "$dir/zoo.cfg" >"$dir/server.log" 2>&1 </dev/null &
      ;;
  esac
  LAUNCHED_PID=$!
  disown "$LAUNCHED_PID" 2>/dev/null   # no "Killed" job notice when the failover test kills it
}

# ensemble_start TARGET DIR VOTERS OBSERVERS: writes the zoo.cfg and myid of every
# server, starts them all, waits for one leader, VOTERS-1 followers and OBSERVERS
# observers. Sets PIDS, CLIENT_PORTS, SERVER_DIRS, LEADER.
ensemble_start() {
  local target=$1 base=$2 voters=$3 observers=$4 n i
  n=$((voters + observers))
  rm -rf "$base"
  mkdir -p "$base"
  local all_ports
  mapfile -t all_ports < <(ports $((3 * n)))
  PIDS=() CLIENT_PORTS=() SERVER_DIRS=() LEADER="" ENSEMBLE_TARGET=$target
  local servers=""
  for ((i = 0; i < n; i++)); do
    CLIENT_PORTS[i]=${all_ports[3 * i]}
    local role=""
    [ "$i" -ge "$voters" ] && role=":observer"
    servers+="server.$((i + 1))=127.0.0.1:${all_ports[3 * i + 1]}:${all_ports[3 * i + 2]}$role"$'\n'
  done
  for ((i = 0; i < n; i++)); do
    local dir="$base/s$((i + 1))"
    SERVER_DIRS[i]=$dir
    mkdir -p "$dir/data"
    echo "$((i + 1))" >"$dir/data/myid"
    {
      echo "tickTime=2000"
      echo "initLimit=10"
      echo "syncLimit=5"
      echo "dataDir=$dir/data"
      echo "clientPort=${CLIENT_PORTS[i]}"
      echo "clientPortAddress=127.0.0.1"
      echo "forceSync=yes"
      echo "maxClientCnxns=200"
      echo "admin.enableServer=false"
      echo "4lw.commands.whitelist=srvr,ruok,mntr"
      [ "$i" -ge "$voters" ] && echo "peerType=observer"
      printf '%s' "$servers"
    } >"$dir/zoo.cfg"
  done
  for ((i = 0; i < n; i++)); do
    launch "$target" "${SERVER_DIRS[i]}"
    PIDS[i]=$LAUNCHED_PID
  done
  local started=$SECONDS modes leaders followers observing m
  while :; do
    leaders=0 followers=0 observing=0 modes=""
    for ((i = 0; i < n; i++)); do
      if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
        tail -n 30 "${SERVER_DIRS[i]}/server.log" >&2
        die "$target server $((i + 1)) exited at start-up (log: ${SERVER_DIRS[i]}/server.log)"
      fi
      m=$(srvr_mode "${CLIENT_PORTS[i]}")
      modes+=" ${m:--}"
      case "$m" in
        leader) leaders=$((leaders + 1)) LEADER=$i ;;
        follower) followers=$((followers + 1)) ;;
        observer) observing=$((observing + 1)) ;;
      esac
    done
    if [ "$leaders" = 1 ] && [ "$followers" = $((voters - 1)) ] && [ "$observing" = "$observers" ]; then
      break
    fi
    [ $((SECONDS - started)) -lt "$ENSEMBLE_START_TIMEOUT_S" ] \
      || die "$target ensemble not formed after ${ENSEMBLE_START_TIMEOUT_S} s (modes:$modes; logs: $base)"
    sleep 0.2
  done
  log "$target ensemble up in $((SECONDS - started)) s (modes:$modes)"
}

ensemble_stop() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for i in $(seq 1 100); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  PIDS=()
}
trap 'ensemble_stop' EXIT
trap 'exit 130' INT TERM

# role INDEX: leader / follower N / observer, for the notes.
role() {
  if [ "$1" = "$LEADER" ]; then echo leader; else echo "s$(($1 + 1))"; fi
}

# machine_cpu_s: "busy total" CPU seconds of the whole machine since boot, all cores
# (busy: user, nice, system, irq, softirq; total adds idle, iowait and steal).
machine_cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; print busy / hz, (busy + $5 + $6 + $9) / hz }' /proc/stat
}

# cpu_summary BUSY0 TOTAL0 SERVERS0 BUSY1 TOTAL1 SERVERS1 WALL_S: one line for the notes.
cpu_summary() {
  awk -v b0="$1" -v t0="$2" -v c0="$3" -v b1="$4" -v t1="$5" -v c1="$6" -v w="$7" -v n="$(nproc)" \
    'BEGIN { printf "%.0f s wall, machine busy %.0f%% of %d cores; servers %.1f CPU s, everything else (clients, other work) %.1f CPU s", w, (t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0), n, c1 - c0, (b1 - b0) - (c1 - c0) }'
}

# servers_cpu_s: CPU seconds the running servers have used.
servers_cpu_s() {
  local total=0 pid s
  for pid in "${PIDS[@]}"; do
    s=$(python3 "$BENCH_DIR/lib/procstat.py" snap "$pid" | awk '{ print $3 }')
    total=$(awk -v a="$total" -v b="${s:-0}" 'BEGIN { print a + b }')
  done
  echo "$total"
}

# note_load PART: the machine's load average into the notes, and what ran (top) into
# BENCH_WORK/top-<PART>.txt: the machine may be shared.
note_load() {
  bench_note "- $AREA: $1: load average $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) on $(nproc) cores"
  top -b -n 1 -w 200 2>/dev/null | head -n 25 >"$BENCH_WORK/top-${1//[^a-z0-9]/_}.txt"
}

# drive NAME WHERE TARGETS PHASES KEEP VALUES REP PORT...: one keel-zk-bench process
# per port given (32 sessions split between them), all at once; their lines are merged
# into one test per phase and value ("<phase> <size> 32 sessions <WHERE>"). Each
# process warms up first (unreported create/getData/setData) for DRIVE_WARMUP_SECONDS
# (default WARMUP_SECONDS): the first drive on a fresh ensemble gets the longer
# FIRST_WARMUP_SECONDS, since Apache's JIT compilers otherwise still take a large
# share of the CPU during the measured phases (seen on a loaded 2-core machine).
drive() {
  local name=$1 where=$2 targets=$3 phases=$4 keep=$5 values=$6 rep=$7
  shift 7
  local ports=("$@") k=${#ports[@]} i dir="$BENCH_WORK/ens-$ENSEMBLE_TARGET-$name-rep$rep"
  mkdir -p "$dir"
  local pids=() outs=() status=0
  local busy0 total0 cpu0 started=$SECONDS
  read -r busy0 total0 < <(machine_cpu_s)
  cpu0=$(servers_cpu_s)
  python3 "$BENCH_DIR/lib/threadcpu.py" snap "$dir/threads.before" "${PIDS[@]}"
  for ((i = 0; i < k; i++)); do
    local sessions=$((SESSIONS / k + (i < SESSIONS % k ? 1 : 0)))
    outs[i]="$dir/bench$i.jsonl"
    "$ZK_BENCH_BIN" run --server "127.0.0.1:${ports[i]}" --label "$ENSEMBLE_TARGET" --rep "$rep" \
      --sessions "$sessions" --values "$values" --phases "$phases" \
      --outstanding "$ZK_BENCH_OUTSTANDING" --seconds "$PHASE_SECONDS" \
      --ramp-seconds "$RAMP_SECONDS" --warmup-seconds "${DRIVE_WARMUP_SECONDS:-$WARMUP_SECONDS}" \
      --root "/keel-bench-$name-$i" --target-sessions 1000000 \
      >"${outs[i]}" 2>"$dir/bench$i.log" &
    pids[i]=$!
  done
  for ((i = 0; i < k; i++)); do
    wait "${pids[i]}" || { status=1; log "$ENSEMBLE_TARGET $name: keel-zk-bench $i failed:"; cat "$dir/bench$i.log" >&2; }
  done
  python3 "$BENCH_DIR/lib/threadcpu.py" snap "$dir/threads.after" "${PIDS[@]}"
  local busy1 total1 cpu1 wall=$((SECONDS - started))
  read -r busy1 total1 < <(machine_cpu_s)
  cpu1=$(servers_cpu_s)
  local flags=()
  [ "$targets" = 1 ] && flags+=(--targets)
  python3 "$BENCH_DIR/lib/zk_ensemble_merge.py" --sessions "$SESSIONS" --where "$where" \
    --phases "$keep" "${flags[@]}" "$BENCH_RESULTS" "${outs[@]}" || status=1
  grep -h '^keel-zk-bench: .* ops/s, p50' "$dir"/bench*.log | sed 's/^keel-zk-bench: /  /' >&2
  # Where the CPU went: the servers, and everything else (clients, other work).
  local labels=()
  for ((i = 0; i < ${#PIDS[@]}; i++)); do labels+=("$(role "$i")=${PIDS[i]}"); done
  local threads
  threads=$(python3 "$BENCH_DIR/lib/threadcpu.py" diff "$dir/threads.before" "$dir/threads.after" "${labels[@]}" --top 4)
  local summary
  summary=$(cpu_summary "$busy0" "$total0" "$cpu0" "$busy1" "$total1" "$cpu1" "$wall")
  log "  $ENSEMBLE_TARGET $name: $summary"
  log "  threads: $threads"
  bench_note "- $AREA: $ENSEMBLE_TARGET rep $rep, $name ($where): $summary. Per server: $threads"
  return "$status"
}

# reads TARGET REP: getData at 32 sessions over 3 voters, then over 3 voters + 1 observer.
reads() {
  local target=$1 rep=$2 status=0
  log "rep $rep: $target: reads, 3 voters"
  ensemble_start "$target" "$BENCH_WORK/ens-$target-reads3" 3 0
  DRIVE_WARMUP_SECONDS=$FIRST_WARMUP_SECONDS drive reads3 "over 3 voters" 0 create,getData getData "$READ_VALUES" "$rep" "${CLIENT_PORTS[@]}" || status=1
  ensemble_stop
  log "rep $rep: $target: reads, 3 voters + 1 observer"
  ensemble_start "$target" "$BENCH_WORK/ens-$target-reads4" 3 1
  DRIVE_WARMUP_SECONDS=$FIRST_WARMUP_SECONDS drive reads4 "over 3 voters + 1 observer" 0 create,getData getData "$READ_VALUES" "$rep" "${CLIENT_PORTS[@]}" || status=1
  ensemble_stop
  return "$status"
}

# writes TARGET REP: create and setData at 32 sessions on the leader, then spread.
writes() {
  local target=$1 rep=$2 status=0 l
  log "rep $rep: $target: writes"
  ensemble_start "$target" "$BENCH_WORK/ens-$target-writes" 3 0
  l=${CLIENT_PORTS[$LEADER]}
  DRIVE_WARMUP_SECONDS=$FIRST_WARMUP_SECONDS drive writes-leader "on the leader" 1 create,setData create,setData "$WRITE_VALUES" "$rep" "$l" "$l" "$l" || status=1
  drive writes-spread "over 3 voters" 1 create,setData create,setData "$WRITE_VALUES" "$rep" "${CLIENT_PORTS[@]}" || status=1
  ensemble_stop
  return "$status"
}

# observer_gain: per server kind and rep, getData ops/s over 3 voters + 1 observer
# divided by ops/s over 3 voters, as a result line with the target > 1.
observer_gain() {
  python3 - "$BENCH_RESULTS" <<'PY'
import json, re, sys
path = sys.argv[1]
rows = [json.loads(l) for l in open(path) if l.strip()]
by = {}
for r in rows:
    if r.get("area") != "zookeeper-ensemble" or r.get("metric") != "ops/s":
        continue
    m = re.match(r"^getData (\S+) 32 sessions over 3 voters( \+ 1 observer)?$", r["test"])
    if m:
        by.setdefault((m.group(1), r["server"], r["rep"]), {})[bool(m.group(2))] = r["value"]
with open(path, "a") as out:
    for (size, server, rep), v in sorted(by.items()):
        if True in v and False in v and v[False] > 0:
            out.write(json.dumps({
                "area": "zookeeper-ensemble",
                "test": "getData %s 32 sessions: observer gain" % size,
                "metric": "ops/s with an observer / without", "unit": "ratio",
                "server": server, "rep": rep, "value": round(v[True] / v[False], 3),
                "better": "higher", "target": "> 1.0 ratio"}) + "\n")
PY
}

# failover TARGET REP: a fresh ensemble, paced writes, kill -9 the leader.
failover() {
  local target=$1 rep=$2 out dir="$BENCH_WORK/ens-$target-failover-rep$rep"
  log "failover $rep: $target"
  ensemble_start "$target" "$dir" 3 0
  local servers="" i
  for ((i = 0; i < 3; i++)); do servers+="${servers:+,}127.0.0.1:${CLIENT_PORTS[i]}"; done
  out=$(python3 "$BENCH_DIR/lib/zk_failover.py" --servers "$servers" \
    --kill-pid "${PIDS[$LEADER]}" --kill-port "${CLIENT_PORTS[$LEADER]}" \
    --load-seconds "$FAILOVER_LOAD_SECONDS" --rate-per-writer "$FAILOVER_RATE_PER_WRITER" \
    2>"$dir/probe.log")
  local status=$?
  echo "$out" >"$dir/probe.json"
  ensemble_stop
  if [ -z "$out" ]; then
    cat "$dir/probe.log" >&2
    log "failover $rep: $target: the probe failed"
    return 1
  fi
  log "  $target: $out"
  local test="leader failover: kill -9 under paced writes (3 writers x ${FAILOVER_RATE_PER_WRITER}/s)"
  local first all leader
  read -r first all leader < <(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); print(*(o[k] if o[k] is not None else "-" for k in ("first_ack_ms","all_acked_ms","new_leader_ms")))' "$out")
  bench_emit "$AREA" "$test" "kill to first acknowledged write" ms "$target" "$rep" "$first" lower "<= 1.0x"
  bench_emit "$AREA" "$test" "kill to every writer acknowledged" ms "$target" "$rep" "$all" lower
  bench_emit "$AREA" "$test" "kill to a survivor's srvr saying leader" ms "$target" "$rep" "$leader" lower
  return "$status"
}

# memory TARGET: VmRSS of each server idle and after populating ZK_BENCH_POPULATE znodes.
memory() {
  local target=$1 dir="$BENCH_WORK/ens-$target-memory" i
  log "$target: memory, populating $ZK_BENCH_POPULATE znodes through the leader"
  ensemble_start "$target" "$dir" 3 0
  sleep 2
  local idle=() after=() peak=()
  for ((i = 0; i < 3; i++)); do read -r idle[i] _ _ < <(python3 "$BENCH_DIR/lib/procstat.py" snap "${PIDS[i]}"); done
  local busy0 total0 cpu0 started=$SECONDS
  read -r busy0 total0 < <(machine_cpu_s)
  cpu0=$(servers_cpu_s)
  "$ZK_BENCH_BIN" populate --server "127.0.0.1:${CLIENT_PORTS[$LEADER]}" --label "$target" --rep 1 \
    --count "$ZK_BENCH_POPULATE" --value-bytes 100 >"$dir/populate.jsonl" 2>"$dir/bench.log"
  local status=$?
  cat "$dir/bench.log" >&2
  local busy1 total1 cpu1 wall=$((SECONDS - started))
  read -r busy1 total1 < <(machine_cpu_s)
  cpu1=$(servers_cpu_s)
  # Let a snapshot that the last creates triggered finish before measuring.
  sleep 3
  for ((i = 0; i < 3; i++)); do read -r after[i] peak[i] _ < <(python3 "$BENCH_DIR/lib/procstat.py" snap "${PIDS[i]}"); done
  ensemble_stop
  if [ "$status" != 0 ]; then
    log "$target: memory test failed"
    return 1
  fi
  python3 - "$dir/populate.jsonl" "$BENCH_RESULTS" "$ZK_BENCH_POPULATE" <<'PY'
import json, sys
src, dst, count = sys.argv[1], sys.argv[2], sys.argv[3]
with open(dst, "a") as out:
    for line in open(src):
        if line.strip():
            row = json.loads(line)
            row["area"] = "zookeeper-ensemble"
            row["test"] = "populate %s znodes 100B through the leader (4 sessions)" % count
            out.write(json.dumps(row) + "\n")
PY
  local test="memory per server, $ZK_BENCH_POPULATE znodes 100B (3 voters)"
  # procstat.py gives kB (KiB); MB here = 10^6 bytes, as the Kafka page's.
  mean_mb() { awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.1f", s / (ARGC - 1) * 1.024 / 1000 }' "$@"; }
  max_mb() { awk 'BEGIN { m = 0; for (i = 1; i < ARGC; i++) if (ARGV[i] + 0 > m) m = ARGV[i] + 0; printf "%.1f", m * 1.024 / 1000 }' "$@"; }
  local growth=()
  for ((i = 0; i < 3; i++)); do growth[i]=$(( (after[i] - idle[i]) * 1000000 / ZK_BENCH_POPULATE )); done
  bench_emit "$AREA" "$test" "RSS idle (mean)" MB "$target" 1 "$(mean_mb "${idle[@]}")" lower
  bench_emit "$AREA" "$test" "RSS after populate (mean)" MB "$target" 1 "$(mean_mb "${after[@]}")" lower "<= 0.33x"
  bench_emit "$AREA" "$test" "RSS after populate, leader" MB "$target" 1 "$(max_mb "${after[$LEADER]}")" lower
  bench_emit "$AREA" "$test" "RSS after populate (largest server)" MB "$target" 1 "$(max_mb "${after[@]}")" lower
  bench_emit "$AREA" "$test" "VmHWM (mean)" MB "$target" 1 "$(mean_mb "${peak[@]}")" lower
  bench_emit "$AREA" "$test" "RSS growth per million znodes (mean)" MB "$target" 1 "$(mean_mb "${growth[@]}")" lower
  local line=""
  for ((i = 0; i < 3; i++)); do line+=" $(role "$i") $((idle[i] / 1024)) -> $((after[i] / 1024)) MiB;"; done
  log "  $target RSS:$line"
  bench_note "- $AREA: $target memory: RSS idle -> after populate:$line populate: $(cpu_summary "$busy0" "$total0" "$cpu0" "$busy1" "$total1" "$cpu1" "$wall")"
}

main() {
  need_command java openjdk-17-jdk-headless
  need_command mvn maven
  build
  maven_classpath zookeeper-3.9 >/dev/null || die "could not resolve Apache ZooKeeper's jars"
  log "results -> $BENCH_RESULTS (reps $BENCH_REPS, long $BENCH_LONG, failovers $ZK_ENSEMBLE_FAILOVERS)"
  local rep target failed=0
  part() { [ -z "$ZK_ENSEMBLE_ONLY" ] || [ "$ZK_ENSEMBLE_ONLY" = "$1" ]; }
  bench_note "- $AREA: Apache ZooKeeper 3.9.4 (3 JVMs, -Xmx${ZK_SERVER_HEAP}m each) vs keel (3 processes), 3 voters on 127.0.0.1 (4 with the observer), every server's data dir on the same disk (BENCH_WORK), clients on the same machine: **the machine's 2 cores carry all servers and clients**, and it is shared with other work (its load is noted per part), so the figures are noisy; ratios of runs taken minutes apart."
  bench_note "- $AREA: binaries: keel $("$KEEL_BIN" --version 2>/dev/null | awk '{ print $2 }') (sha256 $(sha256sum "$KEEL_BIN" | cut -c1-12)), keel-zk-bench sha256 $(sha256sum "$ZK_BENCH_BIN" | cut -c1-12)."
  for rep in $(seq 1 "$BENCH_REPS"); do
    if part reads; then
      note_load "reads, rep $rep"
      for target in apache keel; do reads "$target" "$rep" || failed=1; done
    fi
    if part writes; then
      note_load "writes, rep $rep"
      for target in apache keel; do writes "$target" "$rep" || failed=1; done
    fi
  done
  part reads && observer_gain
  if part failover; then
    note_load "failover"
    for rep in $(seq 1 "$ZK_ENSEMBLE_FAILOVERS"); do
      for target in apache keel; do failover "$target" "$rep" || failed=1; done
    done
  fi
  if part memory; then
    note_load "memory"
    for target in apache keel; do memory "$target" || failed=1; done
  fi
  note_load "end"
  rm -rf "$BENCH_WORK"/ens-*/s*/data
  return "$failed"
}

main "$@"
