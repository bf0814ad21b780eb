# needs: none
# clients: zkserver-sh fourletterwordmain-3.9
# timeout: 300
#
# zk-server-script: scripts/zkServer.sh (issue 3, "Operations") and Apache's own status
# tool, FourLetterWordMain (what bin/zkServer.sh status runs in 3.9).
#
#   --target keel: the script is copied into a scratch <prefix>/bin beside
#     <prefix>/conf/zoo.cfg (a free 127.0.0.1 port), so its default config is found as
#     Apache's is; then: status (not running: exit 1, "Error contacting service. It is
#     probably not running."), start ("Starting zookeeper ... STARTED", pid file
#     <dataDir>/zookeeper_server.pid), a second start (already running, exit 1), status
#     ("Client port found: N. Client address: 127.0.0.1. Client SSL: false." then
#     "Mode: standalone", exit 0), ZOOCFGDIR/ZOOCFG from the environment, restart with
#     the config as an argument (a new pid), stop (SIGTERM, the process is gone when it
#     returns, pid file removed), status again (exit 1), and a config keel refuses
#     ("FAILED TO START", exit 1).
#   --target apache: the same sequence with Apache 3.9 (QuorumPeerMain, exec'd by a
#     stand-in for `keel zookeeper <cfg>`) as the server the script starts and stops, so
#     the expectations hold for the reference server too (all but the refused config:
#     a JVM can outlive the one-second check, in Apache's own script as well).
#   fourletterwordmain-3.9: `java org.apache.zookeeper.client.FourLetterWordMain 127.0.0.1
#     <port> srvr` (ZooKeeper 3.9 jar) reads "Mode: standalone" from the target, and
#     `... | grep Mode` (Apache's status pipeline) equals the script's status line.
#
# Run by hand: TARGET=keel KEEL_BIN=target/debug/keel bash compat-tests/suites/zk-server-script.sh

set -u
if ! declare -F report >/dev/null; then
  COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  for f in common fetch zookeeper; do . "$COMPAT_DIR/lib/$f.sh"; done
