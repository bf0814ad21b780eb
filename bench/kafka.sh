#!/usr/bin/env bash
# bench/kafka.sh: the Kafka half of scripts/bench. Apache Kafka 4.1 (KRaft, one
# combined broker+controller node, the JVM options of kafka-server-start.sh) and keel
# (`keel zookeeper` + `keel kafka`, see below) on this machine, one after the other,
# with the same server.properties block, the same data-dir location and the same load,
# driven by Apache's own perf tools from kafka-tools 4.1.
#
# Environment (set by scripts/bench; the last two are for developing this script):
#   BENCH_RESULTS  JSON-lines file every measurement is appended to (bench_emit)
#   BENCH_NOTES    markdown notes printed under the table (optional)
#   BENCH_LONG     0|1: short default run, or longer runs
#   BENCH_REPS     repetitions (each starts both servers afresh)
#   BENCH_WORK     scratch dir for data dirs and logs (under bench/.cache: same disk
#                  for both servers)
#   KEEL_BIN       release keel binary
#   BENCH_KAFKA_TINY=1         tiny counts: a smoke test of the script, numbers mean nothing
#   BENCH_KAFKA_SERVERS=apache one server only
#
# Per repetition and server (apache first in odd repetitions, keel first in even ones,
# so drift of a shared machine does not always favour the same server):
#   start      fork -> first answered ApiVersions (bench/lib/startwatch.py)
#   topics     perf-1p, perf-8p, backlog (8p), latency, conns (BenchAdmin: AdminClient)
#   idle       VmRSS / VmHWM after start + topic creation
#   produce    ProducerPerformance: 100 B and 1 KB records, acks=1 and all, 1 and 8
#              partitions, fixed record counts, unthrottled (1 KB acks=1 8p is the
#              backlog fill below)
#   consume    produce a >= 1 GiB backlog (1 KiB records, 8 partitions), then
#              ConsumerPerformance reads it; CPU s of the server per GB moved over both
#              and the peak RSS while they run
#   e2e        bench/lib/PacedLatency.java at a fixed 1000 records/s: end-to-end
#              latency, and produce latency (send to acknowledgement) at that rate
#   conns      5000 idle connections (bench/conn_holder.py) held while a producer and
#              a consumer run
# Machine references (loopback bandwidth, fdatasync latency) once per repetition.
#
# keel runs as two processes, `keel zookeeper zoo.cfg` and `keel kafka
# server.properties` on it, rather than `keel standalone`: standalone's ports are fixed
# (2181/9092) and its listener advertises the host name, while this benchmark binds
# everything to 127.0.0.1 on free ports. The two processes are what `keel standalone`
# runs in one; keel's memory and CPU figures are the SUM of both (its ZooKeeper does
# what KRaft's controller does inside Apache's one JVM), and its start time runs from
# the fork of its ZooKeeper to the broker's first answer.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
: "${BENCH_RESULTS:?}" "${BENCH_WORK:?}" "${KEEL_BIN:?}"
BENCH_LONG=${BENCH_LONG:-0}
BENCH_REPS=${BENCH_REPS:-3}
export REPO_DIR KEEL_BIN
# shellcheck source=/dev/null
. "$BENCH_DIR/lib/common.sh"
# The compat harness' helpers: Maven classpaths (jars cached in compat-tests/.cache),
# kafka_tool (the tools' main classes and heaps), kafka_java, kafka_probe, and
# kafka__common_props: the server.properties block both servers get here as there.
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/common.sh"
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/fetch.sh"
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/kafka.sh"

AREA=kafka
WORK="$BENCH_WORK/kafka"
mkdir -p "$WORK"

# --- sizes -------------------------------------------------------------------------
if [ "$BENCH_LONG" = 1 ]; then
  N_100=500000           # 50 MB: a few seconds per test
  N_1K=150000            # 150 MB
  BACKLOG_N=1048576      # 1 GiB of 1 KiB records: the issue's minimum backlog
  E2E_SECONDS=10; E2E_WARMUP=2
  CONNS_N=500000
  CONNS_CONSUME_N=300000
  KAFKA_TOOL_TIMEOUT_S=300
