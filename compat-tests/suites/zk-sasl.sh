# needs: none
# clients: zkcli-3.9 java-client kazoo curator-sasl negative kafka-broker keel-broker require-sasl
# timeout: 300
#
# zk-sasl: ZooKeeper client SASL with DIGEST-MD5, as Apache ZooKeeper 3.9.4 does it. The
# suite starts its own standalone server of the target's kind (apache: 3.9.4 from its
# Maven jar; keel: `$KEEL_BIN zookeeper zoo.cfg`), set up identically for both:
#   zoo.cfg: the usual lines (lib/zookeeper.sh) plus
#     authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
#   JAAS file: Server { org.apache.zookeeper.server.auth.DigestLoginModule required
#     user_super="super-secret" user_kafka="kafka-secret" user_alice="alice-secret"; };
#   given as -Djava.security.auth.login.config=<file>: on Apache's java command line, in
#   keel's environment as SERVER_JVMFLAGS (what zkServer.sh passes), both through
#   lib/zookeeper.sh's ZK_SERVER_JVMFLAGS.
# The clients log in with a JAAS Client section (DigestLoginModule username/password).
# A 3.9 Java client needs -Dzookeeper.fips-mode=false for DIGEST-MD5: FIPS mode is on by
# default in 3.9 and the client then refuses DIGEST-MD5 itself (zkcli-3.9 records that).
# Kafka 3.9.1's ZooKeeper client (3.8.4) uses DIGEST-MD5 without it.
#
# zkcli-3.9: zkCli.sh 3.9.4 (ZooKeeperMain, one JVM per command) as alice:
#   `create /sasl-<unique> hello sasl:alice:cdrwa` -> "Created /sasl-<unique>" after the
#   event "WatchedEvent state:SaslAuthenticated type:None path:null zxid: -1"; get ->
#   "hello"; getAcl -> exactly the two lines "'sasl,'alice" and ": cdrwa"; whoami ->
#   "Auth scheme: User", "sasl: alice", "ip: 127.0.0.1" (in that order: the server's
#   auth-id set is a ConcurrentHashMap-backed set, iterated by the ids' hash buckets).
#   Without a JAAS file: get -> "Insufficient permission : /sasl-<unique>", whoami ->
#   "Auth scheme: User", "ip: 127.0.0.1", no SaslAuthenticated event. Without
#   -Dzookeeper.fips-mode=false (the 3.9 default): "Client will not use DIGEST-MD5 as
#   SASL mechanism, because FIPS mode is enabled." and "KeeperErrorCode = AuthFailed for
#   /sasl-<unique>" (a client-side refusal; the server sees no SASL).
# java-client: java/zk/ZkSaslCheck.java on the 3.9.4 client, one JAAS file whose
#   sections each session picks with zookeeper.sasl.clientconfig (its header lists every
#   check): alice (whoAmI [sasl: alice, ip: 127.0.0.1], reads her node, getACL
#   sasl:alice:31, CREATOR_ALL_ACL stored as sasl:alice:cdrwa, ACL sasl:a@b@c ->
#   InvalidACL, creates a digest:bob-only node she cannot read); kafka (whoAmI [sasl:
#   kafka, ip]; getData, getChildren, setData, getACL, exists and create-under alice's
#   node -> "KeeperErrorCode = NoAuth for <path>"; exists of a missing node -> null);
#   super without zookeeper.superUser: whoAmI [sasl: super, ip]; it DOES read alice's
#   node (SASLAuthenticationProvider.matches accepts the id "super" for every sasl ACL)
#   but gets NoAuth on the digest:bob node (not a superuser); no JAAS file at all: events
#   SyncConnected only, whoAmI [ip: 127.0.0.1], NoAuth on alice's node, CREATOR_ALL_ACL
#   -> InvalidACL. Then the same server restarts on its data with
#   -Dzookeeper.superUser=super added: super's whoAmI is [sasl: super, super: , ip:
#   127.0.0.1] and it reads the digest:bob node and its unmasked ACL; alice and kafka as
#   before. The server restarts once more without it, for the clients after.
# negative: zkCli with alice/wrong password, and with an unknown user (mallory): the
#   event "WatchedEvent state:AuthFailed type:None path:null zxid: -1", the client's
#   "SASL authentication failed using login context 'Client'." with "...the quorum
#   member's saslToken is null." (the server's reply carries a null token), and
#   "KeeperErrorCode = AuthFailed for /sasl-<unique>". ZkSaslCheck `refused` (both):
#   events exactly SyncConnected, AuthFailed; state AUTH_FAILED; getData ->
#   "KeeperErrorCode = AuthFailed for <path>". python/zk_sasl_check.py `raw` on a plain
#   socket: the challenge realm="zk-sasl-md5",nonce="..",charset=utf-8,algorithm=md5-sess
#   (no qop field), rspauth=<32 hex> on success with err 0 and zxid 0, then whoAmI and
#   getData; a refused login gets ReplyHeader{xid echoed, zxid 0, err -115} with a null
#   token (20 bytes) and the server closes the connection; alice authenticates after.
#   Then zkCli as alice still reads "hello".
# kazoo: kazoo $KAZOO_VERSION with sasl_options DIGEST-MD5 (pure-sasl) as alice reads the
#   node and its ACL, creates a child with auth::cdrwa (stored as sasl:alice:cdrwa); an
#   anonymous kazoo gets NoAuthError; a wrong password and an unknown user: kazoo logs
#   "AUTH_FAILED closing: " (the err -115 reply), its listener sees CONNECTED then LOST
#   and get raises ConnectionClosedError; an alice session opened before still reads,
#   a new one too (python/zk_sasl_check.py `kazoo`).
# curator-sasl: Apache Curator $CURATOR_VERSION (CuratorFramework + recipes on the 3.9.4
#   client), java/zk/CuratorSecure.java `sasl` with -Dzookeeper.fips-mode=false and
#   -Djava.security.auth.login.config=java.jaas; each client built with
#   CuratorFrameworkFactory.builder().zkClientConfig(cfg), cfg naming its JAAS section
#   (zookeeper.sasl.clientconfig). A and B log in as alice (section Client) with an
#   ACLProvider giving every znode sasl:alice:cdrwa; K as kafka (ClientKafka); N with
#   zookeeper.sasl.client=false. whoAmI: A exactly [sasl: alice, ip: 127.0.0.1], K
#   [sasl: kafka, ip: 127.0.0.1], N [ip: 127.0.0.1]. A creates <node>-curator/config/data
#   ("v1") with creatingParentsIfNeeded; getACL of it and of <node>-curator (a parent
#   Curator made) -> exactly [sasl:alice:cdrwa]; B reads "v1"; K's and N's getData ->
#   NoAuthException. A CuratorCache on B holds "v1" and its change listener fires with
#   "v2" after A's setData. InterProcessMutex: A acquires, B's acquire(1 s) times out
#   leaving one lock node, K's acquire -> NoAuthException, B's acquire(15 s) is woken by
#   A's release, no lock nodes left after. DistributedAtomicLong: A increments to 1, 2, 3,
#   then A and B 5 times each at once -> post values 4..13 each once, get() 13 on both;
#   K's and N's getData of the counter and K's setData of the data node ->
#   NoAuthException, A still reads "v2"; A deletes the tree (deletingChildrenIfNeeded),
#   B's checkExists -> null.
# kafka-broker: Apache Kafka $KAFKA_ZK_VERSION (ZooKeeper mode) started against this
#   server with -Djava.security.auth.login.config=<Client section: kafka> in its JVM
#   options and zookeeper.set.acl=true. It must come up; a topic is created and 5
#   records produced and consumed (3.9 console tools, PLAINTEXT). getAcl without SASL of
#   /brokers/ids/1, /controller, /brokers/topics/<t>, /config/topics/<t>: exactly
#   "'sasl,'kafka", ": cdrwa", "'world,'anyone", ": r" (CREATOR_ALL_ACL + READ_ACL_UNSAFE);
#   /consumers: "'world,'anyone", ": cdrwa" (Kafka leaves it open); /config/users (a
#   sensitive path: no world read) -> "Insufficient permission : /config/users" without
#   SASL, "'sasl,'kafka", ": cdrwa" as kafka; `create /brokers/ids/99` without SASL ->
#   "Insufficient permission : /brokers/ids/99". Also /controller_epoch, /cluster/id,
#   /brokers/seqid, /config/changes secure. Then it must refuse to start with the
#   password of alice-wrong.jaas (KeeperException$AuthFailedException) and with
#   zookeeper.set.acl=true but no JAAS file (SecurityException).
# keel-broker: the same with a keel broker (KAFKA_OPTS names kafka.jaas, as
#   kafka-server-start.sh users pass it) under the chroot /keel-broker, which it creates
#   with the same ACLs (KafkaServer.createChrootIfNecessary).
# require-sasl: a second server with this set-up plus sessionRequireClientSASLAuth=true
#   (a zoo.cfg key Apache turns into -Dzookeeper.sessionRequireClientSASLAuth: the legacy
#   form of enforce.auth.enabled=true with the scheme sasl; AuthenticationHelper). Apache
#   3.9.4: a connection may open a session, but any request other than auth (100) and sasl
#   (102) without a sasl id gets ReplyHeader{xid, zxid 0, err -124
#   SESSIONCLOSEDREQUIRESASLAUTH}, no body, and the connection is closed; a failed SASL
#   login gets err -124 (not -115 AUTHFAILED) with a null token, then the close
#   (ZooKeeperServer.processSasl). ZkSaslCheck `required`: alice (SyncConnected,
#   SaslAuthenticated; whoAmI [sasl: alice, ip]) creates and reads a node; no SASL:
#   SyncConnected, then getData throws SessionClosedRequireAuthException "KeeperErrorCode
#   = Session closed because client failed to authenticate for <path>", Disconnected, a
#   reconnect to the same session (SyncConnected) and the same exception again; a wrong
#   password and an unknown user: what the Java client surfaces is exactly what -115
#   gives (it reads the null token as a failed login whatever the err): events
#   SyncConnected, AuthFailed, state AUTH_FAILED, getData -> "KeeperErrorCode = AuthFailed
#   for <path>", no reconnect loop. python/zk_sasl_check.py `required` tells -124 from
#   -115 on the wire: the 16-byte -124 reply and a close for getData without SASL and
#   after a successful digest auth packet; the refused logins' second reply err -124,
#   zxid 0, a null token (20 bytes), then EOF. kazoo: alice reads; without SASL and with
#   a wrong password the -124 reply ends kazoo's connection thread on
#   RuntimeError("Invalid error code") (not "AUTH_FAILED closing: " as for -115),
#   listener CONNECTED, LOST, a later get raises ConnectionClosedError.
# Every output is kept in $SUITE_WORK/*.out (zkCli's: zkcli.out).