fi
TARGET=${TARGET:-keel}
SUITE_WORK=${SUITE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/zk-server-script.XXXXXX")}
RUN_DIR=${RUN_DIR:-$SUITE_WORK}
SCRIPT="$REPO_DIR/scripts/zkServer.sh"
name=zscript-$$
prefix="$SUITE_WORK/zk-prefix"
KEEL_PID_SEEN=""

script_cleanup() {
  local pidf="$prefix/data/zookeeper_server.pid" pid
  if [ -f "$pidf" ]; then
    pid=$(cat "$pidf")
    kill -TERM "$pid" 2>/dev/null && sleep 1
    kill -KILL "$pid" 2>/dev/null
  fi
  if [ -n "$KEEL_PID_SEEN" ]; then kill -KILL "$KEEL_PID_SEEN" 2>/dev/null; fi
  zk_stop "$name" >/dev/null 2>&1
}
trap script_cleanup EXIT
trap 'exit 143' TERM INT HUP

SCRIPT_FAILS="" FLW_FAILS=""
sfail() { echo "  FAIL $*"; SCRIPT_FAILS="$SCRIPT_FAILS; $*"; }
ffail() { echo "  FAIL $*"; FLW_FAILS="$FLW_FAILS; $*"; }
pass() { echo "  ok   $*"; }

# zks ARGS...: runs the script (the copy under $prefix/bin); OUT, ERR, RC
zks() {
  OUT=$(timeout_run 60 "$prefix/bin/zkServer.sh" "$@" 2>"$SUITE_WORK/zks.err")
  RC=$?
  ERR=$(cat "$SUITE_WORK/zks.err")
  printf '    $ zkServer.sh %s  (exit %s)\n' "$*" "$RC"
  printf '%s\n' "$ERR" "$OUT" | sed '/^$/d; s/^/    | /'
}

# expect WHAT RC PATTERN...: RC must match and OUT must contain each line PATTERN (grep -x).
expect() {
  local what=$1 rc=$2 p bad=""
  shift 2
  [ "$RC" = "$rc" ] || bad="exit $RC, expected $rc"
  for p in "$@"; do
    printf '%s\n' "$OUT" | grep -qx -- "$p" || bad="${bad:+$bad, }no line '$p'"
  done
  if [ -z "$bad" ]; then pass "$what"; else sfail "$what: $bad"; fi
}

# apache_status_line PORT: what Apache's bin/zkServer.sh status computes (its STAT).
apache_status_line() {
  local cp
  cp=$(maven_classpath zookeeper-3.9) || return 1
  timeout_run 60 java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp" \
    org.apache.zookeeper.client.FourLetterWordMain 127.0.0.1 "$1" srvr false 2>/dev/null | grep Mode
}

# check_flw PORT: FourLetterWordMain reads Mode: standalone; Apache's pipeline line
# equals the script's status line ($1 of the last status run: STATUS_LINE).
check_flw() {
  local port=$1 line
  line=$(apache_status_line "$port")
  if [ "$line" = "Mode: standalone" ]; then
    pass "FourLetterWordMain 127.0.0.1 $port srvr reads '$line' from $TARGET"
  else
    ffail "FourLetterWordMain read '${line}' from $TARGET, expected 'Mode: standalone'"
  fi
  if [ -n "$line" ] && [ "$line" = "${STATUS_LINE:-}" ]; then
    pass "the script's status line equals Apache's status pipeline: '$line'"
  else
    sfail "the script's status line '${STATUS_LINE:-}' differs from Apache's pipeline '$line'"
  fi
}

write_cfg() {
  local file=$1 port=$2
  mkdir -p "$(dirname "$file")"
  {
    echo "tickTime=2000"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "dataDir=$prefix/data"
    echo "clientPort=$port"
    echo "clientPortAddress=127.0.0.1"
    echo "admin.enableServer=false"
  } >"$file"
}

# wait_mode PORT: until the server at PORT answers srvr with a Mode line (60 s).
wait_mode() {
  local i
  for i in $(seq 1 300); do
    [ -n "$(zk_mode "$1")" ] && return 0
    sleep 0.2
  done
  return 1
}

# script_sequence SERVER_BIN: the whole start/status/restart/stop sequence, with the
# script starting SERVER_BIN (as KEEL_BIN: `SERVER_BIN zookeeper <zoo.cfg>`).
script_sequence() {
  local port pid pid2 cfg
  if [ ! -x "$1" ]; then
    sfail "no server binary at $1"
    return
  fi
  export KEEL_BIN=$1
  rm -rf "$prefix"
  mkdir -p "$prefix/bin"
  cp "$SCRIPT" "$prefix/bin/zkServer.sh"
  port=$(free_port)
  cfg="$prefix/bin/../conf/zoo.cfg"
  write_cfg "$prefix/conf/zoo.cfg" "$port"
  unset ZOOCFGDIR ZOOCFG ZOOPIDFILE ZOO_LOG_DIR

  zks status
  expect "status before start: not running" 1 \
    "Client port found: $port. Client address: 127.0.0.1. Client SSL: false." \
    "Error contacting service. It is probably not running."
  [ "$ERR" = "Using config: $cfg" ] && pass "default config <prefix>/conf/zoo.cfg, 'Using config:' on stderr" \
    || sfail "stderr '$ERR', expected 'Using config: $cfg'"

  zks start
  expect "start" 0 "Starting zookeeper ... STARTED"
  if [ -f "$prefix/data/zookeeper_server.pid" ] && pid=$(cat "$prefix/data/zookeeper_server.pid") \
      && kill -0 "$pid" 2>/dev/null; then
    KEEL_PID_SEEN=$pid
    pass "pid file <dataDir>/zookeeper_server.pid holds the running $TARGET server ($pid)"
  else
    sfail "no live pid in $prefix/data/zookeeper_server.pid"
    return
  fi
  [ -s "$prefix/logs/zookeeper-${USER:-$(id -un)}-server-${HOSTNAME:-$(hostname)}.out" ] \
    && pass "daemon output in <prefix>/logs/zookeeper-\$USER-server-\$HOSTNAME.out" \
    || sfail "no daemon output file in $prefix/logs: $(ls "$prefix/logs" 2>&1)"
  wait_mode "$port" || sfail "$TARGET not serving on $port"

  zks start
  expect "a second start refuses: already running" 1 "Starting zookeeper ... already running as process $pid."

  zks status
  expect "status while running" 0 \
    "Client port found: $port. Client address: 127.0.0.1. Client SSL: false." "Mode: standalone"
  STATUS_LINE=$(printf '%s\n' "$OUT" | grep '^Mode:')
  check_flw "$port"

  mkdir -p "$prefix/conf2"
  cp "$prefix/conf/zoo.cfg" "$prefix/conf2/other.cfg"
  OUT=$(ZOOCFGDIR="$prefix/conf2" ZOOCFG=other.cfg timeout_run 60 "$prefix/bin/zkServer.sh" status 2>"$SUITE_WORK/zks.err")
  RC=$?
  ERR=$(cat "$SUITE_WORK/zks.err")
  expect "ZOOCFGDIR + ZOOCFG from the environment" 0 "Mode: standalone"
  [ "$ERR" = "Using config: $prefix/conf2/other.cfg" ] && pass "'Using config: $prefix/conf2/other.cfg'" \
    || sfail "stderr '$ERR' with ZOOCFGDIR/ZOOCFG"

  zks restart "$prefix/conf/zoo.cfg"
  expect "restart <path>" 0 "Stopping zookeeper ... STOPPED" "Starting zookeeper ... STARTED"
  pid2=$(cat "$prefix/data/zookeeper_server.pid" 2>/dev/null)
  KEEL_PID_SEEN=$pid2
  if [ -n "$pid2" ] && [ "$pid2" != "$pid" ] && kill -0 "$pid2" 2>/dev/null && ! kill -0 "$pid" 2>/dev/null; then
    pass "restart replaced process $pid by $pid2"
  else
    sfail "restart: old pid $pid, new pid '${pid2}'"
  fi
  wait_mode "$port" || sfail "$TARGET not serving on $port after restart"
  zks status "$prefix/conf/zoo.cfg"
  expect "status <path> after restart" 0 "Mode: standalone"

  zks stop
  expect "stop" 0 "Stopping zookeeper ... STOPPED"
  if ! kill -0 "$pid2" 2>/dev/null && [ ! -f "$prefix/data/zookeeper_server.pid" ]; then
    pass "stop returned after the $TARGET server ($pid2) exited; pid file removed"
  else
    sfail "after stop: process $pid2 $(kill -0 "$pid2" 2>/dev/null && echo alive || echo gone), pid file $(ls "$prefix/data/zookeeper_server.pid" 2>&1)"
  fi
  KEEL_PID_SEEN=""
  zks status
  expect "status after stop" 1 "Error contacting service. It is probably not running."
  zks stop
  expect "stop when not running" 0 \
    "Stopping zookeeper ... no zookeeper to stop (could not find file $prefix/data/zookeeper_server.pid)"

  if [ "$TARGET" = keel ]; then
    # (a JVM may outlive Apache's own one-second check, so only keel is held to this)
    write_cfg "$prefix/conf/bad.cfg" "$port"
    echo "tickTime=not-a-number" >>"$prefix/conf/bad.cfg"
    zks start bad.cfg
    expect "start with a config keel refuses" 1 "Starting zookeeper ... FAILED TO START"
  fi
}

# apache_target: the same sequence with Apache 3.9 as the server the script starts (a
# stand-in for `keel zookeeper <cfg>` that execs QuorumPeerMain on the config), so the
# script's start/stop/status semantics are checked against the reference server too.
apache_target() {
  local cp shim="$SUITE_WORK/apache-zookeeper"
  cp=$(maven_classpath zookeeper-3.9) || { sfail "no ZooKeeper 3.9 classpath"; ffail "no ZooKeeper 3.9 classpath"; return; }
  {
    echo '#!/usr/bin/env bash'
    echo '# `apache-zookeeper zookeeper <zoo.cfg>`: Apache 3.9 standing in for keel'
    echo "exec java $ZK_SERVER_JAVA_OPTS -cp '$cp' -Dzookeeper.admin.enableServer=false \\"
    echo "  -Dorg.slf4j.simpleLogger.logFile=System.out -Dzookeeper.log.dir=\"\${ZOO_LOG_DIR:-.}\" \\"
    echo '  org.apache.zookeeper.server.quorum.QuorumPeerMain "$2"'
  } >"$shim"
  chmod +x "$shim"
  script_sequence "$shim"
}

log "zk-server-script against $TARGET"
case "$TARGET" in
  keel) script_sequence "$KEEL_BIN" ;;
  apache) apache_target ;;
  *) sfail "unknown target $TARGET" ;;
esac
script_cleanup
rc=0
if [ -z "$SCRIPT_FAILS" ]; then
  report zkserver-sh pass "scripts/zkServer.sh start/status/restart/stop as Apache's ($TARGET)"
else
  report zkserver-sh fail "${SCRIPT_FAILS#; }"
  rc=1
fi
if [ -z "$FLW_FAILS" ]; then
  report fourletterwordmain-3.9 pass "Apache's FourLetterWordMain srvr reads Mode: standalone from $TARGET"
else
  report fourletterwordmain-3.9 fail "${FLW_FAILS#; }"
  rc=1
fi
exit $rc
