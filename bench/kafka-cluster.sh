#!/usr/bin/env bash
# bench/kafka-cluster.sh: three Kafka brokers of each kind, replication factor 3, on this
# machine: Apache Kafka 3.9.1 in ZooKeeper mode (its Maven jars, started as the compat
# suites start it: compat-tests/lib/kafka.sh kafka_start apache zk) against three
# `keel kafka` brokers, one cluster after the other, never at once. Both clusters use
# the same ZooKeeper, one Apache ZooKeeper 3.9.4 server (compat-tests/lib/zookeeper.sh
# zk_start apache standalone; BENCH_CLUSTER_ZK=keel runs keel's ZooKeeper for both
# instead), started fresh for each cluster, so only the brokers differ.
#
# Environment (set by scripts/bench; the last three are for developing this script):
#   BENCH_RESULTS  JSON-lines file every measurement is appended to (bench_emit)
#   BENCH_NOTES    markdown notes printed under the table (optional)
#   BENCH_LONG     0|1: short default run (3 failovers), or longer loads and 7 failovers
#   BENCH_REPS     repetitions of the throughput and latency tests (each starts both
#                  clusters afresh); the failovers run in repetition 1 only, their own
#                  count (BENCH_CLUSTER_FAILOVERS: 3 short, 7 --long) is their repetitions
#   BENCH_WORK     scratch dir for data dirs and logs (under bench/.cache: the same disk
#                  for both kinds)
#   KEEL_BIN       release keel binary
#   BENCH_KAFKA_CLUSTER_TINY=1          tiny counts, 1 failover: a smoke test of the
#                                       script, the numbers mean nothing
#   BENCH_KAFKA_CLUSTER_SERVERS=apache  one kind only
#   BENCH_CLUSTER_ZK=apache|keel        which ZooKeeper both clusters use (apache)
#   BENCH_KAFKA_CLUSTER_LATENCY_ONLY=1  the paced latency test alone: no produce runs
#                                       before it, no failovers after it
#
# Both kinds get the same server.properties block: compat-tests' kafka__common_props
# (the seed's keys, no log.flush.* settings: no per-message fsync, Kafka's default) plus
#   default.replication.factor=3  min.insync.replicas=2  offsets.topic.replication.factor=3
#   transaction.state.log.replication.factor=3  transaction.state.log.min.isr=2
# and broker.id 1, 2, 3 (broker 1 starts first and becomes the controller), data under
# BENCH_WORK, 127.0.0.1 only, Kafka's default zookeeper.session.timeout.ms (18 s).
# Apache brokers run with kafka-server-start.sh's heap (-Xmx1G -Xms1G) and
# kafka-run-class.sh's G1/JMX flags, as bench/kafka.sh runs Apache.
#
# Per repetition and kind (apache first in odd repetitions, keel first in even ones):
#   topics     warmup, perf-1k, perf-100 (3 partitions each, replication factor 3, so
#              each broker leads one partition and follows two), latency (1 partition,
#              RF 3); created with AdminClient (bench/lib/BenchAdmin.java), waited for
#              until every replica is in the ISR
#   warm-up    ProducerPerformance, 1 KB acks=all to "warmup" (not measured: JIT of the
#              Apache brokers, first segments)
#   produce    ProducerPerformance (kafka-tools 3.9.1), acks=all, unthrottled, a fixed
#              count of 1 KB records to perf-1k, then of 100 B records to perf-100.
#              Figures: records/s and MB/s (MB = 10^6 B; target keel >= 1.5x Apache),
#              the tool's p50/p99 latency (unthrottled: mostly time queued in the client,
#              no target).
#   CPU        CPU seconds (utime+stime from /proc) each broker used over the two
#              produce runs, per broker and for the three together.
#   memory     VmRSS and VmHWM of each broker right after the produce runs, and their
#              mean.
#   latency    bench/lib/PacedLatency.java (as bench/kafka.sh uses it, kafka-clients
#              3.9.1): 1000 records/s of 100 B, acks=all, idempotent, linger.ms=0, to the
#              RF 3 "latency" topic; send-to-ack p50/p99/p99.9 (the leader answers once
#              both followers have the record, min.insync.replicas 2 of 3) and end-to-end
#              p50/p99/p99.9 (a consumer sees a record once the high watermark passed
#              it); target: keel's p99 <= 1/3 of Apache's, for both.
#   failover   (repetition 1 only) bench/lib/FailoverProbe.java creates a fresh topic
#              (3 partitions, RF 3), waits until every partition of every topic has a
#              full ISR, then sends 100 records/s to each partition (acks=all,
#              idempotent, linger.ms=0, client retry/reconnect backoff capped at 100 ms
#              instead of 1 s, so the client finds the new leader within ~0.1 s of the
#              cluster having one). The script kill -9s the leader of a partition
#              that is not led by the controller (a controller failover is a different
#              and slower path) and measures, from the kill:
#                kill to first acknowledged write: the first acknowledgement on that
#                  partition of a record sent after the old leader's process was gone
#                  (so it can only come from the new leader), timed from the kill
#                  command: the median over the repetitions is the figure,
#                  target keel <= Apache's median;
#                kill to ZooKeeper session expiry: the dead broker's /brokers/ids/N
#                  vanishes (a ZooKeeper watch in the probe); the same ZooKeeper and the
#                  same 18 s session timeout for both kinds, so this part is mostly
#                  common: the session expires 18 s after the dead broker's last message
#                  to ZooKeeper, on ZooKeeper's 2 s expiry tick. The one difference is the
#                  brokers' ZooKeeper clients: an idle Apache broker (Java client,
#                  ClientCnxn) pings after ~5 s without sending (readTimeout / 2 - 1 s,
#                  readTimeout = 2/3 of the session timeout), keel's (the zookeeper-client
#                  crate) after 2.7 s (3/20 of the session timeout), so a crashed keel
#                  broker spoke to ZooKeeper more recently and its session expires about
#                  1 s later on average. The first figure's keel/Apache ratio is therefore
#                  near 1.0x and decided by this part and its jitter;
#                session expiry to first acknowledged write: the rest, the part the
#                  brokers (the controller's election, LeaderAndIsr, the new leader) and
#                  the client's metadata refresh make;
#                restart to full ISR: the killed broker is restarted on its data; from
#                  the restart command to every partition of every topic having its full
#                  ISR again (observed by the next repetition's probe, so it includes
#                  that JVM's start, about 1-2 s, for both kinds).
#              The next repetition starts after that, on a fresh topic (whose leaders
#              are spread over the three brokers again).
#
# Sizes and run time (both kinds, on a 2-core machine): short default 100,000 x 1 KB and
# 300,000 x 100 B, 10 s of paced latency, 3 failovers: 4-6 minutes. --long 300,000 x 1 KB
# and 1,000,000 x 100 B, 30 s of paced latency, 7 failovers, 3 repetitions: 15-20
# minutes. Each failover costs ~25-35 s (the 18 s session timeout, the restart).
# Caveats: the clients share the machine's cores with the brokers; when a kind's brokers
# use little CPU over a produce run (the CPU rows), the ProducerPerformance client is
# what limits its throughput. The latency test follows the produce runs, so it runs
# while the kernel writes back the page cache they filled, for both kinds.
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
: "${BENCH_RESULTS:?}" "${BENCH_WORK:?}" "${KEEL_BIN:?}"
BENCH_LONG=${BENCH_LONG:-0}
BENCH_REPS=${BENCH_REPS:-1}
BENCH_CLUSTER_ZK=${BENCH_CLUSTER_ZK:-apache}
export REPO_DIR KEEL_BIN
# shellcheck source=/dev/null
. "$BENCH_DIR/lib/common.sh"
# The compat harness' helpers: Maven classpaths (jars cached in compat-tests/.cache),
# zk_start, kafka_start / kafka_restart (the way the cluster suites start brokers of
# either kind), kafka_tool, kafka_java, kafka_probe, kafka__common_props.
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/common.sh"
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/fetch.sh"
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/zookeeper.sh"
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/kafka.sh"

