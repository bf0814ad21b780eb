# needs: kafka-zk
# clients: filebeat-0.10.2.0 filebeat-1.0.0 filebeat-2.1.0 kafka-python-0.9 kafka-python-0.9-lz4 kafka-python-0.10-gzip sarama-0.10.2.0
# timeout: 420
#
# Clients that speak the protocol of older brokers, which Apache Kafka 3.9 (the
# reference here: Kafka 4 refuses these versions, KIP-896) still serves:
# - the real Filebeat 8.8.2 (../shared/tools/filebeat) tailing a growing log file, with
#   `output.kafka.version` 0.10.2.0 (Produce v2, message format v1, gzip: common in ELK
#   deployments of the seed's era), 1.0.0 (its default) and 2.1.0; every line must
#   arrive once and in order (read back with kcat);
# - kafka-python pinned to api_version 0.9 (Produce v1, message format v0; also with
#   LZ4, whose magic-0 frames carry Kafka 0.8's header checksum, KAFKA-3160) and 0.10.0
#   with gzip (Produce v2, format v1), with the end offset read through ListOffsets v0
#   and the records read back through the old Fetch versions too (down-converted)
#   (python/kafka_python_legacy.py);
# - sarama configured as Filebeat configures it (go/filebeat-sarama) at protocol
#   version 0.10.2.0: Produce v2 and a sarama consumer on Fetch v3 (format v1).

# shellcheck source=../lib/filebeat.sh
. "$COMPAT_DIR/lib/filebeat.sh"   # FILEBEAT_DIST, filebeat_binary
FILEBEAT_LINES=300

filebeat_session() {
  local version=$1 bin topic dir pid out i messages expected
  bin=$(filebeat_binary) || { kafka_fail "no Filebeat binary at $FILEBEAT_DIST"; return 1; }
  kcat_ensure || { kafka_fail "kcat is not installed and apt-get could not install $KCAT_PACKAGE"; return 1; }
  topic=$(kafka_unique "filebeat-${version//./}")
  dir="$SUITE_WORK/filebeat-$version"
  mkdir -p "$dir/data" "$dir/logs"
  : >"$dir/input.log"
  cat >"$dir/filebeat.yml" <<YAML
filebeat.inputs:
  - type: filestream
    id: compat-$version
    paths: [$dir/input.log]
    prospector.scanner.check_interval: 1s
output.kafka:
  hosts: ["$KAFKA_BOOTSTRAP"]
  topic: "$topic"
  version: "$version"
  compression: gzip
  required_acks: 1
path.data: $dir/data
path.logs: $dir/logs
logging.to_files: true
logging.to_stderr: false
monitoring.enabled: false
YAML
  chmod 600 "$dir/filebeat.yml"
  "$bin" -c "$dir/filebeat.yml" --path.home "$dir" >"$dir/stdout.log" 2>&1 &
  pid=$!
  # The file grows while Filebeat runs: three bursts, as an application logs.
  for i in $(seq 1 "$FILEBEAT_LINES"); do
    printf 'app line %d of %s\n' "$i" "$topic" >>"$dir/input.log"
    [ $((i % 100)) = 0 ] && sleep 1
  done
  expected=$(seq 1 "$FILEBEAT_LINES" | sed "s/.*/app line & of $topic/")
  messages=""
  for _ in $(seq 1 60); do
    out=$(timeout_run 30 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$topic" -o beginning -e -q 2>/dev/null)
    messages=$(printf '%s\n' "$out" | python3 -c 'import json,sys
for line in sys.stdin:
    line=line.strip()
    if line: print(json.loads(line)["message"])')
    [ "$(printf '%s\n' "$messages" | grep -c .)" -ge "$FILEBEAT_LINES" ] && break
    sleep 2
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ "$messages" != "$expected" ]; then
    printf '%s\n' "---- filebeat $version: got $(printf '%s\n' "$messages" | grep -c .) lines; first differences:" >&2
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$messages") | head -10 >&2
    tail -n 20 "$dir"/logs/filebeat* >&2 2>/dev/null
    kafka_fail "Filebeat (output.kafka.version $version) did not deliver the $FILEBEAT_LINES lines once each in order"
    return 1
  fi
  KAFKA_DETAIL="Filebeat 8.8.2, output.kafka.version $version, gzip: $FILEBEAT_LINES lines tailed from a growing file, each read back once in order"
}

legacy_python() {
  local api=$1 compression=$2 out
  if out=$(timeout_run 150 "$PY_VENV/bin/python" "$COMPAT_DIR/python/kafka_python_legacy.py" \
      "$KAFKA_BOOTSTRAP" "$(kafka_unique kpy-legacy)" "$api" "$compression" 200); then
    KAFKA_DETAIL="kafka-python $KAFKA_PYTHON_VERSION, $out"
  else
    kafka_fail "kafka_python_legacy.py $api $compression failed (see log)"
  fi
}

if filebeat_binary >/dev/null; then
  kafka_client filebeat-0.10.2.0 filebeat_session 0.10.2.0
  kafka_client filebeat-1.0.0 filebeat_session 1.0.0
  kafka_client filebeat-2.1.0 filebeat_session 2.1.0
else
  for v in 0.10.2.0 1.0.0 2.1.0; do
    report "filebeat-$v" skip "the Filebeat 8.8.2 build is not at $FILEBEAT_DIST (set FILEBEAT_DIST)"
  done
fi
sarama_legacy() {
  local bin out
  bin=$(go_build filebeat-sarama) || { kafka_fail "go build of filebeat-sarama failed"; return 1; }
  if out=$(timeout_run 150 "$bin" -brokers "$KAFKA_BOOTSTRAP" -topic "$(kafka_unique sarama-legacy)" \
      -version 0.10.2.0 -events 500 -timeout 120s); then
    KAFKA_DETAIL="sarama $SARAMA_VERSION: $out"
  else
    kafka_fail "filebeat-sarama -version 0.10.2.0 failed (see log)"
  fi
}
kafka_client sarama-0.10.2.0 sarama_legacy

python_env || { for c in kafka-python-0.9 kafka-python-0.9-lz4 kafka-python-0.10-gzip; do report $c fail "python_env failed"; done; exit 1; }
kafka_client kafka-python-0.9 legacy_python 0.9 none
# LZ4 in message format v0: the frame header checksum as Kafka 0.8 wrote it (KAFKA-3160)
kafka_client kafka-python-0.9-lz4 legacy_python 0.9 lz4
kafka_client kafka-python-0.10-gzip legacy_python 0.10.0 gzip
exit "$KAFKA_SUITE_RC"
