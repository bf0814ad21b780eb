# needs: none
# clients: acls-3.9-bootstrap kafka-python-alice confluent-kafka-alice console-3.9-alice console-2.2-alice filebeat-acl acls-2.2-zookeeper raw-acl-apis cluster-propagation negative
# timeout: 420
#
# kafka-acl: Kafka ACLs as Apache Kafka 3.9.x (ZooKeeper mode, AclAuthorizer) enforces and
# stores them. One ZooKeeper of kafka_zk_target's kind, chroot /acl (made with kazoo, then
# the SCRAM-SHA-512 credential of user filebeat with 3.9 `kafka-configs --zookeeper`
# before any broker starts). Every broker gets the same properties on both targets
# (apache: Apache $KAFKA_ZK_VERSION; keel: keel):
#   listeners PLAINTEXT://127.0.0.1:<p1> (readiness probe, inter-broker traffic, the
#   suite's own topic creation) and SASL_PLAINTEXT://127.0.0.1:<p2>;
#   sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512; listener.name.sasl_plaintext.plain.
#   sasl.jaas.config = PlainLoginModule with user_admin, user_alice, user_bob,
#   user_filebeat (password "<user>-secret"); listener.name.sasl_plaintext.scram-sha-512.
#   sasl.jaas.config = ScramLoginModule; inter.broker.listener.name=PLAINTEXT;
#   authorizer.class.name=kafka.security.authorizer.AclAuthorizer;
#   super.users=User:admin;User:ANONYMOUS (ANONYMOUS: the PLAINTEXT listener, so
#   inter-broker requests and the harness's probe stay authorized);
#   allow.everyone.if.no.acl.found=false.
# Names carry the run's suffix R (HHMMSS-random). Topics made up front over PLAINTEXT
# (one partition each): acl-w-R, acl-none-R (no ACL ever), acl-logs-R-a and
# acl-logs-R-secret (5 records each, written as admin), acl-app-R-{ck,c39,c22},
# acl-fb-R, acl-zk-R (5 records), acl-after-R, acl-after-R-plain. Clients log in with
# SASL PLAIN unless said otherwise. The clients after acls-3.9-bootstrap need its ACLs
# (KAFKA_CLIENTS_ONLY must keep it).
#
#   acls-3.9-bootstrap: 3.9 `kafka-acls --bootstrap-server <SASL> --command-config
#     <admin PLAIN>` --add, six times:
#       alice Write+Describe on topic acl-w-R (--operation twice);
#       --consumer --topic acl-w-R --group acl-g-R for alice (topic Read+Describe,
#         group Read);
#       alice Read+Describe on topics prefixed acl-logs-R- (--resource-pattern-type
#         prefixed);
#       a DENY of Read for alice on topic acl-logs-R-secret (literal);
#       --producer --consumer --topic acl-app-R- --group acl-g-R- prefixed for alice
#         (topic Write, Describe, Create, Read; group Read);
#       --producer --topic acl-fb-R for filebeat (Write, Describe, Create).
#     Each exits 0 printing "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC,
#     name=acl-w-R, patternType=LITERAL)`:" (then "\t(principal=User:alice, host=*,
#     operation=WRITE, permissionType=ALLOW)" lines) and no error. Then --list (sets of
#     resource + entry lines): --topic acl-w-R = its three entries (READ, WRITE,
#     DESCRIBE); --list --principal User:alice = "ACLs for principal `User:alice`" and
#     alice's six resources with all their entries; --topic acl-logs-R-secret
#     --resource-pattern-type match = the DENY and the acl-logs-R- prefix.
#     ZooKeeper (python/kafka_acl_check.py zk-acls, JSON parsed, ACL lists as sets),
#     what Apache 3.9.1 writes:
#       /kafka-acl/Topic/acl-w-R = {"version":1,"acls":[{"principal":"User:alice",
#         "permissionType":"Allow","operation":"Write","host":"*"}, ...Describe, ...Read]}
#         (only the keys version and acls; permissionType Allow|Deny and operation in
#         Kafka's camel case: Read, Write, Create, Describe, ...; 3.9 happens to write
#         {"acls":[{"principal":..,"permissionType":..,"host":..,"operation":..}],
#         "version":1}, 2.2.1 {"version":1,"acls":[{.."operation":..,"host":..}]}: the
#         suite compares parsed JSON, never bytes);
#       /kafka-acl/Group/acl-g-R, /kafka-acl/Topic/acl-logs-R-secret ("Deny"),
#       /kafka-acl/Topic/acl-fb-R; prefixed patterns under
#       /kafka-acl-extended/prefixed/<Type>/<name>: Topic/acl-logs-R-, Topic/acl-app-R-,
#       Group/acl-g-R-;
#       the resource type znodes /kafka-acl/{Cluster,DelegationToken,Group,Topic,
#       TransactionalId,User} and the same under /kafka-acl-extended/prefixed, made at the
#       broker's start (null data);
#       change notifications, persistent sequential children acl_changes_<10 digits>:
#       /kafka-acl-changes data "TOPIC:acl-w-R" (the ResourceType enum's name, upper
#       case; one per resource and CreateAcls/DeleteAcls: two for acl-w-R here),
#       "GROUP:acl-g-R"; /kafka-acl-extended-changes data {"version":1,"resourceType":
#       "TOPIC","name":"acl-logs-R-","patternType":"PREFIXED"}.
#   kafka-python-alice (python/kafka_acl_client.py kafka-python, kafka-python
#     $KAFKA_PYTHON_VERSION as alice): 20 records to acl-w-R acknowledged; a produce to
#     acl-none-R (no ACL: Metadata refuses it) and to acl-logs-R-a (Describe, no Write:
#     the Produce response refuses it) raise TopicAuthorizationFailedError; group acl-g-R
#     reads the 20 back and commits; group acl-h-R raises GroupAuthorizationFailedError;
#     acl-logs-R-a read by the prefix; acl-logs-R-secret raises
#     TopicAuthorizationFailedError (the DENY beats the prefix's ALLOW); topics() (all
#     topics) is exactly alice's six (acl-w-R, acl-logs-R-a, acl-logs-R-secret,
#     acl-app-R-{ck,c39,c22}) and empty for bob; describe_acls raises and create_acls fails
#     with ClusterAuthorizationFailedError; CreateTopics v3 (its protocol class) of
#     acl-new-R gets 29 "Authorization failed." while acl-app-R-new in the same request is
#     created (Create by the prefix).
#   confluent-kafka-alice: librdkafka as alice: 20 records to acl-app-R-ck read back in
#     group acl-g-R-ck (prefixed ACLs); a produce to acl-none-R and to acl-logs-R-a gets
#     the delivery error TOPIC_AUTHORIZATION_FAILED ("Broker: Topic authorization failed").
#   console-3.9-alice: the 3.9 console producer (--producer.config alice, enable.idempotence
#     =true set explicitly, acks=all) writes 20 lines to acl-app-R-c39, the 3.9 console
#     consumer reads them in group acl-g-R-c39. The idempotent producer needs
#     InitProducerId: since KIP-679 (Kafka 3.0) Write on any topic suffices (no
#     IdempotentWrite on the cluster): its TransactionManager must log "ProducerId set to
#     N with epoch 0".
#   console-2.2-alice: the seed's 2.2.1 console producer (--broker-list) and consumer
#     (--group acl-g-R-c22), 20 lines on acl-app-R-c22.
#   filebeat-acl: the real Filebeat 8.8.2 (lib/filebeat.sh), SCRAM-SHA-512 as filebeat
#     with only the --producer ACLs on acl-fb-R: 200 tailed lines read back once each, in
#     order, as admin.
#   acls-2.2-zookeeper: the seed's 2.2.1 `kafka-acls --authorizer-properties
#     zookeeper.connect=<ZK>/acl --add` alice Read on acl-zk-R (SimpleAclAuthorizer in the
#     tool writes /kafka-acl/Topic/acl-zk-R and the notification "Topic:acl-zk-R", 2.2's
#     resource type spelling); alice's Fetch (raw) must succeed within 30s and a
#     kafka-python consumer as alice read acl-zk-R; 2.2.1 --list over ZooKeeper prints
#     exactly the 3.9 tool's ACLs and this one ("Current ACLs for resource
#     `Topic:LITERAL:acl-w-R`:" / "\tUser:alice has Allow permission for operations: Write
#     from hosts: *"); --remove --force: the znode is gone and alice's Fetch refused (29)
#     within 30s.
#   raw-acl-apis: python/kafka_acl_check.py raw (its docstrings and comments name each
#     check and Apache's answer): CreateAcls v1/v3 (successes have error_message "", not
#     null; CLUSTER named other than kafka-cluster, an empty name -> 42 with AclApis'
#     messages, a name with '/' -> 42 "Failed to create ACL"; a principal without ':' ->
#     -1 with a null message for every binding of that resource; resource type ANY,
#     pattern type MATCH or ANY, operation or permission ANY -> -1, null message, for every
#     binding of the request; a resource type UNKNOWN (0) -> the connection closed
#     unanswered); DescribeAcls v1/v3 filter semantics (LITERAL, PREFIXED, MATCH = the
#     literal name + every prefix of it, ANY = that name in any pattern type, principal,
#     host, operation and permission filters); DeleteAcls v1/v3 matching-ACL lists (error 0
#     and a null message per ACL; a filter matching nothing: an empty list); as alice every
#     ACL API gets 31 with ClusterAuthorizationException's message, "Request Request(
#     processor=N, connectionId=.., session=org.apache.kafka.network.Session@<hash>, ..)
#     is not authorized."; Metadata v8's cluster_authorized_operations and
#     topic_authorized_operations bit fields (admin 0x1fa0 / 0xdf8; alice 0, acl-w-R 0x118,
#     acl-logs-R-secret 0x100, a topic alice may not Describe: error 29, no partitions, the
#     field left at INT32_MIN; a missing topic under alice's prefix: 3, or 29 when
#     auto-creation is asked for without Create); InitProducerId (no transactional id):
#     alice gets a producer id (after COORDINATOR_LOAD_IN_PROGRESS retries), bob (no Write
#     anywhere) 31; FindCoordinator: message "NONE" on success, 30 "Group authorization
#     failed."; DescribeAcls v0 (pattern type ANY read as LITERAL: no prefixed ACLs);
#     enforcement by host (an ALLOW from 10.1.2.3 only does not let bob in, one from
#     127.0.0.1 does), a DENY for User:* beating them, and an ALLOW for User:* on the
#     literal topic "*" showing bob every topic (__consumer_offsets too) until deleted;
#     the znodes of emptied resources deleted and one notification per resource and
#     request.
#   cluster-propagation: broker 2 (broker.id 2, same chroot) starts: it enforces the ACLs
#     already in ZooKeeper (alice may Describe acl-w-R); acl-c-R is created on it alone
#     (--replica-assignment 2); CreateAcls v3 through broker 1 (alice Write+Describe on
#     acl-c-R): broker 2 lets alice Describe it within 30s and acknowledges her produce;
#     DeleteAcls v3 through broker 2: broker 1 refuses alice's Describe (29) within 30s.
#   negative: after all those refusals the super users are still served (kafka-python
#     over SASL as admin, and over PLAINTEXT as ANONYMOUS, write and read acl-after-R and
#     acl-after-R-plain),
#     and the broker logged the denials: Apache's kafka.authorizer.logger at INFO,
#     "Principal = User:alice is Denied Operation = Write from host = 127.0.0.1 on
#     resource = Topic:LITERAL:acl-logs-R-a for request = Produce with resourceRefCount =
#     1" and the like (asserted only for TARGET=apache; for keel the lines found are
#     reported).

