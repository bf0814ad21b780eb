# needs: none
# clients: configs kafka-python-plain kafka-python-scram-sha-256 kafka-python-scram-sha-512 confluent-kafka-scram-sha-512 confluent-kafka-plain console-3.9-plain console-3.9-scram-sha-512 console-2.2-scram-sha-256 console-4-scram-sha-512 sarama-scram-sha-512 sarama-plain franz-go-scram-sha-256 franz-go-plain sarama-wrong-password franz-go-wrong-password kafka-python-legacy-v0 filebeat-scram-sha-512 negative reauth cluster mixed-cluster
# timeout: 540
#
# kafka-sasl: SASL authentication on a SASL_PLAINTEXT listener with PLAIN, SCRAM-SHA-256
# and SCRAM-SHA-512, as Apache Kafka 3.9.x (ZooKeeper mode) does it. One ZooKeeper of
# kafka_zk_target's kind (chroots /sasl, /reauth, /cluster; the last two made with kazoo
# up front, as 3.9's kafka-configs --zookeeper cannot create a chroot). Every broker gets
# the same properties on both targets (apache: Apache $KAFKA_ZK_VERSION; keel: keel):
#   listeners and advertised.listeners PLAINTEXT://127.0.0.1:<p1>,SASL_PLAINTEXT://
#   127.0.0.1:<p2> (lib/kafka.sh's KAFKA_EXTRA_LISTENERS adds the second; the readiness
#   probe keeps using PLAINTEXT), sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
#   and one listener.name.sasl_plaintext.<mechanism>.sasl.jaas.config per mechanism:
#   PlainLoginModule with username/password (the broker's own client login, unused while
#   inter-broker traffic is PLAINTEXT) and the users admin and alice (user_<name>=
#   "<password>"), ScramLoginModule for both SCRAM mechanisms (the credentials live in
#   ZooKeeper, /config/users/<name>). A ZK-mode 3.9 broker needs nothing more:
#   JaasContext.loadServerContext takes the listener- and mechanism-prefixed
#   sasl.jaas.config (exactly one login module), SaslServerAuthenticator wants a
#   callback handler and a JAAS subject for each enabled mechanism, and
#   sasl.mechanism.inter.broker.protocol must be enabled only when the inter-broker
#   listener is a SASL one (the cluster part).
#
# Single broker (broker.id 1, inter.broker.listener.name=PLAINTEXT, chroot /sasl); its
# topics are created up front (kafka-python's admin client over PLAINTEXT).
#   configs (the SCRAM clients after it use its users: KAFKA_CLIENTS_ONLY must keep it):
#     alice256 (SCRAM-SHA-256, 4096 iterations) created with the seed's 2.2.1
#     `kafka-configs --zookeeper` while the broker runs, bob512 (SCRAM-SHA-512, 8192
#     iterations) with 3.9 `kafka-configs --bootstrap-server` on the PLAINTEXT listener
#     (AlterUserScramCredentials: the broker writes ZooKeeper). `--describe --entity-type
#     users` must then print exactly these two users: 2.2.1 --zookeeper reads the znodes
#     ("Configs for user-principal 'bob512' are SCRAM-SHA-512=salt=..,stored_key=..,
#     server_key=..,iterations=8192", salts and keys masked), 3.9 --bootstrap-server asks
#     the broker (DescribeClientQuotas + DescribeUserScramCredentials: "SCRAM credential
#     configs for user-principal 'bob512' are SCRAM-SHA-512=iterations=8192"). Both users
#     must authenticate within 30s (the broker learns ZooKeeper's changes through
#     /config/changes).
#   Each client then writes records through the SASL listener and reads them all back:
#     kafka-python-{plain,scram-sha-256,scram-sha-512}  kafka-python $KAFKA_PYTHON_VERSION
#       as alice / alice256 / bob512 (SaslHandshake v1 + SaslAuthenticate v0), a consumer
#       group reading back;
#     confluent-kafka-{scram-sha-512,plain}   librdkafka, bob512 / alice, consumer group;
#     console-3.9-{plain,scram-sha-512}       the 3.9 console producer (acks=all) and
#       consumer with --producer.config / --consumer.config (security.protocol,
#       sasl.mechanism, sasl.jaas.config), alice / bob512, 50 lines in order;
#     console-2.2-scram-sha-256               the seed's 2.2.1 console producer
#       (--broker-list) and consumer as alice256: a 2.2 client's SaslHandshake v1 +
#       SaslAuthenticate v1;
#     console-4-scram-sha-512                 the Kafka $KAFKA_VERSION (4.x) console producer
#       (--bootstrap-server, acks=all) and consumer, --producer.config / --consumer.config,
#       SCRAM-SHA-512 as bob512, 50 lines in order;
#     sarama-{scram-sha-512,plain}, franz-go-{scram-sha-256,plain}
#                                             go/secure-clients (sarama $SARAMA_VERSION,
#       protocol version 2.8.0, SaslHandshake v1 + SaslAuthenticate, its SCRAM client the
#       program's own RFC 5802 code as sarama ships none; franz-go $FRANZ_GO_VERSION with
#       its pkg/sasl/plain and pkg/sasl/scram) as bob512 / alice / alice256 / alice: 50
#       records written one at a time with acks=all to partition 0, then partition 0 read
#       from the oldest offset: exactly the 50 values, in order;
#     sarama-wrong-password, franz-go-wrong-password   the same programs with a wrong
#       password, PLAIN (alice) and SCRAM-SHA-512 as bob512 (franz-go: SCRAM-SHA-256 as
#       alice256): no record may be acknowledged, and the error each client reports must
#       end with the broker's SaslAuthenticate error 58 and message as Apache gives them:
#       sarama (sarama.NewClient) "kafka server: SASL Authentication failed: " + the
#       message, franz-go (its Ping, ApiVersions on a fresh connection)
#       "SASL_AUTHENTICATION_FAILED: SASL Authentication failed.: " + the message; the
#       message "Authentication failed: Invalid username or password" (PLAIN) or
#       "Authentication failed during authentication due to invalid credentials with SASL
#       mechanism SCRAM-SHA-512" / "SCRAM-SHA-256" (KS_GO_REFUSED_*);
#     kafka-python-legacy-v0                  kafka-python pinned to api_version (0,10,0):
#       its table for 0.10.0 offers SaslHandshake v0 only, so it sends the SASL tokens
#       unframed after the handshake (the pre-1.0 exchange, no SaslAuthenticate); PLAIN
#       alice and SCRAM-SHA-256 alice256, Produce v2 / Fetch v2; the script asserts that
#       every connection used handshake v0;
#     filebeat-scram-sha-512                  the real Filebeat 8.8.2 (lib/filebeat.sh),
#       output.kafka username/password and sasl.mechanism SCRAM-SHA-512 (its default
#       version 1.0.0), tailing a file: the 200 lines are read back (confluent-kafka,
#       SCRAM-SHA-512) once each, in order.
#   negative: python/kafka_sasl_check.py on raw sockets asserts the codes, messages and
#     closes Apache returns (its docstrings name each check): a wrong password,
#     PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512, and an unknown user, PLAIN and SCRAM, get
#     SaslAuthenticate error 58 (SASL_AUTHENTICATION_FAILED) with "Authentication failed:
#     Invalid username or password" (PLAIN) or "Authentication failed during
#     authentication due to invalid credentials with SASL mechanism <mechanism>" (SCRAM:
#     the same for an unknown user, a wrong proof, and a SCRAM-SHA-256-only user trying
#     SCRAM-SHA-512; a known user's client-first message is answered first), then the
#     connection is closed; an unsupported mechanism (GSSAPI, OAUTHBEARER, lower-case
#     scram-sha-256) gets SaslHandshake error 33 (UNSUPPORTED_SASL_MECHANISM) with the
#     enabled list in Apache's order, PLAIN,SCRAM-SHA-512,SCRAM-SHA-256 (a HashSet's),
#     then a close; Metadata as the first request, or after ApiVersions (what a client
#     without SASL does), gets no answer and a close; Metadata between SaslHandshake v1
#     and SaslAuthenticate gets an empty Metadata response (no brokers, controller -1),
#     then a close; the legacy exchange (SaslHandshake v0, raw tokens): PLAIN good -> an
#     empty token back, wrong -> a close without an answer, SCRAM-SHA-512 good; good
#     logins with every mechanism: error_message "" (not null) and session_lifetime_ms 0
#     (no connections.max.reauth.ms); SaslAuthenticate v0 works; after authentication,
#     SaslHandshake gets error 34 (ILLEGAL_SASL_STATE) and SaslAuthenticate error 34 with
#     "SaslAuthenticate request received after successful authentication", the
#     connection stays; a SaslHandshake on the PLAINTEXT listener gets 34 too. Then real
#     clients: kafka-python with a wrong PLAIN and a wrong SCRAM-SHA-512 password gets no
#     record acknowledged and must have logged the broker's SaslAuthenticate error;
#     kafka-python without SASL on the SASL listener gets nothing acknowledged either;
#     afterwards a good kafka-python client still writes and reads (broker unaffected).
#
# reauth: a second single broker (chroot /reauth) with connections.max.reauth.ms=4000;
#   alice256 and bob512 created before it starts (3.9 kafka-configs --zookeeper). The raw
#   script (its reauth()): SaslAuthenticate v1's session_lifetime_ms is in (0, 4000]
#   (Apache: 4000); re-authenticating on the same connection (SaslHandshake +
#   SaslAuthenticate again) extends the session past the first lifetime; a Metadata
#   request after a session's end closes the connection without an answer (SocketServer
#   drops an "expired" channel), also for a SaslAuthenticate v0 client; a SaslHandshake
#   after the end still re-authenticates (SocketServer looks for it before the expiry);
#   re-authenticating as another user gets error 58 "Cannot change principals during
#   re-authentication from User.admin: User.alice", then a close. Then the 3.9 console
#   consumer (SCRAM-SHA-256, alice256) reads while the 3.9 console producer
#   (SCRAM-SHA-512, bob512) writes a line a second for 15s: all 15 arrive in order, and
#   each client's log (its Selector at DEBUG) shows at least two "Successfully
#   re-authenticated" (KIP-368: a 3.9 client re-authenticates before its session ends).
#
# cluster: two brokers (broker.id 1 and 2, chroot /cluster) with
#   inter.broker.listener.name=SASL_PLAINTEXT, sasl.mechanism.inter.broker.protocol=
#   SCRAM-SHA-512 and the brokers' own client login (username="admin512"
#   password="admin512-secret") in the scram-sha-512 JAAS line; admin512 is created in
#   ZooKeeper (3.9 kafka-configs --zookeeper) before they start. Topic ks-cluster, two
#   partitions, replication factor 2, min.insync.replicas=2: both replicas of each
#   partition in the ISR (3.9 kafka-topics --describe), 200 records acks=all written by
#   kafka-python (PLAIN alice, bootstrap: both SASL listeners) and read back, both
#   replicas still in the ISR. acks=all with min.insync.replicas=2 succeeds only when the
#   followers fetch, and they fetch over the SASL inter-broker listener.
#
# mixed-cluster: the cluster part's settings (admin512 in ZooKeeper first, chroot /mixed),
#   but broker 1 is always Apache $KAFKA_ZK_VERSION and broker 2 the target's (keel:
#   $KEEL_BIN; apache: Apache as well, the suite proving itself); broker 1 starts first.
#   Topic ks-mixed, min.insync.replicas=2, `--replica-assignment 1:2,2:1` (3.9
#   kafka-topics): each broker leads one partition and follows the other; --describe,
#   through broker 1 and then through broker 2, must show partition 0 led by 1,
#   partition 1 by 2, both ISRs {1,2}. /controller (kazoo) names the controller; the
#   other broker's /brokers/ids entry must hold its SASL_PLAINTEXT endpoint, the one the
#   controller sends LeaderAndIsr / UpdateMetadata to. When the controller is Apache its
#   log must show its RequestSendThread connected to that SASL port (it logs "connected"
#   once the SASL login is done), and at the end no "Received error .. in LeaderAndIsr /
#   UpdateMetadata response". ks-mixed led and in sync proves LeaderAndIsr arrived only
#   for a broker that takes roles from LeaderAndIsr alone (Apache); keel applies the
#   partition state znodes until its first LeaderAndIsr comes (in keel's runs the
#   controller's first LeaderAndIsr found ks-mixed's leader epochs applied already):
#   ks-mixed-after below is the proof for both. 200 records acks=all (kafka-python PLAIN
#   alice, bootstrap: both SASL listeners) written and read back, both ISRs still full.
#   Then broker 2 stops (TERM; broker 1 must be alone in both ISRs within 30s) and
#   restarts on its data (kafka_restart): both ISRs full again within 60s (broker 2
#   fetched from broker 1 after a fresh login; an Apache controller must have logged a new
#   connection to broker 2's SASL port). Last, ks-mixed-after (1:2,2:1 again) created
#   after the restart, once the controller has sent broker 2 LeaderAndIsr for its
#   ks-mixed replicas (at its start): led 1 / 2 with full ISRs, which broker 2 can only
#   have from LeaderAndIsr now, and 200 records acks=all written and read back, so broker
#   1 fetched from the restarted broker 2 as well.

