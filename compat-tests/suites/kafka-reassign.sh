# needs: none
# clients: setup-cluster zookeeper-tool-2.2 admin-api-3.9 cancel-3.9 controller-failover mixed-apache-brokers
# timeout: 1200
#
# kafka-reassign: partition reassignment (KIP-455) by the ZooKeeper-mode controller.
# One ZooKeeper of the target and four brokers of the target on it (broker 1 first,
# so it wins /controller). A topic with three partitions, replication factor 2, on
# brokers 1-3 only (`--replica-assignment 1:2,2:3,3:1`), and 600 records in it.
#   zookeeper-tool-2.2: the seed's Kafka 2.2.1 `kafka-reassign-partitions --zookeeper
#       --reassignment-json-file f --execute` (the legacy /admin/reassign_partitions
#       znode, with the tool's log_dirs "any") moves partition 0 from [1,2] to [4,2]
#       and partition 1 from [2,3] to [3,4] (both leaders leave); `--verify` until
#       both are complete. Then: `kafka-topics --describe` shows the new replicas with
#       both in the ISR, every record is still consumed, broker 4's logs equal the
#       leaders', and the removed replicas' partition directories are gone.
#   admin-api-3.9: the 3.9 tool with `--bootstrap-server` (AlterPartitionReassignments
#       and ListPartitionReassignments): partition 2 from [3,1] to [1,4]; `--verify`
#       until complete; describe, records, broker 4's log and broker 3's directory
#       checked as above.
#   cancel-3.9: broker 3 is stopped (SIGSTOP: still registered, never fetching);
#       partition 0 is reassigned from [4,2] to [4,3], which cannot complete; `--list`
#       shows it in progress; `--cancel --preserve-throttles` reverts it to [4,2];
#       `--list` finds nothing. Broker 3 resumes and drops the replica it was briefly
#       given. (The 3.9 tool cancels only reassignments that remove a replica or add
#       none, hence a move rather than an added replica; and it would clear throttles
#       on every broker, the stopped one included, hence --preserve-throttles.)
#   controller-failover: broker 3 is stopped again and partition 2 is reassigned from
#       [1,4] to [4,3]; then broker 1, the controller, shuts down. The new controller
#       resumes the reassignment from the topic znode's adding/removing replicas
#       (`initializePartitionReassignments`); broker 3 resumes, catches up, and the
#       reassignment completes: [4,3] in sync, every record still consumed, no
#       reassignment listed.
#   mixed-apache-brokers: setup, zookeeper-tool-2.2, admin-api-3.9 and cancel-3.9
#       again with broker 1 (the controller) of the target and brokers 2-4 Apache
#       3.9.1: with --target keel, a keel controller drives Apache brokers through
#       both phases.

set -u
STOPPED_PID=""
RECORDS=600

cleanup() {
  [ -n "$STOPPED_PID" ] && kill -CONT "$STOPPED_PID" 2>/dev/null
  kafka_stop_all
  zk_stop_all
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

TOPIC=""
ZK=""
FIRST=""
# the cluster in use: name prefix and the target of brokers 1-4
PREFIX=rs
TARGETS=("$TARGET" "$TARGET" "$TARGET" "$TARGET")

# describe_lines: "PARTITION LEADER REPLICAS ISR" per partition of $TOPIC.
describe_lines() {
  kafka_tool 3.9 kafka-topics --describe --bootstrap-server "$FIRST" --topic "$TOPIC" 2>/dev/null |
    sed -n 's/.*Partition: \([0-9]*\)[[:space:]]*Leader: \([a-z0-9-]*\)[[:space:]]*Replicas: \([0-9,]*\)[[:space:]]*Isr: \([0-9,]*\).*/\1 \2 \3 \4/p'
}

# settled P REPLICAS: partition P has exactly REPLICAS, a leader among them and
# every one of them (and nothing else) in its ISR.
settled() {
  local want_p=$1 want_r=$2 p l r isr
  while read -r p l r isr; do
    [ "$p" = "$want_p" ] || continue
    [ "$r" = "$want_r" ] || return 1
    [ "$l" = none ] && return 1
    tr ',' '\n' <<<"$r" | grep -qx "$l" || return 1
    [ "$(tr ',' '\n' <<<"$isr" | sort | tr '\n' ,)" = "$(tr ',' '\n' <<<"$r" | sort | tr '\n' ,)" ] || return 1
    return 0
  done <<<"$LINES"
  return 1
}

LINES=""
# wait_settled SECONDS P=REPLICAS...
wait_settled() {
  local secs=$1 t0 spec ok
  shift
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt "$secs" ]; do
    LINES=$(describe_lines)
    ok=yes
    for spec in "$@"; do settled "${spec%%=*}" "${spec#*=}" || { ok=no; break; }; done
    [ "$ok" = yes ] && return 0
    sleep 1
  done
  return 1
}