AREA=kafka-cluster
WORK="$BENCH_WORK/kafka-cluster"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# --- sizes -------------------------------------------------------------------------
if [ "${BENCH_KAFKA_CLUSTER_TINY:-0}" = 1 ]; then
  N_WARMUP=5000; N_1K=10000; N_100=30000
  LAT_SECONDS=3; LAT_WARMUP=1
  FAILOVERS=${BENCH_CLUSTER_FAILOVERS:-1}
elif [ "$BENCH_LONG" = 1 ]; then
  N_WARMUP=50000; N_1K=300000; N_100=1000000
  LAT_SECONDS=30; LAT_WARMUP=2
  FAILOVERS=${BENCH_CLUSTER_FAILOVERS:-7}
else
  N_WARMUP=20000; N_1K=100000; N_100=300000
  # 10 s: in 5 s one stall of the shared machine (~100 records) is the whole p99
  LAT_SECONDS=10; LAT_WARMUP=1
  FAILOVERS=${BENCH_CLUSTER_FAILOVERS:-3}
fi
LAT_RATE=1000             # records/s: moderate, far below either cluster's limit
LAT_SIZE=100
FO_RATE=100               # records/s per partition during the failovers
FO_PARTITIONS=3
FO_STEADY_S=2             # the stream runs this long before the kill
FO_TIMEOUT_S=120          # no acknowledgement this long after the kill: a failed repetition
KAFKA_TOOL_TIMEOUT_S=600  # one tool or client run (the probe lives for a repetition)
export KAFKA_TOOL_TIMEOUT_S

