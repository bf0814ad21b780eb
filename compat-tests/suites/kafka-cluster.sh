# needs: none
# clients: three-brokers controller-failover mixed-apache-controller unclean-election auto-rebalance
# timeout: 1800
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
#   unclean-election:         see `unclean` below (Kafka 3.9 tools; three brokers of
#                             the target).
#   auto-rebalance:           see `rebalance` below.
# In each of the first three parts:
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
#      (--under-replicated-partitions lists nothing); then a preferred replica election
#      (2.2.1 kafka-preferred-replica-election --zookeeper in controller-failover, 3.9
#      kafka-leader-election --election-type PREFERRED --all-topic-partitions elsewhere)
#      gives every partition back to its first replica, under the stream.
#   5. the stream stops; a fresh consumer finds every acknowledged record exactly once at
#      its acknowledged partition and offset, and nothing written twice.
#   6. every partition's segment files are byte-identical on the three brokers.
#   7. (three-brokers) a consumer group committed along the whole time:
#      kafka-consumer-groups --describe shows LAG 0 on every partition, and
#      kafka-log-dirs --describe finds the three partitions on each broker.
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
  zk_start "$(kafka_zk_target)" standalone "$name-zk" || { kafka_fail "ZooKeeper ($(kafka_zk_target)) did not start"; return 1; }
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

  # three-brokers: a committing consumer group reads along (offsets in a replicated
  # __consumer_offsets), for kafka-consumer-groups at the end
  local group=""
  [ "$name" = c3 ] && group="cluster-group-$topic"
  py stream "$bootstrap" "$topic" "$ctl" $group >"$ctl/stream.out" 2>"$ctl/stream.err" &
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

  # 4b. leadership back to the preferred replicas, as operators ask for it after a
  # broker returns: the seed's 2.2.1 kafka-preferred-replica-election --zookeeper in
  # controller-failover, 3.9's kafka-leader-election --bootstrap-server elsewhere
  local election
  if [ "$victim_kind" = controller ]; then
    out=$(kafka_tool 2.2 kafka-preferred-replica-election --zookeeper "$zk" 2>&1)
    kafka_expect "kafka-preferred-replica-election --zookeeper" "$out" "Successfully started preferred replica election" || return 1
    election="2.2.1 kafka-preferred-replica-election --zookeeper"
  else
    out=$(kafka_tool 3.9 kafka-leader-election --bootstrap-server "$first" --election-type PREFERRED --all-topic-partitions 2>&1)
    kafka_expect "kafka-leader-election --election-type PREFERRED" "$out" "Successfully completed leader election \(PREFERRED\) for partitions .*$topic-" || return 1
    election="3.9 kafka-leader-election PREFERRED"
  fi
  kafka_wait_preferred "$first" "$topic" 60 \
    || { kafka_fail "$election: partitions not led by their preferred replica after 60s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  log "$client: $election moved leadership back: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
  kafka_wait_acked "$ctl" 100 120 "$STREAM_PID" || { cat "$ctl/stream.err" >&2; kafka_fail "no progress after the preferred leader election"; return 1; }

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

  local tools_detail=""
  if [ -n "$group" ]; then
    # 7. the operator's view across brokers: kafka-log-dirs asks every broker
    # (DescribeLogDirs) and finds the topic's three partitions on each; the group's
    # committed offsets reach the end of every partition (LAG 0)
    out=$(kafka_tool 3.9 kafka-log-dirs --bootstrap-server "$first" --describe --topic-list "$topic" 2>&1)
    local dirs
    dirs=$(grep -o "\"partition\":\"$topic-[0-9]\"" <<<"$out" | wc -l)
    [ "$dirs" = 9 ] && grep -q '"broker":1' <<<"$out" && grep -q '"broker":2' <<<"$out" && grep -q '"broker":3' <<<"$out" \
      || { printf '%s\n' "$out" >&2; kafka_fail "kafka-log-dirs --describe: want the 3 partitions on each of brokers 1-3, found $dirs replicas"; return 1; }
    out=$(kafka_tool 3.9 kafka-consumer-groups --bootstrap-server "$first" --describe --group "$group" 2>&1)
    local lagging
    lagging=$(awk -v t="$topic" '$2 == t && $6 != "0"' <<<"$out" | wc -l)
    [ "$(awk -v t="$topic" '$2 == t' <<<"$out" | wc -l)" = 3 ] && [ "$lagging" = 0 ] \
      || { printf '%s\n' "$out" >&2; kafka_fail "kafka-consumer-groups --describe: want 3 partitions at LAG 0"; return 1; }
    tools_detail="; kafka-log-dirs: 9 replicas on 3 brokers; kafka-consumer-groups: 3 partitions at LAG 0"
  fi

  KAFKA_DETAIL="brokers ${targets[*]}; $(head -n 1 "$ctl/stream.out"); kill -9 of broker $VICTIM ($victim_kind): new leaders and ISR without it in ${fail_s}s, back in every ISR ${rejoin_s}s after restart; $election restored preferred leaders; replica logs identical$tools_detail"
  kafka_stop_all
  zk_stop_all
}

