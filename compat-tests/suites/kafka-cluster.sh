# needs: none
# clients: three-brokers controller-failover mixed-apache-controller
# timeout: 1200
#
# kafka-cluster: the seed's three-broker cluster, replication factor 3, through a
# broker crash. Each part starts a ZooKeeper of the target and three brokers on it
# (broker.id 1, 2, 3; broker 1 first, so it wins /controller):
#   three-brokers:            three brokers of the target (keel: keel's controller
#                             and keel's replication only; apache: Apache 3.9.1).
#   controller-failover:      the same, but the broker killed in step 3 is broker 1,
#                             the controller: another broker wins /controller, moves
#                             the dead broker's partitions and readmits it.
#   mixed-apache-controller:  Apache Kafka 3.9.1 as broker 1 (the controller) and two
#                             keel brokers (all Apache against the apache target): keel
#                             takes LeaderAndIsr / UpdateMetadata from Apache's controller,
#                             follows Apache leaders (Fetch v17) and leads Apache followers.
# In each part:
#   1. kafka-topics --create --replication-factor 3 --partitions 3 with
#      min.insync.replicas=2 (3.9 --bootstrap-server; in controller-failover the
#      seed's 2.2.1 --zookeeper); --describe shows a leader and three in-sync replicas
#      for every partition (waited for).
#   2. kafka-python, idempotent, acks=all, keyed records spread over the partitions
#      (python/kafka_cluster.py stream), one after the other, through all of what
#      follows.
#   3. kill -9 of the leader of a partition (not broker 1, the controller; or broker 1
#      in controller-failover); the
#      controller moves its partitions to the other replicas and drops it from the ISR
#      (--describe, waited for); --under-replicated-partitions lists every partition,
#      --unavailable-partitions none; records keep being acknowledged.
#   4. the killed broker restarts on its log dirs, catches up and is back in every ISR
#      (--under-replicated-partitions lists nothing).
#   5. the stream stops; a fresh consumer finds every acknowledged record exactly once at
#      its acknowledged partition and offset, and nothing written twice.
#   6. every partition's segment files are byte-identical on the three brokers.
# Figures: records acknowledged, failed sends, seconds from the kill to new leaders and
# from the restart to a full ISR.

set -u
rc=0
STREAM_PID=""