leader_of() { awk -v p="$1" '$1 == p {print $2}' <<<"$LINES"; }

log_sum() { cat "$(kafka_server_dir "$PREFIX-b$1")/data/$TOPIC-$2/"*.log 2>/dev/null | md5sum | cut -c1-12; }

# same_log P BROKER: BROKER's log of partition P equals its leader's (waited for).
same_log() {
  local p=$1 b=$2 leader i
  leader=$(leader_of "$p")
  for i in $(seq 1 30); do
    [ -d "$(kafka_server_dir "$PREFIX-b$b")/data/$TOPIC-$p" ] && [ "$(log_sum "$leader" "$p")" = "$(log_sum "$b" "$p")" ] && return 0
    sleep 1
  done
  kafka_fail "partition $p: broker $b's log ($(log_sum "$b" "$p")) differs from leader $leader's ($(log_sum "$leader" "$p"))"
}

# gone P BROKER: BROKER no longer has a directory for partition P (Apache renames it
# to <topic>-<p>.<id>-delete at once and removes it later; keel removes it).
gone() {
  local p=$1 b=$2 i
  for i in $(seq 1 60); do
    [ -d "$(kafka_server_dir "$PREFIX-b$b")/data/$TOPIC-$p" ] || return 0
    sleep 1
  done
  kafka_fail "partition $p: broker $b still has $TOPIC-$p 60s after the reassignment removed it"
}

all_records() {
  local out
  out=$(kafka_tool 3.9 kafka-console-consumer --bootstrap-server "$FIRST" --topic "$TOPIC" \
    --from-beginning --max-messages "$RECORDS" --timeout-ms 60000 2>"$SUITE_WORK/consumer.err" | sort)
  if [ "$out" != "$(sort "$SUITE_WORK/records")" ]; then
    cat "$SUITE_WORK/consumer.err" >&2
    kafka_fail "a consumer --from-beginning read $(printf '%s\n' "$out" | sed '/^$/d' | wc -l) of the $RECORDS records, or other ones"
    return 1
  fi
}

setup() {
  local i out
  zk_start "$(kafka_zk_target)" standalone "$PREFIX-zk" || { kafka_fail "ZooKeeper ($(kafka_zk_target)) did not start"; return 1; }
  ZK=$ZK_CONNECT
  for i in 1 2 3 4; do
    # a session that outlives the SIGSTOP of broker 3 (ZooKeeper's cap is 40 s), and
    # group coordinators that survive controller-failover's stop of broker 1
    KAFKA_BROKER_ID=$i KAFKA_EXTRA_PROPS=$'zookeeper.session.timeout.ms=36000\noffsets.topic.replication.factor=3' \
      kafka_start "${TARGETS[$((i - 1))]}" zk "$PREFIX-b$i" "$ZK" \
      || { kafka_fail "broker $i (${TARGETS[$((i - 1))]}) did not start"; return 1; }
    [ "$i" = 1 ] && FIRST=$KAFKA_BOOTSTRAP
  done
  TOPIC=$(kafka_unique reassign)
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$FIRST" --topic "$TOPIC" \
    --replica-assignment 1:2,2:3,3:1 2>&1)
  kafka_expect "kafka-topics --create --replica-assignment 1:2,2:3,3:1" "$out" "Created topic \"?$TOPIC\"?\." || return 1
  wait_settled 60 0=1,2 1=2,3 2=3,1 \
    || { kafka_fail "no leader and full ISR after 60s: $(tr '\n' ';' <<<"$LINES")"; return 1; }
  seq -f "record-%04g" 1 "$RECORDS" >"$SUITE_WORK/records"
  out=$(kafka_tool 3.9 kafka-console-producer --bootstrap-server "$FIRST" --topic "$TOPIC" \
    --producer-property acks=all <"$SUITE_WORK/records" 2>&1) \
    || { printf '%s\n' "$out" >&2; kafka_fail "kafka-console-producer exited non-zero"; return 1; }
  all_records || return 1
  log "setup: $(tr '\n' ';' <<<"$LINES")"
}