# produce_lines BOOTSTRAP TOPIC FIRST LAST: records FIRST..LAST, acks=all, by the 3.9
# console producer (keyless: spread over the partitions).
produce_lines() {
  local out
  out=$(seq "$3" "$4" | kafka_tool 3.9 kafka-console-producer --bootstrap-server "$1" \
    --topic "$2" --producer-property acks=all 2>&1) \
    || { printf '%s\n' "$out" >&2; return 1; }
}

# partition_led P BROKER: a kafka_wait_partitions predicate (P led by BROKER).
WANT_P=0 WANT_LEADER=none
partition_led() {
  local p l isr
  while read -r p l isr; do
    [ "$p" = "$WANT_P" ] && [ "$l" = "$WANT_LEADER" ] && return 0
  done
  return 1
}
isr_is_leader_only() {
  local p l isr n=0
  while read -r p l isr; do
    [ "$l" = 1 ] && [ "$isr" = 1 ] || return 1
    n=$((n + 1))
  done
  [ "$n" -eq 2 ]
}
all_leaderless() {
  local p l isr n=0
  while read -r p l isr; do
    [ "$l" = none ] || return 1
    n=$((n + 1))
  done
  [ "$n" -eq 2 ]
}

# unclean NAME: a partition whose only in-sync replica died comes back only by an unclean
# election, asked for by 3.9 kafka-leader-election --election-type UNCLEAN (partition 0)
# or allowed by the topic's unclean.leader.election.enable=true set with kafka-configs
# (partition 1). Brokers 2 and 3 die, broker 1 takes more records alone, dies; broker 2
# returns: both partitions stay leaderless until the election / the config, then broker
# 2 leads them and takes new records (the ones only broker 1 had are lost: the trade the
# operator chose).
unclean() {
  local name=$1 zk bootstrap="" i topic out b2
  zk_start "$(kafka_zk_target)" standalone "$name-zk" || { kafka_fail "ZooKeeper ($(kafka_zk_target)) did not start"; return 1; }
  zk=$ZK_CONNECT
  for i in 1 2 3; do
    KAFKA_BROKER_ID=$i kafka_start "$TARGET" zk "$name-b$i" "$zk" \
      || { kafka_fail "broker $i did not start"; return 1; }
    bootstrap="${bootstrap:+$bootstrap,}$KAFKA_BOOTSTRAP"
  done
  local first=${bootstrap%%,*}
  b2=$(tr ',' '\n' <<<"$bootstrap" | sed -n 2p)
  topic=$(kafka_unique unclean)
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$first" --topic "$topic" \
    --replica-assignment 1:2:3,1:2:3 2>&1)
  kafka_expect "kafka-topics --create --replica-assignment 1:2:3,1:2:3" "$out" "Created topic \"?$topic\"?\." || return 1
  produce_lines "$first" "$topic" 1 20 || { kafka_fail "producing 20 records failed"; return 1; }
  kafka_kill "$name-b2" && kafka_kill "$name-b3" || { kafka_fail "kill -9 of brokers 2 and 3 failed"; return 1; }
  kafka_wait_partitions "$first" "$topic" 90 isr_is_leader_only \
    || { kafka_fail "ISR not down to broker 1 after brokers 2 and 3 died: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  produce_lines "$first" "$topic" 21 30 || { kafka_fail "producing to broker 1 alone failed"; return 1; }
  kafka_kill "$name-b1" || { kafka_fail "kill -9 of broker 1 failed"; return 1; }
  KAFKA_ZK_CONNECT=$zk kafka_restart "$name-b2" || { kafka_fail "broker 2 did not restart"; return 1; }
  kafka_wait_partitions "$b2" "$topic" 90 all_leaderless \
    || { kafka_fail "partitions not leaderless with only broker 2 (out of sync) alive: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  # a clean controller keeps them offline: still so a few seconds later
  sleep 5
  kafka_wait_partitions "$b2" "$topic" 10 all_leaderless \
    || { kafka_fail "a partition got a leader without an unclean election: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }

  out=$(kafka_tool 3.9 kafka-leader-election --bootstrap-server "$b2" --election-type UNCLEAN \
    --topic "$topic" --partition 0 2>&1)
  kafka_expect "kafka-leader-election --election-type UNCLEAN" "$out" "Successfully completed leader election \(UNCLEAN\) for partitions $topic-0" || return 1
  WANT_P=0 WANT_LEADER=2
  kafka_wait_partitions "$b2" "$topic" 60 partition_led \
    || { kafka_fail "partition 0 not led by broker 2 after the unclean election: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  WANT_P=1 WANT_LEADER=none
  kafka_wait_partitions "$b2" "$topic" 10 partition_led \
    || { kafka_fail "partition 1 got a leader too: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }

  out=$(kafka_tool 3.9 kafka-configs --bootstrap-server "$b2" --alter --entity-type topics \
    --entity-name "$topic" --add-config unclean.leader.election.enable=true 2>&1)
  kafka_expect "kafka-configs --add-config unclean.leader.election.enable=true" "$out" "Completed updating config" || return 1
  WANT_P=1 WANT_LEADER=2
  kafka_wait_partitions "$b2" "$topic" 60 partition_led \
    || { kafka_fail "partition 1 not led by broker 2 after unclean.leader.election.enable=true: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }

  produce_lines "$b2" "$topic" 31 40 || { kafka_fail "producing after the unclean elections failed"; return 1; }
  out=$(kafka_tool 3.9 kafka-console-consumer --bootstrap-server "$b2" --topic "$topic" \
    --from-beginning --timeout-ms 15000 2>/dev/null | sort -n | tr '\n' ' ')
  case " $out" in
    *" 31 "*"40 "*) ;;
    *) kafka_fail "records written after the unclean elections not all read back: $out"; return 1 ;;
  esac
  KAFKA_DETAIL="both partitions leaderless with only an out-of-sync replica alive; kafka-leader-election UNCLEAN elected broker 2 for partition 0, unclean.leader.election.enable=true for partition 1; read back: $(wc -w <<<"$out") records"
  kafka_stop_all
  zk_stop_all
}

# rebalance NAME: auto.leader.rebalance.enable (Kafka's default) with the check every 5 s
# (leader.imbalance.check.interval.seconds=5): after a leader is killed and comes back,
# the controller gives every partition back to its preferred replica by itself.
rebalance() {
  local name=$1 zk bootstrap="" i topic out victim t0
  zk_start "$(kafka_zk_target)" standalone "$name-zk" || { kafka_fail "ZooKeeper ($(kafka_zk_target)) did not start"; return 1; }
  zk=$ZK_CONNECT
  for i in 1 2 3; do
    KAFKA_EXTRA_PROPS="leader.imbalance.check.interval.seconds=5" KAFKA_BROKER_ID=$i \
      kafka_start "$TARGET" zk "$name-b$i" "$zk" || { kafka_fail "broker $i did not start"; return 1; }
    bootstrap="${bootstrap:+$bootstrap,}$KAFKA_BOOTSTRAP"
  done
  local first=${bootstrap%%,*}
  topic=$(kafka_unique rebalance)
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$first" --topic "$topic" \
    --replication-factor 3 --partitions 3 2>&1)
  kafka_expect "kafka-topics --create --replication-factor 3" "$out" "Created topic \"?$topic\"?\." || return 1
  kafka_wait_partitions "$first" "$topic" 60 kafka_all_in_sync \
    || { kafka_fail "no full ISR: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  produce_lines "$first" "$topic" 1 30 || { kafka_fail "producing failed"; return 1; }
  VICTIM=$(printf '%s\n' "$KAFKA_PARTITIONS" | awk '$2 != 1 {print $2; exit}')
  [ -n "$VICTIM" ] || VICTIM=2
  kafka_kill "$name-b$VICTIM" || { kafka_fail "kill -9 of broker $VICTIM failed"; return 1; }
  kafka_wait_partitions "$first" "$topic" 90 victim_gone \
    || { kafka_fail "broker $VICTIM still leads 90s after kill -9: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  KAFKA_ZK_CONNECT=$zk kafka_restart "$name-b$VICTIM" || { kafka_fail "broker $VICTIM did not restart"; return 1; }
  t0=$(date +%s)
  kafka_wait_preferred "$first" "$topic" 90 \
    || { kafka_fail "leadership not back on the preferred replicas 90s after broker $VICTIM returned: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"; return 1; }
  KAFKA_DETAIL="broker $VICTIM killed and restarted; the controller's leader balance check gave its partitions back in $(($(date +%s) - t0))s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
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
kafka_client unclean-election unclean ue
kafka_client auto-rebalance rebalance ar
exit $KAFKA_SUITE_RC
