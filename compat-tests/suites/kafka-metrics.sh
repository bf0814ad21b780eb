# needs: none
# clients: apache-3.9-jmx-exporter cluster
# timeout: 420
#
# kafka-metrics: a broker's Prometheus endpoint compared with Apache Kafka 3.9.x's JMX
# beans as the Prometheus JMX exporter java agent serves them (Maven set jmx-exporter,
# JMX_EXPORTER_VERSION; its rules in kafka-metrics/jmx-exporter-kafka.yml name the beans
# as the exporter's well-known Kafka example does). The reference is an Apache 3.9 broker
# (ZooKeeper mode, on an Apache ZooKeeper) with the agent; the target is a keel broker
# started with `--override keel.metrics.port=<free port>` (keel.metrics.host=127.0.0.1),
# or, against the apache target, Apache with the agent again (the suite proving itself),
# on a ZooKeeper of kafka_zk_target's kind. python/kafka_metrics_check.py runs the same
# kafka-python workload on both (topic metrics-t, 3 partitions; 500 records produced
# with acks=all and consumed by a committing group; ApiVersions and Metadata) and then
# checks: every series of its EXPECTED list (what keel promises) is in Apache's output
# (else the list is wrong) and in the target's, with Apache's TYPE; the workload moved
# both alike (messagesin on the topic = 500, log end offsets summing to 500, one active
# controller, ...); on keel, /ready is 200 and other paths 404. The detail says how many
# of Apache's kafka_* names the target has; both scrapes and their name lists are left
# in the suite's work dir.
#
# cluster: the follower side and replication. Two brokers of the target (broker.id 1 and
# 2; on apache both Apache under the agent, each on its own port; on keel both keel with
# keel.metrics.port) on one ZooKeeper of kafka_zk_target's kind. The same kafka-python
# script (--broker twice): topic metrics-r, replicas [1,2] and [2,1] (each broker leads
# one partition and follows the other), 500 records acks=all, read back by an assigned
# consumer (no group), ISR of both waited for; then, on each broker, until all hold (30s):
# FetcherLagMetrics ConsumerLag{clientId=ReplicaFetcherThread-0-<leader>} of the followed
# partition is 0 (and none of the led one), ReplicaFetcherManager MaxLag, DeadThreadCount,
# FailedPartitionsCount{clientId=Replica} 0, replication bytes in and out > 0 and at
# least the followed / led partition's log size, both replicas' log end offsets 250,
# FetchFollower requests and total times > 0, and under request=Fetch too (Apache counts
# a fetch under its fetcher kind and under the API's name), Partition
# InSyncReplicasCount and ReplicasCount 2 on the leader and 0 on the follower,
# UnderReplicated 0, LeaderCount and PartitionCount as Metadata says, one active
# controller (the Metadata one) with ActiveBrokerCount and GlobalPartitionCount 2, both 0
# on the other broker, messagesin{metrics-r} and messagesin 250 (the led partition's
# only: a follower's appends are not messages in), bytesout{metrics-r} at least the led
# partition's log size and less than twice it (follower fetches are not in it). The
# checks are absolute, so the apache target is what proves them. Scrapes in the work dir.