CLUSTER_PROPS="default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2"

# The JVM options Apache's scripts give: kafka-server-start.sh's heap, and
# kafka-run-class.sh's performance and JMX defaults (as bench/kafka.sh).
APACHE_JVM_PERF="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true"
APACHE_JMX="-Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
KAFKA_SERVER_JAVA_OPTS="-Xmx1G -Xms1G $APACHE_JVM_PERF $APACHE_JMX"
# The perf tools and clients run with kafka-run-class.sh's flags too (the harness'
# C1-only flags would make the client the bottleneck).
PERF_TOOL_OPTS="$APACHE_JVM_PERF"
KAFKA_START_TIMEOUT_S=180

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

BROKERS=(b1 b2 b3)
BOOTSTRAP=""
ZK=""

# --- cluster -------------------------------------------------------------------------

broker_pid() { cat "$(kafka_server_dir "$1")/server.pid" 2>/dev/null || true; }
broker_pids() { local b; for b in "${BROKERS[@]}"; do broker_pid "$b"; echo; done | sed '/^$/d'; }

# start_cluster apache|keel DIR: a fresh ZooKeeper and three brokers on it; sets
# BOOTSTRAP and ZK.
start_cluster() {
  local server=$1 dir=$2 i
  rm -rf "$dir"
  mkdir -p "$dir"
  export RUN_DIR=$dir
  zk_start "$BENCH_CLUSTER_ZK" standalone zk || return 1
  ZK=$ZK_CONNECT
  BOOTSTRAP=""
  for i in 1 2 3; do
    KAFKA_BROKER_ID=$i KAFKA_EXTRA_PROPS=$CLUSTER_PROPS kafka_start "$server" zk "b$i" "$ZK" || return 1
    BOOTSTRAP="${BOOTSTRAP:+$BOOTSTRAP,}$KAFKA_BOOTSTRAP"
  done
  bench_log "$server cluster serving on $BOOTSTRAP (ZooKeeper $BENCH_CLUSTER_ZK on $ZK; broker pids $(broker_pids | tr '\n' ' '))"
}

# stop_cluster: every broker TERMed at once (the data is thrown away: no need for
# the one-after-the-other controlled shutdowns), KILL after 20 s; then the ZooKeeper.
stop_cluster() {
  local b p n pids=()
  for b in "${BROKERS[@]}"; do
    p=$(broker_pid "$b")
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && pids+=("$p")
  done
  for p in "${pids[@]}"; do
    n=0
    while kill -0 "$p" 2>/dev/null && [ "$n" -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for b in "${BROKERS[@]}"; do rm -f "$(kafka_server_dir "$b")/server.pid"; done
  KAFKA__NAMES=()
  zk_stop_all
}

cluster_alive() {
  local p
  for p in $(broker_pids); do kill -0 "$p" 2>/dev/null || return 1; done
  [ "$(broker_pids | wc -l)" = 3 ]
}

kb_to_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1000 }'; }
us() { printf '%s' "${1//[!0-9]/}"; }   # $EPOCHREALTIME -> microseconds

# --- tools ---------------------------------------------------------------------------

