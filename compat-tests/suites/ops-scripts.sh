# needs: none
# clients: kafka-server-scripts zookeeper-server-scripts systemd-notify sigterm-clean-stop
# timeout: 300
#
# ops-scripts: the Apache-style launcher scripts in scripts/ (kafka-server-start.sh,
# kafka-server-stop.sh, zookeeper-server-start.sh, zookeeper-server-stop.sh, with
# keel-run-class.sh under the start scripts), keel's systemd notify messages (what the
# Type=notify units in docker/systemd/ rely on), and SIGTERM as a clean stop. The suite
# starts its own servers on free 127.0.0.1 ports under $SUITE_WORK.
#
#   --target keel: the scripts are copied into a scratch <prefix>/bin, so their default
#     LOG_DIR is <prefix>/logs as Apache's is <install>/logs; then
#     kafka-server-scripts / zookeeper-server-scripts:
#       - each start script without arguments, and with -daemon alone, prints its USAGE
#         line and exits 1;
#       - `zookeeper-server-start.sh -daemon <prefix>/config/zookeeper.properties`
#         returns 0 at once, <prefix>/logs/zookeeper.out appears, the process runs and
#         serves (srvr: Mode: standalone);
#       - `kafka-server-start.sh -daemon <prefix>/config/server.properties
#         --override broker.id=1 --override listeners=PLAINTEXT://127.0.0.1:<port>` and a
#         second broker (id 2, LOG_DIR=<prefix>/logs-2, EXTRA_ARGS='-name kafkaServer-2'):
#         0 at once, <prefix>/logs/kafkaServer.out and <prefix>/logs-2/kafkaServer-2.out,
#         both serve (kafka_probe: brokers=2) and are registered (/brokers/ids/1 and /2
#         in the `dump` of ZooKeeper);
#       - kafka-server-stop.sh with --node-id=7 (no such broker): "No kafka server to
#         stop", exit 1, both brokers still up; --node-id=<the broker that is not the
#         controller>: exit 0, it exits, the other does not; --process-role=broker on
#         the other's properties file: exit 0, it exits; a last call: "No kafka server
#         to stop", exit 1;
#       - zookeeper-server-stop.sh (SIGNAL=TERM): exit 0, the server exits; again: "No
#         zookeeper server to stop", exit 1;
#       - a decoy shaped like `keel standalone` (argv[0] .../keel, argv[1] standalone)
#         whose command line also holds "kafka", "zookeeper" and both config paths
#         (what a ps | grep would take) is never signalled.
#     Only the suite's own servers can be matched: every stop-script call passes
#     --config=<prefix>/config (a directory: servers started with a file under it) or
#     --config=<one file>, keel's filter; a bare kafka-server-stop.sh would signal
#     every keel broker of the user, like Apache's, so the suite never runs one.
#     systemd-notify: a Python datagram listener stands in for systemd's NOTIFY_SOCKET:
#       ZooKeeper (abstract socket @name) and a third broker (socket path) started in
#       the foreground by the start scripts (exec: the script's pid is keel's) send
#       READY=1 with a STATUS= line, and serve when READY=1 arrives (srvr answers; the
#       broker answers Metadata and is in /brokers/ids); SIGTERM brings STOPPING=1 and
#       exit status 0.
#     sigterm-clean-stop: the broker that is not the controller, stopped by
#       kafka-server-stop.sh (SIGTERM) while the other runs, logs "controlled shutdown
#       succeeded" and "kafka broker shut down", the controller logs "shutting down
#       broker (controlled shutdown)" for it, it leaves /brokers/ids and the other's
#       metadata lists one broker; the last broker logs "kafka broker shut down" and
#       leaves /brokers/ids too.
#   --target apache: the scripts and the notify protocol are keel's own (Apache's bin/
#     scripts launch a JVM from a distribution the harness does not have; Apache 3.9
#     sends no sd_notify), so kafka-server-scripts, zookeeper-server-scripts and
#     systemd-notify are reported as skipped. sigterm-clean-stop runs against the
#     reference: Apache ZooKeeper 3.9 and one Apache Kafka 3.9 broker (ZooKeeper mode)
#     from the harness; SIGTERM to the broker: its log shows "Controlled shutdown
#     request returned successfully" and "shut down completed", it leaves /brokers/ids,
#     and it exits (status 143, a JVM's); SIGTERM to ZooKeeper: it exits.
#
# Run by hand: TARGET=keel KEEL_BIN=/tmp/keel-ops bash compat-tests/suites/ops-scripts.sh