elif [ "${BENCH_KAFKA_TINY:-0}" = 1 ]; then
  # smoke test of the script itself (development only): numbers mean nothing
  N_100=50000; N_1K=20000; BACKLOG_N=50000
  E2E_SECONDS=3; E2E_WARMUP=1
  CONNS_N=50000; CONNS_CONSUME_N=20000
  KAFKA_TOOL_TIMEOUT_S=120
else
  # the short default: the same tests, smaller (the backlog is below the issue's
  # 1 GiB: --long measures that)
  N_100=150000           # 15 MB
  N_1K=40000             # 40 MB
  BACKLOG_N=262144       # 256 MiB of 1 KiB records
  E2E_SECONDS=4; E2E_WARMUP=1
  CONNS_N=150000
  CONNS_CONSUME_N=100000
  KAFKA_TOOL_TIMEOUT_S=300
fi
E2E_RATE=1000            # records/s: moderate, far below either server's limit
E2E_SIZE=100
CONNS=5000
BACKLOG_SIZE=1024
export KAFKA_TOOL_TIMEOUT_S

# The JVM options Apache's scripts give: kafka-server-start.sh's heap, and
# kafka-run-class.sh's performance, JMX and (server: "-loggc") GC-log defaults.
APACHE_JVM_PERF="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true"
APACHE_JMX="-Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
# The perf tools run with the same flags kafka-run-class.sh gives them (the harness'
# default C1-only flags would make the client the bottleneck).
PERF_TOOL_OPTS="$APACHE_JVM_PERF"

# Thousands of connections: the servers inherit this shell's limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((CONNS + 2000)) ]; then
  bench_log "open-file limit $(ulimit -n) is below $((CONNS + 2000)); the connection test may fail"
fi

SERVER_PIDS=()      # pids of the running server (keel: zookeeper, kafka)
SERVER_PORT=""
SERVER_DIR=""

# --- servers -------------------------------------------------------------------------

# start_watch DIR: starts startwatch.py for the port in $SERVER_PORT, waits until its
# Python is up; the caller then writes t0 and forks.
start_watch() {
  local dir=$1
  rm -f "$dir/t0" "$dir/watch.ready"
  python3 "$BENCH_DIR/lib/startwatch.py" "$SERVER_PORT" "$dir/t0" "$dir/watch.ready" 180 \
    >"$dir/start.ms" 2>"$dir/start.err" &
  WATCH_PID=$!
  while [ ! -s "$dir/watch.ready" ]; do sleep 0.01; done
}