set -u
cleanup() { kafka_stop_all; zk_stop_all; }
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

ZS_CLIENTS="zkcli-3.9 java-client kazoo curator-sasl negative kafka-broker keel-broker require-sasl"
ZS_RC=0
ZS_SASL_PROVIDER="authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
ZS_NODE="/sasl-$(date +%H%M%S)-$$-$RANDOM"
ZS_DIGEST_NODE="$ZS_NODE-digest"
KAFKA_TOOL_TIMEOUT_S=60

# --- JAAS files -----------------------------------------------------------------------
zs_client_section() { # NAME USER PASSWORD
  printf '%s {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username="%s"\n  password="%s";\n};\n' "$1" "$2" "$3"
}
cat >"$SUITE_WORK/server.jaas" <<'EOF'
Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_super="super-secret"
  user_kafka="kafka-secret"
  user_alice="alice-secret";
};
EOF
zs_client_section Client alice alice-secret >"$SUITE_WORK/alice.jaas"
zs_client_section Client kafka kafka-secret >"$SUITE_WORK/kafka.jaas"
zs_client_section Client alice not-alice-secret >"$SUITE_WORK/alice-wrong.jaas"
zs_client_section Client mallory mallory-secret >"$SUITE_WORK/mallory.jaas"
{
  zs_client_section Client alice alice-secret
  zs_client_section ClientKafka kafka kafka-secret
  zs_client_section ClientSuper super super-secret
  zs_client_section ClientAliceWrong alice not-alice-secret
  zs_client_section ClientMallory mallory mallory-secret
} >"$SUITE_WORK/java.jaas"