set -u
if ! declare -F report >/dev/null; then
  COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  for f in common fetch zookeeper kafka; do . "$COMPAT_DIR/lib/$f.sh"; done
fi
TARGET=${TARGET:-keel}
SUITE_WORK=${SUITE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ops-scripts.XXXXXX")}
RUN_DIR=${RUN_DIR:-$SUITE_WORK}
export KEEL_BIN=${KEEL_BIN:-$REPO_DIR/target/release/keel}
prefix="$SUITE_WORK/ops"
# socket paths must stay under 108 bytes: a short dir of their own
sockdir=$(mktemp -d "${TMPDIR:-/tmp}/keel-ops-notify.XXXXXX")

KAFKA_FAILS="" ZK_FAILS="" NOTIFY_FAILS="" STOP_FAILS=""
kfail() { echo "  FAIL $*"; KAFKA_FAILS="$KAFKA_FAILS; $*"; }
zfail() { echo "  FAIL $*"; ZK_FAILS="$ZK_FAILS; $*"; }
nfail() { echo "  FAIL $*"; NOTIFY_FAILS="$NOTIFY_FAILS; $*"; }
sfail() { echo "  FAIL $*"; STOP_FAILS="$STOP_FAILS; $*"; }
pass() { echo "  ok   $*"; }

# own_pids KIND PATH: pids of keel processes `<keel> KIND <config> ...` whose config is
# PATH or lies under PATH (a directory); the suite's own view, independent of the scripts.
own_pids() {
  local kind=$1 path dir pid argv cfg
  path=$(realpath -m -- "$2")
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    mapfile -d '' -t argv 2>/dev/null <"$dir/cmdline" || continue
    [ "${#argv[@]}" -ge 3 ] && [ "${argv[1]}" = "$kind" ] || continue
    cfg=${argv[2]}
    case "$cfg" in /*) ;; *) cfg="$(readlink "$dir/cwd" 2>/dev/null)/$cfg" ;; esac
    cfg=$(realpath -m -- "$cfg")
    if [ "$cfg" = "$path" ] || [[ "$cfg" == "$path"/* ]]; then echo "$pid"; fi
  done
}

# one_pid KIND PATH: waits (10 s) until exactly one own_pids process runs (nohup execs
# keel a moment after the start script returned), prints its pid.
one_pid() {
  local i pids
  for i in $(seq 1 50); do
    pids=$(own_pids "$1" "$2")
    if [ -n "$pids" ] && [ "$(printf '%s\n' "$pids" | wc -l)" = 1 ]; then echo "$pids"; return 0; fi
    sleep 0.2
  done
  echo "$pids"
  return 1
}

suite_cleanup() {
  local pid
  # own_pids: keel servers on configs under this run's prefix; jobs -p: this shell's
  # own live children (listeners, the decoy, foreground servers), never a reused pid
  for pid in $(own_pids kafka "$prefix") $(own_pids zookeeper "$prefix") $(jobs -p); do
    kill -TERM "$pid" 2>/dev/null
  done
  sleep 1
  for pid in $(own_pids kafka "$prefix") $(own_pids zookeeper "$prefix") $(jobs -p); do
    kill -KILL "$pid" 2>/dev/null
  done
  declare -F kafka_stop_all >/dev/null && kafka_stop_all >/dev/null 2>&1
  declare -F zk_stop_all >/dev/null && zk_stop_all >/dev/null 2>&1
  rm -rf "$sockdir"
}
trap suite_cleanup EXIT
trap 'exit 143' TERM INT HUP

# run NAME ARGS...: runs <prefix>/bin/NAME; OUT (stdout+stderr), RC, SECS (wall time)
run() {
  local name=$1 t0
  shift
  t0=$(date +%s%N)
  OUT=$(timeout_run 60 "$prefix/bin/$name" "$@" 2>&1 </dev/null)
  RC=$?
  SECS=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf '    $ %s %s  (exit %s, %s ms)\n' "$name" "$*" "$RC" "$SECS"
  [ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/    | /'
}

# expect FAILFN WHAT RC [EXACT_OUTPUT]: RC must match; OUT must equal EXACT_OUTPUT when given.
expect() {
  local fn=$1 what=$2 rc=$3 bad=""
  [ "$RC" = "$rc" ] || bad="exit $RC, expected $rc"
  if [ $# -ge 4 ] && [ "$OUT" != "$4" ]; then bad="${bad:+$bad, }output '$OUT', expected '$4'"; fi
  if [ -z "$bad" ]; then pass "$what"; else "$fn" "$what: $bad"; fi
}

# wait_for SECONDS CMD...: until CMD succeeds (polls every 0.2 s).
wait_for() {
  local limit=$(( $1 * 5 )) i=0
  shift
  while ! "$@"; do
    i=$((i + 1))
    [ "$i" -ge "$limit" ] && return 1
    sleep 0.2
  done
}

gone() { ! kill -0 "$1" 2>/dev/null; }
zk_serving() { [ "$(zk_mode "$1")" = standalone ]; }
# registered ZKPORT ID / unregistered ZKPORT ID: /brokers/ids/ID in ZooKeeper's dump
registered() { zk_4lw "$1" dump | tr -d '\r' | grep -q "^[[:space:]]*/brokers/ids/$2\$"; }
unregistered() { local d; d=$(zk_4lw "$1" dump) && [ -n "$d" ] && ! printf '%s\n' "$d" | tr -d '\r' | grep -q "^[[:space:]]*/brokers/ids/$2\$"; }
brokers_seen() { [ "$(kafka_probe "127.0.0.1:$1" 2>/dev/null | sed -n 's/^brokers=\([0-9]*\).*/\1/p')" = "$2" ]; }

# notify_listen ADDRESS FILE: a datagram socket standing in for systemd's NOTIFY_SOCKET
# (a path, or @name in the abstract namespace); every message line goes to FILE as
# "<ms since epoch> <line>". Runs in the background (pid in LISTENER) up to 180 s.
notify_listen() {
  local addr=$1 file=$2
  : >"$file"
  python3 - "$addr" "$file" <<'PY' >/dev/null 2>&1 &
import socket, sys, time
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(0.5)
with open(out, "a", buffering=1) as f:
    f.write("%d BOUND\n" % int(time.time() * 1000))
    end = time.time() + 180
    while time.time() < end:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        now = int(time.time() * 1000)
        for line in data.decode("utf-8", "replace").split("\n"):
            f.write("%d %s\n" % (now, line))
PY
  LISTENER=$!
  wait_for 10 grep -q ' BOUND$' "$file"
}
notified() { grep -q " $2\$" "$1"; }

# write_zk_cfg FILE PORT DATADIR
write_zk_cfg() {
  mkdir -p "$(dirname "$1")" "$3"
  {
    echo "tickTime=2000"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "dataDir=$3"
    echo "clientPort=$2"
    echo "clientPortAddress=127.0.0.1"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=*"
  } >"$1"
}

# write_broker_cfg FILE ZKPORT LOGDIR: broker.id=0 and no listeners in the file, so the
# --override values the suite passes are the ones that count.
write_broker_cfg() {
  mkdir -p "$(dirname "$1")" "$3"
  {
    echo "broker.id=0"
    echo "zookeeper.connect=127.0.0.1:$2"
    echo "zookeeper.connection.timeout.ms=18000"
    echo "log.dirs=$3"
    kafka__common_props
  } >"$1"
}

# --- keel: the scripts ------------------------------------------------------------------

keel_sequence() {
  local s zkport p1 p2 zkpid b1 b2 decoy zkcfg cfg1 cfg2 out1 out2 ctrl v bv cfgv outv k bk cfgk outk pk py
  if [ ! -x "$KEEL_BIN" ]; then
    kfail "no keel binary at $KEEL_BIN"; zfail "no keel binary at $KEEL_BIN"
    nfail "no keel binary at $KEEL_BIN"; sfail "no keel binary at $KEEL_BIN"
    return
  fi
  rm -rf "$prefix"
  mkdir -p "$prefix/bin"
  for s in keel-run-class.sh kafka-server-start.sh kafka-server-stop.sh \
      zookeeper-server-start.sh zookeeper-server-stop.sh; do
    cp "$REPO_DIR/scripts/$s" "$prefix/bin/$s"
  done
  unset LOG_DIR EXTRA_ARGS SIGNAL NOTIFY_SOCKET

  log "usage lines"
  run kafka-server-start.sh
  expect kfail "kafka-server-start.sh without arguments: USAGE, exit 1" 1 \
    "USAGE: $prefix/bin/kafka-server-start.sh [-daemon] server.properties [--override property=value]*"
  run kafka-server-start.sh -daemon
  expect kfail "kafka-server-start.sh -daemon alone: USAGE, exit 1" 1 \
    "USAGE: $prefix/bin/kafka-server-start.sh [-daemon] server.properties [--override property=value]*"
  run zookeeper-server-start.sh
  expect zfail "zookeeper-server-start.sh without arguments: USAGE, exit 1" 1 \
    "USAGE: $prefix/bin/zookeeper-server-start.sh [-daemon] zookeeper.properties"
  run zookeeper-server-start.sh -daemon
  expect zfail "zookeeper-server-start.sh -daemon alone: USAGE, exit 1" 1 \
    "USAGE: $prefix/bin/zookeeper-server-start.sh [-daemon] zookeeper.properties"

  log "zookeeper-server-start.sh -daemon"
  zkport=$(free_port)
  zkcfg="$prefix/config/zookeeper.properties"
  write_zk_cfg "$zkcfg" "$zkport" "$prefix/data/zookeeper"
  run zookeeper-server-start.sh -daemon "$zkcfg"
  expect zfail "zookeeper-server-start.sh -daemon: exit 0, no output" 0 ""
  [ "$SECS" -lt 5000 ] && pass "it returned at once (${SECS} ms)" || zfail "-daemon took ${SECS} ms to return"
  if zkpid=$(one_pid zookeeper "$zkcfg"); then
    pass "one keel zookeeper process runs on the config (pid $zkpid)"
  else
    zfail "keel zookeeper processes on $zkcfg: '${zkpid}'"
  fi
  if wait_for 30 zk_serving "$zkport"; then
    pass "it serves on 127.0.0.1:$zkport (Mode: standalone)"
  else
    zfail "no Mode: standalone on $zkport; zookeeper.out: $(tail -n 5 "$prefix/logs/zookeeper.out" 2>&1 | tr '\n' ' ')"
    kfail "no ZooKeeper for the brokers"; nfail "no ZooKeeper"; sfail "no ZooKeeper"
    return
  fi
  [ -s "$prefix/logs/zookeeper.out" ] && pass "output in <prefix>/logs/zookeeper.out (default LOG_DIR)" \
    || zfail "no $prefix/logs/zookeeper.out: $(ls "$prefix/logs" 2>&1)"

  log "kafka-server-start.sh -daemon, two brokers"
  p1=$(free_port)
  p2=$(free_port)
  while [ "$p2" = "$p1" ]; do p2=$(free_port); done
  cfg1="$prefix/config/server.properties"
  cfg2="$prefix/config/server-2.properties"
  write_broker_cfg "$cfg1" "$zkport" "$prefix/data/kafka-1"
  write_broker_cfg "$cfg2" "$zkport" "$prefix/data/kafka-2"
  run kafka-server-start.sh -daemon "$cfg1" --override broker.id=1 --override "listeners=PLAINTEXT://127.0.0.1:$p1"
  expect kfail "kafka-server-start.sh -daemon server.properties --override ...: exit 0, no output" 0 ""
  [ "$SECS" -lt 5000 ] && pass "it returned at once (${SECS} ms)" || kfail "-daemon took ${SECS} ms to return"
  OUT=$(LOG_DIR="$prefix/logs-2" EXTRA_ARGS='-name kafkaServer-2 -loggc' timeout_run 60 \
    "$prefix/bin/kafka-server-start.sh" -daemon "$cfg2" --override broker.id=2 \
    --override "listeners=PLAINTEXT://127.0.0.1:$p2" 2>&1 </dev/null)
  RC=$?
  expect kfail "LOG_DIR=<prefix>/logs-2 EXTRA_ARGS='-name kafkaServer-2 -loggc' kafka-server-start.sh -daemon ...: exit 0" 0 ""
  out1="$prefix/logs/kafkaServer.out"
  out2="$prefix/logs-2/kafkaServer-2.out"
  b1=$(one_pid kafka "$cfg1")
  b2=$(one_pid kafka "$cfg2")
  if [ -n "$b1" ] && [ -n "$b2" ]; then pass "broker processes run (pids $b1, $b2)"; else kfail "broker pids '$b1' '$b2'"; fi
  if wait_for 60 brokers_seen "$p1" 2; then
    pass "both brokers serve: 127.0.0.1:$p1 lists 2 brokers"
  else
    kfail "127.0.0.1:$p1 does not list 2 brokers ($(kafka_probe "127.0.0.1:$p1" 2>&1)); kafkaServer.out: $(tail -n 5 "$out1" 2>&1 | tr '\n' ' ')"
  fi
  if registered "$zkport" 1 && registered "$zkport" 2; then
    pass "/brokers/ids/1 and /brokers/ids/2 in ZooKeeper (the --override broker.id values)"
  else
    kfail "ZooKeeper dump lacks /brokers/ids/1 or /2: $(zk_4lw "$zkport" dump | tr '\n' ' ')"
  fi
  [ -s "$out1" ] && pass "output in <prefix>/logs/kafkaServer.out" || kfail "no $out1"
  [ -s "$out2" ] && pass "LOG_DIR and -name honoured: <prefix>/logs-2/kafkaServer-2.out" || kfail "no $out2: $(ls "$prefix"/logs* 2>&1)"

  notify_sequence "$zkport"

  log "kafka-server-stop.sh"
  # A decoy shaped like `keel standalone` (argv[0] .../keel, argv[1] standalone) whose
  # command line also holds "kafka", "zookeeper" and both config paths, as ps | grep
  # would see them: a Python sleep run from a file named "standalone".
  mkdir -p "$prefix/decoy"
  echo 'import time; time.sleep(240)' >"$prefix/decoy/standalone"
  # (the interpreter itself, not a wrapper on PATH that would exec it under its own name)
  py=$(python3 -c 'import sys; print(sys.executable)')
  (cd "$prefix/decoy" && exec -a "$prefix/decoy/keel" "$py" standalone kafka "$cfg1" \
    --override broker.id=1 zookeeper "$zkcfg") >/dev/null 2>&1 </dev/null &
  decoy=$!

  # The broker to stop first is the one that is not the controller: its controlled
  # shutdown goes to the other (a controller stopping skips the request to itself).
  ctrl=$(kafka_probe "127.0.0.1:$p1" 2>/dev/null | sed -n 's/.*controller=\([0-9]*\).*/\1/p')
  if [ "$ctrl" = 2 ]; then
    v=1 bv=$b1 cfgv=$cfg1 outv=$out1 k=2 bk=$b2 cfgk=$cfg2 outk=$out2 pk=$p2
  else
    v=2 bv=$b2 cfgv=$cfg2 outv=$out2 k=1 bk=$b1 cfgk=$cfg1 outk=$out1 pk=$p1
  fi
  echo "    (controller: broker ${ctrl:-?}; broker $v stops first)"

  run kafka-server-stop.sh "--config=$prefix/config" --node-id=7
  expect kfail "kafka-server-stop.sh --config=<prefix>/config --node-id=7 (no such broker)" 1 "No kafka server to stop"
  sleep 1
  if ! gone "$b1" && ! gone "$b2"; then pass "both brokers still run"; else kfail "a broker stopped on --node-id=7"; fi

  run kafka-server-stop.sh "--config=$prefix/config" "--node-id=$v"
  expect kfail "kafka-server-stop.sh --config=<prefix>/config --node-id=$v" 0 ""
  if wait_for 60 gone "$bv"; then pass "broker $v exited"; else kfail "broker $v ($bv) still runs 60 s after the stop script"; fi
  if ! gone "$bk"; then pass "broker $k still runs"; else kfail "broker $k stopped with --node-id=$v"; fi
  if grep -q "controlled shutdown succeeded" "$outv" && grep -q "kafka broker shut down" "$outv"; then
    pass "broker $v's log: controlled shutdown succeeded, kafka broker shut down"
  else
    sfail "broker $v's log lacks the controlled shutdown / shut down lines: $(tail -n 8 "$outv" | tr '\n' ' ')"
  fi
  if grep -q "shutting down broker (controlled shutdown) broker=$v" "$outk"; then
    pass "the controller's log: shutting down broker (controlled shutdown) broker=$v"
  else
    sfail "the controller (broker $k) logged no controlled shutdown of broker $v"
  fi
  if wait_for 20 unregistered "$zkport" "$v"; then pass "/brokers/ids/$v is gone from ZooKeeper"; else sfail "/brokers/ids/$v still registered"; fi
  if wait_for 30 brokers_seen "$pk" 1; then pass "broker $k's metadata lists one broker"; else sfail "broker $k still lists $(kafka_probe "127.0.0.1:$pk" 2>&1)"; fi

  run kafka-server-stop.sh "--config=$cfgk" --process-role=broker
  expect kfail "kafka-server-stop.sh --config=<its properties file> --process-role=broker" 0 ""
  if wait_for 60 gone "$bk"; then pass "broker $k exited"; else kfail "broker $k ($bk) still runs 60 s after the stop script"; fi
  if grep -q "kafka broker shut down" "$outk"; then pass "broker $k's log: kafka broker shut down"; else sfail "broker $k's log: $(tail -n 5 "$outk" | tr '\n' ' ')"; fi
  if wait_for 20 unregistered "$zkport" "$k"; then pass "/brokers/ids/$k is gone from ZooKeeper"; else sfail "/brokers/ids/$k still registered"; fi

  run kafka-server-stop.sh "--config=$prefix/config"
  expect kfail "kafka-server-stop.sh again: nothing left" 1 "No kafka server to stop"
  if ! gone "$decoy"; then pass "the decoy ($(tr '\0' ' ' <"/proc/$decoy/cmdline")) was not signalled"; else kfail "the decoy process was killed"; fi

  log "zookeeper-server-stop.sh"
  OUT=$(SIGNAL=TERM timeout_run 60 "$prefix/bin/zookeeper-server-stop.sh" "--config=$zkcfg" 2>&1 </dev/null)
  RC=$?
  printf '    $ SIGNAL=TERM zookeeper-server-stop.sh --config=%s  (exit %s)\n' "$zkcfg" "$RC"
  expect zfail "SIGNAL=TERM zookeeper-server-stop.sh --config=<zookeeper.properties>" 0 ""
  if wait_for 30 gone "$zkpid"; then pass "zookeeper exited"; else zfail "zookeeper ($zkpid) still runs 30 s after the stop script"; fi
  [ -z "$(zk_mode "$zkport")" ] && pass "nothing answers on $zkport" || zfail "$zkport still answers"
  run zookeeper-server-stop.sh "--config=$prefix/config"
  expect zfail "zookeeper-server-stop.sh again: nothing left" 1 "No zookeeper server to stop"
  if ! gone "$decoy"; then pass "the decoy process still runs"; else zfail "the decoy process was killed"; fi
  kill "$decoy" 2>/dev/null
}

# notify_sequence ZKPORT: foreground ZooKeeper and broker with NOTIFY_SOCKET.
notify_sequence() {
  local zkport=$1 nzport np pid rc file t_ready
  log "foreground start with NOTIFY_SOCKET"
  nzport=$(free_port)
  write_zk_cfg "$prefix/notify/zookeeper.properties" "$nzport" "$prefix/notify/zk-data"
  file="$prefix/notify/zk.messages"
  notify_listen "@keel-ops-$$-zk" "$file" || { nfail "the notify listener did not bind @keel-ops-$$-zk"; return; }
  NOTIFY_SOCKET="@keel-ops-$$-zk" "$prefix/bin/zookeeper-server-start.sh" "$prefix/notify/zookeeper.properties" \
    >"$prefix/notify/zk.out" 2>&1 </dev/null &
  pid=$!
  if wait_for 30 notified "$file" READY=1; then
    if zk_serving "$nzport"; then pass "zookeeper: READY=1 on @abstract NOTIFY_SOCKET, serving when it arrives"; else nfail "zookeeper sent READY=1 but does not serve"; fi
  else
    nfail "zookeeper: no READY=1 in 30 s: $(tr '\n' ' ' <"$file"); $(tail -n 3 "$prefix/notify/zk.out" | tr '\n' ' ')"
  fi
  grep -q ' STATUS=.' "$file" && pass "zookeeper: $(grep -m1 -o 'STATUS=.*' "$file")" || nfail "zookeeper: no STATUS= line"
  local argv1
  argv1=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 2p)
  [ "$argv1" = zookeeper ] && pass "the foreground script exec'd keel (pid $pid is keel zookeeper)" || nfail "pid $pid is '$argv1', not keel zookeeper"
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  [ "$rc" = 0 ] && pass "zookeeper: exit status 0 after SIGTERM" || nfail "zookeeper: exit status $rc after SIGTERM"
  if wait_for 5 notified "$file" STOPPING=1; then pass "zookeeper: STOPPING=1 on SIGTERM"; else nfail "zookeeper: no STOPPING=1: $(tr '\n' ' ' <"$file")"; fi
  kill "$LISTENER" 2>/dev/null

  np=$(free_port)
  write_broker_cfg "$prefix/notify/server.properties" "$zkport" "$prefix/notify/kafka-data"
  file="$prefix/notify/kafka.messages"
  notify_listen "$sockdir/kafka.sock" "$file" || { nfail "the notify listener did not bind $sockdir/kafka.sock"; return; }
  NOTIFY_SOCKET="$sockdir/kafka.sock" "$prefix/bin/kafka-server-start.sh" "$prefix/notify/server.properties" \
    --override broker.id=3 --override "listeners=PLAINTEXT://127.0.0.1:$np" \
    >"$prefix/notify/kafka.out" 2>&1 </dev/null &
  pid=$!
  if wait_for 60 notified "$file" READY=1; then
    if kafka_probe "127.0.0.1:$np" >/dev/null 2>&1 && registered "$zkport" 3; then
      pass "broker: READY=1 on the NOTIFY_SOCKET path, answering Metadata and in /brokers/ids/3 when it arrives"
    else
      nfail "broker sent READY=1 but does not serve or is not registered"
    fi
  else
    nfail "broker: no READY=1 in 60 s: $(tr '\n' ' ' <"$file"); $(tail -n 3 "$prefix/notify/kafka.out" | tr '\n' ' ')"
  fi
  grep -q ' STATUS=.' "$file" && pass "broker: $(grep -m1 -o 'STATUS=.*' "$file")" || nfail "broker: no STATUS= line"
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  [ "$rc" = 0 ] && pass "broker: exit status 0 after SIGTERM" || nfail "broker: exit status $rc after SIGTERM"
  if wait_for 5 notified "$file" STOPPING=1; then pass "broker: STOPPING=1 on SIGTERM"; else nfail "broker: no STOPPING=1: $(tr '\n' ' ' <"$file")"; fi
  if wait_for 20 unregistered "$zkport" 3; then pass "broker 3 left /brokers/ids"; else nfail "/brokers/ids/3 still registered"; fi
  kill "$LISTENER" 2>/dev/null
}

# --- apache: SIGTERM on the reference servers -------------------------------------------

apache_sequence() {
  local zkport dir pid rc zkpid i
  if ! zk_start apache standalone ops-zk; then sfail "Apache ZooKeeper 3.9 did not start"; return; fi
  zkport=${ZK_CONNECT##*:}
  zkpid=$(zk_server_pid ops-zk)
  if ! KAFKA_BROKER_ID=1 kafka_start apache zk ops-kafka "$ZK_CONNECT"; then sfail "Apache Kafka 3.9 did not start"; return; fi
  dir=$(kafka_server_dir ops-kafka)
  pid=$(cat "$dir/server.pid")
  if registered "$zkport" 1; then pass "/brokers/ids/1 in ZooKeeper"; else sfail "no /brokers/ids/1 in the dump"; fi
  kill -TERM "$pid"
  if wait_for 90 gone "$pid"; then pass "the broker exited after SIGTERM"; else sfail "the broker ($pid) runs 90 s after SIGTERM"; fi
  wait "$pid" 2>/dev/null
  rc=$?
  echo "    (exit status $rc: a JVM ends with 143 after its shutdown hooks ran on SIGTERM)"
  if grep -q "Starting controlled shutdown" "$dir/server.log" \
      && grep -q "Controlled shutdown request returned successfully" "$dir/server.log" \
      && grep -q "shut down completed" "$dir/server.log"; then
    pass "the broker's log: Starting controlled shutdown, Controlled shutdown request returned successfully, shut down completed"
  else
    sfail "the broker's log lacks the controlled shutdown / shut down completed lines: $(tail -n 8 "$dir/server.log" | tr '\n' ' ')"
  fi
  if wait_for 20 unregistered "$zkport" 1; then pass "/brokers/ids/1 is gone from ZooKeeper"; else sfail "/brokers/ids/1 still registered"; fi
  rm -f "$dir/server.pid"
  kill -TERM "$zkpid"
  if wait_for 30 gone "$zkpid"; then pass "ZooKeeper exited after SIGTERM"; else sfail "ZooKeeper runs 30 s after SIGTERM"; fi
}

log "ops-scripts against $TARGET"
case "$TARGET" in
  keel) keel_sequence ;;
  apache) apache_sequence ;;
  *) sfail "unknown target $TARGET" ;;
