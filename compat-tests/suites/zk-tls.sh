# needs: none
# clients: zkcli-3.9-tls java-client-tls-mtls java-client-3.5-tls kazoo-tls curator-tls negative kafka-broker-zk-tls keel-broker-zk-tls enforce-x509
# timeout: 300
#
# zk-tls: ZooKeeper's TLS client port as Apache ZooKeeper 3.9.4 does it. The suite starts
# its own standalone server of the target's kind (apache: 3.9.4 from its Maven jar; keel:
# `$KEEL_BIN zookeeper zoo.cfg`) with both a plain clientPort and a secureClientPort, set
# up identically for both, the TLS settings in zoo.cfg:
#   secureClientPort=<port>  secureClientPortAddress=127.0.0.1
#   serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
#   ssl.keyStore.location=<certs>/server.p12     ssl.keyStore.password=...
#   ssl.trustStore.location=<certs>/truststore.p12  ssl.trustStore.password=...
#   ssl.clientAuth=need  ssl.enabledProtocols=TLSv1.3,TLSv1.2
# What Apache 3.9.4 needs, read from its source (QuorumPeerConfig.parseProperties,
# ZooKeeperServerMain, NettyServerCnxnFactory, X509Util, ClientX509Util) and seen here:
# - every zoo.cfg key QuorumPeerConfig does not know becomes the system property
#   "zookeeper.<key>", so ssl.keyStore.location in zoo.cfg is exactly
#   -Dzookeeper.ssl.keyStore.location in SERVER_JVMFLAGS (either works; zoo.cfg here);
#   secureClientPort / secureClientPortAddress are zoo.cfg keys proper.
# - serverCnxnFactory is required: the default NIOServerCnxnFactory throws
#   UnsupportedOperationException("SSL isn't supported in NIOServerCnxn") for a secure
#   port. Both ports are then served by Netty. A secure port also registers the x509 auth
#   provider (QuorumPeerConfig.configureSSLAuth: authProvider.x509 =
#   X509AuthenticationProvider) unless ssl.authProvider names another scheme (whose
#   authProvider.<scheme> must then be set).
# - ssl.clientAuth: none | want | need, default need (X509Util.ClientAuth.fromPropertyValue
#   of an unset value); the suite writes the default out.
# - ssl.enabledProtocols: unset, Apache 3.9.4's Netty server enables ssl.protocol alone,
#   whose default is TLSv1.3 on a JDK that has it (ZOOKEEPER-4415's default; the
#   socket-based SSLContextAndOptions enables TLSv1.3+1.2 but the client port's
#   ClientX509Util.getEnabledProtocols does not). On Java 17 a TLS 1.2 ClientHello then
#   gets alert protocol_version, and two clients of this suite cannot connect at their
#   defaults: the 3.5.10 Java client and Kafka 3.9.1's ZooKeeper client (3.8.4) both
#   offer TLSv1.2 only ("Received fatal alert: protocol_version", seen against Apache;
#   the broker exits after zookeeper.connection.timeout.ms). What such a user writes,
#   and what this suite writes, is ssl.enabledProtocols=TLSv1.3,TLSv1.2 on the server
#   (the alternative, zookeeper.ssl.protocol=TLSv1.3 on every old client, is not needed).
# - the server's own hostname checks: none on client certificates
#   (ssl.clientHostnameVerification defaults to false on the client port).
#
# Certificates, made at run time in $SUITE_WORK/certs (openssl and the JDK's keytool):
#   ca.pem             the CA (RSA 2048, self-signed, CA:TRUE)
#   server.p12         the server's key (CN=127.0.0.1, O=keel-compat; SAN IP:127.0.0.1 +
#                      DNS:localhost; EKU serverAuth+clientAuth, signed by the CA) with its
#                      chain, written by keytool -importkeystore -deststoretype PKCS12 (Java's
#                      PKCS12: PBES2 AES-256 bags, HmacSHA256 MAC) from an openssl export
#   truststore.p12     the CA (keytool, PKCS12): the server's trust store
#   truststore.jks     the CA (keytool, JKS)
#   client.pem/.key    subject /C=NL/L=Amsterdam/O=keel compat/OU=zk-tls/CN=zk-client,
#                      EKU clientAuth; client-keystore.pem = key + certificate (PEM key
#                      store); client.p12 (openssl pkcs12 -export); client.jks (keytool
#                      -importkeystore from client.p12)
#   rogue-ca.pem, rogue-client.pem/.key   a second CA and a client certificate it signed
#                      (same subject as the good one); rogue-client.p12 (openssl export)
# The id Apache's X509AuthenticationProvider derives from the client certificate is
# X509Certificate.getSubjectX500Principal().getName(): the subject DN in RFC 2253 form,
# last RDN first, no spaces after the commas:
#   CN=zk-client,OU=zk-tls,O=keel compat,L=Amsterdam,C=NL
# It is the session's x509 id (after a successful handshake with a client certificate,
# NettyServerCnxnFactory.CertificateVerifier calls the provider; whoAmI then lists it
# before "ip: 127.0.0.1"), the id an ACL x509:<id>:cdrwa must carry, and what
# CREATOR_ALL_ACL expands to.
#
# zkcli-3.9-tls: zkCli.sh 3.9.4 (ZooKeeperMain, one JVM per command) with
#   -Dzookeeper.client.secure=true -Dzookeeper.clientCnxnSocket=...ClientCnxnSocketNetty
#   -Dzookeeper.ssl.keyStore.location=client.p12 (+ password) and
#   -Dzookeeper.ssl.trustStore.location=truststore.jks (+ password), store types from
#   the extensions: create over TLS -> "Created <node>"; get on the plain port; set on
#   the plain port; get over TLS; set over TLS; `delete -v 2` over TLS (succeeds only
#   after both sets); get on the plain port -> "Node does not exist: <node>"; whoami over
#   TLS -> exactly "Auth scheme: User", "x509: <id>", "ip: 127.0.0.1".
# java-client-tls-mtls: java/zk/ZkTlsCheck.java on the 3.9.4 client, PEM key store and
#   PEM trust store (its header lists every check: data and watches across the two ports,
#   whoAmI, x509 ACLs and CREATOR_ALL_ACL, NoAuth and InvalidACL on the plain port,
#   getEphemerals).
# java-client-3.5-tls: java/zk/ZkTlsOldClient.java on the $ZOOKEEPER_TLS_OLD_VERSION
#   client (its own Netty 4.1.77 and SSLEngine set-up; TLSv1.2 only), JKS key store,
#   PKCS12 trust store: data across the ports, a watch, an x509 ACL.
# kazoo-tls: kazoo $KAZOO_VERSION with use_ssl=True, certfile/keyfile/ca
#   (python/zk_tls_check.py kazoo: create/get/set/delete, DataWatch and ChildrenWatch
#   firing, an x509 ACL, NoAuthError on the plain port).
# curator-tls: Apache Curator $CURATOR_VERSION (CuratorFramework + recipes on the 3.9.4
#   client), java/zk/CuratorSecure.java `tls`: each client built with
#   CuratorFrameworkFactory.builder().zkClientConfig(cfg), cfg holding
#   zookeeper.client.secure=true, zookeeper.clientCnxnSocket=...ClientCnxnSocketNetty,
#   zookeeper.ssl.keyStore.location=client.jks (type JKS) and
#   zookeeper.ssl.trustStore.location=truststore.p12 (type PKCS12), with their passwords.
#   Two TLS clients A and B, one plain client P. whoAmI of A holds "x509: <id>" and
#   "ip: 127.0.0.1", P's no x509 id; A creates <node>-curator/config/data ("v1") with
#   creatingParentsIfNeeded, B and P (plain port) read "v1"; a CuratorCache on B holds
#   "v1" and its change listener fires with "v2" after A's setData; InterProcessMutex:
#   A acquires, B's acquire(1 s) times out leaving one lock node, B's acquire(15 s) is
#   woken by A's release, no lock nodes left after; DistributedAtomicLong: A increments
#   to 1, 2, 3, then A and B 5 times each at once -> post values 4..13 each once, get()
#   13 on both, P reads the counter's 8 bytes as 13; A deletes the tree
#   (deletingChildrenIfNeeded), B's checkExists -> null.
# negative: python/zk_tls_check.py negative (raw sockets and Python's ssl module; its
#   docstring records what Apache does in each case): TLS 1.3 and TLS 1.2 clients served,
#   ruok/srvr answered over TLS; a plain ConnectRequest to the TLS port (closed, nothing
#   sent back), plaintext ruok to the TLS port (no answer), no client certificate, a
#   rogue CA's certificate (TLS 1.3 and 1.2 each: no session), a client not trusting the
#   server's CA (its handshake fails); after each, a TLS and a plain client still work.
# kafka-broker-zk-tls: Apache Kafka $KAFKA_ZK_VERSION (ZooKeeper client 3.8.4) whose
#   server.properties say zookeeper.ssl.client.enable=true,
#   zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty, the key store
#   client.p12 (type PKCS12) and trust store truststore.jks (type JKS), and
#   zookeeper.set.acl=true, with zookeeper.connect = the TLS port only. It must come up
#   (registered in /brokers/ids, controller elected); a topic is created and 5 records
#   produced and consumed (3.9 console tools, PLAINTEXT). Its znodes carry its x509 id:
#   getAcl /brokers/ids/1 and /brokers/topics/<t> on the plain port -> exactly
#   "'x509,'<id>", ": cdrwa", "'world,'anyone", ": r" (CREATOR_ALL_ACL + READ_ACL_UNSAFE;
#   zkCli prints an Id with jute's CSV toString, which writes each comma of the id as
#   %2C: 'x509,'CN=zk-client%2COU=zk-tls%2C...); /config/users (sensitive, no world
#   read) -> "Insufficient permission : /config/users" on the plain port,
#   "'x509,'<id>", ": cdrwa" over TLS. /controller and /cluster/id carry the same ACL
#   as /brokers/ids/1. Then the same broker with rogue-client.p12 (another CA) and
#   zookeeper.connection.timeout.ms=10000 must not start (no session).
# keel-broker-zk-tls: the same with a keel broker under the chroot /keel-broker (which
#   it creates over TLS with the same ACLs); then again under /keel-broker-opts with only
#   zookeeper.set.acl=true in server.properties and the TLS settings as the ZooKeeper
#   client's system properties in KAFKA_OPTS (-Dzookeeper.client.secure=true,
#   -Dzookeeper.clientCnxnSocket, -Dzookeeper.ssl.keyStore.location/password/type,
#   -Dzookeeper.ssl.trustStore.location/password/type), which Kafka 3.9 reads
#   (KafkaConfig's zk*ConfigOrSystemProperty) when server.properties does not set them.
# enforce-x509: a second server of the target's kind with the same TLS settings plus
#   enforce.auth.enabled=true and enforce.auth.schemes=x509 (zoo.cfg keys that Apache turns
#   into -Dzookeeper.enforce.auth.*; read by org.apache.zookeeper.server.AuthenticationHelper).
#   Apache 3.9.4 (ZooKeeperServer.processPacket): a connection may open a session, but any
#   request other than auth (opcode 100) and sasl (102) from a connection without an id of
#   an enforced scheme gets ReplyHeader{xid, zxid 0, err -124 SESSIONCLOSEDREQUIRESASLAUTH}
#   with no body, and the connection (not the session) is closed; the server logs "Client
#   authentication scheme(s) [...] does not match with any of the expected authentication
#   scheme [x509], closing session.". The TLS port's certificate gives the x509 id at the
#   handshake, the plain port gives none.
#   java/zk/ZkTlsCheck.java `enforce`: the TLS session (PEM stores) has whoAmI [x509: <id>,
#   ip], creates, sets and reads a node; a plain session connects (SyncConnected), then
#   getData throws KeeperException.SessionClosedRequireAuthException "KeeperErrorCode =
#   Session closed because client failed to authenticate for <path>", the client sees
#   Disconnected, reconnects to the same session (SyncConnected: the session lives) and
#   its next getData gets the same exception; a plain session after
#   addAuthInfo("digest", "bob:bob-secret") (the auth succeeds: no AuthFailed) gets it too;
#   the TLS session still reads, then deletes the node.
#   python/zk_tls_check.py `enforce` (raw sockets; its docstring has the details): the
#   16-byte -124 reply and a close for getData, a ping (xid -2), whoAmI, closeSession, and
#   getData after a successful digest auth packet; the session of the refused
#   closeSession can be resumed (same id, timeout 30000) and is refused again. kazoo with
#   use_ssl and the certificate creates and reads; a plain kazoo connects, then the -124
#   reply ends its connection thread on RuntimeError("Invalid error code") (kazoo
#   $KAZOO_VERSION has no exception for -124): listener CONNECTED, LOST, the get never
#   completes, a later get raises ConnectionClosedError.
#   Start-up refusals (a server of the target's kind on a zoo.cfg with the usual lines
#   plus these; it must exit non-zero within 15 s without answering srvr, its log holding
#   Apache's sentence; Apache 3.9.4 logs it, then "Invalid arguments, exiting
#   abnormally", and exits with status 2 within a second):
#   - enforce.auth.enabled=true alone -> "zookeeper.enforce.auth.enabled is true
#     zookeeper.enforce.auth.schemes must be  configured." (two spaces: Apache's text)
#   - enforce.auth.schemes=digest,kerberos -> "Authentication scheme kerberos is not
#     available." (every scheme of the list needs a provider)
#   - enforce.auth.schemes=x509 on a server without a secureClientPort -> "Authentication
#     scheme x509 is not available." (the x509 provider is registered only with a secure
#     port: QuorumPeerConfig.configureSSLAuth)
# Every output is kept in $SUITE_WORK/*.out (zkCli's: zkcli.out).