# start_server apache|keel DIR: starts the server on fresh data; sets SERVER_PIDS,
# SERVER_PORT, START_MS (fork to first answered ApiVersions).
start_server() {
  local server=$1 dir=$2 cport zport cp cluster_id t0
  rm -rf "$dir"
  mkdir -p "$dir/data"
  SERVER_DIR=$dir
  SERVER_PORT=$(free_port)
  SERVER_PIDS=()
  case "$server" in
    apache)
      cport=$(free_port)
      cp=$(maven_classpath kafka-4)
      {
        echo "process.roles=broker,controller"
        echo "node.id=1"
        echo "controller.quorum.voters=1@127.0.0.1:$cport"
        echo "listeners=PLAINTEXT://127.0.0.1:$SERVER_PORT,CONTROLLER://127.0.0.1:$cport"
        echo "advertised.listeners=PLAINTEXT://127.0.0.1:$SERVER_PORT"
        echo "controller.listener.names=CONTROLLER"
        echo "inter.broker.listener.name=PLAINTEXT"
        echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        echo "log.dirs=$dir/data"
        echo "share.coordinator.state.topic.replication.factor=1"
        echo "share.coordinator.state.topic.min.isr=1"
        kafka__common_props
      } >"$dir/server.properties"
      cluster_id=$(python3 -c 'import base64,uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"): print(s); break')
      # kafka-storage.sh format is a one-time install step, not part of a start.
      # shellcheck disable=SC2046,SC2086
      java -Xmx256M $KAFKA_TOOL_JAVA_OPTS $(kafka__log_opts 4 tool) -cp "$cp" \
        kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
        >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; return 1; }
      local log_opts
      log_opts=$(kafka__log_opts 4 server "$dir/server.log")
      start_watch "$dir"
      t0=$EPOCHREALTIME
      # shellcheck disable=SC2086
      java -Xmx1G -Xms1G $APACHE_JVM_PERF $APACHE_JMX \
        "-Xlog:gc*:file=$dir/kafkaServer-gc.log:time,tags:filecount=10,filesize=100M" \
        "-Dkafka.logs.dir=$dir" "$log_opts" -cp "$cp" \
        kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
      SERVER_PIDS+=($!)
      echo "$t0" >"$dir/t0" ;;
    keel)
      zport=$(free_port)
      while [ "$zport" = "$SERVER_PORT" ]; do zport=$(free_port); done
      mkdir -p "$dir/zk"
      {
        echo "tickTime=2000"
        echo "initLimit=10"
        echo "syncLimit=5"
        echo "dataDir=$dir/zk"
        echo "clientPort=$zport"
        echo "clientPortAddress=127.0.0.1"
        echo "admin.enableServer=false"
      } >"$dir/zoo.cfg"
      {
        echo "broker.id=1"
        echo "listeners=PLAINTEXT://127.0.0.1:$SERVER_PORT"
        echo "advertised.listeners=PLAINTEXT://127.0.0.1:$SERVER_PORT"
        echo "log.dirs=$dir/data"
        echo "zookeeper.connect=127.0.0.1:$zport"
        echo "zookeeper.connection.timeout.ms=18000"
        kafka__common_props
      } >"$dir/server.properties"
      start_watch "$dir"
      t0=$EPOCHREALTIME
      "$KEEL_BIN" zookeeper "$dir/zoo.cfg" >"$dir/zk.log" 2>&1 </dev/null &
      SERVER_PIDS+=($!)
      echo "$t0" >"$dir/t0"
      # As `keel standalone` does: the broker once its ZooKeeper listens (polled
      # every few ms; this wait is inside the measured start time).
      local i
      for i in $(seq 1 6000); do
        (exec 3<>"/dev/tcp/127.0.0.1/$zport") 2>/dev/null && break
        kill -0 "${SERVER_PIDS[0]}" 2>/dev/null || break
        sleep 0.002
      done
      "$KEEL_BIN" kafka "$dir/server.properties" >"$dir/server.log" 2>&1 </dev/null &
      SERVER_PIDS+=($!) ;;
  esac
  if ! wait "$WATCH_PID"; then
    bench_log "$server did not answer ApiVersions: $(cat "$dir/start.err")"
    tail -n 20 "$dir"/*.log >&2 || true
    return 1
  fi
  START_MS=$(cat "$dir/start.ms")
  # Serving ApiVersions is not yet serving clients: wait until Metadata lists the broker.
  local t=0 out
  while :; do
    local p
    for p in "${SERVER_PIDS[@]}"; do
      kill -0 "$p" 2>/dev/null || { bench_log "$server exited during start"; tail -n 20 "$dir"/*.log >&2; return 1; }
    done
    if out=$(kafka_probe "127.0.0.1:$SERVER_PORT" 2>/dev/null) && [[ $out != brokers=0* ]]; then break; fi
    t=$((t + 1))
    [ "$t" -lt 600 ] || { bench_log "$server: Metadata lists no broker after 60 s"; return 1; }
    sleep 0.1
  done
  bench_log "$server serving on 127.0.0.1:$SERVER_PORT (first answer after ${START_MS} ms; pids ${SERVER_PIDS[*]})"
}

stop_server() {
  local i p
  # keel: the broker first (it deregisters from its ZooKeeper), then the ZooKeeper
  for ((i = ${#SERVER_PIDS[@]} - 1; i >= 0; i--)); do
    p=${SERVER_PIDS[$i]}
    kill -TERM "$p" 2>/dev/null || continue
    local n=0
    while kill -0 "$p" 2>/dev/null && [ "$n" -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  SERVER_PIDS=()
}

server_alive() {
  local p
  for p in "${SERVER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done
}

snap() { python3 "$BENCH_DIR/lib/procstat.py" snap "${SERVER_PIDS[@]}"; }

# watch_rss_start / watch_rss_stop: peak summed VmRSS (kB) over a stretch of load.
watch_rss_start() {
  rm -f "$SERVER_DIR/rss.peak"
  python3 "$BENCH_DIR/lib/procstat.py" watch "$SERVER_DIR/rss.peak" "${SERVER_PIDS[@]}" &
  RSS_WATCH_PID=$!
}
# sets RSS_PEAK (kB); not in $(...): only this shell can wait for the watcher
watch_rss_stop() {
  kill -TERM "$RSS_WATCH_PID" 2>/dev/null || true
  wait "$RSS_WATCH_PID" 2>/dev/null || true
  RSS_PEAK=$(cat "$SERVER_DIR/rss.peak" 2>/dev/null || echo 0)
}

kb_to_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1000 }'; }

# --- tools ---------------------------------------------------------------------------

bootstrap() { printf '127.0.0.1:%s' "$SERVER_PORT"; }

# producer_perf TOPIC N SIZE ACKS OUT [RATE]: ProducerPerformance, unthrottled unless a
# RATE (records/s) is given; its summary line goes to OUT.
producer_perf() {
  local topic=$1 n=$2 size=$3 acks=$4 out=$5 rate=${6:--1}
  KAFKA_TOOL_JAVA_OPTS="$PERF_TOOL_OPTS" kafka_tool 4 producer-perf-test \
    --topic "$topic" --num-records "$n" --record-size "$size" --throughput "$rate" \
    --producer-props "bootstrap.servers=$(bootstrap)" "acks=$acks" \
    >"$out.full" 2>"$out.err" || { tail -n 20 "$out.err" "$out.full" >&2; return 1; }
  grep '99.9th' "$out.full" | tail -n 1 >"$out"
  [ -s "$out" ] || { bench_log "no ProducerPerformance summary"; tail -n 20 "$out.full" "$out.err" >&2; return 1; }
}

# emit_producer SERVER REP TEST SIZE SUMMARY_FILE: records/s, MB/s and
# the latency percentiles of one ProducerPerformance summary line:
#   "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency,
#    P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th."
emit_producer() {
  local server=$1 rep=$2 test=$3 size=$4 file=$5 line rps p50 p99 p999 mbs
  line=$(cat "$file")
  rps=$(sed -nE 's/.* records sent, ([0-9.]+) records\/sec.*/\1/p' <<<"$line")
  p50=$(sed -nE 's/.* ([0-9.]+) ms 50th.*/\1/p' <<<"$line")
  p99=$(sed -nE 's/.* ([0-9.]+) ms 99th.*/\1/p' <<<"$line")
  p999=$(sed -nE 's/.* ([0-9.]+) ms 99\.9th.*/\1/p' <<<"$line")
  # MB = 10^6 bytes everywhere in the results (the tool's "MB" is 2^20).
  mbs=$(awk -v r="$rps" -v s="$size" 'BEGIN { printf "%.2f", r * s / 1e6 }')
  bench_emit $AREA "$test" "records/s" "records/s" "$server" "$rep" "$rps" higher ">= 1.0x"
  bench_emit $AREA "$test" "MB/s" "MB/s" "$server" "$rep" "$mbs" higher ">= 1.0x"
  bench_emit $AREA "$test" "p50 latency" "ms" "$server" "$rep" "$p50" lower
  bench_emit $AREA "$test" "p99 latency" "ms" "$server" "$rep" "$p99" lower "<= 0.33x"
  bench_emit $AREA "$test" "p99.9 latency" "ms" "$server" "$rep" "$p999" lower
}

