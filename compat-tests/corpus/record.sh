#!/usr/bin/env bash
# compat-tests/corpus/record.sh: re-records the request corpus the kafka-request-corpus
# suite replays.
#
#   compat-tests/corpus/record.sh [client...]     # all clients when none is named
#
# Starts an Apache ZooKeeper and an Apache Kafka $KAFKA_ZK_VERSION broker (ZooKeeper
# mode, lib/kafka.sh), then runs each real client of the harness through
# `python/kafka_corpus.py record` (a transparent proxy that also points the clients'
# Metadata/FindCoordinator answers at itself). Each client run becomes one session,
# compat-tests/corpus/<client>/conn-NNN.jsonl (the directory is replaced). Every topic,
# group and transactional id a client is given carries a recording token, `zq` + 10 hex
# digits, which the replay swaps for a fresh one; record values never carry it.
#
# Clients (the same programs and versions as the compat suites):
#   kafka-python      python/kafka_python_client.py (admin, producer, group consumer, commit, delete)
#   confluent-kafka   python/confluent_kafka_client.py (librdkafka, the same scenario)
#   kcat              kcat -L, -P (auto-created topic), -C from the beginning, -G group consumer
#   java-2.2 java-3.9 java-4.1
#                     kafka-topics --create/--list/--describe (--bootstrap-server), the console
#                     producer and the console consumer (a group, --from-beginning) of that version
#   sarama-filebeat   go/filebeat-sarama -version 2.1.0 (sarama as Filebeat configures it)
#   franz-go          go/franz (kadm, idempotent producer, group consumer, commit, delete)
#
# Needs what the suites need (java, the Maven cache or network, kcat, go). Takes a few
# minutes; check the size afterwards (`du -sh compat-tests/corpus`, a few hundred KB).

COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export COMPAT_DIR
# shellcheck source=../lib/common.sh
. "$COMPAT_DIR/lib/common.sh"
for f in fetch python go zookeeper kafka; do
  # shellcheck source=/dev/null
  . "$COMPAT_DIR/lib/$f.sh"
done
export TARGET=apache
RUN_DIR=${RUN_DIR:-$WORK_DIR/corpus-record-$(date +%Y%m%d-%H%M%S)}
export RUN_DIR
mkdir -p "$RUN_DIR"
SUITE_WORK=$RUN_DIR/work
mkdir -p "$SUITE_WORK"
CORPUS=$COMPAT_DIR/corpus
CORPUS_PY=$COMPAT_DIR/python/kafka_corpus.py