set -u
cleanup() { kafka_stop_all; zk_stop_all; }
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

ZT_CLIENTS="zkcli-3.9-tls java-client-tls-mtls java-client-3.5-tls kazoo-tls curator-tls negative kafka-broker-zk-tls keel-broker-zk-tls enforce-x509"
ZT_RC=0
ZT_PW=zk-store-secret
ZT_CERTS=$SUITE_WORK/certs
ZT_DN="CN=zk-client,OU=zk-tls,O=keel compat,L=Amsterdam,C=NL"
ZT_DN_CSV=${ZT_DN//,/%2C}   # as zkCli's getAcl prints it
ZT_NODE="/tls-$(date +%H%M%S)-$$-$RANDOM"
# shellcheck disable=SC2034
KAFKA_TOOL_TIMEOUT_S=60   # read by lib/kafka.sh (kafka_tool)

zt_all_fail() {
  local c
  for c in $ZT_CLIENTS; do report "$c" fail "$*"; done
  exit 1
}

# --- certificates ------------------------------------------------------------------------

# zt_sign NAME CA SUBJECT EKU [SAN]: an RSA 2048 key (NAME.key, PKCS#8) and a certificate
# (NAME.pem) signed by CA (CA.pem / CA.key).
zt_sign() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$3" &&
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=$4" ${5:+"subjectAltName=$5"} >"$1.ext" &&
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 -sha256 \
      -extfile "$1.ext" -out "$1.pem"
}