# consumer_perf TOPIC N OUT: ConsumerPerformance (its own group); the stats line to OUT.
consumer_perf() {
  local topic=$1 n=$2 out=$3
  KAFKA_TOOL_JAVA_OPTS="$PERF_TOOL_OPTS" kafka_tool 4 consumer-perf-test \
    --bootstrap-server "$(bootstrap)" --topic "$topic" --messages "$n" \
    --group "bench-$(kafka_unique g)" --timeout 60000 \
    >"$out.full" 2>"$out.err" || { tail -n 20 "$out.err" "$out.full" >&2; return 1; }
  # header "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
  # nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
  grep -A1 '^start.time' "$out.full" | tail -n 1 >"$out"
  [ -s "$out" ] || { bench_log "no ConsumerPerformance stats"; cat "$out.full" >&2; return 1; }
}

# --- one server, one repetition --------------------------------------------------------

run_server() {
  local server=$1 rep=$2 dir="$WORK/$1-r$2" t
  bench_log "== kafka rep $rep: $server =="
  if ! start_server "$server" "$dir"; then
    bench_note "- kafka rep $rep: $server did not start (logs: $dir)"
    stop_server
    return 1
  fi
  bench_emit $AREA "start to first served request" "start" "ms" "$server" "$rep" "$START_MS" lower "< 100 ms"

  kafka_java kafka-clients-4 "$BENCH_DIR/lib/BenchAdmin.java" "$(bootstrap)" \
    perf-1p:1 perf-8p:8 backlog:8 latency:1 conns:1 >"$dir/admin.log" 2>&1 \
    || { cat "$dir/admin.log" >&2; bench_note "- kafka rep $rep: $server: topic creation failed"; stop_server; return 1; }

  # idle: let start-up work (JIT, background threads, first checkpoints) settle
  sleep 3
  local s rss hwm cpu0 cpu1
  read -r rss hwm _ < <(snap)
  bench_emit $AREA "memory idle (after start + 5 topics)" "RSS" "MB" "$server" "$rep" "$(kb_to_mb "$rss")" lower "<= 0.1x"
  bench_emit $AREA "memory idle (after start + 5 topics)" "VmHWM" "MB" "$server" "$rep" "$(kb_to_mb "$hwm")" lower

  # produce throughput and latency (1 KB acks=1 8p is the backlog fill below)
  local size acks parts n test
  for size in 100 1024; do
    for acks in 1 all; do
      for parts in 1 8; do
        [ "$size:$acks:$parts" = 1024:1:8 ] && continue
        n=$N_100; [ "$size" = 1024 ] && n=$N_1K
        test="produce $( [ "$size" = 100 ] && echo 100B || echo 1KB ) acks=$acks ${parts}p"
        bench_log "$server: $test ($n records)"
        if producer_perf "perf-${parts}p" "$n" "$size" "$acks" "$dir/produce-$size-$acks-$parts"; then
          emit_producer "$server" "$rep" "$test" "$size" "$dir/produce-$size-$acks-$parts"
        else
          bench_note "- kafka rep $rep: $server: $test failed"
        fi
        server_alive || { bench_note "- kafka rep $rep: $server died during $test"; stop_server; return 1; }
      done
    done
  done

  # consume: a >= 1 GiB backlog (its fill is the "produce 1KB acks=1 8p" test), then
  # read it; CPU and memory over both
  local gb_moved c mbs rps frps
  bench_log "$server: backlog of $BACKLOG_N x $BACKLOG_SIZE B (produce 1KB acks=1 8p), then consume it"
  read -r _ _ cpu0 < <(snap)
  watch_rss_start
  local filled=0
  if producer_perf backlog "$BACKLOG_N" "$BACKLOG_SIZE" 1 "$dir/backlog"; then
    emit_producer "$server" "$rep" "produce 1KB acks=1 8p" "$BACKLOG_SIZE" "$dir/backlog"
    filled=1
  fi
  if [ "$filled" = 1 ] && consumer_perf backlog "$BACKLOG_N" "$dir/consume"; then
    watch_rss_stop
    read -r rss hwm cpu1 < <(snap)
    IFS=',' read -r -a c <"$dir/consume"
    # fetch.MB.sec / fetch.nMsg.sec: the fetching itself, without the group join
    mbs=$(awk -v m="${c[8]}" 'BEGIN { printf "%.2f", m * 1.048576 }')
    frps=$(awk -v r="${c[9]}" 'BEGIN { printf "%.0f", r }')
    test="consume $(awk -v n="$BACKLOG_N" -v s="$BACKLOG_SIZE" 'BEGIN { printf "%g", n * s / 1073741824 }') GiB backlog 1KB 8p"
    bench_emit $AREA "$test" "MB/s" "MB/s" "$server" "$rep" "$mbs" higher ">= 1.0x"
    bench_emit $AREA "$test" "records/s" "records/s" "$server" "$rep" "$frps" higher ">= 1.0x"
    bench_emit $AREA "$test" "group join" "ms" "$server" "$rep" "$(awk -v v="${c[6]}" 'BEGIN { printf "%.0f", v }')" lower
    gb_moved=$(awk -v n="$BACKLOG_N" -v s="$BACKLOG_SIZE" 'BEGIN { print 2 * n * s / 1e9 }')
    bench_emit $AREA "produce + consume backlog (CPU, memory)" "CPU per GB moved" "CPU s/GB" "$server" "$rep" \
      "$(awk -v a="$cpu0" -v b="$cpu1" -v g="$gb_moved" 'BEGIN { printf "%.3f", (b - a) / g }')" lower
    bench_emit $AREA "produce + consume backlog (CPU, memory)" "peak RSS under load" "MB" "$server" "$rep" "$(kb_to_mb "$RSS_PEAK")" lower
    bench_emit $AREA "produce + consume backlog (CPU, memory)" "VmHWM after load" "MB" "$server" "$rep" "$(kb_to_mb "$hwm")" lower
  else
    watch_rss_stop
    bench_note "- kafka rep $rep: $server: backlog produce/consume failed"
  fi
  server_alive || { bench_note "- kafka rep $rep: $server died during consume"; stop_server; return 1; }

  # end-to-end and produce latency at a fixed rate (unthrottled, ProducerPerformance's
  # latencies are mostly the time records wait in the client's full buffer)
  bench_log "$server: end-to-end latency, $E2E_RATE records/s for ${E2E_SECONDS}s"
  local out
  test="end-to-end latency ${E2E_RATE}/s ${E2E_SIZE}B"
  if out=$(KAFKA_CLIENT_JAVA_OPTS="-Xmx256m $PERF_TOOL_OPTS" kafka_java kafka-clients-4 \
      "$BENCH_DIR/lib/PacedLatency.java" "$(bootstrap)" latency "$E2E_RATE" "$E2E_SIZE" \
      "$E2E_SECONDS" "$E2E_WARMUP" 2>"$dir/e2e.err"); then
    echo "$out" >"$dir/e2e.out"
    bench_emit $AREA "$test" "p50" "ms" "$server" "$rep" "$(sed -nE 's/.* p50=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
    bench_emit $AREA "$test" "p99" "ms" "$server" "$rep" "$(sed -nE 's/.* p99=([0-9.]+)ms.*/\1/p' <<<"$out")" lower "<= 0.33x"
    bench_emit $AREA "$test" "p99.9" "ms" "$server" "$rep" "$(sed -nE 's/.* p999=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
    test="produce latency (send to ack) ${E2E_RATE}/s ${E2E_SIZE}B acks=all 1p"
    bench_emit $AREA "$test" "p50" "ms" "$server" "$rep" "$(sed -nE 's/.* ack_p50=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
    bench_emit $AREA "$test" "p99" "ms" "$server" "$rep" "$(sed -nE 's/.* ack_p99=([0-9.]+)ms.*/\1/p' <<<"$out")" lower "<= 0.33x"
    bench_emit $AREA "$test" "p99.9" "ms" "$server" "$rep" "$(sed -nE 's/.* ack_p999=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
  else
    bench_note "- kafka rep $rep: $server: end-to-end latency failed (${out:-} $(tail -n 3 "$dir/e2e.err" | tr '\n' ' '))"
  fi
  server_alive || { bench_note "- kafka rep $rep: $server died during e2e latency"; stop_server; return 1; }

  # 5000 idle connections held while a producer and a consumer run
  bench_log "$server: $CONNS connections held, producer + consumer"
  local holder ready held
  rm -f "$dir/holder.ready"
  python3 "$BENCH_DIR/conn_holder.py" "$(bootstrap)" "$CONNS" "$dir/holder.ready" >"$dir/holder.out" 2>"$dir/holder.err" &
  holder=$!
  t=0
  while [ ! -s "$dir/holder.ready" ] && kill -0 "$holder" 2>/dev/null && [ "$t" -lt 1200 ]; do sleep 0.1; t=$((t + 1)); done
  ready=$(cat "$dir/holder.ready" 2>/dev/null || echo "holder did not finish setting up")
  bench_log "$server: holder: $ready"
  test="produce 100B acks=1 1p + consume, ${CONNS} idle connections held"
  read -r rss _ _ < <(snap)
  bench_emit $AREA "$test" "RSS with connections, before load" "MB" "$server" "$rep" "$(kb_to_mb "$rss")" lower
  watch_rss_start
  consumer_perf backlog "$CONNS_CONSUME_N" "$dir/conns-consume" &
  local consumer=$!
  if producer_perf conns "$CONNS_N" 100 1 "$dir/conns-produce"; then
    local line rps p99
    line=$(cat "$dir/conns-produce")
    rps=$(sed -nE 's/.* records sent, ([0-9.]+) records\/sec.*/\1/p' <<<"$line")
    p99=$(sed -nE 's/.* ([0-9.]+) ms 99th.*/\1/p' <<<"$line")
    bench_emit $AREA "$test" "producer records/s" "records/s" "$server" "$rep" "$rps" higher ">= 1.0x"
    bench_emit $AREA "$test" "producer p99 latency" "ms" "$server" "$rep" "$p99" lower "<= 0.33x"
  else
    bench_note "- kafka rep $rep: $server: producer with $CONNS connections failed"
  fi
  wait "$consumer" || bench_note "- kafka rep $rep: $server: consumer with $CONNS connections failed"
  watch_rss_stop
  bench_emit $AREA "$test" "peak RSS under load" "MB" "$server" "$rep" "$(kb_to_mb "$RSS_PEAK")" lower
  kill -TERM "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  held=$(sed -nE 's/^held=([0-9]+) .*/\1/p' "$dir/holder.out")
  bench_emit $AREA "$test" "connections still open at end" "connections" "$server" "$rep" "${held:-0}" higher ">= 1.0x"

  stop_server
  # the data of one run must not cost the next server page-cache writeback
  rm -rf "$dir/data" "$dir/zk"
  sync
}