cleanup() {
  [ -n "$STREAM_PID" ] && { touch "$SUITE_WORK"/*/stop 2>/dev/null; wait "$STREAM_PID" 2>/dev/null; }
  kafka_stop_all
  zk_stop_all
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

py() {
  timeout_run 900 "$PY_VENV/bin/python" "$COMPAT_DIR/python/kafka_cluster.py" "$@"
}

# the predicates and waits are lib/kafka.sh's (kafka_wait_partitions and friends)
VICTIM=""
victim_gone() {
  local p l isr
  while read -r p l isr; do
    [ "$l" = none ] && return 1
    [ "$l" = "$VICTIM" ] && return 1
    tr ',' '\n' <<<"$isr" | grep -qx "$VICTIM" && return 1
  done
  return 0
}

# same_logs NAME TOPIC: the three brokers of part NAME hold identical partitions.
same_logs() { kafka_same_logs "$2" "$1-b1" "$1-b2" "$1-b3"; }

# part CLIENT NAME VICTIM TARGET1 TARGET2 TARGET3: VICTIM is "leader" (a partition
# leader other than broker 1) or "controller" (broker 1).
part() {
  local client=$1 name=$2 victim_kind=$3 ctl="$SUITE_WORK/$1" zk bootstrap="" i t topic out t0 fail_s rejoin_s
  local -a targets=("$4" "$5" "$6")
  mkdir -p "$ctl"
  zk_start "$TARGET" standalone "$name-zk" || { kafka_fail "ZooKeeper ($TARGET) did not start"; return 1; }
  zk=$ZK_CONNECT
  for i in 1 2 3; do
    t=${targets[$((i - 1))]}
    KAFKA_BROKER_ID=$i kafka_start "$t" zk "$name-b$i" "$zk" \
      || { kafka_fail "broker $i ($t) did not start"; return 1; }
    bootstrap="${bootstrap:+$bootstrap,}$KAFKA_BOOTSTRAP"
  done
  local first=${bootstrap%%,*}
  topic=$(kafka_unique cluster)
  if [ "$victim_kind" = controller ]; then
    # the seed's own command: Kafka 2.2.1's kafka-topics through ZooKeeper
    out=$(kafka_tool 2.2 kafka-topics --create --zookeeper "$zk" --topic "$topic" \
      --replication-factor 3 --partitions 3 --config min.insync.replicas=2 2>&1)
  else
    out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$first" --topic "$topic" \
      --replication-factor 3 --partitions 3 --config min.insync.replicas=2 2>&1)
  fi
  kafka_expect "kafka-topics --create --replication-factor 3" "$out" "Created topic \"?$topic\"?\." || return 1
  kafka_wait_partitions "$first" "$topic" 60 kafka_all_in_sync \
    || { kafka_fail "no leader and full ISR for every partition after 60s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  log "$client: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"

  py stream "$bootstrap" "$topic" "$ctl" >"$ctl/stream.out" 2>"$ctl/stream.err" &
  STREAM_PID=$!
  kafka_wait_acked "$ctl" 200 120 "$STREAM_PID" || { cat "$ctl/stream.err" >&2; kafka_fail "the producer did not get 200 records acknowledged"; return 1; }

  if [ "$victim_kind" = controller ]; then
    VICTIM=1
  else
    VICTIM=$(printf '%s\n' "$KAFKA_PARTITIONS" | awk '$2 != 1 {print $2; exit}')
    [ -n "$VICTIM" ] || VICTIM=2
  fi
  # the bootstrap list without the victim (the tools must reach a live broker)
  first=$(tr ',' '\n' <<<"$bootstrap" | sed -n "$(( VICTIM == 1 ? 2 : 1 ))p")
  t0=$(date +%s)
  kafka_kill "$name-b$VICTIM" || { kafka_fail "kill -9 of broker $VICTIM failed"; return 1; }
  kafka_wait_partitions "$first" "$topic" 90 victim_gone \
    || { kafka_fail "broker $VICTIM still leads or is in an ISR 90s after kill -9: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  fail_s=$(($(date +%s) - t0))
  log "$client: broker $VICTIM (${targets[$((VICTIM - 1))]}) out after ${fail_s}s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
  # kafka-topics' filters, as operators use them: every partition is under-replicated
  # (two of three replicas in sync), none is unavailable
  local under unavailable
  under=$(kafka_tool 3.9 kafka-topics --describe --under-replicated-partitions \
    --bootstrap-server "$first" --topic "$topic" 2>/dev/null | grep -c "Partition: ")
  unavailable=$(kafka_tool 3.9 kafka-topics --describe --unavailable-partitions \
    --bootstrap-server "$first" --topic "$topic" 2>/dev/null | grep -c "Partition: ")
  [ "$under" = 3 ] && [ "$unavailable" = 0 ] \
    || { kafka_fail "with broker $VICTIM down: --under-replicated-partitions lists $under (want 3), --unavailable-partitions $unavailable (want 0)"; return 1; }
  kafka_wait_acked "$ctl" 200 120 "$STREAM_PID" || { cat "$ctl/stream.err" >&2; kafka_fail "no progress after broker $VICTIM was killed"; return 1; }

  t0=$(date +%s)
  KAFKA_ZK_CONNECT=$zk kafka_restart "$name-b$VICTIM" || { kafka_fail "broker $VICTIM did not restart"; return 1; }
  kafka_wait_partitions "$first" "$topic" 120 kafka_all_in_sync \
    || { kafka_fail "broker $VICTIM not back in every ISR 120s after its restart: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  rejoin_s=$(($(date +%s) - t0))
  log "$client: broker $VICTIM back in every ISR after ${rejoin_s}s"
  under=$(kafka_tool 3.9 kafka-topics --describe --under-replicated-partitions \
    --bootstrap-server "$first" --topic "$topic" 2>/dev/null | grep -c "Partition: ")
  [ "$under" = 0 ] || { kafka_fail "after the rejoin --under-replicated-partitions still lists $under"; return 1; }
  kafka_wait_acked "$ctl" 100 120 "$STREAM_PID" || { cat "$ctl/stream.err" >&2; kafka_fail "no progress after broker $VICTIM came back"; return 1; }

  touch "$ctl/stop"
  wait "$STREAM_PID"
  local stream_rc=$?
  STREAM_PID=""
  if [ "$stream_rc" -ne 0 ]; then
    cat "$ctl/stream.err" >&2
    kafka_fail "delivery check: $(tail -n 1 "$ctl/stream.err")"
    return 1
  fi
  # the followers fetch the last records within a fetch round or two
  local same=no
  for _ in $(seq 1 30); do
    if same_logs "$name" "$topic" 2>/dev/null; then same=yes; break; fi
    sleep 1
  done
  [ "$same" = yes ] || { same_logs "$name" "$topic"; kafka_fail "replica logs differ across the brokers"; return 1; }

  KAFKA_DETAIL="brokers ${targets[*]}; $(head -n 1 "$ctl/stream.out"); kill -9 of broker $VICTIM ($victim_kind): new leaders and ISR without it in ${fail_s}s, back in every ISR ${rejoin_s}s after restart; replica logs identical"
  kafka_stop_all
  zk_stop_all
}

python_env || { for c in three-brokers controller-failover mixed-apache-controller; do report "$c" fail "python venv"; done; exit 1; }
kafka_client three-brokers part three-brokers c3 leader "$TARGET" "$TARGET" "$TARGET"
kafka_client controller-failover part controller-failover cf controller "$TARGET" "$TARGET" "$TARGET"
if [ "$TARGET" = keel ]; then
  kafka_client mixed-apache-controller part mixed-apache-controller cm leader apache keel keel
else
  kafka_client mixed-apache-controller part mixed-apache-controller cm leader apache apache apache
fi
exit $KAFKA_SUITE_RC
