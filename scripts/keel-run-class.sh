#!/usr/bin/env bash
# scripts/keel-run-class.sh: the launcher under kafka-server-start.sh and
# zookeeper-server-start.sh, in the place Apache Kafka's bin/kafka-run-class.sh has.
#
#   scripts/keel-run-class.sh [-daemon] [-name servicename] [-loggc] kafka|zookeeper [args...]
#
# Runs `<keel> <kind> <args...>`, where <keel> is $KEEL_BIN, else <repo>/target/release/keel
# (<repo> being this script's parent directory), else `keel` on PATH.
#   - without -daemon: exec's keel in the foreground (same pid, so a service manager or
#     a supervisor sees keel itself; NOTIFY_SOCKET reaches it unchanged);
#   - with -daemon: starts keel under nohup in the background, stdin from /dev/null,
#     stdout and stderr to $LOG_DIR/<servicename>.out (truncated first, as Apache
#     does), and returns 0 at once without waiting for the server to come up and
#     without writing a pid file (Apache writes none either; the stop scripts find the
#     process by its command line).
#   - LOG_DIR defaults to <this script's parent>/logs (Apache: <bin>/../logs) and is
#     created when missing.
# Differences from kafka-run-class.sh:
#   - keel is not a JVM: KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_GC_LOG_OPTS,
#     KAFKA_JMX_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS, KAFKA_DEBUG, JAVA_HOME and CLASSPATH
#     are ignored; -loggc is accepted and does nothing (no GC log);
#   - the "class" is keel's subcommand (kafka or zookeeper), not a Java main class;
#   - -daemon without -name writes to $LOG_DIR/keel.out (Apache redirects to an
#     empty file name and its JVM never starts);
#   - keel logs to stdout, so in daemon mode the .out file is the whole server log
#     (Apache's log4j config writes server.log etc. beside it).

if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] [-name servicename] [-loggc] kafka|zookeeper [opts]"
  exit 1
fi

base_dir=$(cd "$(dirname "${BASH_SOURCE-$0}")/.." && pwd)

if [ -z "${LOG_DIR:-}" ]; then
  LOG_DIR="$base_dir/logs"
fi

DAEMON_MODE=false
DAEMON_NAME=keel
while [ $# -gt 0 ]; do
  case "$1" in
    -name)
      DAEMON_NAME=$2
      shift 2
      ;;
    -loggc)
      shift
      ;;
    -daemon)
      DAEMON_MODE=true
      shift
      ;;
    *)
      break
      ;;
  esac
done
CONSOLE_OUTPUT_FILE="$LOG_DIR/$DAEMON_NAME.out"

if [ -n "${KEEL_BIN:-}" ]; then
  KEEL=$KEEL_BIN
elif [ -x "$base_dir/target/release/keel" ]; then
  KEEL="$base_dir/target/release/keel"
else
  KEEL=$(command -v keel)
fi
if [ -z "$KEEL" ] || [ ! -x "$KEEL" ]; then
  echo "no keel binary: set KEEL_BIN, build target/release/keel or put keel on PATH" >&2
  exit 1
fi

if [ ! -d "$LOG_DIR" ]; then
  mkdir -p "$LOG_DIR"
fi

if [ "$DAEMON_MODE" = true ]; then
  nohup "$KEEL" "$@" >"$CONSOLE_OUTPUT_FILE" 2>&1 </dev/null &
else
  exec "$KEEL" "$@"
fi