# zt_keytool ARGS...: keytool with a JVM that starts fast
zt_keytool() { keytool -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -J-Xshare:auto "$@"; }

zt_certs() {
  local pw=$ZT_PW
  mkdir -p "$ZT_CERTS" || return 1
  (
    cd "$ZT_CERTS" || exit 1
    zt_ca() {
      openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 2 -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    }
    zt_ca ca "/O=keel-compat/CN=keel-compat-zk-ca" &&
      zt_ca rogue-ca "/O=keel-compat-rogue/CN=rogue-ca" &&
      zt_sign server ca "/O=keel-compat/CN=127.0.0.1" serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost" &&
      zt_sign client ca "/C=NL/L=Amsterdam/O=keel compat/OU=zk-tls/CN=zk-client" clientAuth &&
      zt_sign rogue-client rogue-ca "/C=NL/L=Amsterdam/O=keel compat/OU=zk-tls/CN=zk-client" clientAuth &&
      cat client.key client.pem >client-keystore.pem &&
      openssl pkcs12 -export -in server.pem -inkey server.key -certfile ca.pem -name server \
        -passout "pass:$pw" -out server-openssl.p12 &&
      openssl pkcs12 -export -in client.pem -inkey client.key -certfile ca.pem -name zk-client \
        -passout "pass:$pw" -out client.p12 &&
      openssl pkcs12 -export -in rogue-client.pem -inkey rogue-client.key -certfile rogue-ca.pem -name zk-client \
        -passout "pass:$pw" -out rogue-client.p12 || exit 1
    # the Java stores, four keytool runs side by side (PKCS12's key derivations cost ~1 s each)
    local pids=() pid rc=0
    # the server's key store: keytool's PKCS12 (Java's defaults: PBES2 AES-256, HmacSHA256)
    zt_keytool -importkeystore -noprompt -srckeystore server-openssl.p12 -srcstoretype PKCS12 \
      -srcstorepass "$pw" -destkeystore server.p12 -deststoretype PKCS12 -deststorepass "$pw" & pids+=($!)
    zt_keytool -importcert -noprompt -keystore truststore.p12 -storetype PKCS12 -storepass "$pw" \
      -alias ca -file ca.pem & pids+=($!)
    zt_keytool -importcert -noprompt -keystore truststore.jks -storetype JKS -storepass "$pw" \
      -alias ca -file ca.pem & pids+=($!)
    zt_keytool -importkeystore -noprompt -srckeystore client.p12 -srcstoretype PKCS12 -srcstorepass "$pw" \
      -destkeystore client.jks -deststoretype JKS -deststorepass "$pw" & pids+=($!)
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    exit $rc
  ) >"$ZT_CERTS/make.log" 2>&1 || { tail -n 20 "$ZT_CERTS/make.log" >&2; return 1; }
}