# shellcheck source=../lib/filebeat.sh
. "$COMPAT_DIR/lib/filebeat.sh"   # FILEBEAT_DIST, filebeat_binary

set -u
KS_PIDS=()
ks_cleanup() {
  local pid
  for pid in "${KS_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  KS_PIDS=()
  kafka_stop_all
  zk_stop_all
}
trap ks_cleanup EXIT
trap 'exit 143' TERM INT HUP

KS_RECORDS=50
KS_PLAIN_JAAS='org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";'
KS_SCRAM_JAAS='org.apache.kafka.common.security.scram.ScramLoginModule required;'
KS_PY="$COMPAT_DIR/python/kafka_sasl_client.py"
KS_CHECK="$COMPAT_DIR/python/kafka_sasl_check.py"
KS_ZK=""           # the ZooKeeper (host:port), chroots below it per part
KS_PLAIN=""        # bootstrap of the current single broker's PLAINTEXT listener
KS_SASL=""         # and of its SASL_PLAINTEXT listener

# ks_props [k=v ...]: the SASL properties every broker of this suite gets (KAFKA_EXTRA_PROPS),
# with the scram-sha-512 JAAS line given as KS_SCRAM512_JAAS and extra lines after.
ks_props() {
  printf '%s\n' \
    "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" \
    "listener.name.sasl_plaintext.plain.sasl.jaas.config=$KS_PLAIN_JAAS" \
    "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=$KS_SCRAM_JAAS" \
    "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${KS_SCRAM512_JAAS:-$KS_SCRAM_JAAS}" \
    "$@"
}