ZS_SERVER_FLAGS="-Djava.security.auth.login.config=$SUITE_WORK/server.jaas"
ZK_SERVER_JVMFLAGS=$ZS_SERVER_FLAGS
if ! ZK_CFG_EXTRA=$ZS_SASL_PROVIDER zk_start "$TARGET" standalone sasl; then
  for c in $ZS_CLIENTS; do report "$c" fail "the $TARGET ZooKeeper with SASL did not start"; done
  exit 1
fi
ZS_CONNECT=$ZK_CONNECT
log "zk-sasl: $TARGET ZooKeeper on $ZS_CONNECT, node $ZS_NODE"

# --- helpers --------------------------------------------------------------------------
FAILS=""
expect() { # DESC OUTPUT REGEX: some line of OUTPUT matches
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then
    echo "  ok   $1"
  else
    echo "  FAIL $1: no line matches /$3/ in:"
    printf '%s\n' "$2" | sed 's/^/      | /'
    FAILS="$FAILS; $1"
  fi
}
expect_not() { # DESC OUTPUT REGEX: no line matches
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then
    echo "  FAIL $1: a line matches /$3/ in:"
    printf '%s\n' "$2" | sed 's/^/      | /'
    FAILS="$FAILS; $1"
  else
    echo "  ok   $1"
  fi
}
# zs_lines OUTPUT: zkCli's output less the connection chatter (Connecting to, WATCHER::,
# WatchedEvent lines, blank lines, the exit-code logger line).
zs_lines() {
  printf '%s\n' "$1" | grep -Ev '^(Connecting to |WATCHER::$|WatchedEvent |$|\[main\] ERROR org.apache.zookeeper.util.ServiceUtils - Exiting JVM)' || true
}
expect_exact() { # DESC OUTPUT WANT: zs_lines OUTPUT is exactly WANT
  local got
  got=$(zs_lines "$2")
  if [ "$got" = "$3" ]; then
    echo "  ok   $1: $(printf '%s' "$got" | tr '\n' '|')"
  else
    echo "  FAIL $1:"
    printf '%s\n' "$3" | sed 's/^/      want | /'
    printf '%s\n' "$got" | sed 's/^/      got  | /'
    FAILS="$FAILS; $1"
  fi
}