ALL_CLIENTS=(kafka-python confluent-kafka kcat java-2.2 java-3.9 java-4.1 sarama-filebeat franz-go)
if [ $# -gt 0 ]; then CLIENTS=("$@"); else CLIENTS=("${ALL_CLIENTS[@]}"); fi

PROXY_PID=""
cleanup() {
  if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; fi
  kafka_stop_all
  zk_stop_all
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

token() { printf 'zq%s' "$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')"; }

# proxy_start CLIENT: a recording proxy in front of the broker; exports PROXY (host:port)
proxy_start() {
  local client=$1 port
  port=$(free_port)
  rm -rf "${CORPUS:?}/$client"
  python3 "$CORPUS_PY" record --listen "$port" --upstream "$BROKER" --out "$CORPUS/$client" \
    >"$RUN_DIR/proxy-$client.log" 2>&1 &
  PROXY_PID=$!
  wait_port "$port" 30 || die "the recording proxy did not start (see $RUN_DIR/proxy-$client.log)"
  PROXY=127.0.0.1:$port
}

proxy_stop() {
  sleep 1  # the last answers reach the files
  kill "$PROXY_PID" 2>/dev/null
  wait "$PROXY_PID" 2>/dev/null
  PROXY_PID=""
}

rec_kafka_python() {
  local t; t=$(token)
  "$PY_VENV/bin/python" "$COMPAT_DIR/python/kafka_python_client.py" "$PROXY" \
    "corpus-kp-$t" "corpus-kp-group-$t" 20
}

rec_confluent_kafka() {
  local t; t=$(token)
  "$PY_VENV/bin/python" "$COMPAT_DIR/python/confluent_kafka_client.py" "$PROXY" \
    "corpus-ck-$t" "corpus-ck-group-$t" 20
}

rec_kcat() {
  local t topic; t=$(token); topic="corpus-kcat-$t"
  timeout_run 60 kcat -b "$PROXY" -L >/dev/null || return 1
  printf 'kcat line %d\n' 1 2 3 4 5 | timeout_run 60 kcat -b "$PROXY" -P -t "$topic" || return 1
  timeout_run 60 kcat -b "$PROXY" -C -t "$topic" -o beginning -c 5 -e || return 1
  timeout_run 60 kcat -b "$PROXY" -G "corpus-kcat-group-$t" -c 5 "$topic" \
    -X auto.offset.reset=earliest -X session.timeout.ms=6000 || return 1
}

rec_java() {
  local ver=$1 short=${1//./} t topic out
  t=$(token); topic="corpus-java$short-$t"
  local tools=$ver
  [ "$ver" = 4.1 ] && tools=4
  kafka_tool "$tools" kafka-topics --bootstrap-server "$PROXY" --create --topic "$topic" \
    --partitions 2 --replication-factor 1 || return 1
  kafka_tool "$tools" kafka-topics --bootstrap-server "$PROXY" --list >/dev/null || return 1
  kafka_tool "$tools" kafka-topics --bootstrap-server "$PROXY" --describe --topic "$topic" || return 1
  local flag=--bootstrap-server
  [ "$ver" = 2.2 ] && flag=--broker-list
  printf 'java line %d\n' 1 2 3 | kafka_tool "$tools" kafka-console-producer "$flag" "$PROXY" \
    --topic "$topic" || return 1
  out=$(kafka_tool "$tools" kafka-console-consumer --bootstrap-server "$PROXY" --topic "$topic" \
    --group "corpus-java$short-group-$t" --from-beginning --max-messages 3 --timeout-ms 60000) || return 1
  [ "$(printf '%s\n' "$out" | wc -l)" = 3 ] || { log "console consumer $ver read: $out"; return 1; }
}

rec_sarama_filebeat() {
  local bin t; t=$(token)
  bin=$(go_build filebeat-sarama) || return 1
  timeout_run 120 "$bin" -brokers "$PROXY" -topic "corpus-sarama-$t" -version 2.1.0 -events 20 -timeout 90s
}

rec_franz_go() {
  local bin t; t=$(token)
  bin=$(go_build franz) || return 1
  timeout_run 120 "$bin" -brokers "$PROXY" -topic "corpus-franz-$t" -group "corpus-franz-group-$t" \
    -records 20 -partitions 2 -timeout 90s
}

python_env || die "python venv"
zk_start apache standalone corpus-zk || die "ZooKeeper did not start"
kafka_start apache zk corpus-broker "$ZK_CONNECT/corpus" || die "the Apache $KAFKA_ZK_VERSION broker did not start"
BROKER=$KAFKA_BOOTSTRAP
rc=0
for client in "${CLIENTS[@]}"; do
  log "recording $client"
  proxy_start "$client"
  case "$client" in
    kafka-python) rec_kafka_python ;;
    confluent-kafka) rec_confluent_kafka ;;
    kcat) rec_kcat ;;
    java-2.2 | java-3.9 | java-4.1) rec_java "${client#java-}" ;;
    sarama-filebeat) rec_sarama_filebeat ;;
    franz-go) rec_franz_go ;;
    *) log "unknown client $client"; false ;;
  esac >"$RUN_DIR/client-$client.log" 2>&1
  status=$?
  proxy_stop
  if [ "$status" != 0 ]; then
    log "$client failed (status $status): $(tail -n 5 "$RUN_DIR/client-$client.log" | tr '\n' ' ')"
    rc=1
  fi
  log "$client: $(find "$CORPUS/$client" -name 'conn-*.jsonl' | wc -l) connections, $(du -sh "$CORPUS/$client" | cut -f1)"
done
du -sh "$CORPUS"
exit $rc