zookeeper_tool() {
  local out t0 secs
  cat >"$SUITE_WORK/zk-move.json" <<JSON
{"version":1,"partitions":[{"topic":"$TOPIC","partition":0,"replicas":[4,2],"log_dirs":["any","any"]},{"topic":"$TOPIC","partition":1,"replicas":[3,4],"log_dirs":["any","any"]}]}
JSON
  t0=$(date +%s)
  out=$(kafka_tool 2.2 kafka-reassign-partitions --zookeeper "$ZK" \
    --reassignment-json-file "$SUITE_WORK/zk-move.json" --execute 2>&1)
  kafka_expect "2.2.1 kafka-reassign-partitions --zookeeper --execute" "$out" \
    "Successfully started reassignment of partitions" || return 1
  for _ in $(seq 1 60); do
    out=$(kafka_tool 2.2 kafka-reassign-partitions --zookeeper "$ZK" \
      --reassignment-json-file "$SUITE_WORK/zk-move.json" --verify 2>&1)
    [ "$(grep -c "completed successfully" <<<"$out")" = 2 ] && break
    sleep 1
  done
  kafka_expect "2.2.1 --verify: partition 0 complete" "$out" "Reassignment of partition $TOPIC-0 completed successfully" || return 1
  kafka_expect "2.2.1 --verify: partition 1 complete" "$out" "Reassignment of partition $TOPIC-1 completed successfully" || return 1
  secs=$(($(date +%s) - t0))
  wait_settled 60 0=4,2 1=3,4 2=3,1 \
    || { kafka_fail "describe after the reassignment: $(tr '\n' ';' <<<"$LINES")"; return 1; }
  log "zookeeper-tool-2.2: $(tr '\n' ';' <<<"$LINES")"
  all_records || return 1
  same_log 0 4 || return 1
  same_log 1 4 || return 1
  gone 0 1 || return 1
  gone 1 2 || return 1
  # the controller removed the completed entries and then the znode itself
  out=$(kafka_tool 2.2 kafka-reassign-partitions --zookeeper "$ZK" \
    --reassignment-json-file "$SUITE_WORK/zk-move.json" --execute 2>&1)
  kafka_expect "2.2.1 --execute again once done (no reassignment left in the znode)" "$out" \
    "Successfully started reassignment of partitions" || return 1
  KAFKA_DETAIL="t-0 [1,2]->[4,2], t-1 [2,3]->[3,4] through /admin/reassign_partitions in ${secs}s; $(tr '\n' ';' <<<"$LINES") records, broker 4's logs and removed directories checked"
}

admin_api() {
  local out t0 secs
  cat >"$SUITE_WORK/api-move.json" <<JSON
{"version":1,"partitions":[{"topic":"$TOPIC","partition":2,"replicas":[1,4],"log_dirs":["any","any"]}]}
JSON
  t0=$(date +%s)
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" \
    --reassignment-json-file "$SUITE_WORK/api-move.json" --execute 2>&1)
  kafka_expect "3.9 kafka-reassign-partitions --execute" "$out" \
    "Successfully started partition reassignment for $TOPIC-2" || return 1
  for _ in $(seq 1 60); do
    out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" \
      --reassignment-json-file "$SUITE_WORK/api-move.json" --verify 2>&1)
    grep -q "Reassignment of partition $TOPIC-2 is completed" <<<"$out" && break
    sleep 1
  done
  kafka_expect "3.9 --verify" "$out" "Reassignment of partition $TOPIC-2 is completed" || return 1
  secs=$(($(date +%s) - t0))
  wait_settled 60 0=4,2 1=3,4 2=1,4 \
    || { kafka_fail "describe after the reassignment: $(tr '\n' ';' <<<"$LINES")"; return 1; }
  all_records || return 1
  same_log 2 4 || return 1
  gone 2 3 || return 1
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" --list 2>&1)
  kafka_expect "3.9 --list once done" "$out" "No partition reassignments found" || return 1
  KAFKA_DETAIL="t-2 [3,1]->[1,4] through AlterPartitionReassignments in ${secs}s; records, broker 4's log, broker 3's directory and --list checked"
}

cancel() {
  local out dir
  dir=$(kafka_server_dir "$PREFIX-b3")
  STOPPED_PID=$(cat "$dir/server.pid")
  kill -STOP "$STOPPED_PID" || { kafka_fail "SIGSTOP of broker 3 failed"; return 1; }
  log "broker 3 stopped (SIGSTOP, pid $STOPPED_PID)"
  cat >"$SUITE_WORK/stuck.json" <<JSON
{"version":1,"partitions":[{"topic":"$TOPIC","partition":0,"replicas":[4,3],"log_dirs":["any","any"]}]}
JSON
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" \
    --reassignment-json-file "$SUITE_WORK/stuck.json" --execute 2>&1)
  kafka_expect "3.9 --execute to the stopped broker" "$out" \
    "Successfully started partition reassignment for $TOPIC-0" || return 1
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" --list 2>&1)
  kafka_expect "3.9 --list while stuck" "$out" \
    "$TOPIC-0: replicas: 4,3,2\\. adding: 3\\. removing: 2\\." || return 1
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" \
    --reassignment-json-file "$SUITE_WORK/stuck.json" --cancel --preserve-throttles 2>&1)
  kafka_expect "3.9 --cancel" "$out" "Successfully cancelled partition reassignment for: $TOPIC-0" || return 1
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" --list 2>&1)
  kafka_expect "3.9 --list after the cancel" "$out" "No partition reassignments found" || return 1
  kill -CONT "$STOPPED_PID"
  STOPPED_PID=""
  log "broker 3 resumed"
  wait_settled 90 0=4,2 1=3,4 2=1,4 \
    || { kafka_fail "describe after the cancel: $(tr '\n' ';' <<<"$LINES")"; return 1; }
  gone 0 3 || return 1
  all_records || return 1
  KAFKA_DETAIL="t-0 [4,2]->[4,3] with broker 3 stopped: --list in progress, --cancel reverted it to [4,2]; broker 3 holds no replica of it after resuming"
}