esac
suite_cleanup
trap - EXIT

rc=0
# verdict CLIENT FAILS PASS_DETAIL
verdict() {
  if [ -z "$2" ]; then report "$1" pass "$3"; else report "$1" fail "${2#; }"; rc=1; fi
}
if [ "$TARGET" = keel ]; then
  verdict kafka-server-scripts "$KAFKA_FAILS" "kafka-server-start.sh -daemon / --override, LOG_DIR, EXTRA_ARGS; kafka-server-stop.sh --node-id / --process-role / --config, 'No kafka server to stop' exit 1"
  verdict zookeeper-server-scripts "$ZK_FAILS" "zookeeper-server-start.sh -daemon (.out in LOG_DIR, serving); zookeeper-server-stop.sh, 'No zookeeper server to stop' exit 1"
  verdict systemd-notify "$NOTIFY_FAILS" "READY=1 once serving, STATUS=, STOPPING=1 on SIGTERM (ZooKeeper on @abstract, broker on a path), exit 0"
  verdict sigterm-clean-stop "$STOP_FAILS" "SIGTERM from kafka-server-stop.sh: controlled shutdown, logs flushed, deregistered from ZooKeeper"
else
  na="keel's own (Apache's bin/ scripts need a binary distribution the harness does not fetch; Apache 3.9 sends no sd_notify)"
  report kafka-server-scripts skip "$na"
  report zookeeper-server-scripts skip "$na"
  report systemd-notify skip "$na"
  verdict sigterm-clean-stop "$STOP_FAILS" "Apache 3.9 broker on SIGTERM: controlled shutdown, shut down completed, deregistered; ZooKeeper exits"
fi
exit $rc
