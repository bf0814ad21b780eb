# compat-tests/lib/kafka-security.sh: helpers for the suites about Kafka's security
# features (sourced by the suites that use it, after lib/kafka.sh; the runner does not
# source it).
#
#   kafka_acls <3.9|2.2> [args...]
#       The real kafka-acls tool of that Kafka version (bin/kafka-acls.sh's main class,
#       kafka.admin.AclCommand, in both), run as kafka_tool runs the others: same JVM
#       options, heap, logging at WARN on stderr, time limit, and Java 11 for 2.2. With
#       `--bootstrap-server` it talks to a broker (Admin client: CreateAcls, DescribeAcls,
#       DeleteAcls); with `--authorizer-properties zookeeper.connect=..` it loads the
#       authorizer (3.9: kafka.security.authorizer.AclAuthorizer; 2.2:
#       kafka.security.auth.SimpleAclAuthorizer) in the tool and writes ZooKeeper itself.
#   kafka_sasl_client_config FILE MECHANISM USER PASSWORD
#       a Java client's properties for SASL_PLAINTEXT (security.protocol, sasl.mechanism,
#       sasl.jaas.config with the PLAIN or SCRAM login module), for --command-config,
#       --producer.config, --consumer.config
#   kafka_zk_ensure ZK PATH...   creates the znodes (kazoo; empty data) when missing: the
#                                chroots the 3.9 --zookeeper tools cannot create themselves

kafka_acls() {
  local ver=$1 set cp java
  shift
  case "$ver" in
    3.9 | 2.2) ;;
    *) log "kafka_acls: no kafka-acls for Kafka '$ver' (3.9 or 2.2)"; return 2 ;;
  esac
  set=$(kafka__set "$ver") || return 2
  cp=$(maven_classpath "$set") || return 1
  java=$(kafka__java "$ver") || return 1
  # shellcheck disable=SC2046,SC2086
  timeout --kill-after=10 "$KAFKA_TOOL_TIMEOUT_S" \
    "$java" -Xmx256M $KAFKA_TOOL_JAVA_OPTS $(kafka__log_opts "$ver" tool) \
    -cp "$cp" ${KAFKA_OPTS:-} kafka.admin.AclCommand "$@"
}

kafka_sasl_client_config() {
  local module=org.apache.kafka.common.security.scram.ScramLoginModule
  [ "$2" = PLAIN ] && module=org.apache.kafka.common.security.plain.PlainLoginModule
  printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=$2" \
    "sasl.jaas.config=$module required username=\"$3\" password=\"$4\";" >"$1"
}

kafka_zk_ensure() {
  local zk=$1
  shift
  py_run - "$zk" "$@" <<'PY'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=15)
zk.start(timeout=15)
for path in sys.argv[2:]:
    zk.ensure_path(path)
zk.stop()
PY
}