# zkcli JAAS|- [fips] ARGS...: zkCli 3.9.4, stdout and stderr merged, appended to
# $SUITE_WORK/zkcli.out under a "$ zkCli ..." line. JAAS "-": no JAAS file. With "fips"
# the client keeps 3.9's default zookeeper.fips-mode=true.
zkcli() {
  local jaas=$1 opts=(-Dzookeeper.fips-mode=false) out
  shift
  if [ "${1:-}" = fips ]; then opts=(); shift; fi
  [ "$jaas" != - ] && opts+=("-Djava.security.auth.login.config=$jaas")
  out=$(timeout_run 60 java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn "${opts[@]}" \
    -cp "$(maven_classpath zookeeper-3.9)" org.apache.zookeeper.ZooKeeperMain \
    -server "$ZS_CONNECT" "$@" 2>&1)
  printf '$ zkCli [%s] %s\n%s\n\n' "${opts[*]}" "$*" "$out" >>"$SUITE_WORK/zkcli.out"
  printf '%s\n' "$out"
}
zs_report() { # CLIENT DETAIL-IF-PASS
  if [ -z "$FAILS" ]; then
    report "$1" pass "$2"
  else
    report "$1" fail "${FAILS#; }"
    ZS_RC=1
  fi
  FAILS=""
}
SASL_OK="^WatchedEvent state:SaslAuthenticated type:None path:null zxid: -1\$"
AUTH_FAILED="^WatchedEvent state:AuthFailed type:None path:null zxid: -1\$"

# zs_java MODE ARGS...: ZkSaslCheck (JAVA_JAAS: the JAAS file, "" for none)
zs_java() {
  local opts="-Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dzookeeper.fips-mode=false"
  [ -n "${JAVA_JAAS:-}" ] && opts="$opts -Djava.security.auth.login.config=$JAVA_JAAS"
  timeout_run 90 env JAVA_OPTS="$opts" bash -c '. "$COMPAT_DIR/lib/common.sh"; . "$COMPAT_DIR/lib/fetch.sh"; . "$COMPAT_DIR/lib/zookeeper.sh"; zk_java zookeeper-3.9 "$COMPAT_DIR/java/zk/ZkSaslCheck.java" "$@"' zs-java "$@"
}

# zs_restart FLAGS...: the server again on its data, with these JVM flags
zs_restart() {
  ZK_SERVER_JVMFLAGS="$*"
  zk_stop_server sasl 1
  zk_restart_server sasl 1
}