# ks_broker NAME ZK_PATH BROKER_ID PROPS...: starts a broker of the target (or of
# KS_BROKER_TARGET: the mixed-cluster part's Apache broker 1) with both listeners; sets
# KS_PLAIN and KS_SASL.
ks_broker() {
  local name=$1 zk=$2 id=$3 sport props
  shift 3
  sport=$(free_port)
  props=$(ks_props "$@")
  KAFKA_BROKER_ID=$id KAFKA_EXTRA_PROPS=$props KAFKA_EXTRA_LISTENERS="SASL_PLAINTEXT://127.0.0.1:$sport" \
    kafka_start "${KS_BROKER_TARGET:-$TARGET}" zk "$name" "$zk" || return 1
  KS_PLAIN=$KAFKA_BOOTSTRAP
  KS_SASL="127.0.0.1:$sport"
  wait_port "$sport" 10 || { log "broker $name does not listen on its SASL port $sport"; return 1; }
}

# ks_client_config FILE MECHANISM USER PASSWORD: a Java client's SASL properties.
ks_client_config() {
  local module=org.apache.kafka.common.security.scram.ScramLoginModule
  [ "$2" = PLAIN ] && module=org.apache.kafka.common.security.plain.PlainLoginModule
  printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=$2" \
    "sasl.jaas.config=$module required username=\"$3\" password=\"$4\";" >"$1"
}

# What sarama and franz-go report for a wrong password (ks_go_refused): the broker's
# SaslAuthenticate error 58 and its message, as each client words it against Apache.
KS_GO_REFUSED_SARAMA_PLAIN='kafka server: SASL Authentication failed: Authentication failed: Invalid username or password$'
KS_GO_REFUSED_SARAMA_SCRAM='kafka server: SASL Authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512$'
KS_GO_REFUSED_FRANZ_PLAIN='ping: SASL_AUTHENTICATION_FAILED: SASL Authentication failed\.: Authentication failed: Invalid username or password$'
KS_GO_REFUSED_FRANZ_SCRAM='ping: SASL_AUTHENTICATION_FAILED: SASL Authentication failed\.: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256$'

ks_py() { timeout_run 120 "$PY_VENV/bin/python" "$@"; }

# --- single broker --------------------------------------------------------------------

ks_configs() {
  local out zk2 boot39 want got
  out=$(kafka_tool 2.2 kafka-configs --zookeeper "$KS_ZK/sasl" --alter \
    --add-config 'SCRAM-SHA-256=[iterations=4096,password=alice256-secret]' \
    --entity-type users --entity-name alice256 2>&1)
  kafka_expect "2.2.1 kafka-configs --zookeeper --alter alice256" "$out" \
    "Completed Updating config for entity: user-principal 'alice256'\." || return 1
  out=$(kafka_tool 3.9 kafka-configs --bootstrap-server "$KS_PLAIN" --alter \
    --add-config 'SCRAM-SHA-512=[iterations=8192,password=bob512-secret]' \
    --entity-type users --entity-name bob512 2>&1)
  kafka_expect "3.9 kafka-configs --bootstrap-server --alter bob512" "$out" \
    "Completed updating config for user bob512\." || return 1

  # Every user's line, nothing else, on stdout (salts and keys are random: masked).
  zk2=$(kafka_tool 2.2 kafka-configs --zookeeper "$KS_ZK/sasl" --describe --entity-type users \
    2>"$SUITE_WORK/configs-describe-2.2.err")
  printf '%s\n' "$zk2" >"$SUITE_WORK/configs-describe-2.2-zookeeper.txt"
  want=$(printf '%s\n' \
    "Configs for user-principal 'alice256' are SCRAM-SHA-256=salt=*,stored_key=*,server_key=*,iterations=4096" \
    "Configs for user-principal 'bob512' are SCRAM-SHA-512=salt=*,stored_key=*,server_key=*,iterations=8192")
  got=$(sed -E 's/(salt|stored_key|server_key)=[A-Za-z0-9+\/=]+/\1=*/g' <<<"$zk2" | sort)
  if [ "$got" != "$want" ]; then
    printf '%s\n' "---- 2.2.1 --zookeeper --describe --entity-type users, expected:" "$want" "---- got:" "$zk2" >&2
    cat "$SUITE_WORK/configs-describe-2.2.err" >&2
    kafka_fail "2.2.1 kafka-configs --zookeeper --describe does not show exactly alice256 (SCRAM-SHA-256, 4096) and bob512 (SCRAM-SHA-512, 8192)"
    return 1
  fi
  boot39=$(kafka_tool 3.9 kafka-configs --bootstrap-server "$KS_PLAIN" --describe --entity-type users \
    2>"$SUITE_WORK/configs-describe-3.9.err")
  printf '%s\n' "$boot39" >"$SUITE_WORK/configs-describe-3.9-bootstrap.txt"
  want=$(printf '%s\n' \
    "SCRAM credential configs for user-principal 'alice256' are SCRAM-SHA-256=iterations=4096" \
    "SCRAM credential configs for user-principal 'bob512' are SCRAM-SHA-512=iterations=8192")
  if [ "$(sort <<<"$boot39")" != "$want" ]; then
    printf '%s\n' "---- 3.9 --bootstrap-server --describe --entity-type users, expected:" "$want" "---- got:" "$boot39" >&2
    cat "$SUITE_WORK/configs-describe-3.9.err" >&2
    kafka_fail "3.9 kafka-configs --bootstrap-server --describe does not show exactly alice256 (SCRAM-SHA-256, 4096) and bob512 (SCRAM-SHA-512, 8192)"
    return 1
  fi

  out=$(ks_py "$KS_CHECK" wait-auth "$KS_SASL" SCRAM-SHA-256 alice256 alice256-secret 30 2>&1) \
    || { kafka_fail "alice256 (created in ZooKeeper) cannot authenticate: $out"; return 1; }
  out=$(ks_py "$KS_CHECK" wait-auth "$KS_SASL" SCRAM-SHA-512 bob512 bob512-secret 30 2>&1) \
    || { kafka_fail "bob512 (created through the broker) cannot authenticate: $out"; return 1; }
  KAFKA_DETAIL="alice256 by 2.2.1 --zookeeper, bob512 by 3.9 --bootstrap-server; both described alike by 2.2.1 --zookeeper (SCRAM-SHA-256 4096 / SCRAM-SHA-512 8192 iterations) and 3.9 --bootstrap-server, both authenticate"
}