ZT_T0=$(date +%s)
zt_certs || zt_all_fail "could not make the certificates (openssl/keytool; see $ZT_CERTS/make.log)"
log "zk-tls: certificates in $ZT_CERTS ($(($(date +%s) - ZT_T0))s)"

# --- the server ----------------------------------------------------------------------------

ZT_SECURE_PORT=$(free_port)
ZT_CFG="secureClientPort=$ZT_SECURE_PORT
secureClientPortAddress=127.0.0.1
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
ssl.keyStore.location=$ZT_CERTS/server.p12
ssl.keyStore.password=$ZT_PW
ssl.trustStore.location=$ZT_CERTS/truststore.p12
ssl.trustStore.password=$ZT_PW
ssl.clientAuth=need
ssl.enabledProtocols=TLSv1.3,TLSv1.2"
unset ZK_SERVER_JVMFLAGS
if ! ZK_CFG_EXTRA=$ZT_CFG zk_start "$TARGET" standalone zk-tls; then
  zt_all_fail "the $TARGET ZooKeeper with secureClientPort did not start"
fi
ZT_PLAIN=$ZK_CONNECT
ZT_SECURE=127.0.0.1:$ZT_SECURE_PORT
if ! wait_port "$ZT_SECURE_PORT" 30; then
  tail -n 30 "$(zk_server_dir zk-tls)/server.log" >&2
  zt_all_fail "the $TARGET ZooKeeper serves $ZT_PLAIN but does not listen on the secure port $ZT_SECURE_PORT"
fi
log "zk-tls: $TARGET ZooKeeper plain on $ZT_PLAIN, TLS on $ZT_SECURE, node prefix $ZT_NODE ($(($(date +%s) - ZT_T0))s)"
python_env || zt_all_fail "python venv"

# --- helpers ---------------------------------------------------------------------------------
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
# zt_lines OUTPUT: zkCli's output less the connection chatter (Connecting to, WATCHER::,
# WatchedEvent lines, blank lines, the exit-code logger line).
zt_lines() {
  printf '%s\n' "$1" | grep -Ev '^(Connecting to |WATCHER::$|WatchedEvent |$|\[main\] ERROR org.apache.zookeeper.util.ServiceUtils - Exiting JVM)' || true
}
expect_exact() { # DESC OUTPUT WANT: zt_lines OUTPUT is exactly WANT
  local got
  got=$(zt_lines "$2")
  if [ "$got" = "$3" ]; then
    echo "  ok   $1: $(printf '%s' "$got" | tr '\n' '|')"
  else
    echo "  FAIL $1:"
    printf '%s\n' "$3" | sed 's/^/      want | /'
    printf '%s\n' "$got" | sed 's/^/      got  | /'
    FAILS="$FAILS; $1"
  fi
}
zt_report() { # CLIENT DETAIL-IF-PASS
  if [ -z "$FAILS" ]; then
    report "$1" pass "$2"
  else
    report "$1" fail "${FAILS#; }"
    ZT_RC=1
  fi
  FAILS=""
}