# --- zkcli-3.9 ------------------------------------------------------------------------
echo "== zkcli-3.9"
out=$(zkcli "$SUITE_WORK/alice.jaas" create "$ZS_NODE" hello sasl:alice:cdrwa)
expect "alice: SaslAuthenticated event" "$out" "$SASL_OK"
expect_exact "alice: create $ZS_NODE with ACL sasl:alice:cdrwa" "$out" "Created $ZS_NODE"
out=$(zkcli "$SUITE_WORK/alice.jaas" get "$ZS_NODE")
expect_exact "alice: get" "$out" "hello"
out=$(zkcli "$SUITE_WORK/alice.jaas" getAcl "$ZS_NODE")
expect_exact "alice: getAcl" "$out" "$(printf "%s\n" "'sasl,'alice" ": cdrwa")"
out=$(zkcli "$SUITE_WORK/alice.jaas" whoami)
expect_exact "alice: whoami" "$out" "$(printf '%s\n' "Auth scheme: User" "sasl: alice" "ip: 127.0.0.1")"
out=$(zkcli - get "$ZS_NODE")
expect_exact "no JAAS: get" "$out" "Insufficient permission : $ZS_NODE"
out=$(zkcli - whoami)
expect_exact "no JAAS: whoami" "$out" "$(printf '%s\n' "Auth scheme: User" "ip: 127.0.0.1")"
expect_not "no JAAS: no SaslAuthenticated event" "$out" "SaslAuthenticated"
out=$(zkcli "$SUITE_WORK/alice.jaas" fips get "$ZS_NODE")
expect "3.9 default fips-mode: the client refuses DIGEST-MD5" "$out" \
  "Client will not use DIGEST-MD5 as SASL mechanism, because FIPS mode is enabled\.$"
expect "3.9 default fips-mode: get fails" "$out" "^KeeperErrorCode = AuthFailed for $ZS_NODE\$"
zs_report zkcli-3.9 "zkCli $ZOOKEEPER_VERSION as alice: create/get, getAcl 'sasl,'alice : cdrwa, whoami sasl: alice + ip; no JAAS: Insufficient permission"

# --- java-client ----------------------------------------------------------------------
echo "== java-client"
out=$(JAVA_JAAS=$SUITE_WORK/java.jaas zs_java users "$ZS_CONNECT" "$ZS_NODE" "$ZS_DIGEST_NODE" false 2>&1)
printf '%s\n' "$out" | tee "$SUITE_WORK/java-users.out"
expect "users (alice, kafka, super; no zookeeper.superUser)" "$out" "^ZkSaslCheck users: all passed\$"
out=$(JAVA_JAAS="" zs_java anonymous "$ZS_CONNECT" "$ZS_NODE" 2>&1)
printf '%s\n' "$out" | tee "$SUITE_WORK/java-anonymous.out"
expect "anonymous (no JAAS file)" "$out" "^ZkSaslCheck anonymous: all passed\$"
if zs_restart "$ZS_SERVER_FLAGS" -Dzookeeper.superUser=super; then
  out=$(JAVA_JAAS=$SUITE_WORK/java.jaas zs_java users "$ZS_CONNECT" "$ZS_NODE" "$ZS_DIGEST_NODE" true 2>&1)
  printf '%s\n' "$out" | tee "$SUITE_WORK/java-superuser.out"
  expect "users with -Dzookeeper.superUser=super" "$out" "^ZkSaslCheck users: all passed\$"
else
  echo "  FAIL the server did not restart with -Dzookeeper.superUser=super"
  FAILS="$FAILS; restart with -Dzookeeper.superUser=super"
fi
if ! zs_restart "$ZS_SERVER_FLAGS"; then
  FAILS="$FAILS; restart without zookeeper.superUser"
  zs_report java-client ""
  for c in kazoo curator-sasl negative kafka-broker keel-broker require-sasl; do report "$c" fail "the server did not restart"; done
  exit 1
fi
zs_report java-client "ZooKeeper $ZOOKEEPER_VERSION client: kafka and no-SASL NoAuth on alice's node; super reads sasl ACLs (provider match) but is a superuser only with -Dzookeeper.superUser=super"