# ks_roundtrip CLIENT MECHANISM USER PASSWORD [ARGS]: kafka_sasl_client.py roundtrip.
ks_roundtrip() {
  local client=$1 mech=$2 user=$3 pass=$4 topic out
  shift 4
  topic="ks-$client-${mech,,}"
  if out=$(ks_py "$KS_PY" roundtrip "$client" "$KS_SASL" "$topic" "$mech" "$user" "$pass" "$KS_RECORDS" "$@" 2>&1); then
    KAFKA_DETAIL=$(tail -n 1 <<<"$out")
  else
    printf '%s\n' "$out" | tail -n 30 >&2
    kafka_fail "$(tail -n 1 <<<"$out")"
  fi
}

# ks_console VER MECHANISM USER PASSWORD: the console producer and consumer of Kafka VER.
ks_console() {
  local ver=$1 mech=$2 user=$3 pass=$4 topic cfg expected out flag=--bootstrap-server
  topic="ks-console-${ver//./}-${mech,,}"
  cfg="$SUITE_WORK/client-$ver-$mech.properties"
  ks_client_config "$cfg" "$mech" "$user" "$pass"
  [ "$ver" = 2.2 ] && flag=--broker-list
  expected=$(seq 1 "$KS_RECORDS" | sed "s/.*/console $ver $mech line &/")
  out=$(printf '%s\n' "$expected" | kafka_tool "$ver" kafka-console-producer "$flag" "$KS_SASL" \
    --topic "$topic" --producer.config "$cfg" --request-required-acks all 2>&1) \
    || { printf '%s\n' "$out" | tail -n 20 >&2; kafka_fail "$ver console producer ($mech) exited non-zero"; return 1; }
  out=$(kafka_tool "$ver" kafka-console-consumer --bootstrap-server "$KS_SASL" --topic "$topic" \
    --consumer.config "$cfg" --from-beginning --max-messages "$KS_RECORDS" --timeout-ms 30000 \
    2>"$SUITE_WORK/console-$ver-$mech.err")
  if [ "$out" != "$expected" ]; then
    printf '%s\n' "---- got $(grep -c . <<<"$out") lines; first differences:" >&2
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$out") | head -5 >&2
    tail -n 20 "$SUITE_WORK/console-$ver-$mech.err" >&2
    kafka_fail "$ver console consumer ($mech, $user) did not read the $KS_RECORDS lines back in order"
    return 1
  fi
  KAFKA_DETAIL="Kafka $ver console producer ($flag, acks=all) + consumer, $mech as $user: $KS_RECORDS lines in order"
}

# ks_go LIB MECHANISM USER PASSWORD: go/secure-clients (sarama | franz) writes
# KS_RECORDS records acks=all to partition 0 and reads them back in order.
ks_go() {
  local lib=$1 mech=$2 user=$3 pass=$4 bin out
  bin=$(go_build secure-clients) || { kafka_fail "go build of secure-clients failed"; return 1; }
  if out=$(timeout_run 120 "$bin" -lib "$lib" -brokers "$KS_SASL" -topic "ks-go-$lib-${mech,,}" \
      -records "$KS_RECORDS" -mechanism "$mech" -user "$user" -password "$pass" 2>&1); then
    KAFKA_DETAIL=$(tail -n 1 <<<"$out")
  else
    printf '%s\n' "$out" | tail -n 20 >&2
    kafka_fail "$(tail -n 1 <<<"$out")"
  fi
}

# ks_go_refused LIB "MECHANISM USER REGEX" ...: go/secure-clients with a wrong password
# must get nothing acknowledged and report an error matching REGEX (the broker's
# SaslAuthenticate error as the client words it).
ks_go_refused() {
  local lib=$1 bin out spec mech user re seen=()
  shift
  bin=$(go_build secure-clients) || { kafka_fail "go build of secure-clients failed"; return 1; }
  for spec in "$@"; do
    read -r mech user re <<<"$spec"
    out=$(timeout_run 120 "$bin" -lib "$lib" -brokers "$KS_SASL" -topic ks-refused -records 1 \
      -mechanism "$mech" -user "$user" -password wrong-password -expect-failure -timeout 20s 2>&1) \
      || { printf '%s\n' "$out" | tail -n 20 >&2; kafka_fail "$mech $user, wrong password: $(tail -n 1 <<<"$out")"; return 1; }
    printf '%s: %s\n' "$lib $mech" "$out" >&2
    if ! grep -Eq -- "$re" <<<"$out"; then
      kafka_fail "$lib $mech $user with a wrong password was refused, but not with /$re/: $(cut -c1-300 <<<"$out")"
      return 1
    fi
    seen+=("$mech $user: $(sed 's/^refused: //' <<<"$out" | cut -c1-300)")
  done
  KAFKA_DETAIL="wrong passwords refused, nothing acknowledged: $(IFS=';'; echo "${seen[*]}")"
}

ks_legacy() {
  local out1 out2
  out1=$(ks_py "$KS_PY" roundtrip kafka-python "$KS_SASL" ks-legacy-plain PLAIN alice alice-secret "$KS_RECORDS" --api-version 0.10.0 2>&1) \
    || { printf '%s\n' "$out1" | tail -n 30 >&2; kafka_fail "PLAIN: $(tail -n 1 <<<"$out1")"; return 1; }
  out2=$(ks_py "$KS_PY" roundtrip kafka-python "$KS_SASL" ks-legacy-scram SCRAM-SHA-256 alice256 alice256-secret "$KS_RECORDS" --api-version 0.10.0 2>&1) \
    || { printf '%s\n' "$out2" | tail -n 30 >&2; kafka_fail "SCRAM-SHA-256: $(tail -n 1 <<<"$out2")"; return 1; }
  KAFKA_DETAIL="api_version (0,10,0): $(tail -n 1 <<<"$out1"); $(tail -n 1 <<<"$out2")"
}