# zkcli tls|plain ARGS...: zkCli 3.9.4 on the TLS port (client certificate from client.p12,
# trust store truststore.jks) or on the plain port; stdout and stderr merged, appended to
# $SUITE_WORK/zkcli.out. -timeout 10000: a client that cannot connect gives up sooner.
zkcli() {
  local mode=$1 opts=() server=$ZT_PLAIN out
  shift
  if [ "$mode" = tls ]; then
    server=$ZT_SECURE
    opts=(-Dzookeeper.client.secure=true
      -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty
      "-Dzookeeper.ssl.keyStore.location=$ZT_CERTS/client.p12" "-Dzookeeper.ssl.keyStore.password=$ZT_PW"
      "-Dzookeeper.ssl.trustStore.location=$ZT_CERTS/truststore.jks" "-Dzookeeper.ssl.trustStore.password=$ZT_PW")
  fi
  out=$(timeout_run 40 java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn "${opts[@]}" \
    -cp "$(maven_classpath zookeeper-3.9)" org.apache.zookeeper.ZooKeeperMain \
    -timeout 10000 -server "$server" "$@" 2>&1)
  printf '$ zkCli %s %s\n%s\n\n' "$mode" "$*" "$out" >>"$SUITE_WORK/zkcli.out"
  printf '%s\n' "$out"
}

# zt_java SET FILE.java ARGS...: a suite program on a ZooKeeper client set, compiled once.
zt_java() {
  local set=$1 src=$2 cp
  shift 2
  cp=$(zk_java_build "$set" "$src") || return 1
  # shellcheck disable=SC2086
  timeout_run 90 java $ZK_CLIENT_JAVA_OPTS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$cp" "$(basename "$src" .java)" "$@"
}

# zt_steps OUTPUT: a program's ok/FAIL/info lines and its verdict
zt_steps() { grep -E '^(ok|FAIL|info) |: (all passed|[0-9]+ failed)' <<<"$1" || true; }

# --- zkcli-3.9-tls -----------------------------------------------------------------------------
echo "== zkcli-3.9-tls"
zt_zkcli() {
  local n=$ZT_NODE-zkcli out
  out=$(zkcli tls create "$n" zkcli-tls)
  expect_exact "tls: create $n" "$out" "Created $n" || true
  if [ -n "$FAILS" ]; then
    printf '%s\n' "$out" | grep -v '^\s*at ' | tail -n 15 | sed 's/^/      | /'
    FAILS="$FAILS; (zkCli over TLS did not work: the rest skipped)"
    return
  fi
  out=$(zkcli plain get "$n")
  expect_exact "plain: get (written over TLS)" "$out" "zkcli-tls"
  out=$(zkcli plain set "$n" zkcli-plain)
  expect_exact "plain: set" "$out" ""
  out=$(zkcli tls get "$n")
  expect_exact "tls: get (written on the plain port)" "$out" "zkcli-plain"
  out=$(zkcli tls set "$n" zkcli-tls-2)
  expect_exact "tls: set" "$out" ""
  out=$(zkcli tls delete -v 2 "$n")
  expect_exact "tls: delete -v 2 (version 2: both sets applied)" "$out" ""
  out=$(zkcli plain get "$n")
  expect_exact "plain: get after the delete over TLS" "$out" "Node does not exist: $n"
  out=$(zkcli tls whoami)
  expect_exact "tls: whoami" "$out" "$(printf '%s\n' "Auth scheme: User" "x509: $ZT_DN" "ip: 127.0.0.1")"
}
zt_zkcli
zt_report zkcli-3.9-tls "zkCli $ZOOKEEPER_VERSION over TLS (PKCS12 key store, JKS trust store): create/get/set/delete across both ports, whoami x509: $ZT_DN + ip"

# --- java-client-tls-mtls ----------------------------------------------------------------------
echo "== java-client-tls-mtls"
out=$(zt_java zookeeper-3.9 "$COMPAT_DIR/java/zk/ZkTlsCheck.java" mtls "$ZT_SECURE" "$ZT_PLAIN" "$ZT_CERTS" \
  "$ZT_NODE-java" "$ZT_DN" 2>&1)
printf '%s\n' "$out" >"$SUITE_WORK/java-mtls.out"
zt_steps "$out"
expect "ZkTlsCheck mtls" "$out" "^ZkTlsCheck mtls: all passed\$"
zt_report java-client-tls-mtls "ZooKeeper $ZOOKEEPER_VERSION client, PEM stores: data and watches across the ports, whoAmI [x509: $ZT_DN, ip], x509 ACLs, CREATOR_ALL_ACL, NoAuth/InvalidACL on the plain port, getEphemerals"

# --- java-client-3.5-tls -----------------------------------------------------------------------
echo "== java-client-3.5-tls"
out=$(zt_java zookeeper-3.5 "$COMPAT_DIR/java/zk/ZkTlsOldClient.java" "$ZT_SECURE" "$ZT_PLAIN" "$ZT_CERTS" \
  "$ZT_NODE-old" "$ZT_DN" "$ZT_PW" 2>&1)
