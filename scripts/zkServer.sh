#!/usr/bin/env bash
# scripts/zkServer.sh: Apache ZooKeeper's bin/zkServer.sh, for keel.
#
#   scripts/zkServer.sh [--config <conf-dir>] {start|start-foreground|stop|restart|status|print-cmd|version} [zoo.cfg]
#
# Behaves like Apache 3.9's bin/zkServer.sh (with its zkEnv.sh) for these commands, so
# init scripts and operators' habits carry over:
#   - the config is $ZOOCFGDIR/$ZOOCFG: ZOOCFGDIR defaults to <this script's parent>/conf
#     (or ../etc/zookeeper when there is no conf dir), ZOOCFG to zoo.cfg; a second
#     argument names a file in ZOOCFGDIR, or any path when it contains a slash;
#     "Using config: <path>" goes to stderr;
#   - the pid file is $ZOOPIDFILE, default <dataDir>/zookeeper_server.pid;
#   - the daemon's output goes to $ZOO_LOG_DIR/zookeeper-$USER-server-$HOSTNAME.out
#     (ZOO_LOG_DIR default <parent>/logs);
#   - start prints "Starting zookeeper ... STARTED" (or "FAILED TO START", exit 1);
#   - stop sends SIGTERM and waits for the process to end ($ZOO_STOP_TIMEOUT seconds,
#     default 30, then SIGKILL), prints "Stopping zookeeper ... STOPPED", exit 0;
#   - status finds the client port in the config as Apache does, prints
#     "Client port found: N. Client address: A. Client SSL: false." and the "Mode: ..."
#     line of the `srvr` four-letter word (Apache runs FourLetterWordMain; this script
#     speaks the word over a plain socket), exit 0; or "Error contacting service. It is
#     probably not running." and exit 1.
# The server is keel: $KEEL_BIN, else <repo>/target/release/keel, else `keel` on PATH,
# run as `keel zookeeper <zoo.cfg>`.

ZOOBIN="${BASH_SOURCE-$0}"
ZOOBIN="$(dirname "${ZOOBIN}")"
ZOOBINDIR="$(cd "${ZOOBIN}" && pwd)"
ZOOKEEPER_PREFIX="$(cd "${ZOOBINDIR}/.." && pwd)"

# --- zkEnv.sh ------------------------------------------------------------------------

if [ $# -gt 1 ] && [ "--config" = "$1" ]; then
  shift
  ZOOCFGDIR=$1
  shift
fi
if [ "x$ZOOCFGDIR" = "x" ]; then
  if [ -e "${ZOOKEEPER_PREFIX}/conf" ]; then
    ZOOCFGDIR="$ZOOBINDIR/../conf"
  else
    ZOOCFGDIR="$ZOOBINDIR/../etc/zookeeper"
  fi
fi
if [ "x$ZOOCFG" = "x" ]; then
  ZOOCFG="zoo.cfg"
fi
ZOOCFG="$ZOOCFGDIR/$ZOOCFG"
if [ "x${ZOO_LOG_DIR}" = "x" ]; then
  ZOO_LOG_DIR="$ZOOKEEPER_PREFIX/logs"
fi

keel_bin() {
  if [ -n "${KEEL_BIN:-}" ]; then
    printf '%s' "$KEEL_BIN"
  elif [ -x "$ZOOKEEPER_PREFIX/target/release/keel" ]; then
    printf '%s' "$ZOOKEEPER_PREFIX/target/release/keel"
  else
    command -v keel
  fi
}

# --- zkServer.sh -----------------------------------------------------------------------

if [ "x$2" != "x" ]; then
  ZOOCFG="$ZOOCFGDIR/$2"
fi
# if we give a more complicated path to the config, don't screw around in $ZOOCFGDIR
if [ "x$2" != "x" ] && [ "x$(dirname "$ZOOCFG")" != "x$ZOOCFGDIR" ]; then
  ZOOCFG="$2"
fi
echo "Using config: $ZOOCFG" >&2

# cfg_value KEY: the value of KEY in the config, as Apache's grep | sed (last `=` on).
cfg_value() {
  grep "^[[:space:]]*$1[[:space:]]*=" "$ZOOCFG" 2>/dev/null | sed -e 's/.*=//' -e 's/[[:space:]]*$//' | tr -d '\r' | head -1
}

case "$1" in
  start|start-foreground|stop|restart|status|print-cmd|version) ;;
  *)
    echo "Usage: $0 [--config <conf-dir>] {start|start-foreground|stop|version|restart|status|print-cmd}" >&2
    exit 1 ;;