ks_filebeat() {
  local bin dir topic pid i lines=200 expected out messages
  bin=$(filebeat_binary) || { kafka_fail "no Filebeat binary at $FILEBEAT_DIST"; return 1; }
  topic=ks-filebeat
  dir="$SUITE_WORK/filebeat"
  mkdir -p "$dir/data" "$dir/logs"
  : >"$dir/input.log"
  cat >"$dir/filebeat.yml" <<YAML
filebeat.inputs:
  - type: filestream
    id: compat-sasl
    paths: [$dir/input.log]
    prospector.scanner.check_interval: 1s
output.kafka:
  hosts: ["$KS_SASL"]
  topic: "$topic"
  username: "bob512"
  password: "bob512-secret"
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
  KS_PIDS+=("$pid")
  for i in $(seq 1 "$lines"); do
    printf 'sasl app line %d\n' "$i" >>"$dir/input.log"
    [ $((i % 100)) = 0 ] && sleep 1
  done
  expected=$(seq 1 "$lines" | sed 's/.*/sasl app line &/')
  # reads until it has $lines records, at most 60s
  out=$(ks_py "$KS_PY" consume confluent-kafka "$KS_SASL" "$topic" SCRAM-SHA-512 bob512 bob512-secret "$lines" 2>"$dir/consume.err")
  messages=$(printf '%s\n' "$out" | python3 -c 'import json,sys
for line in sys.stdin:
    line=line.strip()
    if line: print(json.loads(line)["message"])' 2>/dev/null)
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ "$messages" != "$expected" ]; then
    printf '%s\n' "---- filebeat: got $(grep -c . <<<"$messages") lines; first differences:" >&2
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$messages") | head -10 >&2
    tail -n 20 "$dir"/logs/filebeat* "$dir/consume.err" >&2 2>/dev/null
    kafka_fail "Filebeat (SCRAM-SHA-512) did not deliver the $lines lines once each in order"
    return 1
  fi
  KAFKA_DETAIL="Filebeat 8.8.2, output.kafka SCRAM-SHA-512 as bob512 (version 1.0.0): $lines lines tailed, read back once each in order (confluent-kafka SCRAM-SHA-512)"
}

ks_negative() {
  local out refused=() r
  if ! out=$(ks_py "$KS_CHECK" negative "$KS_SASL" "$KS_PLAIN" 2>"$SUITE_WORK/negative-checks.txt"); then
    cat "$SUITE_WORK/negative-checks.txt" >&2
    kafka_fail "$out"
    return 1
  fi
  cat "$SUITE_WORK/negative-checks.txt" >&2
  for r in "kafka-python PLAIN alice wrong-password" "kafka-python SCRAM-SHA-512 bob512 wrong-password" \
      "kafka-python none - -"; do
    # shellcheck disable=SC2086
    set -- $r
    if ! r=$(ks_py "$KS_PY" refused "$1" "$KS_SASL" ks-refused "$2" "$3" "$4" 2>&1); then
      printf '%s\n' "$r" | tail -n 20 >&2
      kafka_fail "$(tail -n 1 <<<"$r")"
      return 1
    fi
    refused+=("$(tail -n 1 <<<"$r" | sed 's/ \[[0-9.]*s\]$//')")
  done
  r=$(ks_py "$KS_PY" roundtrip kafka-python "$KS_SASL" ks-after-negative PLAIN alice alice-secret "$KS_RECORDS" 2>&1) \
    || { printf '%s\n' "$r" | tail -n 20 >&2; kafka_fail "after the refusals a good client failed: $(tail -n 1 <<<"$r")"; return 1; }
  KAFKA_DETAIL="$out; $(IFS=';'; echo "${refused[*]}"); afterwards kafka-python PLAIN still writes and reads"
}

ks_single() {
  local c
  if ! ks_broker ks-single "$KS_ZK/sasl" 1 "inter.broker.listener.name=PLAINTEXT"; then
    for c in configs kafka-python-plain kafka-python-scram-sha-256 kafka-python-scram-sha-512 \
        confluent-kafka-scram-sha-512 confluent-kafka-plain console-3.9-plain console-3.9-scram-sha-512 \
        console-2.2-scram-sha-256 console-4-scram-sha-512 sarama-scram-sha-512 sarama-plain \
        franz-go-scram-sha-256 franz-go-plain sarama-wrong-password franz-go-wrong-password \
        kafka-python-legacy-v0 filebeat-scram-sha-512 negative; do
      report "$c" fail "the $TARGET broker with a SASL_PLAINTEXT listener did not start (see $(kafka_server_dir ks-single))"
    done
    KAFKA_SUITE_RC=1
    return
  fi
  # every topic of this part, up front (PLAINTEXT, kafka-python's admin client): no client
  # depends on auto-creation timing; should it fail, the clients' own metadata requests
  # still create them (auto.create.topics.enable=true)
  ks_py "$KS_PY" create-topics "$KS_PLAIN" 1 1 1 ks-kafka-python-plain ks-kafka-python-scram-sha-256 \
    ks-kafka-python-scram-sha-512 ks-confluent-kafka-scram-sha-512 ks-confluent-kafka-plain \
    ks-console-39-plain ks-console-39-scram-sha-512 ks-console-22-scram-sha-256 ks-legacy-plain \
    ks-console-4-scram-sha-512 ks-go-sarama-scram-sha-512 ks-go-sarama-plain ks-go-franz-scram-sha-256 \
    ks-go-franz-plain ks-legacy-scram ks-filebeat ks-after-negative >&2 || log "could not create the topics up front"
  kafka_client configs ks_configs
  kafka_client kafka-python-plain ks_roundtrip kafka-python PLAIN alice alice-secret --group
  kafka_client kafka-python-scram-sha-256 ks_roundtrip kafka-python SCRAM-SHA-256 alice256 alice256-secret --group
  kafka_client kafka-python-scram-sha-512 ks_roundtrip kafka-python SCRAM-SHA-512 bob512 bob512-secret --group
  kafka_client confluent-kafka-scram-sha-512 ks_roundtrip confluent-kafka SCRAM-SHA-512 bob512 bob512-secret --group
  kafka_client confluent-kafka-plain ks_roundtrip confluent-kafka PLAIN alice alice-secret --group
  kafka_client console-3.9-plain ks_console 3.9 PLAIN alice alice-secret
  kafka_client console-3.9-scram-sha-512 ks_console 3.9 SCRAM-SHA-512 bob512 bob512-secret
  kafka_client console-2.2-scram-sha-256 ks_console 2.2 SCRAM-SHA-256 alice256 alice256-secret
  kafka_client console-4-scram-sha-512 ks_console 4 SCRAM-SHA-512 bob512 bob512-secret
  kafka_client sarama-scram-sha-512 ks_go sarama SCRAM-SHA-512 bob512 bob512-secret
  kafka_client sarama-plain ks_go sarama PLAIN alice alice-secret
  kafka_client franz-go-scram-sha-256 ks_go franz SCRAM-SHA-256 alice256 alice256-secret
  kafka_client franz-go-plain ks_go franz PLAIN alice alice-secret
  kafka_client sarama-wrong-password ks_go_refused sarama \
    "PLAIN alice $KS_GO_REFUSED_SARAMA_PLAIN" "SCRAM-SHA-512 bob512 $KS_GO_REFUSED_SARAMA_SCRAM"
  kafka_client franz-go-wrong-password ks_go_refused franz \
    "PLAIN alice $KS_GO_REFUSED_FRANZ_PLAIN" "SCRAM-SHA-256 alice256 $KS_GO_REFUSED_FRANZ_SCRAM"
  kafka_client kafka-python-legacy-v0 ks_legacy
  if filebeat_binary >/dev/null; then
    kafka_client filebeat-scram-sha-512 ks_filebeat
  else
    report filebeat-scram-sha-512 skip "the Filebeat 8.8.2 build is not at $FILEBEAT_DIST (set FILEBEAT_DIST)"
  fi
  kafka_client negative ks_negative
  kafka_stop ks-single
}