printf '%s\n' "$out" >"$SUITE_WORK/java-3.5.out"
zt_steps "$out"
expect "ZkTlsOldClient" "$out" "^ZkTlsOldClient: all passed\$"
zt_report java-client-3.5-tls "ZooKeeper $ZOOKEEPER_TLS_OLD_VERSION client (TLSv1.2), JKS key store + PKCS12 trust store: data across the ports, a watch, an x509 ACL"

# --- kazoo-tls -------------------------------------------------------------------------------------
echo "== kazoo-tls"
out=$(timeout_run 90 "$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_tls_check.py" kazoo "$ZT_SECURE" "$ZT_PLAIN" \
  "$ZT_CERTS" "$ZT_NODE-kazoo" "$ZT_DN" 2>&1)
printf '%s\n' "$out" | tee "$SUITE_WORK/kazoo.out"
expect "kazoo use_ssl" "$out" "^kazoo: all passed\$"
zt_report kazoo-tls "kazoo $KAZOO_VERSION use_ssl with certfile/keyfile/ca: create/get/set/delete across the ports, DataWatch and ChildrenWatch, x509 ACL"

# --- curator-tls -----------------------------------------------------------------------------------
echo "== curator-tls"
out=$(zt_java curator "$COMPAT_DIR/java/zk/CuratorSecure.java" tls "$ZT_SECURE" "$ZT_PLAIN" "$ZT_NODE-curator" \
  "$ZT_CERTS" "$ZT_PW" "$ZT_DN" 2>&1)
printf '%s\n' "$out" >"$SUITE_WORK/curator.out"
zt_steps "$out"
expect "CuratorSecure tls" "$out" "^CuratorSecure tls: all passed\$"
zt_report curator-tls "Curator $CURATOR_VERSION over TLS (zkClientConfig: JKS key store, PKCS12 trust store): whoAmI x509, creatingParentsIfNeeded, CuratorCache change, InterProcessMutex handed over, DistributedAtomicLong 13 after concurrent increments, data and counter read on the plain port, deletingChildrenIfNeeded"

# --- negative --------------------------------------------------------------------------------------
echo "== negative"
out=$(timeout_run 120 "$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_tls_check.py" negative "$ZT_SECURE" "$ZT_PLAIN" \
  "$ZT_CERTS" "$ZT_NODE-negative" 2>&1)
printf '%s\n' "$out" | tee "$SUITE_WORK/negative.out"
expect "raw TLS and plaintext checks" "$out" "^negative: all passed\$"
zt_report negative "TLS 1.3 and 1.2 served, ruok/srvr over TLS; plaintext to the TLS port, no or a rogue client certificate, an untrusted server: no session; TLS and plain clients served after each"

# --- kafka-broker-zk-tls, keel-broker-zk-tls ---------------------------------------------------------
# zt_kafka_start BROKER-TARGET NAME CHROOT properties|system-properties KEY-STORE: starts a
# broker whose ZooKeeper connection is TLS only (KEY-STORE / truststore.jks), with
# zookeeper.set.acl=true, the TLS settings as Kafka's zookeeper.ssl.* keys in
# server.properties or as the ZooKeeper client's system properties in KAFKA_OPTS (which
# Kafka 3.9 reads when server.properties does not set them); ZT_EXTRA: more properties.
zt_kafka_start() {
  local broker=$1 name=$2 chroot=$3 how=$4 store=$5 props opts=""
  if [ "$how" = properties ]; then
    props="zookeeper.ssl.client.enable=true
zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty
zookeeper.ssl.keystore.location=$ZT_CERTS/$store
zookeeper.ssl.keystore.password=$ZT_PW
zookeeper.ssl.keystore.type=PKCS12
zookeeper.ssl.truststore.location=$ZT_CERTS/truststore.jks
zookeeper.ssl.truststore.password=$ZT_PW
zookeeper.ssl.truststore.type=JKS
zookeeper.set.acl=true"
  else
    props="zookeeper.set.acl=true"
    opts="-Dzookeeper.client.secure=true -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty"
    opts="$opts -Dzookeeper.ssl.keyStore.location=$ZT_CERTS/$store -Dzookeeper.ssl.keyStore.password=$ZT_PW"
    opts="$opts -Dzookeeper.ssl.keyStore.type=PKCS12 -Dzookeeper.ssl.trustStore.location=$ZT_CERTS/truststore.jks"
    opts="$opts -Dzookeeper.ssl.trustStore.password=$ZT_PW -Dzookeeper.ssl.trustStore.type=JKS"
  fi
  [ -n "${ZT_EXTRA:-}" ] && props="$props
$ZT_EXTRA"
  KAFKA_OPTS="$opts" KAFKA_EXTRA_PROPS="$props" KAFKA_START_TIMEOUT_S=${KAFKA_START_TIMEOUT_S:-90} \
    kafka_start "$broker" zk "$name" "$ZT_SECURE$chroot"
}