failover() {
  local out dir i ctl=""
  dir=$(kafka_server_dir "$PREFIX-b3")
  STOPPED_PID=$(cat "$dir/server.pid")
  kill -STOP "$STOPPED_PID" || { kafka_fail "SIGSTOP of broker 3 failed"; return 1; }
  log "broker 3 stopped (SIGSTOP, pid $STOPPED_PID)"
  cat >"$SUITE_WORK/failover.json" <<JSON
{"version":1,"partitions":[{"topic":"$TOPIC","partition":2,"replicas":[4,3],"log_dirs":["any","any"]}]}
JSON
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" \
    --reassignment-json-file "$SUITE_WORK/failover.json" --execute 2>&1)
  kafka_expect "3.9 --execute to the stopped broker" "$out" \
    "Successfully started partition reassignment for $TOPIC-2" || return 1
  kafka_stop "$PREFIX-b1"
  FIRST=127.0.0.1:$(cat "$(kafka_server_dir "$PREFIX-b2")/port")
  for i in $(seq 1 60); do
    ctl=$(kafka_probe "$FIRST" 2>/dev/null | sed -n 's/.*controller=\([0-9-]*\).*/\1/p')
    [ -n "$ctl" ] && [ "$ctl" != 1 ] && [ "$ctl" != -1 ] && break
    sleep 0.5
  done
  [ -n "$ctl" ] && [ "$ctl" != 1 ] && [ "$ctl" != -1 ] \
    || { kafka_fail "no new controller 30s after broker 1 stopped (controller=$ctl)"; return 1; }
  log "broker 1 stopped; broker $ctl is the controller"
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" --list 2>&1)
  kafka_expect "3.9 --list on the new controller" "$out" \
    "$TOPIC-2: replicas: 4,3,1\\. adding: 3\\. removing: 1\\." || return 1
  kill -CONT "$STOPPED_PID"
  STOPPED_PID=""
  log "broker 3 resumed"
  wait_settled 120 0=4,2 1=3,4 2=4,3 \
    || { kafka_fail "the reassignment did not complete under the new controller: $(tr '\n' ';' <<<"$LINES")"; return 1; }
  all_records || return 1
  same_log 2 3 || return 1
  out=$(kafka_tool 3.9 kafka-reassign-partitions --bootstrap-server "$FIRST" --list 2>&1)
  kafka_expect "3.9 --list once done" "$out" "No partition reassignments found" || return 1
  KAFKA_DETAIL="t-2 [1,4]->[4,3] started under controller 1 with broker 3 stopped, resumed by controller $ctl and completed once broker 3 came back; records and broker 3's log checked"
}

# mixed: the first three parts again on a cluster whose controller (broker 1) is of
# the target and whose other brokers are Apache 3.9.1: with --target keel, a keel
# controller moves replicas between Apache brokers (LeaderAndIsr with
# AddingReplicas/RemovingReplicas, StopReplica(delete) to the replicas that leave).
mixed() {
  kafka_stop_all
  zk_stop_all
  PREFIX=mx
  TARGETS=("$TARGET" apache apache apache)
  setup || return 1
  zookeeper_tool || return 1
  admin_api || return 1
  cancel || return 1
  KAFKA_DETAIL="controller $TARGET, brokers 2-4 apache: 2.2.1 --zookeeper, 3.9 --bootstrap-server and --cancel reassignments as above"
}

SETUP_OK=no
kafka_client setup-cluster setup && SETUP_OK=yes
only_after_setup() { [ "$SETUP_OK" = yes ] || { kafka_fail "the cluster was not set up"; return 1; }; "$@"; }
kafka_client zookeeper-tool-2.2 only_after_setup zookeeper_tool
kafka_client admin-api-3.9 only_after_setup admin_api
kafka_client cancel-3.9 only_after_setup cancel
kafka_client controller-failover only_after_setup failover
kafka_client mixed-apache-brokers mixed
exit $KAFKA_SUITE_RC