# --- negative -------------------------------------------------------------------------
echo "== negative"
for who in alice-wrong mallory; do
  out=$(zkcli "$SUITE_WORK/$who.jaas" get "$ZS_NODE")
  printf '%s\n' "$out" | grep -v '^\s*at ' | sed "s/^/      zkCli $who | /"
  expect "zkCli $who: AuthFailed event" "$out" "$AUTH_FAILED"
  expect "zkCli $who: client reports the failure" "$out" "SASL authentication failed using login context 'Client'\.$"
  expect "zkCli $who: the server's reply had a null token" "$out" \
    "^javax.security.sasl.SaslException: Error in authenticating with a Zookeeper Quorum member: the quorum member's saslToken is null\.\$"
  expect "zkCli $who: get fails with AuthFailed" "$out" "^KeeperErrorCode = AuthFailed for $ZS_NODE\$"
  expect_not "zkCli $who: never authenticated" "$out" "SaslAuthenticated|^hello\$"
done
out=$(JAVA_JAAS=$SUITE_WORK/java.jaas zs_java refused "$ZS_CONNECT" "$ZS_NODE" ClientAliceWrong ClientMallory 2>&1)
printf '%s\n' "$out" >"$SUITE_WORK/java-refused.out"
grep -E '^(ok|FAIL|info|ZkSaslCheck) ' <<<"$out"
expect "ZkSaslCheck refused (wrong password, unknown user)" "$out" "^ZkSaslCheck refused: all passed\$"
python_env || FAILS="$FAILS; python venv"
out=$(timeout_run 90 "$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_sasl_check.py" raw "$ZS_CONNECT" "$ZS_NODE" 2>&1)
printf '%s\n' "$out" | tee "$SUITE_WORK/raw.out"
expect "raw protocol exchange" "$out" "^raw: all passed\$"
out=$(zkcli "$SUITE_WORK/alice.jaas" get "$ZS_NODE")
expect_exact "alice still reads after the refusals" "$out" "hello"
zs_report negative "wrong password and unknown user: err -115 with a null token, then a close; AuthFailed in zkCli and the Java client; alice still served"

# --- kazoo ----------------------------------------------------------------------------
echo "== kazoo"
out=$(timeout_run 120 "$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_sasl_check.py" kazoo "$ZS_CONNECT" "$ZS_NODE" 2>&1)
printf '%s\n' "$out" | tee "$SUITE_WORK/kazoo.out"
expect "kazoo sasl_options DIGEST-MD5" "$out" "^kazoo: all passed\$"
zs_report kazoo "kazoo $KAZOO_VERSION + pure-sasl $PYTHON_PURE_SASL_VERSION: alice reads; wrong password / unknown user -> AUTH_FAILED, LOST"

# --- curator-sasl ---------------------------------------------------------------------
echo "== curator-sasl"
out=$(timeout_run 120 env JAVA_OPTS="-Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dzookeeper.fips-mode=false -Djava.security.auth.login.config=$SUITE_WORK/java.jaas" \
  bash -c '. "$COMPAT_DIR/lib/common.sh"; . "$COMPAT_DIR/lib/fetch.sh"; . "$COMPAT_DIR/lib/zookeeper.sh"; zk_java curator "$COMPAT_DIR/java/zk/CuratorSecure.java" "$@"' \
  zs-curator sasl "$ZS_CONNECT" "$ZS_NODE-curator" 2>&1)
printf '%s\n' "$out" >"$SUITE_WORK/curator.out"
grep -E '^(ok|FAIL|info|CuratorSecure) ' <<<"$out"
expect "CuratorSecure sasl" "$out" "^CuratorSecure sasl: all passed\$"
zs_report curator-sasl "Curator $CURATOR_VERSION, DIGEST-MD5 per client (zkClientConfig): alice's znodes sasl:alice:cdrwa via ACLProvider, creatingParentsIfNeeded, CuratorCache change, InterProcessMutex handed over, DistributedAtomicLong 13 after concurrent increments; kafka and no-SASL clients NoAuth on data, counter and lock"

