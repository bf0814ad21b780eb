#!/usr/bin/env bash
# scripts/zookeeper-server-start.sh: Apache Kafka's bin/zookeeper-server-start.sh, for keel.
#
#   scripts/zookeeper-server-start.sh [-daemon] zookeeper.properties
#
# Starts a keel ZooKeeper server, `<keel> zookeeper zookeeper.properties` (a zoo.cfg:
# standalone, or an ensemble member with dataDir/myid), through keel-run-class.sh (this
# folder), as Apache's script starts QuorumPeerMain through kafka-run-class.sh:
#   - no argument: prints the USAGE line above and exits 1;
#   - -daemon (first argument only): runs the server under nohup in the background with
#     its output in $LOG_DIR/zookeeper.out and returns 0 at once (no pid file:
#     zookeeper-server-stop.sh finds the server by its command line); otherwise the
#     script exec's keel in the foreground (same pid), for systemd `Type=notify` units
#     and other supervisors;
#   - EXTRA_ARGS: launcher options, default '-name zookeeper -loggc' as in Apache;
#   - LOG_DIR: default <this script's parent>/logs (Apache: <bin>/../logs);
#   - the keel binary: $KEEL_BIN, else <repo>/target/release/keel, else `keel` on PATH.
# SIGTERM stops the server cleanly.
# Differences from Apache:
#   - JVM settings (KAFKA_HEAP_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS, ...) are ignored;
#   - QuorumPeerMain's other form (`port dataDir [tickTime [maxClientCnxns]]` instead of
#     a config file) is not supported: keel reads a config file only;
#   - `-daemon` with no config prints the USAGE line and exits 1 (Apache daemonizes a
#     JVM that fails at once, and exits 0).

if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] zookeeper.properties"
  exit 1
fi
base_dir=$(cd "$(dirname "${BASH_SOURCE-$0}")" && pwd)

# shellcheck disable=SC2016
EXTRA_ARGS=${EXTRA_ARGS-'-name zookeeper -loggc'}

if [ "$1" = "-daemon" ]; then
  EXTRA_ARGS="-daemon $EXTRA_ARGS"
  shift
  if [ $# -lt 1 ]; then
    echo "USAGE: $0 [-daemon] zookeeper.properties"
    exit 1
  fi
fi

# shellcheck disable=SC2086
exec "$base_dir/keel-run-class.sh" $EXTRA_ARGS zookeeper "$@"