# shellcheck source=../lib/filebeat.sh
. "$COMPAT_DIR/lib/filebeat.sh"          # FILEBEAT_DIST, filebeat_binary
# shellcheck source=../lib/kafka-security.sh
. "$COMPAT_DIR/lib/kafka-security.sh"    # kafka_acls, kafka_sasl_client_config, kafka_zk_ensure

set -u
KA_PIDS=()
ka_cleanup() {
  local pid
  for pid in "${KA_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  KA_PIDS=()
  kafka_stop_all
  zk_stop_all
}
trap ka_cleanup EXIT
trap 'exit 143' TERM INT HUP

KA_RUN=$(kafka_unique r)
KA_RUN=${KA_RUN#r-}
KA_RECORDS=20
KA_CHECK="$COMPAT_DIR/python/kafka_acl_check.py"
KA_CLIENT="$COMPAT_DIR/python/kafka_acl_client.py"
KA_SASL_PY="$COMPAT_DIR/python/kafka_sasl_client.py"
KA_ZK=""          # ZooKeeper host:port; the brokers use $KA_ZK/acl
KA_PLAIN=""       # broker 1's PLAINTEXT listener
KA_SASL=""        # broker 1's SASL_PLAINTEXT listener
KA_ADMIN_CFG="$SUITE_WORK/admin.properties"
KA_ALICE_CFG="$SUITE_WORK/alice.properties"
T_W=acl-w-$KA_RUN
T_NONE=acl-none-$KA_RUN
T_A=acl-logs-$KA_RUN-a
T_SEC=acl-logs-$KA_RUN-secret
T_FB=acl-fb-$KA_RUN
T_ZK=acl-zk-$KA_RUN
T_C=acl-c-$KA_RUN
T_AFTER=acl-after-$KA_RUN
G=acl-g-$KA_RUN

ka_py() { timeout_run 150 "$PY_VENV/bin/python" "$@"; }

# ka_broker NAME ID: a broker of the target with this suite's properties; sets KA_PLAIN and
# KA_SASL to its listeners.
ka_broker() {
  local name=$1 id=$2 sport props
  sport=$(free_port)
  props=$(printf '%s\n' \
    "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512" \
    "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\" user_bob=\"bob-secret\" user_filebeat=\"filebeat-secret\";" \
    "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;" \
    "inter.broker.listener.name=PLAINTEXT" \
    "authorizer.class.name=kafka.security.authorizer.AclAuthorizer" \
    "super.users=User:admin;User:ANONYMOUS" \
    "allow.everyone.if.no.acl.found=false")
  KAFKA_BROKER_ID=$id KAFKA_EXTRA_PROPS=$props KAFKA_EXTRA_LISTENERS="SASL_PLAINTEXT://127.0.0.1:$sport" \
    kafka_start "$TARGET" zk "$name" "$KA_ZK/acl" || return 1
  KA_PLAIN=$KAFKA_BOOTSTRAP
  KA_SASL="127.0.0.1:$sport"
  wait_port "$sport" 10 || { log "broker $name does not listen on its SASL port $sport"; return 1; }
}

# ka_acl_lines: a kafka-acls --list output (3.9 or 2.2) as sorted "RESOURCE<TAB>ENTRY"
# lines, a "principal ..." line per "ACLs for principal" heading.
ka_acl_lines() {
  awk '
    /^ACLs for principal / { sub(/[ \t]+$/, ""); print "principal\t" $0; next }
    /^Current ACLs for resource `/ { match($0, /`[^`]*`/); r = substr($0, RSTART + 1, RLENGTH - 2); next }
    /^[ \t]*(\(principal=|User:)/ { e = $0; gsub(/^[ \t]+|[ \t]+$/, "", e); print r "\t" e }
  ' | LC_ALL=C sort
}

# ka_expect_acls DESC OUTPUT EXPECTED: OUTPUT (a --list) holds exactly the EXPECTED lines
# (RESOURCE<TAB>ENTRY, any order)
ka_expect_acls() {
  local desc=$1 got want
  got=$(ka_acl_lines <<<"$2")
  want=$(LC_ALL=C sort <<<"$3")
  [ "$got" = "$want" ] && return 0
  printf '%s\n' "---- $desc: expected" "$want" "---- got" "$got" "---- output" "$2" "----" >&2
  kafka_fail "$desc: not the expected ACLs ($(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep -c '^[<>]') lines differ)"
}

# ka_entry39 TYPE NAME PATTERN PRINCIPAL PERMISSION OPERATION: a 3.9 --list line
ka_entry39() {
  printf 'ResourcePattern(resourceType=%s, name=%s, patternType=%s)\t(principal=%s, host=*, operation=%s, permissionType=%s)\n' \
    "$1" "$2" "$3" "$4" "$6" "$5"
}

# alice's ACLs of acls-3.9-bootstrap, as 3.9 --list lines
ka_alice39() {
  local op
  for op in READ WRITE DESCRIBE; do ka_entry39 TOPIC "$T_W" LITERAL User:alice ALLOW "$op"; done
  ka_entry39 GROUP "$G" LITERAL User:alice ALLOW READ
  for op in READ DESCRIBE; do ka_entry39 TOPIC "acl-logs-$KA_RUN-" PREFIXED User:alice ALLOW "$op"; done
  ka_entry39 TOPIC "$T_SEC" LITERAL User:alice DENY READ
  for op in READ WRITE DESCRIBE CREATE; do ka_entry39 TOPIC "acl-app-$KA_RUN-" PREFIXED User:alice ALLOW "$op"; done
  ka_entry39 GROUP "acl-g-$KA_RUN-" PREFIXED User:alice ALLOW READ
}

# --- acls-3.9-bootstrap ---------------------------------------------------------------

ka_acls39() {
  local out i args want
  local adds=(
    "--allow-principal User:alice --operation Write --operation Describe --topic $T_W"
    "--allow-principal User:alice --consumer --topic $T_W --group $G"
    "--allow-principal User:alice --operation Read --operation Describe --topic acl-logs-$KA_RUN- --resource-pattern-type prefixed"
    "--deny-principal User:alice --operation Read --topic $T_SEC"
    "--allow-principal User:alice --producer --consumer --topic acl-app-$KA_RUN- --group acl-g-$KA_RUN- --resource-pattern-type prefixed"
    "--allow-principal User:filebeat --producer --topic $T_FB"
  )
  for i in "${!adds[@]}"; do
    # shellcheck disable=SC2206
    args=(${adds[$i]})
    out=$(kafka_acls 3.9 --bootstrap-server "$KA_SASL" --command-config "$KA_ADMIN_CFG" --add "${args[@]}" 2>&1) \
      || { printf '%s\n' "$out" >&2; kafka_fail "3.9 kafka-acls --add ${adds[$i]}: exit status non-zero"; return 1; }
    kafka_expect "3.9 kafka-acls --add ${adds[$i]}" "$out" '^Adding ACLs for resource `ResourcePattern\(resourceType=(TOPIC|GROUP), name=acl-' || return 1
    if grep -q 'Error' <<<"$out"; then printf '%s\n' "$out" >&2; kafka_fail "3.9 kafka-acls --add ${adds[$i]}: an error"; return 1; fi
  done

  out=$(kafka_acls 3.9 --bootstrap-server "$KA_SASL" --command-config "$KA_ADMIN_CFG" --list --topic "$T_W" 2>&1)
  want=$(for op in READ WRITE DESCRIBE; do ka_entry39 TOPIC "$T_W" LITERAL User:alice ALLOW "$op"; done)
  ka_expect_acls "3.9 kafka-acls --list --topic $T_W" "$out" "$want" || return 1

  out=$(kafka_acls 3.9 --bootstrap-server "$KA_SASL" --command-config "$KA_ADMIN_CFG" --list --principal User:alice 2>&1)
  want=$(printf 'principal\tACLs for principal `User:alice`\n'; ka_alice39)
  ka_expect_acls "3.9 kafka-acls --list --principal User:alice" "$out" "$want" || return 1

  out=$(kafka_acls 3.9 --bootstrap-server "$KA_SASL" --command-config "$KA_ADMIN_CFG" --list --topic "$T_SEC" \
    --resource-pattern-type match 2>&1)
  want=$(ka_entry39 TOPIC "$T_SEC" LITERAL User:alice DENY READ
         for op in READ DESCRIBE; do ka_entry39 TOPIC "acl-logs-$KA_RUN-" PREFIXED User:alice ALLOW "$op"; done)
  ka_expect_acls "3.9 kafka-acls --list --topic $T_SEC --resource-pattern-type match" "$out" "$want" || return 1

  out=$(ka_py "$KA_CHECK" zk-acls "$KA_ZK/acl" "$KA_RUN" 2>"$SUITE_WORK/zk-acls.txt") \
    || { cat "$SUITE_WORK/zk-acls.txt" >&2; kafka_fail "$out"; return 1; }
  cat "$SUITE_WORK/zk-acls.txt" >&2
  KAFKA_DETAIL="6 --add (literal, prefixed, deny, --producer/--consumer) through the broker; --list by topic, by principal, with pattern type match as expected; $out"
}

# --- clients as alice ------------------------------------------------------------------

ka_pyclient() {
  local out
  out=$(ka_py "$KA_CLIENT" "$1" "$KA_SASL" "$KA_RUN" "$KA_RECORDS" 2>"$SUITE_WORK/$1.err") \
    || { tail -n 30 "$SUITE_WORK/$1.err" >&2; kafka_fail "$(grep -m1 'kafka_acl_client:' "$SUITE_WORK/$1.err" || tail -n 1 "$SUITE_WORK/$1.err")"; return 1; }
  KAFKA_DETAIL=$out
}

# ka_console VER: the console producer and consumer of Kafka VER as alice, on
# acl-app-R-cVER in group acl-g-R-cVER.
ka_console() {
  local ver=$1 v=${1//./} topic group expected out flag=--bootstrap-server extra=() log4j pid_line
  topic=acl-app-$KA_RUN-c$v
  group=acl-g-$KA_RUN-c$v
  expected=$(seq 1 "$KA_RECORDS" | sed "s/.*/console $ver alice line &/")
  log4j="$SUITE_WORK/console-$v-log4j.properties"
  printf '%s\n' "log4j.rootLogger=WARN, stderr" \
    "log4j.appender.stderr=org.apache.log4j.ConsoleAppender" \
    "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout" \
    "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n" \
    "log4j.appender.stderr.Target=System.err" \
    "log4j.logger.org.apache.kafka.clients.producer.internals.TransactionManager=INFO" >"$log4j"
  if [ "$ver" = 2.2 ]; then
    flag=--broker-list
  else
    extra=(--producer-property enable.idempotence=true --producer-property acks=all)
  fi
  out=$(printf '%s\n' "$expected" | KAFKA_OPTS="-Dlog4j.configuration=file:$log4j" kafka_tool "$ver" kafka-console-producer \
    "$flag" "$KA_SASL" --topic "$topic" --producer.config "$KA_ALICE_CFG" "${extra[@]}" 2>&1) \
    || { printf '%s\n' "$out" | tail -n 20 >&2; kafka_fail "$ver console producer as alice exited non-zero"; return 1; }
  printf '%s\n' "$out" >"$SUITE_WORK/console-$v-producer.log"
  if grep -Eq 'ERROR|AuthorizationException' <<<"$out"; then
    printf '%s\n' "$out" | grep -E 'ERROR|Exception' | head -5 >&2
    kafka_fail "$ver console producer as alice logged an error: $(grep -m1 -E 'ERROR|AuthorizationException' <<<"$out" | cut -c1-300)"
    return 1
  fi
  pid_line=""
  if [ "$ver" != 2.2 ]; then
    pid_line=$(grep -o 'ProducerId set to [0-9]* with epoch [0-9]*' <<<"$out" | head -1)
    if [ -z "$pid_line" ]; then
      printf '%s\n' "$out" | tail -n 20 >&2
      kafka_fail "the idempotent 3.9 console producer never got a producer id (no \"ProducerId set to N with epoch 0\")"
      return 1
    fi
  fi
  out=$(kafka_tool "$ver" kafka-console-consumer --bootstrap-server "$KA_SASL" --topic "$topic" \
    --consumer.config "$KA_ALICE_CFG" --group "$group" --from-beginning --max-messages "$KA_RECORDS" \
    --timeout-ms 30000 2>"$SUITE_WORK/console-$v-consumer.err")
  if [ "$out" != "$expected" ]; then
    printf '%s\n' "---- got $(grep -c . <<<"$out") lines; first differences:" >&2
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$out") | head -5 >&2
    tail -n 20 "$SUITE_WORK/console-$v-consumer.err" >&2
    kafka_fail "$ver console consumer as alice (group $group) did not read the $KA_RECORDS lines back in order"
    return 1
  fi
  KAFKA_DETAIL="Kafka $ver console producer ($flag${extra:+, enable.idempotence=true acks=all}) + consumer --group $group as alice: $KA_RECORDS lines in order (prefixed ACLs)${pid_line:+; idempotent with Write on topics only: \"$pid_line\"}"
}

ka_filebeat() {
  local bin dir pid i lines=200 expected out messages
  bin=$(filebeat_binary) || { kafka_fail "no Filebeat binary at $FILEBEAT_DIST"; return 1; }
  dir="$SUITE_WORK/filebeat"
  mkdir -p "$dir/data" "$dir/logs"
  : >"$dir/input.log"
  cat >"$dir/filebeat.yml" <<YAML
filebeat.inputs:
  - type: filestream
    id: compat-acl
    paths: [$dir/input.log]
    prospector.scanner.check_interval: 1s
output.kafka:
  hosts: ["$KA_SASL"]
  topic: "$T_FB"
  username: "filebeat"
  password: "filebeat-secret"
  sasl.mechanism: SCRAM-SHA-512
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
  KA_PIDS+=("$pid")
  for i in $(seq 1 "$lines"); do
    printf 'acl app line %d\n' "$i" >>"$dir/input.log"
    [ $((i % 100)) = 0 ] && sleep 1
  done
  expected=$(seq 1 "$lines" | sed 's/.*/acl app line &/')
  out=$(ka_py "$KA_SASL_PY" consume confluent-kafka "$KA_SASL" "$T_FB" PLAIN admin admin-secret "$lines" 2>"$dir/consume.err")
  messages=$(printf '%s\n' "$out" | python3 -c 'import json,sys
for line in sys.stdin:
    line=line.strip()
    if line: print(json.loads(line)["message"])' 2>/dev/null)
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ "$messages" != "$expected" ]; then
    printf '%s\n' "---- filebeat: got $(grep -c . <<<"$messages") lines; first differences:" >&2
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$messages") | head -10 >&2
    tail -n 20 "$dir"/logs/filebeat* "$dir/consume.err" >&2 2>/dev/null
    kafka_fail "Filebeat (SCRAM-SHA-512 as filebeat, --producer ACLs only) did not deliver the $lines lines once each in order"
    return 1
  fi
  KAFKA_DETAIL="Filebeat 8.8.2, output.kafka SCRAM-SHA-512 as filebeat (ACLs: --producer --topic $T_FB only): $lines lines tailed, read back once each in order (as admin)"
}

# --- acls-2.2-zookeeper ------------------------------------------------------------------

ka_acls22() {
  local zkc="zookeeper.connect=$KA_ZK/acl" out want t0 grant_s revoke_s node
  t0=$(date +%s)
  out=$(kafka_acls 2.2 --authorizer-properties "$zkc" --add --allow-principal User:alice --operation Read --topic "$T_ZK" 2>&1) \
    || { printf '%s\n' "$out" >&2; kafka_fail "2.2.1 kafka-acls --add over ZooKeeper: exit status non-zero"; return 1; }
  kafka_expect "2.2.1 kafka-acls --add" "$out" "^Adding ACLs for resource \`Topic:LITERAL:$T_ZK\`:" || return 1
  kafka_expect "2.2.1 kafka-acls --add" "$out" "User:alice has Allow permission for operations: Read from hosts: \*" || return 1
  # what the 2.2.1 tool wrote: its own spelling of the change notification
  out=$(ka_py "$KA_CHECK" zk-dump "$KA_ZK/acl" /kafka-acl-changes 2>&1)
  kafka_expect "/kafka-acl-changes after the 2.2.1 tool" "$out" "^/kafka-acl-changes/acl_changes_[0-9]{10} Topic:$T_ZK\$" || return 1
  out=$(ka_py "$KA_CHECK" zk-dump "$KA_ZK/acl" "/kafka-acl/Topic/$T_ZK" 2>&1)
  node=$(head -n 1 <<<"$out")
  kafka_expect "/kafka-acl/Topic/$T_ZK" "$node" '"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"\*"' || return 1

  out=$(ka_py "$KA_CHECK" wait-fetch "$KA_SASL" alice "$T_ZK" allowed 30 2>&1) \
    || { kafka_fail "the broker did not apply the ACL the 2.2.1 tool wrote to ZooKeeper: $out"; return 1; }
  grant_s=$(($(date +%s) - t0))
  out=$(ka_py "$KA_CLIENT" wait-consume "$KA_SASL" alice "$T_ZK" 30 2>&1) \
    || { printf '%s\n' "$out" | tail -n 10 >&2; kafka_fail "$(tail -n 1 <<<"$out")"; return 1; }

  out=$(kafka_acls 2.2 --authorizer-properties "$zkc" --list 2>"$SUITE_WORK/acls-2.2-list.err")
  want=$(
    for op in Read Write Describe; do printf 'Topic:LITERAL:%s\tUser:alice has Allow permission for operations: %s from hosts: *\n' "$T_W" "$op"; done
    printf 'Group:LITERAL:%s\tUser:alice has Allow permission for operations: Read from hosts: *\n' "$G"
    for op in Read Describe; do printf 'Topic:PREFIXED:acl-logs-%s-\tUser:alice has Allow permission for operations: %s from hosts: *\n' "$KA_RUN" "$op"; done
    printf 'Topic:LITERAL:%s\tUser:alice has Deny permission for operations: Read from hosts: *\n' "$T_SEC"
    for op in Read Write Describe Create; do printf 'Topic:PREFIXED:acl-app-%s-\tUser:alice has Allow permission for operations: %s from hosts: *\n' "$KA_RUN" "$op"; done
    printf 'Group:PREFIXED:acl-g-%s-\tUser:alice has Allow permission for operations: Read from hosts: *\n' "$KA_RUN"
    for op in Write Describe Create; do printf 'Topic:LITERAL:%s\tUser:filebeat has Allow permission for operations: %s from hosts: *\n' "$T_FB" "$op"; done
    printf 'Topic:LITERAL:%s\tUser:alice has Allow permission for operations: Read from hosts: *\n' "$T_ZK")
  ka_expect_acls "2.2.1 kafka-acls --list over ZooKeeper" "$out" "$want" || { cat "$SUITE_WORK/acls-2.2-list.err" >&2; return 1; }

  t0=$(date +%s)
  out=$(kafka_acls 2.2 --authorizer-properties "$zkc" --remove --force --allow-principal User:alice --operation Read --topic "$T_ZK" 2>&1) \
    || { printf '%s\n' "$out" >&2; kafka_fail "2.2.1 kafka-acls --remove --force: exit status non-zero"; return 1; }
  out=$(ka_py "$KA_CHECK" zk-dump "$KA_ZK/acl" "/kafka-acl/Topic/$T_ZK" 2>&1)
  kafka_expect "/kafka-acl/Topic/$T_ZK after --remove" "$out" "does not exist" || return 1
  out=$(ka_py "$KA_CHECK" wait-fetch "$KA_SASL" alice "$T_ZK" denied 30 2>&1) \
    || { kafka_fail "the broker did not revoke the ACL the 2.2.1 tool removed from ZooKeeper: $out"; return 1; }
  revoke_s=$(($(date +%s) - t0))
  KAFKA_DETAIL="2.2.1 --authorizer-properties zookeeper.connect --add alice Read on $T_ZK (znode + notification \"Topic:$T_ZK\"): alice's Fetch allowed ${grant_s}s after the tool started, kafka-python consumer read it; 2.2.1 --list shows the 3.9 tool's ACLs and this one; --remove --force: znode deleted, Fetch refused (29) ${revoke_s}s after"
}

# --- raw ---------------------------------------------------------------------------------

ka_raw() {
  local out
  out=$(ka_py "$KA_CHECK" raw "$KA_SASL" "$KA_RUN" "$KA_ZK/acl" 2>"$SUITE_WORK/raw-checks.txt") \
    || { cat "$SUITE_WORK/raw-checks.txt" >&2; kafka_fail "$out"; return 1; }
  cat "$SUITE_WORK/raw-checks.txt" >&2
  KAFKA_DETAIL=$out
}

# --- cluster-propagation -------------------------------------------------------------------

ka_led_by_2() {
  local l n=0
  while read -r _ l _; do
    [ "$l" = 2 ] || return 1
    n=$((n + 1))
  done
  [ "$n" -eq 1 ]
}

ka_cluster() {
  local plain1=$KA_PLAIN sasl1=$KA_SASL sasl2 out t0 add_s del_s loaded rc=0
  ka_broker ka-b2 2 || rc=1
  sasl2=$KA_SASL
  KA_PLAIN=$plain1 KA_SASL=$sasl1   # the later clients use broker 1
  [ "$rc" = 0 ] || { kafka_fail "broker 2 ($TARGET, same chroot) did not start (see $(kafka_server_dir ka-b2))"; return 1; }
  # the ACLs in ZooKeeper before broker 2 started apply on it at once
  loaded=$(ka_py "$KA_CHECK" wait-describe "$sasl2" alice "$T_W" allowed 30 2>&1) \
    || { kafka_fail "broker 2 does not apply the ACLs in ZooKeeper at its start: $loaded"; return 1; }
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$plain1" --topic "$T_C" --replica-assignment 2 2>&1)
  kafka_expect "kafka-topics --create $T_C --replica-assignment 2" "$out" "Created topic \"?$T_C\"?\." || return 1
  if ! kafka_wait_partitions "$plain1" "$T_C" 60 ka_led_by_2; then
    kafka_fail "$T_C not led by broker 2 within 60s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  out=$(ka_py "$KA_CHECK" wait-describe "$sasl2" alice "$T_C" denied 10 2>&1) \
    || { kafka_fail "before any ACL, broker 2 does not refuse alice's Describe of $T_C: $out"; return 1; }

  t0=$(date +%s)
  out=$(ka_py "$KA_CHECK" create-acls "$sasl1" "$T_C" User:alice WRITE DESCRIBE 2>&1) \
    || { kafka_fail "CreateAcls through broker 1: $out"; return 1; }
  out=$(ka_py "$KA_CHECK" wait-describe "$sasl2" alice "$T_C" allowed 30 2>&1) \
    || { kafka_fail "ACLs created through broker 1 not enforced on broker 2: $out"; return 1; }
  add_s=$(($(date +%s) - t0))
  out=$(ka_py "$KA_CLIENT" produce "$sasl2" alice "$T_C" 10 2>&1) \
    || { printf '%s\n' "$out" | tail -n 10 >&2; kafka_fail "alice's produce to $T_C (led by broker 2) after the ACL: $(tail -n 1 <<<"$out")"; return 1; }

  t0=$(date +%s)
  out=$(ka_py "$KA_CHECK" delete-acls "$sasl2" "$T_C" User:alice 2>&1) \
    || { kafka_fail "DeleteAcls through broker 2: $out"; return 1; }
  out=$(ka_py "$KA_CHECK" wait-describe "$sasl1" alice "$T_C" denied 30 2>&1) \
    || { kafka_fail "ACLs deleted through broker 2 still allow alice on broker 1: $out"; return 1; }
  del_s=$(($(date +%s) - t0))
  out=$(ka_py "$KA_CHECK" wait-describe "$sasl2" alice "$T_C" denied 5 2>&1) \
    || { kafka_fail "broker 2 still allows alice after its own DeleteAcls: $out"; return 1; }
  KAFKA_DETAIL="broker 2 enforced the ACLs in ZooKeeper at its start; CreateAcls via broker 1 -> alice may Describe $T_C on broker 2 after ${add_s}s and writes to it (leader 2); DeleteAcls via broker 2 -> broker 1 refuses after ${del_s}s"
  kafka_stop ka-b2
}

# --- negative -----------------------------------------------------------------------------

ka_negative() {
  local out out2 log found want missing=() line
  out=$(ka_py "$KA_SASL_PY" roundtrip kafka-python "$KA_SASL" "$T_AFTER" PLAIN admin admin-secret "$KA_RECORDS" 2>&1) \
    || { printf '%s\n' "$out" | tail -n 20 >&2; kafka_fail "after the refusals, admin (SASL) failed: $(tail -n 1 <<<"$out")"; return 1; }
  out2=$(ka_py "$KA_SASL_PY" roundtrip kafka-python "$KA_PLAIN" "$T_AFTER-plain" none - - "$KA_RECORDS" 2>&1) \
    || { printf '%s\n' "$out2" | tail -n 20 >&2; kafka_fail "after the refusals, ANONYMOUS (PLAINTEXT) failed: $(tail -n 1 <<<"$out2")"; return 1; }
  log="$(kafka_server_dir ka-b1)/server.log"
  # keel logs to stdout.log: the same sentence between its own prefix and fields
  [ "$TARGET" = keel ] && log="$(kafka_server_dir ka-b1)/stdout.log"
  found=$(grep -c 'Denied' "$log" 2>/dev/null)
  if [ "$TARGET" = apache ] || [ "$TARGET" = keel ]; then
    # AclAuthorizer.logAuditMessage, logger kafka.authorizer.logger, INFO for a denial of
    # an explicitly requested resource
    want=(
      "INFO Principal = User:alice is Denied Operation = Write from host = 127.0.0.1 on resource = Topic:LITERAL:$T_A for request = Produce with resourceRefCount = 1 (kafka.authorizer.logger)"
      "INFO Principal = User:alice is Denied Operation = Describe from host = 127.0.0.1 on resource = Topic:LITERAL:$T_NONE for request = Metadata with resourceRefCount = 1 (kafka.authorizer.logger)"
      "INFO Principal = User:alice is Denied Operation = Read from host = 127.0.0.1 on resource = Topic:LITERAL:$T_SEC for request = Fetch with resourceRefCount = 1 (kafka.authorizer.logger)"
      "INFO Principal = User:alice is Denied Operation = Describe from host = 127.0.0.1 on resource = Group:LITERAL:acl-h-$KA_RUN for request = FindCoordinator with resourceRefCount = 1 (kafka.authorizer.logger)"
      "INFO Principal = User:alice is Denied Operation = Create from host = 127.0.0.1 on resource = Topic:LITERAL:acl-new-$KA_RUN for request = CreateTopics with resourceRefCount = 1 (kafka.authorizer.logger)"
      "INFO Principal = User:alice is Denied Operation = Describe from host = 127.0.0.1 on resource = Cluster:LITERAL:kafka-cluster for request = DescribeAcls with resourceRefCount = 1 (kafka.authorizer.logger)"
      "INFO Principal = User:alice is Denied Operation = Alter from host = 127.0.0.1 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 (kafka.authorizer.logger)"
      "INFO Principal = User:alice is Denied Operation = Alter from host = 127.0.0.1 on resource = Cluster:LITERAL:kafka-cluster for request = DeleteAcls with resourceRefCount = 1 (kafka.authorizer.logger)"
      "INFO Principal = User:bob is Denied Operation = Write from host = 127.0.0.1 on resource = Topic:UNKNOWN:NONE for request = InitProducerId with resourceRefCount = 0 (kafka.authorizer.logger)"
    )
    for line in "${want[@]}"; do
      if [ "$TARGET" = keel ]; then
        line=${line#INFO }
        line=${line% (kafka.authorizer.logger)}
      fi
      grep -qF -- "$line" "$log" || missing+=("$line")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
      printf '%s\n' "---- not in $log:" "${missing[@]}" "---- its denials:" >&2
      grep 'Denied' "$log" | head -20 >&2
      kafka_fail "${#missing[@]} of ${#want[@]} expected denials not logged, e.g. $(cut -c1-200 <<<"${missing[0]}")"
      return 1
    fi
    KAFKA_DETAIL="admin (SASL) and ANONYMOUS (PLAINTEXT) still write and read; the broker logged $found denials, the ${#want[@]} expected ones among them (kafka.authorizer.logger INFO \"Principal = User:alice is Denied Operation = Write from host = 127.0.0.1 on resource = Topic:LITERAL:$T_A for request = Produce with resourceRefCount = 1\" ...)"
  else
    log "the keel broker's denial lines ($found), first ten:"
    grep 'Denied' "$log" "$(kafka_server_dir ka-b1)/stdout.log" 2>/dev/null | head -10 >&2
    KAFKA_DETAIL="admin (SASL) and ANONYMOUS (PLAINTEXT) still write and read; $found lines with 'Denied' in the broker's log (reported, not judged)"
  fi
}

# --- main -----------------------------------------------------------------------------------

ka_all_fail() {
  local c
  for c in $(sed -n 's/^# clients: //p' "$0" | head -1); do report "$c" fail "$1"; done
  exit 1
}

python_env || ka_all_fail "python venv"
zk_start "$(kafka_zk_target)" standalone ka-zk || ka_all_fail "the $(kafka_zk_target) ZooKeeper did not start"
KA_ZK=$ZK_CONNECT
kafka_zk_ensure "$KA_ZK" /acl || ka_all_fail "could not create the chroot /acl (kazoo)"
out=$(kafka_tool 3.9 kafka-configs --zookeeper "$KA_ZK/acl" --alter \
  --add-config 'SCRAM-SHA-512=[password=filebeat-secret]' --entity-type users --entity-name filebeat 2>&1)
grep -q "Completed updating config for entity: user-principal 'filebeat'" <<<"$out" \
  || { printf '%s\n' "$out" >&2; ka_all_fail "3.9 kafka-configs --zookeeper could not create filebeat's SCRAM-SHA-512 credential"; }
ka_broker ka-b1 1 || ka_all_fail "the $TARGET broker with the ACL authorizer did not start (see $(kafka_server_dir ka-b1))"
kafka_sasl_client_config "$KA_ADMIN_CFG" PLAIN admin admin-secret
kafka_sasl_client_config "$KA_ALICE_CFG" PLAIN alice alice-secret
log "run suffix $KA_RUN"
# every topic up front, over PLAINTEXT (ANONYMOUS is a super user)
ka_py "$KA_SASL_PY" create-topics "$KA_PLAIN" 1 1 1 "$T_W" "$T_NONE" "$T_A" "$T_SEC" "acl-app-$KA_RUN-ck" \
  "acl-app-$KA_RUN-c39" "acl-app-$KA_RUN-c22" "$T_FB" "$T_ZK" "$T_AFTER" "$T_AFTER-plain" >&2 \
  || ka_all_fail "could not create the topics over PLAINTEXT"
for t in "$T_A" "$T_SEC" "$T_ZK"; do
  ka_py "$KA_CLIENT" produce "$KA_SASL" admin "$t" 5 >&2 || ka_all_fail "admin could not write to $t"
done

kafka_client acls-3.9-bootstrap ka_acls39
kafka_client kafka-python-alice ka_pyclient kafka-python
kafka_client confluent-kafka-alice ka_pyclient confluent-kafka
kafka_client console-3.9-alice ka_console 3.9
kafka_client console-2.2-alice ka_console 2.2
if filebeat_binary >/dev/null; then
  kafka_client filebeat-acl ka_filebeat
else
  report filebeat-acl skip "the Filebeat 8.8.2 build is not at $FILEBEAT_DIST (set FILEBEAT_DIST)"
fi
kafka_client acls-2.2-zookeeper ka_acls22
kafka_client raw-acl-apis ka_raw
kafka_client cluster-propagation ka_cluster
kafka_client negative ka_negative
exit "$KAFKA_SUITE_RC"
