# needs: none
# clients: apache-to-keel-and-back
# timeout: 1500
#
# kafka-rolling-migration: a running three-broker Apache Kafka 3.9.1 cluster (metadata
# in the target's ZooKeeper) has its brokers replaced by keel one at a time, on the same
# log dirs and broker ids, under load, then replaced by Apache again: the migration
# keel is for. Against the apache target every replacement is Apache again (a rolling
# restart), which proves the checks.
#   1. three Apache brokers (broker 1 first: the controller), offsets topic with
#      replication factor 3; a topic with replication factor 3, 3 partitions,
#      min.insync.replicas=2.
#   2. through everything below: an idempotent acks=all producer (kafka-python, keyed
#      records over the partitions), an acks=1 producer that is not idempotent, as
#      Filebeat's output.kafka sends by default, and a consumer group member committing
#      after every poll, as Logstash's kafka input does (python/kafka_cluster.py stream
#      ... GROUP --acks1). auto.leader.rebalance.enable=false, so that leaders change
#      only inside the replacements, the windows in which Kafka may drop acks=1 records.
#   3. brokers 3, 2, 1 in turn: stopped cleanly (SIGTERM: controlled shutdown), started
#      as keel on the same log dir; the next step waits for every partition to have a
#      leader and a full ISR and for more records to be acknowledged. Broker 1 is the
#      controller when its turn comes, so the controller moves too.
#   4. the same back to Apache 3.9.1, brokers 3, 2, 1.
#   5. the stream stops; every acknowledged acks=all record is found exactly once at its
#      acknowledged partition and offset, nothing is written twice; every acks=1 record
#      acknowledged outside a replacement window is at its acknowledged place (the count
#      dropped inside windows is reported, for keel and Apache alike); the group member
#      saw every record and its committed offsets reached the end of every partition
#      without going back; every partition's segment files are identical on the three
#      brokers.

set -u
STREAM_PID=""

cleanup() {
  [ -n "$STREAM_PID" ] && { touch "$SUITE_WORK"/*/stop 2>/dev/null; wait "$STREAM_PID" 2>/dev/null; }
  kafka_stop_all
  zk_stop_all
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

py() {
  timeout_run 1200 "$PY_VENV/bin/python" "$COMPAT_DIR/python/kafka_cluster.py" "$@"
}

# wait_in_sync BOOTSTRAP TOPIC SECONDS: every partition led, with a full ISR.
wait_in_sync() { kafka_wait_partitions "$1" "$2" "$3" kafka_all_in_sync; }

migrate() {
  local ctl="$SUITE_WORK/migration" zk bootstrap="" i topic out to steps="" t0 secs
  local -a ports
  mkdir -p "$ctl"
  zk_start "$(kafka_zk_target)" standalone rm-zk || { kafka_fail "ZooKeeper ($(kafka_zk_target)) did not start"; return 1; }
  zk=$ZK_CONNECT
  for i in 1 2 3; do
    KAFKA_BROKER_ID=$i KAFKA_EXTRA_PROPS="offsets.topic.replication.factor=3
auto.leader.rebalance.enable=false" \
      kafka_start apache zk "rm-b$i" "$zk" || { kafka_fail "Apache broker $i did not start"; return 1; }
    bootstrap="${bootstrap:+$bootstrap,}$KAFKA_BOOTSTRAP"
    ports[i]=${KAFKA_BOOTSTRAP##*:}
  done
  topic=$(kafka_unique migration)
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "127.0.0.1:${ports[1]}" --topic "$topic" \
    --replication-factor 3 --partitions 3 --config min.insync.replicas=2 2>&1)
  kafka_expect "kafka-topics --create" "$out" "Created topic \"?$topic\"?\." || return 1
  wait_in_sync "127.0.0.1:${ports[1]}" "$topic" 60 || { kafka_fail "no full ISR at the start: $KAFKA_PARTITIONS"; return 1; }

  py stream "$bootstrap" "$topic" "$ctl" migration-group --acks1 >"$ctl/stream.out" 2>"$ctl/stream.err" &
  STREAM_PID=$!
  kafka_wait_acked "$ctl" 200 120 "$STREAM_PID" || { cat "$ctl/stream.err" >&2; kafka_fail "the producer did not get going"; return 1; }

  local keel_side=keel
  [ "$TARGET" = apache ] && keel_side=apache
  for to in "$keel_side" apache; do
    for i in 3 2 1; do
      t0=$(date +%s)
      local window_start=$(date +%s.%N)
      kafka_stop "rm-b$i"
      KAFKA_ZK_CONNECT=$zk kafka_restart "rm-b$i" "$to" || { kafka_fail "broker $i did not start as $to"; return 1; }
      # ask a broker that is not the one just replaced
      local other=$(( i == 1 ? 2 : 1 ))
      wait_in_sync "127.0.0.1:${ports[$other]}" "$topic" 120 \
        || { kafka_fail "broker $i ($to): no full ISR within 120s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
      secs=$(($(date +%s) - t0))
      echo "$window_start $(date +%s.%N)" >>"$ctl/replacements"
      kafka_wait_acked "$ctl" 100 120 "$STREAM_PID" || { cat "$ctl/stream.err" >&2; kafka_fail "no progress after broker $i became $to"; return 1; }
      steps="$steps b$i->$to:${secs}s"
      log "broker $i is $to; every ISR full after ${secs}s"
    done
  done

  touch "$ctl/stop"
  wait "$STREAM_PID"
  local rc=$?
  STREAM_PID=""
  if [ "$rc" -ne 0 ]; then
    cat "$ctl/stream.err" >&2
    kafka_fail "delivery check: $(tail -n 1 "$ctl/stream.err")"
    return 1
  fi
  local same=no
  for _ in $(seq 1 30); do
    if kafka_same_logs "$topic" rm-b1 rm-b2 rm-b3 2>/dev/null; then same=yes; break; fi
    sleep 1
  done
  [ "$same" = yes ] || { kafka_same_logs "$topic" rm-b1 rm-b2 rm-b3; kafka_fail "replica logs differ across the brokers"; return 1; }
  KAFKA_DETAIL="apache -> $keel_side -> apache, one broker at a time:$steps; $(head -n 1 "$ctl/stream.out"); replica logs identical"
}

python_env || { report apache-to-keel-and-back fail "python venv"; exit 1; }
kafka_client apache-to-keel-and-back migrate
exit $KAFKA_SUITE_RC
