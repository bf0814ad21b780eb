#!/usr/bin/env bash
# scripts/kafka-server-start.sh: Apache Kafka's bin/kafka-server-start.sh, for keel.
#
#   scripts/kafka-server-start.sh [-daemon] server.properties [--override property=value]*
#
# Starts a keel broker, `<keel> kafka server.properties [--override k=v]...`, through
# keel-run-class.sh (this folder), as Apache's script starts kafka.Kafka through
# kafka-run-class.sh:
#   - no argument: prints the USAGE line above and exits 1;
#   - -daemon (first argument only): runs the broker under nohup in the background with
#     its output in $LOG_DIR/kafkaServer.out and returns 0 at once (no pid file:
#     kafka-server-stop.sh finds the broker by its command line); otherwise the script
#     exec's keel in the foreground (same pid), so `Type=notify` systemd units and
#     other supervisors see keel itself;
#   - EXTRA_ARGS: launcher options, default '-name kafkaServer -loggc' as in Apache
#     (-name sets the .out file's name; -daemon in EXTRA_ARGS daemonizes too);
#   - LOG_DIR: default <this script's parent>/logs (Apache: <bin>/../logs);
#   - the keel binary: $KEEL_BIN, else <repo>/target/release/keel, else `keel` on PATH.
# SIGTERM stops the broker cleanly (controlled shutdown first when
# controlled.shutdown.enable, the default), as for Apache's broker.
# Differences from Apache:
#   - JVM settings (KAFKA_HEAP_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS, KAFKA_JMX_OPTS, ...)
#     are ignored: keel is no JVM;
#   - `-daemon` with no properties file prints the USAGE line and exits 1 (Apache
#     daemonizes a JVM that only prints its usage to the .out file, and exits 0).

if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
  exit 1
fi
base_dir=$(cd "$(dirname "${BASH_SOURCE-$0}")" && pwd)

# shellcheck disable=SC2016
EXTRA_ARGS=${EXTRA_ARGS-'-name kafkaServer -loggc'}

if [ "$1" = "-daemon" ]; then
  EXTRA_ARGS="-daemon $EXTRA_ARGS"
  shift
  if [ $# -lt 1 ]; then
    echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
    exit 1
  fi
fi

# shellcheck disable=SC2086
exec "$base_dir/keel-run-class.sh" $EXTRA_ARGS kafka "$@"