set -u
cleanup() {
  kafka_stop_all
  zk_stop_all
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

KM_RULES="$COMPAT_DIR/kafka-metrics/jmx-exporter-kafka.yml"

# km_agent_opts PORT: the JVM options of an Apache broker whose JMX exporter serves PORT.
km_agent_opts() {
  printf '%s -javaagent:%s=127.0.0.1:%s:%s' "$KAFKA_SERVER_JAVA_OPTS" "$KM_AGENT" "$1" "$KM_RULES"
}

# km_prepare: the keel binary (keel target) and the agent jar (KM_AGENT) are there.
km_prepare() {
  if [ "$TARGET" = keel ] && [ ! -x "$KEEL_BIN" ]; then
    kafka_fail "no keel binary at $KEEL_BIN (cargo build --release, or set KEEL_BIN)"
    return 1
  fi
  KM_AGENT=$(maven_classpath jmx-exporter) || { kafka_fail "could not fetch the JMX exporter agent $JMX_EXPORTER_VERSION"; return 1; }
  KM_AGENT=${KM_AGENT%%:*}
  [ -f "$KM_AGENT" ] || { kafka_fail "the JMX exporter agent is not at $KM_AGENT"; return 1; }
}

km_compare() {
  local ports zk_ref zk_tgt ref_boot ref_port tgt_port out
  km_prepare || return 1
  mapfile -t ports < <(zk__ports 2)
  ref_port=${ports[0]} tgt_port=${ports[1]}

  zk_start apache standalone km-zk-ref || { kafka_fail "the Apache ZooKeeper of the reference did not start"; return 1; }
  zk_ref=$ZK_CONNECT zk_tgt=$ZK_CONNECT
  if [ "$(kafka_zk_target)" != apache ]; then
    zk_start "$(kafka_zk_target)" standalone km-zk-target || { kafka_fail "the $(kafka_zk_target) ZooKeeper did not start"; return 1; }
    zk_tgt=$ZK_CONNECT
  fi

  KAFKA_SERVER_JAVA_OPTS=$(km_agent_opts "$ref_port") kafka_start apache zk km-reference "$zk_ref/reference" \
    || { kafka_fail "the Apache $KAFKA_ZK_VERSION reference broker (JMX exporter $JMX_EXPORTER_VERSION) did not start"; return 1; }
  ref_boot=$KAFKA_BOOTSTRAP
  if [ "$TARGET" = keel ]; then
    KAFKA_KEEL_OVERRIDES="keel.metrics.port=$tgt_port keel.metrics.host=127.0.0.1" \
      kafka_start keel zk km-target "$zk_tgt/target" \
      || { kafka_fail "the keel broker ($KEEL_BIN) did not start: see $(kafka_server_dir km-target)/stdout.log"; return 1; }
  else
    KAFKA_SERVER_JAVA_OPTS=$(km_agent_opts "$tgt_port") kafka_start apache zk km-target "$zk_tgt/target" \
      || { kafka_fail "the Apache target broker did not start"; return 1; }
  fi

  if ! out=$(timeout_run 200 "$PY_VENV/bin/python" "$COMPAT_DIR/python/kafka_metrics_check.py" \
      --target "$TARGET" --ref "$ref_boot" "$ref_port" --tgt "$KAFKA_BOOTSTRAP" "$tgt_port" \
      --dump "$SUITE_WORK" 2>&1); then
    printf '%s\n' "$out" >&2
    # a keel without the endpoint says so when it starts: add that to the detail
    if [ "$TARGET" = keel ] && grep -q 'not known to keel.*key=keel\.metrics\.port' "$(kafka_server_dir km-target)/stdout.log" 2>/dev/null; then
      out="$out (keel logged at start: keel.metrics.port is not known to it)"
    fi
    kafka_fail "$(tr '\n' ';' <<<"$out")"
    return 1
  fi
  KAFKA_DETAIL="JMX exporter $JMX_EXPORTER_VERSION on Apache $KAFKA_ZK_VERSION: $out"
  kafka_stop_all
  zk_stop_all
}

km_cluster() {
  local ports zk i args=() out
  # whatever the first part left running (it stops its servers when it passes)
  kafka_stop_all
  zk_stop_all
  km_prepare || return 1
  mapfile -t ports < <(zk__ports 2)
  zk_start "$(kafka_zk_target)" standalone km-cluster-zk || { kafka_fail "the $(kafka_zk_target) ZooKeeper did not start"; return 1; }
  zk=$ZK_CONNECT
  for i in 1 2; do
    if [ "$TARGET" = keel ]; then
      KAFKA_BROKER_ID=$i KAFKA_KEEL_OVERRIDES="keel.metrics.port=${ports[$((i - 1))]} keel.metrics.host=127.0.0.1" \
        kafka_start keel zk "km-cluster-b$i" "$zk/cluster" \
        || { kafka_fail "keel broker $i ($KEEL_BIN) did not start: see $(kafka_server_dir "km-cluster-b$i")/stdout.log"; return 1; }
    else
      KAFKA_BROKER_ID=$i KAFKA_SERVER_JAVA_OPTS=$(km_agent_opts "${ports[$((i - 1))]}") \
        kafka_start apache zk "km-cluster-b$i" "$zk/cluster" \
        || { kafka_fail "Apache broker $i (JMX exporter $JMX_EXPORTER_VERSION) did not start"; return 1; }
    fi
    args+=(--broker "$i" "$KAFKA_BOOTSTRAP" "${ports[$((i - 1))]}")
  done
  if ! out=$(timeout_run 150 "$PY_VENV/bin/python" "$COMPAT_DIR/python/kafka_metrics_check.py" \
      --target "$TARGET" "${args[@]}" --dump "$SUITE_WORK" 2>&1); then
    printf '%s\n' "$out" >&2
    kafka_fail "$(tr '\n' ';' <<<"$out")"
    return 1
  fi
  KAFKA_DETAIL="brokers 1 and 2 ($TARGET): $out"
  kafka_stop_all
  zk_stop_all
}

python_env || { report apache-3.9-jmx-exporter fail "python venv"; report cluster fail "python venv"; exit 1; }
kafka_client apache-3.9-jmx-exporter km_compare
kafka_client cluster km_cluster
exit "$KAFKA_SUITE_RC"