# zt_kafka BROKER-TARGET NAME CHROOT: a broker of BROKER-TARGET (apache | keel) whose
# ZooKeeper connection is TLS only (client.p12 / truststore.jks), zookeeper.set.acl=true,
# in CHROOT of this server.
zt_kafka() {
  local broker=$1 name=$2 chroot=$3 how=${4:-properties} topic out records secure p
  zt_kafka_start "$broker" "$name" "$chroot" "$how" client.p12 || {
    grep -E 'SSL|Handshake|protocol_version|Session establishment|TLS' "$(kafka_server_dir "$name")/server.log" \
      "$(kafka_server_dir "$name")/stdout.log" 2>/dev/null | grep -v '^\s' | tail -n 8 | sed 's/^/      broker log | /'
    FAILS="$FAILS; $broker broker with TLS to ZooKeeper ($how) on $ZT_SECURE$chroot did not start"
    return 1
  }
  echo "  ok   $broker broker up on $KAFKA_BOOTSTRAP, its ZooKeeper connection on the TLS port $ZT_SECURE$chroot"
  grep -hE 'SSL handler added|Session establishment complete|connecting to ZooKeeper over TLS' \
    "$(kafka_server_dir "$name")/server.log" "$(kafka_server_dir "$name")/stdout.log" 2>/dev/null | head -n 2 |
    sed 's/^/      broker log | /'
  topic=$(kafka_unique zk-tls)
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$KAFKA_BOOTSTRAP" --topic "$topic" \
    --partitions 1 --replication-factor 1 2>&1)
  expect "kafka-topics --create" "$out" "^Created topic $topic\.\$"
  records=$(printf 'tls-record-%s\n' 1 2 3 4 5)
  out=$(printf '%s\n' "$records" | kafka_tool 3.9 kafka-console-producer --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --topic "$topic" --producer-property acks=all 2>&1) || { printf '%s\n' "$out"; FAILS="$FAILS; console producer failed"; }
  out=$(kafka_tool 3.9 kafka-console-consumer --bootstrap-server "$KAFKA_BOOTSTRAP" --topic "$topic" \
    --from-beginning --max-messages 5 --timeout-ms 30000 2>"$SUITE_WORK/consumer.err")
  if [ "$out" = "$records" ]; then
    echo "  ok   5 records produced and consumed in order"
  else
    echo "  FAIL consumer got: $(tr '\n' '|' <<<"$out")"
    cat "$SUITE_WORK/consumer.err"
    FAILS="$FAILS; produce/consume"
  fi
  # zkCli prints an ACL's Id with jute's CSV toString: commas in the id become %2C
  secure=$(printf '%s\n' "'x509,'$ZT_DN_CSV" ": cdrwa" "'world,'anyone" ": r")
  for p in /brokers/ids/1 "/brokers/topics/$topic" /controller /cluster/id; do
    out=$(zkcli plain getAcl "$chroot$p")
    expect_exact "getAcl $chroot$p (plain port)" "$out" "$secure"
  done
  out=$(zkcli plain getAcl "$chroot/config/users")
  expect_exact "getAcl $chroot/config/users (sensitive) on the plain port" "$out" "Insufficient permission : $chroot/config/users"
  out=$(zkcli tls getAcl "$chroot/config/users")
  expect_exact "getAcl $chroot/config/users over TLS (the broker's x509 id)" "$out" "$(printf '%s\n' "'x509,'$ZT_DN_CSV" ": cdrwa")"
  kafka_stop "$name"
  # A broker whose key store comes from another CA gets no session: it must not start.
  if ZT_EXTRA="zookeeper.connection.timeout.ms=10000" KAFKA_START_TIMEOUT_S=60 KAFKA_KEEL_START_TIMEOUT_S=60 \
    zt_kafka_start "$broker" "$name-rogue" "$chroot" "$how" rogue-client.p12 2>/dev/null; then
    echo "  FAIL a broker with a certificate from another CA started"
    FAILS="$FAILS; rogue client certificate accepted"
    kafka_stop "$name-rogue"
  else
    echo "  ok   a broker with a certificate from another CA does not start"
  fi
}
zt_kafka apache zt-kafka ""
zt_report kafka-broker-zk-tls "Apache Kafka $KAFKA_ZK_VERSION on the TLS port (PKCS12 key store, JKS trust store, zookeeper.set.acl=true): started, 5 records through, znodes x509:$ZT_DN:cdrwa + world:anyone:r; another CA's certificate: no start"
echo "== keel-broker-zk-tls"
zt_kafka keel zt-keel /keel-broker
zt_kafka keel zt-keel-opts /keel-broker-opts system-properties
zt_report keel-broker-zk-tls "keel broker on the TLS port in a chroot (the same stores and settings; then again with them as -Dzookeeper.client.secure / -Dzookeeper.ssl.* in KAFKA_OPTS): started, 5 records through, the same x509 ACLs as Apache Kafka's; another CA's certificate: no start"

