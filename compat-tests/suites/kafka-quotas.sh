# needs: none
# clients: configs-2.2-zookeeper configs-3.9-bootstrap raw-quota-apis produce-throttle fetch-throttle request-throttle no-quota-unaffected user-quota java-clients
# timeout: 300
#
# kafka-quotas: client quotas (producer_byte_rate, consumer_byte_rate, request_percentage)
# as Apache Kafka 3.9.x (ZooKeeper mode) stores, describes and enforces them. One ZooKeeper of kafka_zk_target's kind, chroot /quota (made with kazoo),
# one broker of the target (apache: Apache $KAFKA_ZK_VERSION; keel: keel) with the same
# properties on both: listeners PLAINTEXT://127.0.0.1:<p1> (readiness probe, topic
# creation, principal User:ANONYMOUS) and SASL_PLAINTEXT://127.0.0.1:<p2>;
# sasl.enabled.mechanisms=PLAIN; listener.name.sasl_plaintext.plain.sasl.jaas.config =
# PlainLoginModule with user_admin, user_alice, user_bob, user_carol, user_dave, user_erin
# (password "<user>-secret"); inter.broker.listener.name=PLAINTEXT; no authorizer; the
# default quota.window.num=11 and quota.window.size.seconds=1 (not set).
#
# The quota arithmetic every throttle check holds a target to (ClientQuotaManager, Rate,
# SampledStat, QuotaUtils): per quota entity a rate over 11 samples of 1 s; a request
# records its bytes (Produce: the request's header + body; Fetch: 4 + the response body
# it would send), and is throttled when bytes / W > quota, W = max(ms since the oldest
# sample, 10 whole samples) (during a client's first 10 s: W in [10000, 11000) ms), by
# throttle_time_ms = bytes / quota * 1000 - W. Asserted with +-25% and 300 ms around
# [B/Q*1000 - 11000, B/Q*1000 - 10000]; sizes keep every check far from a boundary.
# A throttled connection is muted (KIP-219): the response comes at once, the next request
# is read only after throttle_time_ms (asserted: answered >= 50% of it later). The quota
# entity of a request: the most specific of ClientQuotaManager's eight levels
# (users/<u>/clients/<c>, users/<u>/clients/<default>, users/<u>,
# users/<default>/clients/<c>, users/<default>/clients/<default>, users/<default>,
# clients/<c>, clients/<default>); user-level quotas are shared by the user's client ids.
# The broker learns quota changes from ZooKeeper (/config/changes); the Python checks wait
# for a change to be in force with a sentinel (python/kafka_quota_check.py settle()).
#
# Names carry the run's suffix R. Topics made up front (PLAINTEXT, one partition):
# qz-sentinel-R, qz-cfg-R, qz-p-R, qz-f-R, qz-f2-R, qz-n-R, qz-u-R, qz-perf-R. After each
# client every quota the broker describes is removed (kafka_quota_check.py wipe).
#
#   configs-2.2-zookeeper: the seed's 2.2.1 `kafka-configs --zookeeper <ZK>/quota --alter`
#     (the tool writes ZooKeeper itself): --add-config 'producer_byte_rate=10240,
#     consumer_byte_rate=20480' --entity-type clients --entity-name qz22-c-R prints
#     "Completed Updating config for entity: client-id 'qz22-c-R'." and the broker then
#     throttles that client id's ~128 KB Produce (within 30s); users qz22-u-R
#     producer_byte_rate=1048576000 ("user-principal 'qz22-u-R'"), users qz22-u-R +
#     clients qz22-c-R consumer_byte_rate=1048576000 ("user-principal 'qz22-u-R',
#     client-id 'qz22-c-R'"), clients --entity-default producer_byte_rate=1048576000
#     ("default client-id"). --describe (lines compared with their key=value pairs as
#     sets): --entity-type clients = "Configs for client-id 'qz22-c-R' are
#     producer_byte_rate=10240,consumer_byte_rate=20480" and "Configs for default client-id
#     are producer_byte_rate=1048576000"; --entity-type users = "Configs for user-principal
#     'qz22-u-R' are producer_byte_rate=1048576000"; --entity-type users --entity-name
#     qz22-u-R --entity-type clients = the <user, client> line. ZooKeeper (parsed JSON):
#     /config/clients/qz22-c-R = {"version":1,"config":{"producer_byte_rate":"10240",
#     "consumer_byte_rate":"20480"}}, /config/users/qz22-u-R, /config/users/qz22-u-R/
#     clients/qz22-c-R, /config/clients/<default> alike; /config/changes/config_change_
#     <10 digits> = {"version":2,"entity_path":"clients/qz22-c-R"} (one per change). The
#     broker's DescribeClientQuotas returns exactly these four (values as doubles). Then
#     --delete-config producer_byte_rate: the znode keeps consumer_byte_rate and the client
#     id is no longer throttled (within 30s); --delete-config consumer_byte_rate: 2.2.1
#     leaves {"version":1,"config":{}} (3.9 would delete it), the broker describes nothing
#     for it; three notifications for clients/qz22-c-R.
#   configs-3.9-bootstrap: 3.9 `kafka-configs --bootstrap-server <PLAINTEXT>` (the broker's
#     AlterClientQuotas / DescribeClientQuotas): --add-config 'producer_byte_rate=10240,
#     consumer_byte_rate=20971520' clients qz39-c-R ("Completed updating config for client
#     qz39-c-R."; the broker throttles it within 30s); 'producer_byte_rate=1048576000,
#     request_percentage=200' users qz39-u-R ("... for user qz39-u-R."); users qz39-u-R +
#     clients qz39-c-R consumer_byte_rate=1048576000 ("... for user qz39-u-R.");
#     users --entity-default producer_byte_rate=1048576000 ("Completed updating default
#     config for users in the cluster."). ZooKeeper after each: the value as its config
#     type prints it (LONG "10240", DOUBLE "200.0"), a notification per change. --describe:
#     --entity-type users = "Quota configs for user-principal 'qz39-u-R' are
#     producer_byte_rate=1.048576E9, request_percentage=200.0" and "Quota configs for the
#     default user-principal are producer_byte_rate=1.048576E9" (Java's Double.toString);
#     --entity-type clients = "Quota configs for client-id 'qz39-c-R' are
#     producer_byte_rate=10240.0, consumer_byte_rate=2.097152E7"; the <user, client> one;
#     --entity-type users --entity-default. --delete-config: the default user's only key
#     (its znode deleted), qz39-u-R's request_percentage (the znode keeps the rest), the
#     <user, client>'s only key (deleted with /config/users/qz39-u-R/clients; the user
#     znode stays), both keys of qz39-c-R (znode deleted; the client id is free again
#     within 30s); two notifications each.
#   raw-quota-apis: python/kafka_quota_check.py raw (its comments name each check):
#     AlterClientQuotas v0 with 21 entries, one response entry per distinct entity: error 0
#     with a null message, or 42 "Invalid configuration key foo_rate" / "Configuration
#     producer_byte_rate must be a LONG value" (1.5, and -1024: a negative LONG fails the
#     integrality check) / "Invalid quota entity combination, IP entity should not be used
#     with user/client ID entity." / "Invalid empty client quota entity" / "Unhandled client
#     quota entity type: foo" / "Empty client-id not supported" / "Invalid configuration
#     key SCRAM-SHA-256" (client) / "Invalid configuration key producer_byte_rate" (ip);
#     a SCRAM key on a user -> -1 with a null message; a removal of a key never set ->
#     0, no znode but a notification; the same entity type twice -> the last name wins;
#     two entries for one entity -> both applied, one response entry; a client id with
#     ' ', '/', '*' stored as qr%20a%2Fb%2A..; validate_only (v1) validates and writes
#     nothing (request_percentage -5 and producer_byte_rate NaN pass, +Infinity 42);
#     DescribeClientQuotas v0 and v1: no filter (all user, client, user+client and ip
#     entities), strict with no components (nothing), EXACT / DEFAULT / SPECIFIED per
#     type, strict or not, ip filters; errors with null entries: 42 "Duplicate user filter
#     component entity type", "Duplicate client filter component entity type", the
#     ip+user combination message, "Unexpected empty filter component entity type", 35
#     "Custom entity type 'foo' not supported", -1 null for match type 3 or EXACT without
#     a name; removals: an entity's znode goes with its last key, a <user, client>'s takes
#     the empty clients/ and user znodes along, a user with a child keeps
#     {"version":1,"config":{}}.
#   produce-throttle: client id qp-x-R (PLAINTEXT) with producer_byte_rate=10240, ~32 KB
#     Produce v9 (acks=1) back to back: 1-3 throttle 0 (96 KB < 10 s of quota), the 4th in
#     the band (~1.5-2.5 s); a new connection with the same client id is throttled too
#     (one sensor per client id) and answered at once (not muted); the 5th request on the
#     first connection is answered >= 50% of the 4th's throttle later, in its band; all 6
#     batches appended (log end offset 6); the quota raised to 100M: a ~1 KB Produce 0,
#     lowered to 1024: in the band of all the bytes so far against 1024 (a change applies
#     to the current window); client id qp-z-R (10240): 4 x 32 KB acks=0 (no responses),
#     then a ~1 KB acks=1 Produce answered >= 50% of the 4th's least throttle later (acks=0
#     mutes too), in its band; client id qp-y-R (no quota): 6 x 32 KB, 0 each.
#   fetch-throttle: consumer_byte_rate=10240 for qf-x-R, Fetch v11 (sessionless): 90 KB
#     (two 45 KB batches) from offset 0 -> throttle 0; one more batch, Fetch from offset 2
#     -> throttled in the band of both sizes, and the response is empty: error 0,
#     session_id 0, no topics at all; the same Fetch at once -> answered >= 50% of that
#     throttle later (muted) and throttled in the same band again (the throttled Fetch's
#     bytes were unrecorded), empty again. consumer_byte_rate=4096 for qf-cap-R: a Fetch
#     asking 1 MB of a 50 KB log gets at most 4096 * 10 = 40960 bytes of records (Apache:
#     exactly 40960, the last batch cut), throttle 0.
#   request-throttle: request_percentage=0.01 for qr-x-R (0.1 ms of request-handler time
#     per second; ClientRequestQuotaManager: each request records its handler time as
#     nanos * 100 / 1e9, throttle = (rate - quota) / quota * W capped at one sample, 1000
#     ms). Metadata v8 requests back to back on one connection until one answers
#     throttle_time_ms >= 200 (within 20000 requests / 60 s): some answer > 0, none
#     > 1000; the next request is answered >= 50% of the last throttle later (muted); on a
#     new connection a ~1 KB Produce (acks=1, no byte-rate quota) answers throttle > 0
#     and is appended, a Fetch from offset 0 answers throttle > 0 with no records; client
#     id qr-y-R: 300 Metadata requests, throttle 0 each.
#   no-quota-unaffected: while qn-x-R (producer_byte_rate=10240) is throttled and muted,
#     client id qn-y-R (PLAINTEXT) and SASL user bob (client id qn-b-R) send 8 ~32 KB
#     Produces each and a 1 MB Fetch each: all throttle 0, no error.
#   user-quota: the eight levels, each probe one ~128 KB Produce on a new connection (SASL
#     as the user, or PLAINTEXT = ANONYMOUS). Phase 1: users/alice 10240,
#     users/alice/clients/qa-vip-R 100M, users/dave 10240, users/dave/clients/<default>
#     100M, users/<default>/clients/qa-dc-R 100M, users/<default> 6400, clients/qa-cl-R
#     100M: alice/qa-vip 0 (1 beats 3), alice/qa-any in the 10240 band (3), then
#     alice/qa-any2's 1 KB throttled (the user quota is shared), dave/qa-any 0 (2 beats 3),
#     bob/qa-dc 0 (4 beats 6), bob/qa-any in the 6400 band (6), carol/qa-cl in the 6400
#     band (6 beats 7), ANONYMOUS/qa-anon in the 6400 band. Phase 2, +
#     users/<default>/clients/<default> 100M: bob/qa-any3 0, carol/qa-cl 0 (5 beats 6).
#     Phase 3, the user defaults removed, clients/<default> 9000: erin/qa-x in the 9000 band
#     (8), erin/qa-cl 0 (7 beats 8), bob/qa-any4 in the 9000 band, dave/qa-y 0 (2).
#   java-clients: clients/qz-perf-R producer_byte_rate=10240; 3.9
#     kafka-producer-perf-test (client.id=qz-perf-R, acks=1, 150 records of 1000 bytes,
#     --print-metrics) exits 0 with "150 records sent", its
#     producer-metrics:produce-throttle-time-max:{client-id=qz-perf-R} is > 0 (the client
#     read the broker's throttle_time_ms), and the log end offset is 150.