# producer_perf TOPIC N SIZE OUT: ProducerPerformance 3.9.1, acks=all, unthrottled;
# its summary line goes to OUT.
producer_perf() {
  local topic=$1 n=$2 size=$3 out=$4
  KAFKA_TOOL_JAVA_OPTS="$PERF_TOOL_OPTS" kafka_tool 3.9 producer-perf-test \
    --topic "$topic" --num-records "$n" --record-size "$size" --throughput -1 \
    --producer-props "bootstrap.servers=$BOOTSTRAP" acks=all \
    >"$out.full" 2>"$out.err" || { tail -n 20 "$out.err" "$out.full" >&2; return 1; }
  grep '99.9th' "$out.full" | tail -n 1 >"$out"
  [ -s "$out" ] || { bench_log "no ProducerPerformance summary"; tail -n 20 "$out.full" "$out.err" >&2; return 1; }
}

# emit_producer SERVER REP TEST SIZE SUMMARY_FILE (the line format: bench/kafka.sh)
emit_producer() {
  local server=$1 rep=$2 test=$3 size=$4 file=$5 line rps p50 p99 mbs
  line=$(cat "$file")
  rps=$(sed -nE 's/.* records sent, ([0-9.]+) records\/sec.*/\1/p' <<<"$line")
  p50=$(sed -nE 's/.* ([0-9.]+) ms 50th.*/\1/p' <<<"$line")
  p99=$(sed -nE 's/.* ([0-9.]+) ms 99th.*/\1/p' <<<"$line")
  mbs=$(awk -v r="$rps" -v s="$size" 'BEGIN { printf "%.2f", r * s / 1e6 }')
  bench_emit $AREA "$test" "records/s" "records/s" "$server" "$rep" "$rps" higher ">= 1.5x"
  bench_emit $AREA "$test" "MB/s" "MB/s" "$server" "$rep" "$mbs" higher ">= 1.5x"
  bench_emit $AREA "$test" "p50 latency (unthrottled)" "ms" "$server" "$rep" "$p50" lower
  bench_emit $AREA "$test" "p99 latency (unthrottled)" "ms" "$server" "$rep" "$p99" lower
}

# snap_brokers: one line per broker, "rss_kb hwm_kb cpu_s" (bench/lib/procstat.py)
snap_brokers() {
  local b
  for b in "${BROKERS[@]}"; do python3 "$BENCH_DIR/lib/procstat.py" snap "$(broker_pid "$b")"; done
}

# --- failover ------------------------------------------------------------------------