# --- enforce-x509 -------------------------------------------------------------------------------------
echo "== enforce-x509"
# zt_refused LABEL CFG-LINES...: a server of the target's kind on a zoo.cfg with these lines
# must exit non-zero within 15 s, never answering srvr, its log holding Apache's sentence.
zt_refused() {
  local label=$1 want=$2 dir port pid rc=running t0 cp
  shift 2
  dir=$SUITE_WORK/refused-$((++ZT_REFUSED))
  port=$(free_port)
  ZK_CFG_EXTRA="$*" zk__write_cfg "$dir" "$port"
  t0=$(date +%s%N)
  case "$TARGET" in
    apache)
      cp=$(maven_classpath "${ZK_APACHE_MAVEN_SET:-zookeeper-3.9}") || return 1
      # shellcheck disable=SC2086
      java $ZK_SERVER_JAVA_OPTS -cp "$cp" -Dzookeeper.admin.enableServer=false \
        -Dorg.slf4j.simpleLogger.logFile=System.out org.apache.zookeeper.server.quorum.QuorumPeerMain \
        "$dir/zoo.cfg" >"$dir/server.log" 2>&1 </dev/null &
      ;;
    keel) "$KEEL_BIN" zookeeper "$dir/zoo.cfg" >"$dir/server.log" 2>&1 </dev/null & ;;
  esac
  pid=$!
  for _ in $(seq 1 75); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      rc=$?
      break
    fi
    if [ -n "$(zk_mode "$port")" ]; then rc=serving; break; fi
    sleep 0.2
  done
  if [ "$rc" = running ] || [ "$rc" = serving ]; then kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  echo "      $label: exit status $rc after $((($(date +%s%N) - t0) / 1000000)) ms; log: $(grep -m1 -F -- "$want" "$dir/server.log")"
  case "$rc" in
    running | serving | 0) echo "  FAIL $label: the server did not exit non-zero (status $rc)"; FAILS="$FAILS; $label: $rc" ;;
    *) echo "  ok   $label: exits with status $rc" ;;
  esac
  if grep -qF -- "$want" "$dir/server.log"; then
    echo "  ok   $label: its log says \"$want\""
  else
    echo "  FAIL $label: its log does not say \"$want\":"
    tail -n 5 "$dir/server.log" | sed 's/^/      | /'
    FAILS="$FAILS; $label: log"
  fi
}
zt_enforce() {
  local port out
  port=$(free_port)
  ZT_ENFORCE_CFG="${ZT_CFG/secureClientPort=$ZT_SECURE_PORT/secureClientPort=$port}
enforce.auth.enabled=true
enforce.auth.schemes=x509"
  if ! ZK_CFG_EXTRA=$ZT_ENFORCE_CFG zk_start "$TARGET" standalone zk-tls-enforce || ! wait_port "$port" 30; then
    FAILS="$FAILS; the $TARGET ZooKeeper with enforce.auth.enabled=true, enforce.auth.schemes=x509 did not start"
    return 1
  fi
  local plain=$ZK_CONNECT secure=127.0.0.1:$port
  ZK_CONNECT=$ZT_PLAIN
  echo "      enforced server: plain $plain, TLS $secure ($(($(date +%s) - ZT_ET0))s)"
  out=$(zt_java zookeeper-3.9 "$COMPAT_DIR/java/zk/ZkTlsCheck.java" enforce "$secure" "$plain" "$ZT_CERTS" \
    "$ZT_NODE-enforce-java" "$ZT_DN" 2>&1)
  printf '%s\n' "$out" >"$SUITE_WORK/java-enforce.out"
  zt_steps "$out"
  expect "ZkTlsCheck enforce" "$out" "^ZkTlsCheck enforce: all passed\$"
  out=$(timeout_run 60 "$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_tls_check.py" enforce "$secure" "$plain" \
    "$ZT_CERTS" "$ZT_NODE-enforce-py" "$ZT_DN" 2>&1)
  printf '%s\n' "$out" | tee "$SUITE_WORK/enforce.out"
  expect "zk_tls_check.py enforce (raw sockets, kazoo)" "$out" "^enforce: all passed\$"
  out=$(grep -m1 -E "Client authentication scheme|SESSIONCLOSEDREQUIRESASLAUTH|-124" "$(zk_server_dir zk-tls-enforce)/server.log")
  echo "      server log: ${out:-(nothing about the refusals)}"
  zk_stop zk-tls-enforce
  echo "      start-up refusals ($(($(date +%s) - ZT_ET0))s):"
  zt_refused "enforce.auth.enabled=true without schemes" \
    "zookeeper.enforce.auth.enabled is true zookeeper.enforce.auth.schemes must be  configured." \
    enforce.auth.enabled=true
  zt_refused "enforce.auth.schemes=digest,kerberos (no kerberos provider)" \
    "Authentication scheme kerberos is not available." \
    enforce.auth.enabled=true enforce.auth.schemes=digest,kerberos
  zt_refused "enforce.auth.schemes=x509 without a secureClientPort (no x509 provider)" \
    "Authentication scheme x509 is not available." \
    enforce.auth.enabled=true enforce.auth.schemes=x509
}
ZT_REFUSED=0
ZT_ET0=$(date +%s)
zt_enforce
zt_report enforce-x509 "enforce.auth.schemes=x509: the mTLS Java client and kazoo served; plain Java client -> SessionClosedRequireAuthException, kazoo -> RuntimeError('Invalid error code') then LOST; raw: -124 for getData/ping/whoAmI/closeSession (digest auth does not help) then a close, the session survives; no schemes / no provider: the server exits ($(($(date +%s) - ZT_ET0))s)"

log "zk-tls: done in $(($(date +%s) - ZT_T0))s"
exit $ZT_RC