# shellcheck source=../lib/kafka-security.sh
. "$COMPAT_DIR/lib/kafka-security.sh"    # kafka_zk_ensure

set -u
kq_cleanup() {
  kafka_stop_all
  zk_stop_all
}
trap kq_cleanup EXIT
trap 'exit 143' TERM INT HUP

KQ_RUN=$(kafka_unique r)
KQ_RUN=${KQ_RUN#r-}
KQ_CHECK="$COMPAT_DIR/python/kafka_quota_check.py"
KQ_SASL_PY="$COMPAT_DIR/python/kafka_sasl_client.py"
KQ_ZK=""          # ZooKeeper host:port; the broker uses $KQ_ZK/quota
KQ_PLAIN=""       # the broker's PLAINTEXT listener
KQ_SASL=""        # its SASL_PLAINTEXT listener
KQ_JAAS='org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret" user_carol="carol-secret" user_dave="dave-secret" user_erin="erin-secret";'

kq_py() { timeout_run 150 "$PY_VENV/bin/python" "$@"; }

# kq_broker: the target's broker with this suite's properties; sets KQ_PLAIN and KQ_SASL.
kq_broker() {
  local sport props
  sport=$(free_port)
  props=$(printf '%s\n' \
    "sasl.enabled.mechanisms=PLAIN" \
    "listener.name.sasl_plaintext.plain.sasl.jaas.config=$KQ_JAAS" \
    "inter.broker.listener.name=PLAINTEXT")
  KAFKA_BROKER_ID=1 KAFKA_EXTRA_PROPS=$props KAFKA_EXTRA_LISTENERS="SASL_PLAINTEXT://127.0.0.1:$sport" \
    kafka_start "$TARGET" zk kq-b1 "$KQ_ZK/quota" || return 1
  KQ_PLAIN=$KAFKA_BOOTSTRAP
  KQ_SASL="127.0.0.1:$sport"
  wait_port "$sport" 10 || { log "the broker does not listen on its SASL port $sport"; return 1; }
}

# kq_zk DESC JSON: kafka_quota_check.py zk-check (znodes and notification counts).
kq_zk() {
  local out
  out=$(kq_py "$KQ_CHECK" zk-check "$KQ_ZK/quota" "$2" 2>"$SUITE_WORK/zk-check.txt") && return 0
  cat "$SUITE_WORK/zk-check.txt" >&2
  kafka_fail "$1: $out"
}

# kq_poll CLIENT_ID throttled|free WHY: until a Produce of that client id is (not) throttled.
kq_poll() {
  local out
  out=$(kq_py "$KQ_CHECK" throttle-poll "$KQ_PLAIN" "$1" "$2" 30 "qz-cfg-$KQ_RUN" 2>&1) && { log "$out"; return 0; }
  kafka_fail "$3: $out"
}

# kq_describe_lines PREFIX OUTPUT: kafka-configs --describe lines about PREFIX* entities
# or defaults, key=value pairs sorted (norm-describe).
kq_describe_lines() {
  kq_py "$KQ_CHECK" norm-describe <<<"$2" | grep -E -- "'$1[^']*'|default" || true
}

# kq_expect_lines DESC GOT WANT: the normalized --describe lines are exactly WANT's.
kq_expect_lines() {
  local want
  want=$(kq_py "$KQ_CHECK" norm-describe <<<"$3")
  [ "$2" = "$want" ] && return 0
  printf '%s\n' "---- $1: expected" "$want" "---- got" "$2" "----" >&2
  kafka_fail "$1: not the expected lines"
}

# kq_configs VER ARGS...: the real kafka-configs of that version, output in KQ_OUT,
# stderr kept in the suite's work dir.
KQ_OUT=""
kq_configs() {
  local ver=$1 rc
  shift
  if [ "$ver" = 2.2 ]; then
    KQ_OUT=$(kafka_tool 2.2 kafka-configs --zookeeper "$KQ_ZK/quota" "$@" 2>>"$SUITE_WORK/configs.err")
  else
    KQ_OUT=$(kafka_tool 3.9 kafka-configs --bootstrap-server "$KQ_PLAIN" "$@" 2>>"$SUITE_WORK/configs.err")
  fi
  rc=$?
  [ "$rc" = 0 ] && return 0
  printf '%s\n' "$KQ_OUT" >&2
  tail -n 20 "$SUITE_WORK/configs.err" >&2
  kafka_fail "$ver kafka-configs $* exited $rc"
}

# kq_broker_describe PREFIX: the broker's DescribeClientQuotas lines about PREFIX* or
# default entities.
kq_broker_describe() {
  kq_py "$KQ_CHECK" describe "$KQ_PLAIN" 2>&1 | grep -E -- "=$1|=<null>" || true
}

kq_wipe() {
  local out
  out=$(kq_py "$KQ_CHECK" wipe "$KQ_PLAIN" "$KQ_SASL" "$KQ_RUN" 2>&1) || log "cleanup: $out"
}

# --- configs-2.2-zookeeper ---------------------------------------------------------------

kq_configs22() {
  local c="qz22-c-$KQ_RUN" u="qz22-u-$KQ_RUN" got want t0 enforce_s free_s
  t0=$(date +%s)
  kq_configs 2.2 --alter --add-config 'producer_byte_rate=10240,consumer_byte_rate=20480' \
    --entity-type clients --entity-name "$c" || return 1
  kafka_expect "2.2.1 --alter clients $c" "$KQ_OUT" "^Completed Updating config for entity: client-id '$c'\.\$" || return 1
  kq_poll "$c" throttled "the broker did not enforce producer_byte_rate=10240 the 2.2.1 tool wrote for $c" || return 1
  enforce_s=$(($(date +%s) - t0))
  kq_configs 2.2 --alter --add-config 'producer_byte_rate=1048576000' --entity-type users --entity-name "$u" || return 1
  kafka_expect "2.2.1 --alter users $u" "$KQ_OUT" "^Completed Updating config for entity: user-principal '$u'\.\$" || return 1
  kq_configs 2.2 --alter --add-config 'consumer_byte_rate=1048576000' --entity-type users --entity-name "$u" \
    --entity-type clients --entity-name "$c" || return 1
  kafka_expect "2.2.1 --alter users $u clients $c" "$KQ_OUT" \
    "^Completed Updating config for entity: user-principal '$u', client-id '$c'\.\$" || return 1
  kq_configs 2.2 --alter --add-config 'producer_byte_rate=1048576000' --entity-type clients --entity-default || return 1
  kafka_expect "2.2.1 --alter clients --entity-default" "$KQ_OUT" "^Completed Updating config for entity: default client-id\.\$" || return 1

  kq_configs 2.2 --describe --entity-type clients || return 1
  got=$(kq_describe_lines qz22- "$KQ_OUT")
  kq_expect_lines "2.2.1 --describe --entity-type clients" "$got" "$(printf '%s\n' \
    "Configs for client-id '$c' are producer_byte_rate=10240,consumer_byte_rate=20480" \
    "Configs for default client-id are producer_byte_rate=1048576000")" || return 1
  kq_configs 2.2 --describe --entity-type users || return 1
  got=$(kq_describe_lines qz22- "$KQ_OUT")
  kq_expect_lines "2.2.1 --describe --entity-type users" "$got" \
    "Configs for user-principal '$u' are producer_byte_rate=1048576000" || return 1
  kq_configs 2.2 --describe --entity-type users --entity-name "$u" --entity-type clients || return 1
  got=$(kq_describe_lines qz22- "$KQ_OUT")
  kq_expect_lines "2.2.1 --describe --entity-type users --entity-name $u --entity-type clients" "$got" \
    "Configs for user-principal '$u', client-id '$c' are consumer_byte_rate=1048576000" || return 1

  kq_zk "ZooKeeper after the 2.2.1 tool's changes" "{\"nodes\": {
    \"/config/clients/$c\": {\"producer_byte_rate\": \"10240\", \"consumer_byte_rate\": \"20480\"},
    \"/config/users/$u\": {\"producer_byte_rate\": \"1048576000\"},
    \"/config/users/$u/clients/$c\": {\"consumer_byte_rate\": \"1048576000\"},
    \"/config/clients/<default>\": {\"producer_byte_rate\": \"1048576000\"}},
    \"changes\": {\"clients/$c\": 1, \"users/$u\": 1, \"users/$u/clients/$c\": 1, \"clients/<default>\": \">=1\"}}" || return 1
  got=$(kq_broker_describe qz22-)
  want=$(printf '%s\n' \
    "client-id=$c: consumer_byte_rate=20480.0,producer_byte_rate=10240.0" \
    "client-id=$c user=$u: consumer_byte_rate=1048576000.0" \
    "client-id=<null>: producer_byte_rate=1048576000.0" \
    "user=$u: producer_byte_rate=1048576000.0" | LC_ALL=C sort)
  if [ "$(LC_ALL=C sort <<<"$got")" != "$want" ]; then
    printf '%s\n' "---- the broker's DescribeClientQuotas, expected" "$want" "---- got" "$got" >&2
    kafka_fail "the broker's DescribeClientQuotas does not show the quotas the 2.2.1 tool wrote"
    return 1
  fi

  t0=$(date +%s)
  kq_configs 2.2 --alter --delete-config producer_byte_rate --entity-type clients --entity-name "$c" || return 1
  kafka_expect "2.2.1 --alter --delete-config" "$KQ_OUT" "^Completed Updating config for entity: client-id '$c'\.\$" || return 1
  kq_poll "$c" free "the broker still throttles $c after the 2.2.1 tool removed its producer_byte_rate" || return 1
  free_s=$(($(date +%s) - t0))
  kq_zk "ZooKeeper after --delete-config producer_byte_rate" \
    "{\"nodes\": {\"/config/clients/$c\": {\"consumer_byte_rate\": \"20480\"}}}" || return 1
  kq_configs 2.2 --alter --delete-config consumer_byte_rate --entity-type clients --entity-name "$c" || return 1
  kq_zk "ZooKeeper after the 2.2.1 tool removed the last key" \
    "{\"nodes\": {\"/config/clients/$c\": {}}, \"changes\": {\"clients/$c\": 3}}" || return 1
  got=$(kq_broker_describe qz22- | grep -F -- "client-id=$c:" || true)
  [ -z "$got" ] || { kafka_fail "the broker still describes $c with an empty config znode: $got"; return 1; }
  KAFKA_DETAIL="2.2.1 --zookeeper --alter clients/users/user+clients/client default: znodes {\"version\":1,\"config\":{..}} + notifications {\"version\":2,\"entity_path\":..}; enforced ${enforce_s}s after the tool started; --describe lines and the broker's DescribeClientQuotas agree; --delete-config: not throttled after ${free_s}s, an emptied znode {\"config\":{}} stays and is not described"
}

# --- configs-3.9-bootstrap ---------------------------------------------------------------

kq_configs39() {
  local c="qz39-c-$KQ_RUN" u="qz39-u-$KQ_RUN" got t0 enforce_s free_s
  t0=$(date +%s)
  kq_configs 3.9 --alter --add-config 'producer_byte_rate=10240,consumer_byte_rate=20971520' \
    --entity-type clients --entity-name "$c" || return 1
  kafka_expect "3.9 --alter clients $c" "$KQ_OUT" "^Completed updating config for client $c\.\$" || return 1
  kq_zk "ZooKeeper after --alter clients $c" "{\"nodes\": {
    \"/config/clients/$c\": {\"producer_byte_rate\": \"10240\", \"consumer_byte_rate\": \"20971520\"}},
    \"changes\": {\"clients/$c\": 1}}" || return 1
  kq_poll "$c" throttled "the broker did not enforce producer_byte_rate=10240 set through it for $c" || return 1
  enforce_s=$(($(date +%s) - t0))
  kq_configs 3.9 --alter --add-config 'producer_byte_rate=1048576000,request_percentage=200' \
    --entity-type users --entity-name "$u" || return 1
  kafka_expect "3.9 --alter users $u" "$KQ_OUT" "^Completed updating config for user $u\.\$" || return 1
  kq_zk "ZooKeeper after --alter users $u" "{\"nodes\": {
    \"/config/users/$u\": {\"producer_byte_rate\": \"1048576000\", \"request_percentage\": \"200.0\"}},
    \"changes\": {\"users/$u\": 1}}" || return 1
  kq_configs 3.9 --alter --add-config 'consumer_byte_rate=1048576000' \
    --entity-type users --entity-name "$u" --entity-type clients --entity-name "$c" || return 1
  kafka_expect "3.9 --alter users $u clients $c" "$KQ_OUT" "^Completed updating config for user $u\.\$" || return 1
  kq_zk "ZooKeeper after --alter users $u clients $c" "{\"nodes\": {
    \"/config/users/$u/clients/$c\": {\"consumer_byte_rate\": \"1048576000\"}},
    \"changes\": {\"users/$u/clients/$c\": 1}}" || return 1
  kq_configs 3.9 --alter --add-config 'producer_byte_rate=1048576000' --entity-type users --entity-default || return 1
  kafka_expect "3.9 --alter users --entity-default" "$KQ_OUT" "^Completed updating default config for users in the cluster\.\$" || return 1
  kq_zk "ZooKeeper after --alter users --entity-default" "{\"nodes\": {
    \"/config/users/<default>\": {\"producer_byte_rate\": \"1048576000\"}},
    \"changes\": {\"users/<default>\": \">=1\"}}" || return 1

  kq_configs 3.9 --describe --entity-type users || return 1
  got=$(kq_describe_lines qz39- "$KQ_OUT")
  kq_expect_lines "3.9 --describe --entity-type users" "$got" "$(printf '%s\n' \
    "Quota configs for user-principal '$u' are producer_byte_rate=1.048576E9, request_percentage=200.0" \
    "Quota configs for the default user-principal are producer_byte_rate=1.048576E9")" || return 1
  kq_configs 3.9 --describe --entity-type clients || return 1
  got=$(kq_describe_lines qz39- "$KQ_OUT")
  kq_expect_lines "3.9 --describe --entity-type clients" "$got" \
    "Quota configs for client-id '$c' are producer_byte_rate=10240.0, consumer_byte_rate=2.097152E7" || return 1
  kq_configs 3.9 --describe --entity-type users --entity-name "$u" --entity-type clients --entity-name "$c" || return 1
  got=$(kq_describe_lines qz39- "$KQ_OUT")
  kq_expect_lines "3.9 --describe users $u clients $c" "$got" \
    "Quota configs for user-principal '$u', client-id '$c' are consumer_byte_rate=1.048576E9" || return 1
  kq_configs 3.9 --describe --entity-type users --entity-default || return 1
  got=$(kq_describe_lines qz39- "$KQ_OUT")
  kq_expect_lines "3.9 --describe users --entity-default" "$got" \
    "Quota configs for the default user-principal are producer_byte_rate=1.048576E9" || return 1

  kq_configs 3.9 --alter --delete-config producer_byte_rate --entity-type users --entity-default || return 1
  kafka_expect "3.9 --delete-config users --entity-default" "$KQ_OUT" "^Completed updating default config for users in the cluster\.\$" || return 1
  kq_zk "ZooKeeper after the default user's last key was deleted" \
    "{\"nodes\": {\"/config/users/<default>\": null}}" || return 1
  kq_configs 3.9 --alter --delete-config request_percentage --entity-type users --entity-name "$u" || return 1
  kq_zk "ZooKeeper after --delete-config request_percentage" \
    "{\"nodes\": {\"/config/users/$u\": {\"producer_byte_rate\": \"1048576000\"}}}" || return 1
  kq_configs 3.9 --alter --delete-config consumer_byte_rate \
    --entity-type users --entity-name "$u" --entity-type clients --entity-name "$c" || return 1
  kq_zk "ZooKeeper after the <user, client>'s last key was deleted" "{\"nodes\": {
    \"/config/users/$u/clients/$c\": null, \"/config/users/$u/clients\": null,
    \"/config/users/$u\": {\"producer_byte_rate\": \"1048576000\"}}}" || return 1
  t0=$(date +%s)
  kq_configs 3.9 --alter --delete-config producer_byte_rate,consumer_byte_rate --entity-type clients --entity-name "$c" || return 1
  kafka_expect "3.9 --delete-config clients $c" "$KQ_OUT" "^Completed updating config for client $c\.\$" || return 1
  kq_zk "ZooKeeper after both keys of $c were deleted" "{\"nodes\": {\"/config/clients/$c\": null},
    \"changes\": {\"clients/$c\": 2, \"users/$u\": 2, \"users/$u/clients/$c\": 2, \"users/<default>\": \">=2\"}}" || return 1
  kq_poll "$c" free "the broker still throttles $c after its quotas were deleted through it" || return 1
  free_s=$(($(date +%s) - t0))
  KAFKA_DETAIL="3.9 --bootstrap-server --alter clients/users/user+clients/users default (LONG \"10240\", DOUBLE \"200.0\" in ZooKeeper), enforced ${enforce_s}s after the tool started; --describe users/clients/user+client/default (1.048576E9, 2.097152E7); --delete-config: emptied znodes deleted (a <user, client>'s clients/ too), not throttled ${free_s}s after"
}

# --- the Python clients --------------------------------------------------------------------

# kq_pychecks CMD: kafka_quota_check.py CMD PLAIN SASL ZK RUN; its check lines to the log.
kq_pychecks() {
  local out rc
  out=$(kq_py "$KQ_CHECK" "$1" "$KQ_PLAIN" "$KQ_SASL" "$KQ_ZK/quota" "$KQ_RUN" 2>"$SUITE_WORK/$1.txt")
  rc=$?
  cat "$SUITE_WORK/$1.txt" >&2
  if [ "$rc" != 0 ]; then
    kafka_fail "${out:-kafka_quota_check.py $1 exited $rc: $(tail -n 1 "$SUITE_WORK/$1.txt")}"
    return 1
  fi
  KAFKA_DETAIL=$out
}

# --- java-clients ------------------------------------------------------------------------

kq_java() {
  local c="qz-perf-$KQ_RUN" topic="qz-perf-$KQ_RUN" out max sent off rc
  out=$(kq_py "$KQ_CHECK" alter "$KQ_PLAIN" "$KQ_SASL" "$KQ_RUN" \
    "[{\"entity\": {\"client-id\": \"$c\"}, \"ops\": {\"producer_byte_rate\": 10240}}]" 2>&1) \
    || { kafka_fail "producer_byte_rate for $c: $out"; return 1; }
  out=$(kafka_tool 3.9 kafka-producer-perf-test --topic "$topic" --num-records 150 --record-size 1000 \
    --throughput -1 --print-metrics \
    --producer-props "bootstrap.servers=$KQ_PLAIN" "client.id=$c" acks=1 2>"$SUITE_WORK/perf.err")
  rc=$?
  printf '%s\n' "$out" >"$SUITE_WORK/perf.out"
  if [ "$rc" != 0 ]; then
    tail -n 20 "$SUITE_WORK/perf.err" >&2
    kafka_fail "kafka-producer-perf-test exited $rc"
    return 1
  fi
  sent=$(grep -E '^150 records sent, ' <<<"$out" | tail -n 1)
  [ -n "$sent" ] || { printf '%s\n' "$out" | tail -n 5 >&2; kafka_fail "kafka-producer-perf-test did not report 150 records sent"; return 1; }
  max=$(sed -n "s/^producer-metrics:produce-throttle-time-max:{client-id=$c} *: *//p" <<<"$out")
  if [ -z "$max" ] || ! awk -v m="$max" 'BEGIN { exit !(m + 0 > 0) }'; then
    grep -E 'throttle' <<<"$out" >&2
    kafka_fail "producer-metrics:produce-throttle-time-max of $c is '${max:-absent}', expected > 0"
    return 1
  fi
  off=$(kq_py "$KQ_CHECK" end-offset "$KQ_PLAIN" "$topic" 2>&1)
  [ "$off" = 150 ] || { kafka_fail "log end offset of $topic: $off, expected 150"; return 1; }
  KAFKA_DETAIL="3.9 kafka-producer-perf-test as $c (producer_byte_rate=10240): $(cut -d, -f1-2 <<<"$sent"); produce-throttle-time-max $max ms; log end offset 150"
}

# --- main ----------------------------------------------------------------------------------

kq_all_fail() {
  local c
  for c in $(sed -n 's/^# clients: //p' "$0" | head -1); do report "$c" fail "$1"; done
  exit 1
}

python_env || kq_all_fail "python venv"
zk_start "$(kafka_zk_target)" standalone kq-zk || kq_all_fail "the $(kafka_zk_target) ZooKeeper did not start"
KQ_ZK=$ZK_CONNECT
kafka_zk_ensure "$KQ_ZK" /quota || kq_all_fail "could not create the chroot /quota (kazoo)"
kq_broker || kq_all_fail "the $TARGET broker did not start (see $(kafka_server_dir kq-b1))"
log "run suffix $KQ_RUN"
kq_py "$KQ_SASL_PY" create-topics "$KQ_PLAIN" 1 1 1 "qz-sentinel-$KQ_RUN" "qz-cfg-$KQ_RUN" "qz-p-$KQ_RUN" \
  "qz-f-$KQ_RUN" "qz-f2-$KQ_RUN" "qz-n-$KQ_RUN" "qz-u-$KQ_RUN" "qz-perf-$KQ_RUN" >&2 \
  || kq_all_fail "could not create the topics over PLAINTEXT"

kafka_client configs-2.2-zookeeper kq_configs22
kq_wipe
kafka_client configs-3.9-bootstrap kq_configs39
kq_wipe
kafka_client raw-quota-apis kq_pychecks raw
kq_wipe
kafka_client produce-throttle kq_pychecks produce-throttle
kafka_client fetch-throttle kq_pychecks fetch-throttle
kafka_client request-throttle kq_pychecks request-throttle
kafka_client no-quota-unaffected kq_pychecks no-quota
kq_wipe
kafka_client user-quota kq_pychecks user-quota
kq_wipe
kafka_client java-clients kq_java
kq_wipe
exit "$KAFKA_SUITE_RC"