esac

if [ -z "$ZOOPIDFILE" ] && [ -f "$ZOOCFG" ]; then
  ZOO_DATADIR="$(cfg_value dataDir)"
  if [ -n "$ZOO_DATADIR" ] && [ ! -d "$ZOO_DATADIR" ]; then
    mkdir -p "$ZOO_DATADIR"
  fi
  ZOOPIDFILE="$ZOO_DATADIR/zookeeper_server.pid"
elif [ -n "$ZOOPIDFILE" ]; then
  # ensure it exists, otw stop will fail
  mkdir -p "$(dirname "$ZOOPIDFILE")"
fi

if [ ! -w "$ZOO_LOG_DIR" ]; then
  mkdir -p "$ZOO_LOG_DIR"
fi
ZOO_LOG_FILE=${ZOO_LOG_FILE:-zookeeper-${USER:-$(id -un)}-server-${HOSTNAME:-$(hostname)}.log}
_ZOO_DAEMON_OUT="$ZOO_LOG_DIR/zookeeper-${USER:-$(id -un)}-server-${HOSTNAME:-$(hostname)}.out"

# four_letter_word HOST PORT WORD: the server's reply ("" when it cannot be reached).
four_letter_word() {
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" "$2" "$3" <<'PY' 2>/dev/null
import socket, sys
host, port, word = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
try:
    s = socket.create_connection((host, port), timeout=5)
    s.settimeout(5)
    s.sendall(word)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    sys.stdout.write(out.decode("utf-8", "replace"))
except Exception:
    pass
PY
  else
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf %s "$2" >&3 && cat <&3' "$1" "$2" "$3" 2>/dev/null
  fi
}