# --- re-authentication -----------------------------------------------------------------

ks_reauth() {
  local out log4j cfg_c cfg_p ppid cpid expected got n_c n_p t0 secs
  out=$(kafka_tool 3.9 kafka-configs --zookeeper "$KS_ZK/reauth" --alter \
    --add-config 'SCRAM-SHA-256=[iterations=4096,password=alice256-secret]' --entity-type users --entity-name alice256 2>&1)
  kafka_expect "3.9 kafka-configs --zookeeper alice256" "$out" "Completed updating config for entity: user-principal 'alice256'\." || return 1
  out=$(kafka_tool 3.9 kafka-configs --zookeeper "$KS_ZK/reauth" --alter \
    --add-config 'SCRAM-SHA-512=[password=bob512-secret]' --entity-type users --entity-name bob512 2>&1)
  kafka_expect "3.9 kafka-configs --zookeeper bob512" "$out" "Completed updating config for entity: user-principal 'bob512'\." || return 1
  ks_broker ks-reauth "$KS_ZK/reauth" 1 "inter.broker.listener.name=PLAINTEXT" "connections.max.reauth.ms=4000" \
    || { kafka_fail "the $TARGET broker with connections.max.reauth.ms=4000 did not start"; return 1; }
  if ! out=$(ks_py "$KS_CHECK" reauth "$KS_SASL" 4000 2>"$SUITE_WORK/reauth-checks.txt"); then
    cat "$SUITE_WORK/reauth-checks.txt" >&2
    kafka_fail "$out"
    return 1
  fi
  cat "$SUITE_WORK/reauth-checks.txt" >&2
  KAFKA_DETAIL=$out
  ks_py "$KS_PY" create-topics "$KS_PLAIN" 1 1 1 ks-reauth >/dev/null 2>&1 \
    || { kafka_fail "could not create topic ks-reauth"; return 1; }

  # the 3.9 clients' Selector at DEBUG: "Successfully re-authenticated with ..."
  log4j="$SUITE_WORK/reauth-log4j.properties"
  printf '%s\n' "log4j.rootLogger=WARN, stderr" \
    "log4j.appender.stderr=org.apache.log4j.ConsoleAppender" \
    "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout" \
    "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n" \
    "log4j.appender.stderr.Target=System.err" \
    "log4j.logger.org.apache.kafka.common.network.Selector=DEBUG" >"$log4j"
  cfg_c="$SUITE_WORK/reauth-consumer.properties"
  cfg_p="$SUITE_WORK/reauth-producer.properties"
  ks_client_config "$cfg_c" SCRAM-SHA-256 alice256 alice256-secret
  ks_client_config "$cfg_p" SCRAM-SHA-512 bob512 bob512-secret
  expected=$(seq 1 15 | sed 's/.*/reauth line &/')
  t0=$(date +%s)
  KAFKA_OPTS="-Dlog4j.configuration=file:$log4j" kafka_tool 3.9 kafka-console-consumer \
    --bootstrap-server "$KS_SASL" --topic ks-reauth --consumer.config "$cfg_c" --from-beginning \
    --max-messages 15 --timeout-ms 30000 >"$SUITE_WORK/reauth-consumer.out" 2>"$SUITE_WORK/reauth-consumer.err" &
  cpid=$!
  KS_PIDS+=("$cpid")
  { for i in $(seq 1 15); do echo "reauth line $i"; sleep 1; done; } |
    KAFKA_OPTS="-Dlog4j.configuration=file:$log4j" kafka_tool 3.9 kafka-console-producer \
      --bootstrap-server "$KS_SASL" --topic ks-reauth --producer.config "$cfg_p" \
      >"$SUITE_WORK/reauth-producer.out" 2>"$SUITE_WORK/reauth-producer.err" &
  ppid=$!
  KS_PIDS+=("$ppid")
  wait "$ppid"; wait "$cpid"
  secs=$(($(date +%s) - t0))
  got=$(cat "$SUITE_WORK/reauth-consumer.out")
  n_c=$(grep -c 'Successfully re-authenticated' "$SUITE_WORK/reauth-consumer.err")
  n_p=$(grep -c 'Successfully re-authenticated' "$SUITE_WORK/reauth-producer.err")
  if [ "$got" != "$expected" ]; then
    printf '%s\n' "---- consumer got:" "$got" >&2
    grep -v DEBUG "$SUITE_WORK/reauth-consumer.err" | tail -n 20 >&2
    kafka_fail "the 3.9 console consumer (re-authenticating every <4s) did not get the 15 lines produced over ${secs}s in order"
    return 1
  fi
  if [ "$n_c" -lt 2 ] || [ "$n_p" -lt 2 ]; then
    kafka_fail "the 3.9 clients re-authenticated only $n_c (consumer) / $n_p (producer) times in ${secs}s, expected at least 2 each"
    return 1
  fi
  grep -E 'Failed (re-)?authentication|expired' "$SUITE_WORK/reauth-consumer.err" "$SUITE_WORK/reauth-producer.err" | head -5 >&2
  KAFKA_DETAIL="$KAFKA_DETAIL; 3.9 console consumer (SCRAM-SHA-256) got the 15 lines the 3.9 console producer (SCRAM-SHA-512) wrote over ${secs}s, re-authenticating $n_c / $n_p times"
  kafka_stop ks-reauth
}

# --- cluster ----------------------------------------------------------------------------

ks_cluster_synced() {
  local p l isr n=0
  while read -r p l isr; do
    [ "$l" = none ] && return 1
    [ "$(tr ',' '\n' <<<"$isr" | grep -c .)" -eq 2 ] || return 1
    n=$((n + 1))
  done
  [ "$n" -eq 2 ]
}