# failover_once SERVER DIR N: one failover repetition (see the header). Sets FO_PROBE
# (the probe's pid, still running) and FO_VICTIM; emits the repetition's figures.
# PREV_RESTART_US: when the previous repetition restarted its victim ("" for the first).
PREV_RESTART_US=""
failover_once() {
  local server=$1 dir=$2 n=$3 topic out ready controller leaders victim partition pid t t_kill t_dead first expiry
  topic="failover-$n"
  out="$dir/failover-$n.log"
  rm -f "$out" "$out.stop"
  # shellcheck disable=SC2046
  JAVA_OPTS="$(kafka__log_opts 3.9 tool)" KAFKA_CLIENT_JAVA_OPTS="-Xmx256m $PERF_TOOL_OPTS" \
    kafka_java kafka-3.9 "$BENCH_DIR/lib/FailoverProbe.java" "$BOOTSTRAP" "$topic" "$FO_PARTITIONS" \
    "$FO_RATE" "$ZK" "$out" >"$dir/failover-$n.ready" 2>"$dir/failover-$n.err" &
  FO_PROBE=$!
  t=0
  while ! grep -q '^ready ' "$dir/failover-$n.ready" 2>/dev/null; do
    kill -0 "$FO_PROBE" 2>/dev/null || { bench_log "failover $n: the probe exited: $(tail -n 3 "$dir/failover-$n.err" | tr '\n' ' ')"; return 1; }
    t=$((t + 1))
    [ "$t" -lt 2400 ] || { bench_log "failover $n: the probe is not ready after 240 s"; return 1; }
    sleep 0.1
  done
  ready=$(grep '^ready ' "$dir/failover-$n.ready")
  controller=$(sed -nE 's/.* controller=([0-9]+).*/\1/p' <<<"$ready")
  leaders=$(sed -nE 's/.* leaders=([0-9=,]+).*/\1/p' <<<"$ready")
  if [ -n "$PREV_RESTART_US" ]; then
    local isr_full
    isr_full=$(sed -nE 's/.* isr_full_us=([0-9]+).*/\1/p' <<<"$ready")
    bench_emit $AREA "$FO_TEST" "killed broker: restart to full ISR everywhere" ms "$server" "$((n - 1))" \
      "$(awk -v a="$PREV_RESTART_US" -v b="$isr_full" 'BEGIN { printf "%.0f", (b - a) / 1000 }')" lower
  fi
  # the partition to fail: the first one not led by the controller
  victim=""
  local pl
  for pl in ${leaders//,/ }; do
    if [ "${pl#*=}" != "$controller" ]; then partition=${pl%%=*}; victim=${pl#*=}; break; fi
  done
  [ -n "$victim" ] || { bench_log "failover $n: every partition is led by the controller ($leaders)"; return 1; }
  FO_VICTIM=$victim
  # a steady stream first
  t=0
  until grep -q '^ack ' "$out" 2>/dev/null; do
    kill -0 "$FO_PROBE" 2>/dev/null || { bench_log "failover $n: the probe exited before its first ack"; return 1; }
    t=$((t + 1))
    [ "$t" -lt 600 ] || { bench_log "failover $n: no record acknowledged in 60 s"; return 1; }
    sleep 0.1
  done
  sleep "$FO_STEADY_S"
  pid=$(broker_pid "b$victim")
  [ -n "$pid" ] || { bench_log "failover $n: broker $victim is not running"; return 1; }
  # no "Killed" job notice in the log: the shell stops tracking it (and still reaps it)
  disown "$pid" 2>/dev/null || true
  # Read the clock right before the kill, with no fork in between: a $(...) here would
  # let the leader live on for milliseconds after t_kill and acknowledge records sent in
  # that window.
  t_kill=$EPOCHREALTIME
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
  t_dead=$EPOCHREALTIME
  t_kill=$(us "$t_kill")
  t_dead=$(us "$t_dead")
  bench_log "$server failover $n: kill -9 of broker $victim (leader of $topic-$partition; controller $controller; leaders $leaders)"
  rm -f "$(kafka_server_dir "b$victim")/server.pid"
  # the first acknowledgement on that partition of a record sent once the old leader was
  # gone (so the new leader's), timed from the kill
  first=""
  t=0
  while [ -z "$first" ]; do
    first=$(awk -v p="$partition" -v k="$t_kill" -v d="$t_dead" '$1 == "ack" && $2 == p && $3 >= d { printf "%.0f", $4 - k; exit }' "$out")
    [ -n "$first" ] && break
    kill -0 "$FO_PROBE" 2>/dev/null || { bench_log "failover $n: the probe exited"; return 1; }
    t=$((t + 1))
    [ "$t" -lt $((FO_TIMEOUT_S * 10)) ] || { bench_log "failover $n: nothing acknowledged on $topic-$partition ${FO_TIMEOUT_S}s after the kill"; return 1; }
    sleep 0.1
  done
  # /brokers/ids without the victim: its ZooKeeper session expired
  expiry=$(awk -v v="$victim" -v k="$t_kill" '$1 == "ids" && $2 >= k {
      found = 0; m = split($3, ids, ","); for (i = 1; i <= m; i++) if (ids[i] == v) found = 1
      if (!found) { printf "%.0f", $2 - k; exit } }' "$out")
  bench_log "$server failover $n: first acknowledged write $((first / 1000)) ms after the kill (registration gone after $(( ${expiry:-0} / 1000 )) ms)"
  bench_emit $AREA "$FO_TEST" "kill to first acknowledged write" ms "$server" "$n" \
    "$(awk -v v="$first" 'BEGIN { printf "%.0f", v / 1000 }')" lower "<= 1.0x"
  if [ -n "$expiry" ]; then
    bench_emit $AREA "$FO_TEST" "kill to ZooKeeper session expiry (registration gone)" ms "$server" "$n" \
      "$(awk -v v="$expiry" 'BEGIN { printf "%.0f", v / 1000 }')" lower
    bench_emit $AREA "$FO_TEST" "session expiry to first acknowledged write" ms "$server" "$n" \
      "$(awk -v a="$first" -v e="$expiry" 'BEGIN { printf "%.0f", (a - e) / 1000 }')" lower
  else
    bench_note "- kafka-cluster failover $n: $server: the probe saw no /brokers/ids change after the kill"
  fi
  return 0
}

# stop_probe: ends the current probe (it flushes and exits once OUT.stop exists).
stop_probe() {
  local out=$1
  [ -n "${FO_PROBE:-}" ] || return 0
  touch "$out.stop"
  local t=0
  while kill -0 "$FO_PROBE" 2>/dev/null && [ "$t" -lt 300 ]; do sleep 0.1; t=$((t + 1)); done
  kill -TERM "$FO_PROBE" 2>/dev/null || true
  wait "$FO_PROBE" 2>/dev/null || true
  FO_PROBE=""
}

run_failovers() {
  local server=$1 dir=$2 n errs
  PREV_RESTART_US=""
  for n in $(seq 1 "$FAILOVERS"); do
    FO_VICTIM=""
    if ! failover_once "$server" "$dir" "$n"; then
      bench_note "- kafka-cluster failover $n: $server failed (logs: $dir)"
      stop_probe "$dir/failover-$n.log"
      [ -n "$FO_VICTIM" ] && [ -z "$(broker_pid "b$FO_VICTIM")" ] && { KAFKA_ZK_CONNECT=$ZK kafka_restart "b$FO_VICTIM" || return 1; }
      continue
    fi
    stop_probe "$dir/failover-$n.log"
    errs=$(grep -c '^err ' "$dir/failover-$n.log" || true)
    [ "${errs:-0}" = 0 ] || bench_note "- kafka-cluster failover $n: $server: the producer gave up on $errs records ($(grep -m1 '^err ' "$dir/failover-$n.log" | awk '{print $5}'))"
    PREV_RESTART_US=$EPOCHREALTIME
    PREV_RESTART_US=$(us "$PREV_RESTART_US")
    KAFKA_ZK_CONNECT=$ZK kafka_restart "b$FO_VICTIM" \
      || { bench_note "- kafka-cluster failover $n: $server: broker $FO_VICTIM did not restart"; return 1; }
  done
}

# produce_runs SERVER REP DIR: the warm-up, then the measured produce runs with the
# brokers' memory and CPU over them. Returns 1 (cluster stopped) if a broker died.
produce_runs() {
  local server=$1 rep=$2 dir=$3 b i
  bench_log "$server: warm-up, $N_WARMUP x 1 KB acks=all (not measured)"
  producer_perf warmup "$N_WARMUP" 1024 "$dir/warmup" || bench_note "- kafka-cluster rep $rep: $server: the warm-up produce failed"

  local -a before after
  mapfile -t before < <(snap_brokers)
  local size n test ok=1
  for size in 1024 100; do
    n=$N_1K; [ "$size" = 100 ] && n=$N_100
    test="produce $( [ "$size" = 100 ] && echo 100B || echo 1KB ) acks=all RF 3, 3p"
    bench_log "$server: $test ($n records)"
    if producer_perf "perf-$( [ "$size" = 100 ] && echo 100 || echo 1k )" "$n" "$size" "$dir/produce-$size"; then
      emit_producer "$server" "$rep" "$test" "$size" "$dir/produce-$size"
    else
      bench_note "- kafka-cluster rep $rep: $server: $test failed"
      ok=0
    fi
    cluster_alive || { bench_note "- kafka-cluster rep $rep: $server: a broker died during $test"; stop_cluster; return 1; }
  done
  mapfile -t after < <(snap_brokers)
  if [ "$ok" = 1 ]; then
    local rss hwm cpu0 cpu1 sum_rss=0 sum_cpu=0
    test="brokers after the produce runs"
    for i in 0 1 2; do
      read -r _ _ cpu0 <<<"${before[$i]}"
      read -r rss hwm cpu1 <<<"${after[$i]}"
      b=$((i + 1))
      bench_emit $AREA "$test" "broker $b VmRSS" MB "$server" "$rep" "$(kb_to_mb "$rss")" lower
      bench_emit $AREA "$test" "broker $b VmHWM" MB "$server" "$rep" "$(kb_to_mb "$hwm")" lower
      bench_emit $AREA "$test" "broker $b CPU over the produce runs" "CPU s" "$server" "$rep" \
        "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" lower
      sum_rss=$((sum_rss + rss))
      sum_cpu=$(awk -v s="$sum_cpu" -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", s + b - a }')
    done
    bench_emit $AREA "$test" "VmRSS, mean of 3 brokers" MB "$server" "$rep" "$(kb_to_mb $((sum_rss / 3)))" lower
    bench_emit $AREA "$test" "CPU over the produce runs, 3 brokers" "CPU s" "$server" "$rep" "$sum_cpu" lower
  fi
}

# --- one kind, one repetition ----------------------------------------------------------

run_server() {
  local server=$1 rep=$2 dir="$WORK/$1-r$2" b i
  bench_log "== kafka-cluster rep $rep: $server =="
  if ! start_cluster "$server" "$dir"; then
    bench_note "- kafka-cluster rep $rep: the $server cluster did not start (logs: $dir)"
    stop_cluster
    return 1
  fi
  # the partition leaders: each broker should lead one partition of each 3-partition topic
  if ! kafka_java kafka-clients-3.9 "$BENCH_DIR/lib/BenchAdmin.java" "$BOOTSTRAP" \
      warmup:3:3 perf-1k:3:3 perf-100:3:3 latency:1:3 >"$dir/admin.log" 2>&1; then
    cat "$dir/admin.log" >&2
    bench_note "- kafka-cluster rep $rep: $server: topic creation failed"
    stop_cluster
    return 1
  fi
  bench_log "$server: $(grep '^leaders' "$dir/admin.log")"
  [ "$rep" = 1 ] && bench_note "- kafka-cluster: $server partition leaders (broker ids): $(grep '^leaders' "$dir/admin.log" | cut -d' ' -f2-)"

  local latency_only=${BENCH_KAFKA_CLUSTER_LATENCY_ONLY:-0}
  if [ "$latency_only" != 1 ]; then
    produce_runs "$server" "$rep" "$dir" || return 1
  fi
  local test

  # latency at a fixed rate
  bench_log "$server: latency, $LAT_RATE records/s for ${LAT_SECONDS}s, acks=all RF 3"
  local out
  if out=$(KAFKA_CLIENT_JAVA_OPTS="-Xmx256m $PERF_TOOL_OPTS" kafka_java kafka-clients-3.9 \
      "$BENCH_DIR/lib/PacedLatency.java" "$BOOTSTRAP" latency "$LAT_RATE" "$LAT_SIZE" \
      "$LAT_SECONDS" "$LAT_WARMUP" 2>"$dir/latency.err"); then
    echo "$out" >"$dir/latency.out"
    test="produce latency (send to ack) ${LAT_RATE}/s ${LAT_SIZE}B acks=all RF 3"
    bench_emit $AREA "$test" "p50" ms "$server" "$rep" "$(sed -nE 's/.* ack_p50=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
    bench_emit $AREA "$test" "p99" ms "$server" "$rep" "$(sed -nE 's/.* ack_p99=([0-9.]+)ms.*/\1/p' <<<"$out")" lower "<= 0.33x"
    bench_emit $AREA "$test" "p99.9" ms "$server" "$rep" "$(sed -nE 's/.* ack_p999=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
    test="end-to-end latency ${LAT_RATE}/s ${LAT_SIZE}B acks=all RF 3"
    bench_emit $AREA "$test" "p50" ms "$server" "$rep" "$(sed -nE 's/.* p50=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
    bench_emit $AREA "$test" "p99" ms "$server" "$rep" "$(sed -nE 's/.* p99=([0-9.]+)ms.*/\1/p' <<<"$out")" lower "<= 0.33x"
    bench_emit $AREA "$test" "p99.9" ms "$server" "$rep" "$(sed -nE 's/.* p999=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
  else
    bench_note "- kafka-cluster rep $rep: $server: latency failed (${out:-} $(tail -n 3 "$dir/latency.err" | tr '\n' ' '))"
  fi
  cluster_alive || { bench_note "- kafka-cluster rep $rep: $server: a broker died during the latency test"; stop_cluster; return 1; }

  if [ "$rep" = 1 ] && [ "$latency_only" != 1 ]; then
    bench_log "$server: $FAILOVERS leader failovers"
    run_failovers "$server" "$dir" || bench_log "$server: failovers incomplete"
  fi

  stop_cluster
  # the data of one run must not cost the next cluster page-cache writeback
  for b in "${BROKERS[@]}"; do rm -rf "$(kafka_server_dir "$b")/data"; done
  rm -rf "$(zk_server_dir zk)/data"
  sync
}

# --- main ----------------------------------------------------------------------------

[ -x "$KEEL_BIN" ] || { bench_log "no keel binary at $KEEL_BIN"; exit 1; }
command -v java >/dev/null || { bench_log "java is missing"; exit 1; }
bench_log "fetching Kafka $KAFKA_ZK_VERSION and ZooKeeper $ZOOKEEPER_VERSION jars (cached after the first run)"
maven_classpath kafka-3.9 >/dev/null
maven_classpath kafka-clients-3.9 >/dev/null
[ "$BENCH_CLUSTER_ZK" = apache ] && maven_classpath zookeeper-3.9 >/dev/null

FO_TEST="leader failover, kill -9 of a non-controller leader"
trap 'stop_cluster' EXIT
started=$SECONDS
zk_desc="Apache ZooKeeper $ZOOKEEPER_VERSION (its Maven jar, the compat suites' flags)"
[ "$BENCH_CLUSTER_ZK" = keel ] && zk_desc="keel's ZooKeeper (\`keel zookeeper\`)"
bench_note "- kafka-cluster: three Apache Kafka $KAFKA_ZK_VERSION brokers (ZooKeeper mode, -Xmx1G -Xms1G G1 as kafka-server-start.sh) vs three \`keel kafka\` brokers, on one $zk_desc for both, started fresh per cluster; memory and CPU figures are the brokers' only (ZooKeeper not included). Same server.properties block (compat-tests kafka__common_props plus default.replication.factor=3, min.insync.replicas=2, offsets and transaction topics RF 3; no log.flush.* settings: no per-message fsync, Kafka's default; zookeeper.session.timeout.ms Kafka's default 18 s), data under bench/.cache, 127.0.0.1 only."
bench_note "- kafka-cluster load: kafka-tools $KAFKA_ZK_VERSION ProducerPerformance, acks=all, unthrottled, after a warm-up of ${N_WARMUP} x 1 KB: ${N_1K} x 1 KB, ${N_100} x 100 B, to topics of 3 partitions, RF 3 (each broker leads one, follows two); CPU s = utime+stime of each broker over those two runs; memory right after them. Latency: bench/lib/PacedLatency.java (kafka-clients $KAFKA_ZK_VERSION), ${LAT_RATE} records/s of ${LAT_SIZE} B for ${LAT_SECONDS} s after ${LAT_WARMUP} s of warm-up, acks=all, linger.ms=0, 1 partition RF 3. Failover: bench/lib/FailoverProbe.java (100 records/s to each of 3 partitions, acks=all, idempotent, client backoffs capped at 100 ms), ${FAILOVERS} repetitions in the first cluster of each kind, a fresh topic each; median shown. About 15-19 s of each is the dead broker's ZooKeeper session timing out (18 s after its last message to ZooKeeper, on a 2 s expiry tick: the same ZooKeeper and timeout for both, so the 'kill to first acknowledged write' ratio is near 1.0x and decided by that part; an idle Apache broker's Java ZooKeeper client pings after ~5 s without sending, keel's zookeeper-client crate after 2.7 s, so a crashed keel broker's session tends to expire ~1 s later); the 'session expiry to first acknowledged write' row is the part the brokers (controller election, LeaderAndIsr, the new leader) and the client's metadata refresh make. Clients and brokers share the machine's $(nproc) cores. MB = 10^6 bytes."
for rep in $(seq 1 "$BENCH_REPS"); do
  if [ $((rep % 2)) = 1 ]; then order="apache keel"; else order="keel apache"; fi
  for server in ${BENCH_KAFKA_CLUSTER_SERVERS:-$order}; do
    run_server "$server" "$rep" || bench_log "kafka-cluster rep $rep: $server incomplete"
  done
done
secs=$((SECONDS - started))
bench_log "kafka-cluster benchmark done in $(bench_fmt_secs "$secs")"