# --- machine references ---------------------------------------------------------------

# iperf3 (Debian) when it can be had; otherwise bench/lib/machine.py's socket copy.
have_iperf3() {
  command -v iperf3 >/dev/null && return 0
  [ "${BENCH_NO_APT:-0}" = 1 ] && return 1
  command -v apt-get >/dev/null || return 1
  bench_log "installing iperf3 (apt) for the loopback reference"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >"$WORK/apt-iperf3.log" 2>&1 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$WORK/apt-iperf3.log" 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >>"$WORK/apt-iperf3.log" 2>&1; } \
    || { BENCH_NO_APT=1; return 1; }
  command -v iperf3 >/dev/null
}

machine_refs() {
  local rep=$1 secs=3 mbs port srv line
  [ "$BENCH_LONG" = 1 ] && secs=10
  if have_iperf3; then
    port=$(free_port)
    # one-off server (-1): no port probe, its first connection must be the test's
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    srv=$!
    sleep 0.5
    mbs=$(iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J 2>/dev/null \
      | python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6))') || mbs=""
    kill "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
    LOOPBACK_HOW="iperf3, one TCP stream, ${secs}s"
  else
    mbs=$(python3 "$BENCH_DIR/lib/machine.py" loopback "$secs") || mbs=""
    LOOPBACK_HOW="Python socket copy, 1 MiB buffers, ${secs}s"
  fi
  bench_emit $AREA "loopback TCP bandwidth ($LOOPBACK_HOW)" "MB/s" "MB/s" machine "$rep" "$mbs" higher
  line=$(python3 "$BENCH_DIR/lib/machine.py" fsync "$BENCH_WORK" "$secs") || line=""
  bench_emit $AREA "disk: 4 KiB pwrite + fdatasync (bench/.cache)" "fdatasync p50" "ms" machine "$rep" "$(awk '{print $1}' <<<"$line")" lower
  bench_emit $AREA "disk: 4 KiB pwrite + fdatasync (bench/.cache)" "fdatasync p99" "ms" machine "$rep" "$(awk '{print $2}' <<<"$line")" lower
}