ks_cluster() {
  local out i plain=() sasl=() boot
  out=$(kafka_tool 3.9 kafka-configs --zookeeper "$KS_ZK/cluster" --alter \
    --add-config 'SCRAM-SHA-512=[password=admin512-secret]' --entity-type users --entity-name admin512 2>&1)
  kafka_expect "3.9 kafka-configs --zookeeper admin512" "$out" "Completed updating config for entity: user-principal 'admin512'\." || return 1
  for i in 1 2; do
    KS_SCRAM512_JAAS='org.apache.kafka.common.security.scram.ScramLoginModule required username="admin512" password="admin512-secret";' \
      ks_broker "ks-cluster-b$i" "$KS_ZK/cluster" "$i" \
      "inter.broker.listener.name=SASL_PLAINTEXT" "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512" \
      || { kafka_fail "broker $i (inter-broker SASL_PLAINTEXT, SCRAM-SHA-512) did not start"; return 1; }
    plain+=("$KS_PLAIN")
    sasl+=("$KS_SASL")
  done
  out=$(ks_py "$KS_PY" create-topics "${plain[0]}" 2 2 2 ks-cluster 2>&1) \
    || { printf '%s\n' "$out" >&2; kafka_fail "could not create ks-cluster (2 partitions, replication 2)"; return 1; }
  if ! kafka_wait_partitions "${plain[0]}" ks-cluster 60 ks_cluster_synced; then
    kafka_fail "ks-cluster: not both replicas in sync within 60s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  boot="${sasl[0]},${sasl[1]}"
  out=$(ks_py "$KS_PY" roundtrip kafka-python "$boot" ks-cluster PLAIN alice alice-secret 200 --acks all 2>&1) \
    || { printf '%s\n' "$out" | tail -n 30 >&2; kafka_fail "acks=all: $(tail -n 1 <<<"$out")"; return 1; }
  if ! kafka_wait_partitions "${plain[1]}" ks-cluster 30 ks_cluster_synced; then
    kafka_fail "ks-cluster: a replica left the ISR after the writes: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  KAFKA_DETAIL="brokers 1 and 2 replicating over SASL_PLAINTEXT (SCRAM-SHA-512 as admin512): ks-cluster replication 2, min.insync.replicas 2, $(awk '{printf "%spartition %s leader %s isr %s", (NR > 1 ? ", " : ""), $1, $2, $3}' <<<"$KAFKA_PARTITIONS"); $(tail -n 1 <<<"$out")"
  kafka_stop_all
}

# --- mixed cluster ----------------------------------------------------------------------

KS_MIXED_JAAS='org.apache.kafka.common.security.scram.ScramLoginModule required username="admin512" password="admin512-secret";'

# ks_zk_brokers CHROOT: what ZooKeeper says below CHROOT: a line "controller ID" (from
# /controller; "controller none" when absent) and one "broker ID ENDPOINTS" per
# /brokers/ids/ID.
ks_zk_brokers() {
  ks_py - "$KS_ZK$1" <<'PY'
import json, sys
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
zk = KazooClient(hosts=sys.argv[1], timeout=15)
zk.start(timeout=15)
try:
    print("controller %d" % json.loads(zk.get("/controller")[0])["brokerid"])
except NoNodeError:
    print("controller none")
for b in sorted(zk.get_children("/brokers/ids"), key=int):
    print("broker %s %s" % (b, ",".join(json.loads(zk.get("/brokers/ids/" + b)[0]).get("endpoints", []))))
zk.stop()
PY
}

# partition 0 led by broker 1, partition 1 by broker 2 (--replica-assignment 1:2,2:1),
# both brokers in each ISR
ks_mixed_led() {
  local p l isr n=0
  while read -r p l isr; do
    [ "$l" = $((p + 1)) ] || return 1
    [ "$(tr ',' '\n' <<<"$isr" | sort | tr '\n' ' ')" = "1 2 " ] || return 1
    n=$((n + 1))
  done
  [ "$n" -eq 2 ]
}

# broker 2 gone: both partitions led by broker 1, ISR broker 1 alone
ks_mixed_without2() {
  local p l isr n=0
  while read -r p l isr; do
    [ "$l" = 1 ] && [ "$isr" = 1 ] || return 1
    n=$((n + 1))
  done
  [ "$n" -eq 2 ]
}

# ks_mixed_sends NAME PORT: how many times broker NAME's (Apache) controller connected
# its RequestSendThread to 127.0.0.1:PORT (the logs of every start of NAME).
ks_mixed_sends() {
  cat "$(kafka_server_dir "$1")"/server.log{,.[0-9]*} 2>/dev/null |
    grep -c "connected to 127\.0\.0\.1:$2 (id: [0-9]* rack: null) for sending state change requests"
}

# ks_mixed_ctl_errors NAME: the error answers broker NAME's (Apache) controller logged
# for its LeaderAndIsr and UpdateMetadata requests (a top-level error in the response).
ks_mixed_ctl_errors() {
  cat "$(kafka_server_dir "$1")"/server.log{,.[0-9]*} 2>/dev/null |
    grep -E 'Received error [A-Z_]+ in (LeaderAndIsr|UpdateMetadata) response'
}

# ks_mixed_topic TOPIC BOOTSTRAP: kafka-topics --create, two partitions, 1:2,2:1
ks_mixed_topic() {
  local out
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$2" --topic "$1" \
    --replica-assignment 1:2,2:1 --config min.insync.replicas=2 2>&1)
  kafka_expect "kafka-topics --create $1 --replica-assignment 1:2,2:1" "$out" "Created topic \"?$1\"?\."
}