case $1 in
  start)
    echo -n "Starting zookeeper ... "
    if [ -f "$ZOOPIDFILE" ]; then
      if kill -0 "$(cat "$ZOOPIDFILE")" >/dev/null 2>&1; then
        echo "already running as process $(cat "$ZOOPIDFILE")."
        exit 1
      fi
    fi
    KEEL=$(keel_bin)
    if [ -z "$KEEL" ] || [ ! -x "$KEEL" ]; then
      echo "FAILED TO START (no keel binary: set KEEL_BIN, build target/release/keel or put keel on PATH)"
      exit 1
    fi
    nohup "$KEEL" zookeeper "$ZOOCFG" >"$_ZOO_DAEMON_OUT" 2>&1 </dev/null &
    pid=$!
    if /bin/echo -n "$pid" >"$ZOOPIDFILE"; then
      sleep 1
      if ps -p "$pid" >/dev/null 2>&1; then
        echo STARTED
      else
        echo FAILED TO START
        rm -f "$ZOOPIDFILE"
        exit 1
      fi
    else
      echo FAILED TO WRITE PID
      kill "$pid" 2>/dev/null
      exit 1
    fi
    ;;
  start-foreground)
    KEEL=$(keel_bin)
    if [ -z "$KEEL" ] || [ ! -x "$KEEL" ]; then
      echo "no keel binary: set KEEL_BIN, build target/release/keel or put keel on PATH" >&2
      exit 1
    fi
    if [ "${ZOO_NOEXEC}" != "" ]; then
      "$KEEL" zookeeper "$ZOOCFG"
    else
      exec "$KEEL" zookeeper "$ZOOCFG"
    fi
    ;;
  print-cmd)
    echo "\"$(keel_bin)\" zookeeper \"$ZOOCFG\" > \"$_ZOO_DAEMON_OUT\" 2>&1 < /dev/null"
    ;;
  version)
    KEEL=$(keel_bin)
    [ -n "$KEEL" ] && "$KEEL" --version
    ;;
  stop)
    echo -n "Stopping zookeeper ... "
    if [ ! -f "$ZOOPIDFILE" ]; then
      echo "no zookeeper to stop (could not find file $ZOOPIDFILE)"
    else
      pid=$(cat "$ZOOPIDFILE")
      kill "$pid" 2>/dev/null
      waited=0
      limit=$(( ${ZOO_STOP_TIMEOUT:-30} * 10 ))
      while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$limit" ]; do
        sleep 0.1
        waited=$((waited + 1))
      done
      if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null
      fi
      rm "$ZOOPIDFILE"
      echo STOPPED
    fi
    exit 0
    ;;
  restart)
    shift
    "$0" stop "$@"
    sleep 3
    "$0" start "$@"
    ;;
  status)
    isSSL="false"
    clientPortAddress=$(cfg_value clientPortAddress)
    if [ -z "$clientPortAddress" ]; then
      clientPortAddress="localhost"
    fi
    clientPort=$(cfg_value clientPort)
    if ! [[ "$clientPort" =~ ^[0-9]+$ ]]; then
      dataDir=$(cfg_value dataDir)
      myid=$(cat "$dataDir/myid" 2>/dev/null)
      if ! [[ "$myid" =~ ^[0-9]+$ ]]; then
        echo "myid could not be determined, will not able to locate clientPort in the server configs."
      else
        clientPortAndAddress=$(grep "^[[:space:]]*server.$myid=.*;.*" "$ZOOCFG" | sed -e 's/.*=//' | sed -e 's/.*;//')
        if [ ! "$clientPortAndAddress" ]; then
          echo "Client port not found in static config file. Looking in dynamic config file."
          dynamicConfigFile=$(cfg_value dynamicConfigFile)
          clientPortAndAddress=$(grep "^[[:space:]]*server.$myid=.*;.*" "$dynamicConfigFile" 2>/dev/null | sed -e 's/.*=//' | sed -e 's/.*;//')
        fi
        if [ ! "$clientPortAndAddress" ]; then
          echo "Client port not found in the server configs"
        else
          if [[ "$clientPortAndAddress" =~ ^.*:[0-9]+ ]]; then
            clientPortAddress=$(echo "$clientPortAndAddress" | sed -e 's/:.*//')
          fi
          clientPort=$(echo "$clientPortAndAddress" | sed -e 's/.*://')
        fi
      fi
    fi
    if [ ! "$clientPort" ]; then
      echo "Client port not found. Looking for secureClientPort in the static config."
      secureClientPort=$(cfg_value secureClientPort)
      if [ "$secureClientPort" ]; then
        # keel serves no TLS client port yet; the plain-socket word below cannot reach it
        isSSL="true"
        clientPort=$secureClientPort
        clientPortAddress=$(cfg_value secureClientPortAddress)
        if [ -z "$clientPortAddress" ]; then
          clientPortAddress="localhost"
        fi
      else
        echo "Unable to find either secure or unsecure client port in any configs. Terminating."
        exit 1
      fi
    fi
    echo "Client port found: $clientPort. Client address: $clientPortAddress. Client SSL: $isSSL."
    STAT=$(four_letter_word "$clientPortAddress" "$clientPort" srvr | tr -d '\r' | grep Mode)
    if [ "x$STAT" = "x" ]; then
      if [ "$isSSL" = "true" ]; then
        echo " "
        echo "Note: We used secureClientPort ($secureClientPort) to establish connection, but we failed. The 'status' command establishes a client connection to the server to execute diagnostic commands. Please make sure you provided all the SSL/TLS configuration properties in zoo.cfg."
      fi
      echo "Error contacting service. It is probably not running."
      exit 1
    else
      echo $STAT
      exit 0
    fi
    ;;
esac