# --- kafka-broker, keel-broker --------------------------------------------------------
# zs_kafka BROKER-TARGET NAME CHROOT: a broker of BROKER-TARGET (apache | keel) with
# zookeeper.set.acl=true and the JAAS Client section "kafka", in CHROOT of this server.
zs_kafka() {
  local broker=$1 name=$2 chroot=$3 topic out p records connect="$ZS_CONNECT$3"
  KAFKA_OPTS="-Djava.security.auth.login.config=$SUITE_WORK/kafka.jaas" \
    KAFKA_SERVER_JAVA_OPTS="$KAFKA_SERVER_JAVA_OPTS -Djava.security.auth.login.config=$SUITE_WORK/kafka.jaas" \
    KAFKA_EXTRA_PROPS="zookeeper.set.acl=true" kafka_start "$broker" zk "$name" "$connect" \
    || { FAILS="; $broker broker (zookeeper.set.acl=true, SASL as kafka) did not start"; return 1; }
  echo "  ok   $broker broker up on $KAFKA_BOOTSTRAP (zookeeper.connect=$connect)"
  out=$(grep -h "SASL config status\|SASL authentication\|will use DIGEST-MD5\|logging in to ZooKeeper" \
    "$(kafka_server_dir "$name")"/server.log "$(kafka_server_dir "$name")"/stdout.log 2>/dev/null | head -3)
  printf '%s\n' "$out" | sed 's/^/      broker log | /'
  topic=$(kafka_unique zk-sasl)
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$KAFKA_BOOTSTRAP" --topic "$topic" \
    --partitions 1 --replication-factor 1 2>&1)
  expect "kafka-topics --create" "$out" "^Created topic $topic\.\$"
  records=$(printf 'sasl-record-%s\n' 1 2 3 4 5)
  out=$(printf '%s\n' "$records" | kafka_tool 3.9 kafka-console-producer --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --topic "$topic" --producer-property acks=all 2>&1) || { printf '%s\n' "$out"; FAILS="$FAILS; console producer failed"; }
  out=$(kafka_tool 3.9 kafka-console-consumer --bootstrap-server "$KAFKA_BOOTSTRAP" --topic "$topic" \
    --from-beginning --max-messages 5 --timeout-ms 30000 2>"$SUITE_WORK/consumer.err")
  if [ "$out" = "$records" ]; then
    echo "  ok   5 records produced and consumed in order"
  else
    echo "  FAIL consumer got: $(tr '\n' '|' <<<"$out")"; cat "$SUITE_WORK/consumer.err"
    FAILS="$FAILS; produce/consume"
  fi
  local secure
  secure=$(printf '%s\n' "'sasl,'kafka" ": cdrwa" "'world,'anyone" ": r")
  for p in /brokers/ids/1 /controller /controller_epoch "/brokers/topics/$topic" "/config/topics/$topic" \
    /cluster/id /brokers/seqid /config/changes; do
    out=$(zkcli - getAcl "$chroot$p")
    expect_exact "getAcl $chroot$p (no SASL)" "$out" "$secure"
  done
  if [ -n "$chroot" ]; then
    out=$(zkcli - getAcl "$chroot")
    expect_exact "getAcl $chroot (the chroot the broker created)" "$out" "$secure"
  fi
  out=$(zkcli - getAcl "$chroot/consumers")
  expect_exact "getAcl $chroot/consumers (left open by Kafka)" "$out" "$(printf '%s\n' "'world,'anyone" ": cdrwa")"
  out=$(zkcli - getAcl "$chroot/config/users")
  expect_exact "getAcl $chroot/config/users (sensitive) without SASL" "$out" "Insufficient permission : $chroot/config/users"
  out=$(zkcli "$SUITE_WORK/kafka.jaas" getAcl "$chroot/config/users")
  expect_exact "getAcl $chroot/config/users as kafka" "$out" "$(printf '%s\n' "'sasl,'kafka" ": cdrwa")"
  out=$(zkcli - create "$chroot/brokers/ids/99" x)
  expect_exact "create $chroot/brokers/ids/99 without SASL" "$out" "Insufficient permission : $chroot/brokers/ids/99"
  kafka_stop "$name"
  # Refused at start-up, as Apache refuses: a wrong password (AuthFailedException)
  # and zookeeper.set.acl=true without a ZooKeeper login (SecurityException).
  if KAFKA_OPTS="-Djava.security.auth.login.config=$SUITE_WORK/alice-wrong.jaas" \
    KAFKA_SERVER_JAVA_OPTS="$KAFKA_SERVER_JAVA_OPTS -Djava.security.auth.login.config=$SUITE_WORK/alice-wrong.jaas" \
    KAFKA_START_TIMEOUT_S=60 KAFKA_KEEL_START_TIMEOUT_S=60 \
    KAFKA_EXTRA_PROPS="zookeeper.set.acl=true" kafka_start "$broker" zk "$name-wrong" "$connect" 2>/dev/null; then
    echo "  FAIL a broker whose ZooKeeper password is wrong started"
    FAILS="$FAILS; wrong ZooKeeper password accepted"
    kafka_stop "$name-wrong"
  else
    echo "  ok   a wrong ZooKeeper password stops the broker: $(grep -h -m1 -o "AuthFailed[A-Za-z]*Exception.*\|refused the SASL login.*" \
      "$(kafka_server_dir "$name-wrong")"/server.log "$(kafka_server_dir "$name-wrong")"/stdout.log 2>/dev/null | head -1 | cut -c1-150)"
  fi
  if KAFKA_OPTS="" KAFKA_START_TIMEOUT_S=60 KAFKA_KEEL_START_TIMEOUT_S=60 \
    KAFKA_EXTRA_PROPS="zookeeper.set.acl=true" kafka_start "$broker" zk "$name-nologin" "$connect" 2>/dev/null; then
    echo "  FAIL a broker with zookeeper.set.acl=true and no ZooKeeper login started"
    FAILS="$FAILS; zookeeper.set.acl without a login accepted"
    kafka_stop "$name-nologin"
  else
    echo "  ok   zookeeper.set.acl=true without a login stops the broker: $(grep -h -m1 -o "zookeeper.set.acl is true.*" \
      "$(kafka_server_dir "$name-nologin")"/server.log "$(kafka_server_dir "$name-nologin")"/stdout.log 2>/dev/null | head -1 | cut -c1-120)"
  fi
}
echo "== kafka-broker"
zs_kafka apache zs-kafka ""
zs_report kafka-broker "Apache Kafka $KAFKA_ZK_VERSION with zookeeper.set.acl=true as sasl:kafka: started, 5 records through; znodes sasl:kafka:cdrwa + world:anyone:r, /config/users sasl:kafka only; a wrong password and no login stop it"
echo "== keel-broker"
zs_kafka keel zs-keel /keel-broker
zs_report keel-broker "keel broker with zookeeper.set.acl=true as sasl:kafka in a chroot it creates: the same ACLs as Apache Kafka's, 5 records through; a wrong password and no login stop it"