ks_mixed() {
  local out errs i t ctl other ctl_name zkinfo endpoint sport n0 n1 t0 rejoin_s after stop_s
  local plain=() sasl=() targets=(apache "$TARGET") topic=ks-mixed
  out=$(kafka_tool 3.9 kafka-configs --zookeeper "$KS_ZK/mixed" --alter \
    --add-config 'SCRAM-SHA-512=[password=admin512-secret]' --entity-type users --entity-name admin512 2>&1)
  kafka_expect "3.9 kafka-configs --zookeeper admin512" "$out" "Completed updating config for entity: user-principal 'admin512'\." || return 1
  for i in 1 2; do
    t=${targets[$((i - 1))]}
    KS_BROKER_TARGET=$t KS_SCRAM512_JAAS=$KS_MIXED_JAAS ks_broker "ks-mixed-b$i" "$KS_ZK/mixed" "$i" \
      "inter.broker.listener.name=SASL_PLAINTEXT" "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512" \
      || { kafka_fail "broker $i ($t; inter-broker SASL_PLAINTEXT, SCRAM-SHA-512) did not start (see $(kafka_server_dir "ks-mixed-b$i"))"; return 1; }
    plain+=("$KS_PLAIN")
    sasl+=("$KS_SASL")
  done
  ks_mixed_topic "$topic" "${plain[0]}" || return 1
  if ! kafka_wait_partitions "${plain[0]}" "$topic" 60 ks_mixed_led; then
    kafka_fail "$topic: not partition 0 led by 1 and partition 1 by 2, both ISRs full, within 60s (broker 1's view): $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  if ! kafka_wait_partitions "${plain[1]}" "$topic" 30 ks_mixed_led; then
    kafka_fail "$topic: broker 2 (${targets[1]}) does not describe it as broker 1 does within 30s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi

  # The controller reaches the other broker at that broker's SASL_PLAINTEXT endpoint (the
  # inter-broker listener): its partitions led and in sync prove that LeaderAndIsr arrived.
  zkinfo=$(ks_zk_brokers /mixed 2>&1) || { kafka_fail "could not read /mixed/controller: $zkinfo"; return 1; }
  ctl=$(sed -n 's/^controller //p' <<<"$zkinfo")
  case "$ctl" in 1 | 2) ;; *) kafka_fail "no controller in /mixed/controller: $(tr '\n' ';' <<<"$zkinfo")"; return 1 ;; esac
  other=$((3 - ctl))
  ctl_name="ks-mixed-b$ctl"
  sport=${sasl[$((other - 1))]##*:}
  endpoint=$(sed -n "s/^broker $other //p" <<<"$zkinfo")
  if ! tr ',' '\n' <<<"$endpoint" | grep -qx "SASL_PLAINTEXT://127.0.0.1:$sport"; then
    kafka_fail "/mixed/brokers/ids/$other has endpoints '$endpoint', not its SASL_PLAINTEXT listener 127.0.0.1:$sport"
    return 1
  fi
  n0=""
  if [ "${targets[$((ctl - 1))]}" = apache ]; then
    n0=$(ks_mixed_sends "$ctl_name" "$sport")
    if [ "$n0" -lt 1 ]; then
      kafka_fail "the Apache controller (broker $ctl) never logged a connection to broker $other's SASL listener 127.0.0.1:$sport"
      return 1
    fi
  fi

  out=$(ks_py "$KS_PY" roundtrip kafka-python "${sasl[0]},${sasl[1]}" "$topic" PLAIN alice alice-secret 200 --acks all 2>&1) \
    || { printf '%s\n' "$out" | tail -n 30 >&2; kafka_fail "acks=all: $(tail -n 1 <<<"$out")"; return 1; }
  if ! kafka_wait_partitions "${plain[0]}" "$topic" 30 ks_mixed_led; then
    kafka_fail "$topic: a replica left the ISR after the writes: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  KAFKA_DETAIL="broker 1 apache, broker 2 ${targets[1]}, controller broker $ctl (/controller), broker $other registered with SASL_PLAINTEXT://127.0.0.1:$sport${n0:+ (the controller connected to it $n0 time(s))}; $topic 1:2,2:1: $(awk '{printf "%spartition %s leader %s isr %s", (NR > 1 ? ", " : ""), $1, $2, $3}' <<<"$KAFKA_PARTITIONS"); $(tail -n 1 <<<"$out")"

  # Broker 2 stops (TERM) and comes back on its data: the controller's channel to it
  # and its fetchers to broker 1 log in anew.
  t0=$(date +%s)
  kafka_stop ks-mixed-b2
  if ! kafka_wait_partitions "${plain[0]}" "$topic" 30 ks_mixed_without2; then
    kafka_fail "$topic: broker 2 stopped, but broker 1 did not lead both partitions alone within 30s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  stop_s=$(($(date +%s) - t0))
  kafka_restart ks-mixed-b2 || { kafka_fail "broker 2 (${targets[1]}) did not restart (see $(kafka_server_dir ks-mixed-b2))"; return 1; }
  t0=$(date +%s)
  if ! kafka_wait_partitions "${plain[0]}" "$topic" 60 ks_cluster_synced; then
    kafka_fail "$topic: broker 2 restarted, but not back in both ISRs within 60s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  rejoin_s=$(($(date +%s) - t0))
  after=$(awk '{printf "%spartition %s leader %s isr %s", (NR > 1 ? ", " : ""), $1, $2, $3}' <<<"$KAFKA_PARTITIONS")
  if [ -n "$n0" ]; then
    n1=$(ks_mixed_sends "$ctl_name" "$sport")
    if [ "$n1" -le "$n0" ]; then
      kafka_fail "broker 2 is back in the ISRs, but the Apache controller logged no new connection to its SASL listener ($n1 in all)"
      return 1
    fi
  fi
  # A second topic with the same assignment: the restarted broker 2 leads partition 1
  # again, so broker 1 fetches from it (a new login to broker 2) for acks=all. And
  # broker 2 leads it on the controller's word: the controller sent the restarted broker
  # LeaderAndIsr for its ks-mixed replicas at once, and a broker that follows the state
  # znodes until its first LeaderAndIsr (keel does) follows only LeaderAndIsr after it.
  ks_mixed_topic ks-mixed-after "${plain[0]}" || return 1
  if ! kafka_wait_partitions "${plain[0]}" ks-mixed-after 60 ks_mixed_led; then
    kafka_fail "ks-mixed-after (created after the restart): not led 1 / 2 with full ISRs within 60s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  out=$(ks_py "$KS_PY" roundtrip kafka-python "${sasl[0]},${sasl[1]}" ks-mixed-after PLAIN alice alice-secret 200 --acks all 2>&1) \
    || { printf '%s\n' "$out" | tail -n 30 >&2; kafka_fail "after the restart, acks=all to ks-mixed-after: $(tail -n 1 <<<"$out")"; return 1; }
  if [ -n "$n0" ] && errs=$(ks_mixed_ctl_errors "$ctl_name"); then
    printf '%s\n' "$errs" | head -5 >&2
    kafka_fail "the Apache controller (broker $ctl) got error answers to LeaderAndIsr / UpdateMetadata: $(head -n 1 <<<"$errs" | cut -c1-300)"
    return 1
  fi
  KAFKA_DETAIL="$KAFKA_DETAIL; broker 2 stopped (broker 1 alone in both ISRs after ${stop_s}s), restarted, both ISRs full ${rejoin_s}s later ($after)${n0:+, the controller connected to it anew}; ks-mixed-after 1:2,2:1 created then: $(tail -n 1 <<<"$out")"
  kafka_stop_all
}

python_env || {
  for c in $(sed -n 's/^# clients: //p' "$0" | head -1); do report "$c" fail "python venv"; done
  exit 1
}
zk_start "$(kafka_zk_target)" standalone ks-zk || {
  for c in $(sed -n 's/^# clients: //p' "$0" | head -1); do report "$c" fail "the $(kafka_zk_target) ZooKeeper did not start"; done
  exit 1
}
KS_ZK=$ZK_CONNECT
# The chroots exist before a tool writes under them: 3.9's kafka-configs --zookeeper
# cannot create a missing chroot ("Path length must be > 0"); a broker creates its own.
ks_py - "$KS_ZK" <<'PY' || log "could not create the chroots /reauth, /cluster and /mixed (kazoo)"
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=15)
zk.start(timeout=15)
for path in ("/reauth", "/cluster", "/mixed"):
    zk.ensure_path(path)
zk.stop()
PY
ks_single
kafka_client reauth ks_reauth
kafka_stop_all
kafka_client cluster ks_cluster
kafka_stop_all
kafka_client mixed-cluster ks_mixed
exit "$KAFKA_SUITE_RC"