# --- main ----------------------------------------------------------------------------

[ -x "$KEEL_BIN" ] || { bench_log "no keel binary at $KEEL_BIN"; exit 1; }
command -v java >/dev/null || { bench_log "java is missing"; exit 1; }
bench_log "fetching Kafka $KAFKA_VERSION jars (cached after the first run)"
maven_classpath kafka-4 >/dev/null
maven_classpath kafka-clients-4 >/dev/null

trap 'stop_server' EXIT
started=$SECONDS
bench_note "- kafka: Apache Kafka $KAFKA_VERSION (KRaft, combined broker+controller, -Xmx1G -Xms1G G1 as kafka-server-start.sh) vs keel as two processes (\`keel zookeeper\` + \`keel kafka\`): **keel's memory and CPU figures are the sum of both processes, its ZooKeeper included**; its start time runs from the fork of its ZooKeeper to the broker's first answer. Both: the same server.properties block (compat-tests kafka__common_props: no log.flush.* settings, so no per-message fsync, Kafka's default), data under bench/.cache, 127.0.0.1 only."
bench_note "- kafka load: Apache kafka-tools $KAFKA_VERSION ProducerPerformance (client defaults but acks; unthrottled: ${N_100} x 100 B, ${N_1K} x 1 KB, and the ${BACKLOG_N} x 1 KiB backlog fill, which is the 1KB acks=1 8p test; unthrottled, its latencies are mostly time spent queued in the client), ConsumerPerformance (fetch.* figures: without the group join), end-to-end and send-to-ack latency by bench/lib/PacedLatency.java (kafka-clients $KAFKA_VERSION, ${E2E_RATE} records/s of ${E2E_SIZE} B for ${E2E_SECONDS} s after ${E2E_WARMUP} s of warm-up, linger.ms=0, acks=all; EndToEndLatency is closed-loop and cannot pace), ${CONNS} idle connections by bench/conn_holder.py. Clients and servers share the machine's $(nproc) cores. MB = 10^6 bytes."
for rep in $(seq 1 "$BENCH_REPS"); do
  machine_refs "$rep"
  if [ $((rep % 2)) = 1 ]; then order="apache keel"; else order="keel apache"; fi
  # BENCH_KAFKA_SERVERS="apache" or "keel": one side only (development)
  for server in ${BENCH_KAFKA_SERVERS:-$order}; do
    run_server "$server" "$rep" || bench_log "kafka rep $rep: $server incomplete"
  done
done
secs=$((SECONDS - started))
bench_log "kafka benchmark done in $(bench_fmt_secs "$secs")"