# --- require-sasl ---------------------------------------------------------------------
echo "== require-sasl"
zs_required() {
  local out t0 connect node=$ZS_NODE-required
  t0=$(date +%s)
  if ! ZK_SERVER_JVMFLAGS=$ZS_SERVER_FLAGS ZK_CFG_EXTRA="$ZS_SASL_PROVIDER sessionRequireClientSASLAuth=true" \
    zk_start "$TARGET" standalone sasl-required; then
    FAILS="$FAILS; the $TARGET ZooKeeper with sessionRequireClientSASLAuth=true did not start"
    return 1
  fi
  connect=$ZK_CONNECT
  echo "      server with sessionRequireClientSASLAuth=true on $connect ($(($(date +%s) - t0))s)"
  out=$(JAVA_JAAS=$SUITE_WORK/java.jaas zs_java required "$connect" "$node-java" ClientAliceWrong ClientMallory 2>&1)
  printf '%s\n' "$out" >"$SUITE_WORK/java-required.out"
  grep -E '^(ok|FAIL|info|ZkSaslCheck) ' <<<"$out"
  expect "ZkSaslCheck required" "$out" "^ZkSaslCheck required: all passed\$"
  out=$(timeout_run 90 "$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_sasl_check.py" required "$connect" "$node-py" 2>&1)
  printf '%s\n' "$out" | tee "$SUITE_WORK/required.out"
  expect "zk_sasl_check.py required (raw sockets, kazoo)" "$out" "^required: all passed\$"
  out=$(grep -m1 -E "Client authentication scheme|requires client SASL authentication" "$(zk_server_dir sasl-required)/server.log")
  echo "      server log: ${out:-(nothing about the refusals)}"
  zk_stop sasl-required
  echo "      require-sasl took $(($(date +%s) - t0))s"
}
zs_required
zs_report require-sasl "sessionRequireClientSASLAuth=true: DIGEST-MD5 clients served; no SASL -> err -124 (Java SessionClosedRequireAuthException, kazoo RuntimeError('Invalid error code') then LOST) and a close; a refused login -> err -124 with a null token (not -115), Java AuthFailed"

exit $ZS_RC
