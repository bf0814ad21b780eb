# needs: none
# clients: kafka-python-ssl-mtls kafka-python-sasl-ssl-scram-sha-512 confluent-kafka-ssl-mtls confluent-kafka-sasl-ssl-scram-sha-256 console-3.9-sasl-ssl-scram-sha-512 console-3.9-ssl-mtls console-2.2-sasl-ssl-plain console-4-sasl-ssl-scram-sha-512 sarama-ssl-mtls sarama-sasl-ssl-scram-sha-512 franz-go-ssl-mtls franz-go-sasl-ssl-scram-sha-256 go-tls-negative logstash-sasl-ssl filebeat-sasl-ssl-scram-sha-512 negative keystore-jks cluster-ssl mixed-cluster-sasl-ssl
# timeout: 540
#
# kafka-tls: Kafka over TLS (SSL and SASL_SSL listeners) as Apache Kafka 3.9.x (ZooKeeper
# mode) does it. One ZooKeeper of kafka_zk_target's kind (chroots /tls, /jks, /cluster,
# /mixed; /mixed made with kazoo up front, as 3.9's kafka-configs --zookeeper cannot
# create a chroot). Every broker gets the same properties on both targets (apache: Apache
# $KAFKA_ZK_VERSION; keel: keel); lib/kafka.sh's KAFKA_EXTRA_LISTENERS adds the TLS
# listeners after the PLAINTEXT one the readiness probe uses, and each TLS listener's
# settings carry Kafka's per-listener prefix, listener.name.<listener>.ssl.*.
#
# Certificates, made at run time in $SUITE_WORK/certs (openssl and the JDK's keytool):
#   ca.pem            the CA (RSA 2048, self-signed, CA:TRUE)
#   broker.p12        the broker's key pair made by `keytool -genkeypair -storetype PKCS12`
#                     (Java's defaults: PBES2 / PBKDF2-HmacSHA256 / AES-256-CBC key and
#                     certificate bags, HmacSHA256 MAC), its certificate signed by the CA
#                     from `keytool -certreq` (CN=127.0.0.1, SAN IP:127.0.0.1 and
#                     DNS:localhost, EKU serverAuth+clientAuth: the brokers use it as
#                     their client certificate too) and imported back with the CA, as
#                     Kafka's security docs describe: entries "ca" (trusted) and "broker"
#   broker-keystore.pem  KIP-651's PEM keystore: the same key as an ENCRYPTED PKCS#8 key
#                     (-----BEGIN ENCRYPTED PRIVATE KEY-----), then the chain broker.pem +
#                     ca.pem; ssl.key.password decrypts it (a PEM keystore takes no
#                     ssl.keystore.password). The key is PBES1
#                     (`openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES`, pbeWithSHA1And3-KeyTripleDES-
#                     CBC): Apache 3.9.1 on Java 17 does not start with a PBES2 key
#                     (`-v2 aes-256-cbc`, OpenSSL 3's default): DefaultSslEngineFactory's
#                     PemStore asks SecretKeyFactory.getInstance(EncryptedPrivateKeyInfo.
#                     getAlgName()) -> "InvalidConfigurationException: Failed to load PEM SSL
#                     keystore .. NoSuchAlgorithmException: PBES2 SecretKeyFactory not
#                     available" (JDK-8231581). A target that also reads PBES2 keys is not
#                     less compatible; this suite uses the form Apache reads.
#   broker.jks        the key entry alone, `keytool -importkeystore -deststoretype JKS` with
#                     a key password of its own (ssl.key.password != ssl.keystore.password)
#   truststore.p12 / truststore.jks   the CA, keytool-made; ca.pem is the PEM truststore
#   client.pem        CN=alice-client, EKU clientAuth; its key as client-plain.key and as
#                     client.key (encrypted PKCS#8, password alice-key-secret); client.p12
#                     made by `openssl pkcs12 -export` (OpenSSL 3's AES-256 defaults)
#   rogue-ca.pem, rogue-client.pem    a second CA and a client certificate of it
#
# Single broker (broker.id 1, chroot /tls, inter.broker.listener.name=PLAINTEXT):
#   SSL://       PKCS12 keystore and truststore, ssl.client.auth=required (mTLS)
#   SASL_SSL://  PEM keystore (encrypted key) and PEM truststore, ssl.client.auth=none,
#                sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512 with
#                listener.name.sasl_ssl.<mechanism>.sasl.jaas.config (PlainLoginModule with
#                user_alice="alice-secret", ScramLoginModule for both SCRAM mechanisms)
#   The SCRAM user bob (SCRAM-SHA-256 4096 iterations and SCRAM-SHA-512, password
#   bob-secret) is created by the 3.9 kafka-configs --bootstrap-server over the mTLS
#   listener (--command-config with the PKCS12 keystore; the broker writes ZooKeeper), then
#   python/kafka_tls_check.py wait-auth waits until bob logs in over SASL_SSL.
#   Each client writes records and reads them all back, in order, once each:
#     kafka-python-ssl-mtls                 kafka-python, ssl_cafile + ssl_certfile +
#       ssl_keyfile (encrypted PKCS#8, ssl_password), consumer group;
#     kafka-python-sasl-ssl-scram-sha-512   kafka-python, ssl_cafile, bob, consumer group;
#     confluent-kafka-ssl-mtls              librdkafka, ssl.ca.location,
#       ssl.certificate.location, ssl.key.location + ssl.key.password, consumer group;
#     confluent-kafka-sasl-ssl-scram-sha-256  librdkafka, ssl.ca.location, bob;
#       (all four verify the broker's name: 127.0.0.1 against the SAN IP)
#     console-3.9-sasl-ssl-scram-sha-512    3.9 console producer (acks=all) + consumer,
#       SASL_SSL as bob, PKCS12 truststore, 50 lines in order;
#     console-3.9-ssl-mtls                  the 3.9 tools over mTLS with the PKCS12 keystore
#       (client.p12) and truststore: kafka-configs --alter (bob, above) must have
#       succeeded, then console producer (acks=all) + consumer, 50 lines in order;
#     console-2.2-sasl-ssl-plain            the seed's 2.2.1 console producer
#       (--broker-list) + consumer on Java 11, SASL_SSL PLAIN as alice, JKS truststore
#       (2.2 offers TLSv1.2 only);
#     console-4-sasl-ssl-scram-sha-512      the Kafka $KAFKA_VERSION (4.x) console producer
#       (--bootstrap-server, acks=all) + consumer, SASL_SSL SCRAM-SHA-512 as bob, PKCS12
#       truststore, 50 lines in order;
#     sarama-ssl-mtls, franz-go-ssl-mtls    go/secure-clients (sarama $SARAMA_VERSION,
#       franz-go $FRANZ_GO_VERSION) over mTLS: Go's crypto/tls with ca.pem as the only
#       root (the broker's name verified: 127.0.0.1 against the SAN IP) and client.pem +
#       client-plain.key; 50 records written one at a time with acks=all to partition 0,
#       then partition 0 read from the oldest offset: exactly the 50 values, in order;
#     sarama-sasl-ssl-scram-sha-512, franz-go-sasl-ssl-scram-sha-256   the same over
#       SASL_SSL (ca.pem, no client certificate) as bob (sarama's SCRAM client: the
#       program's own RFC 5802 code, as sarama ships none);
#     go-tls-negative                       go/secure-clients must be refused, nothing
#       acknowledged, with the error Apache makes each client report: franz-go and sarama
#       with rogue-client.pem (another CA) on the mTLS listener, sent whatever CA names
#       the broker's CertificateRequest lists (-force-cert), get the broker's
#       certificate_unknown alert ("remote error: tls: unknown certificate"; TLS 1.3: on
#       the first read after the client's Finished; KT_GO_ROGUE_*), and franz-go trusting
#       only rogue-ca.pem on the SASL_SSL listener fails to verify the broker ("tls:
#       failed to verify certificate: x509: certificate signed by unknown authority");
#       afterwards sarama mTLS still writes and reads.
#     logstash-sasl-ssl                     java/KafkaTlsLogstash.java: Logstash's kafka input
#       (kafka-clients $KAFKA_ZK_VERSION with the plugin's consumer defaults, as
#       kafka-logstash's LogstashGroup) with security_protocol SASL_SSL, sasl_mechanism
#       SCRAM-SHA-512, sasl_jaas_config, ssl_truststore_location/password/type (JKS):
#       the Admin creates the topic, the consumer is assigned, 100 lines written acks=all
#       are consumed once each in order, its committed offset is 100 on close;
#     filebeat-sasl-ssl-scram-sha-512       the real Filebeat 8.8.2 (lib/filebeat.sh),
#       output.kafka username/password, sasl.mechanism SCRAM-SHA-512,
#       ssl.certificate_authorities [ca.pem] (verification_mode full): 200 tailed lines
#       read back (confluent-kafka, SASL_SSL SCRAM-SHA-512) once each, in order.
#   negative: python/kafka_tls_check.py on raw sockets and Python's ssl module (its
#     docstrings say what Apache does in each case): good clients with TLS 1.2 and 1.3 on
#     both listeners, the broker certificate presented by both, Metadata naming each
#     listener's own endpoint; a plaintext Kafka request to the SSL and SASL_SSL ports gets
#     no Kafka reply and a closed connection; a TLS ClientHello to the PLAINTEXT port fails;
#     on the mTLS listener a client without a certificate and one with a certificate of
#     the rogue CA are refused (TLS 1.2: the handshake fails; TLS 1.3: the connection ends
#     right after the client's Finished, the request unanswered); a client trusting only
#     the rogue CA fails to verify the broker on both listeners; over SASL_SSL a wrong
#     SCRAM-SHA-512 and a wrong PLAIN password get SaslAuthenticate error 58 with Kafka's
#     message, then a close; Metadata before SASL on SASL_SSL is unanswered and closed.
#     After each refusal a good mTLS client and a good SASL_SSL client are served. Then
#     kafka-python without a client certificate on the mTLS listener gets nothing
#     acknowledged, and a good kafka-python mTLS client still writes and reads.
#
# keystore-jks: a second broker (chroot /jks) whose SSL listener has a JKS keystore (key
#   password of its own) and a JKS truststore, ssl.client.auth=required: one kafka-python
#   mTLS round trip.
#
# cluster-ssl: two brokers (1 and 2, chroot /cluster; keel: both keel) with listeners
#   PLAINTEXT and SSL (PKCS12, ssl.client.auth=required) and inter.broker.listener.name=SSL:
#   replica fetchers and the controller's channel log in with the broker certificate.
#   Topic kt-cluster (created over mTLS by the 3.9 kafka-topics --command-config),
#   --replica-assignment 1:2: led by 1, ISR {1,2}; 200 records acks=all (kafka-python mTLS,
#   bootstrap both SSL listeners: acknowledged once both ISR members have them); then
#   broker 1 stops (TERM) and broker 2 must lead alone; the 200 are read back from broker
#   2's SSL listener alone, in order: they reached it over the inter-broker SSL listener.
#   min.insync.replicas stays 1: Apache 3.9 does not advance a leader's high watermark
#   while its ISR is smaller than min.insync.replicas (KAFKA-15583, since 3.7), so with 2
#   the sole survivor would serve nothing. The last broker is killed (kt_stop_pair).
#
# mixed-cluster-sasl-ssl: broker 1 always Apache $KAFKA_ZK_VERSION, broker 2 the target's
#   (keel: keel; apache: Apache too, the suite proving itself), chroot /mixed; listeners
#   PLAINTEXT and SASL_SSL (PKCS12 keystore, PEM truststore: the inter-broker clients
#   verify the peer with the PEM CA; the PEM keystore is judged by the single broker's
#   clients alone), sasl.enabled.mechanisms=SCRAM-SHA-512, inter.broker.listener.name=
#   SASL_SSL, sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512, the brokers' login
#   admin512 (created with 3.9 kafka-configs --zookeeper before they start). Broker 1 starts first. Topic kt-mixed, 1:2,2:1,
#   min.insync.replicas=2: partition 0 led by 1 and 1 by 2, both ISRs {1,2}, seen alike
#   through both brokers; the other broker's /brokers/ids entry holds its SASL_SSL
#   endpoint, and an Apache controller logged its connection to it; 200 records acks=all
#   (kafka-python SASL_SSL SCRAM-SHA-512 as admin512) to both partitions read back, both
#   ISRs still full, and no error answer to LeaderAndIsr / UpdateMetadata in an Apache
#   controller's log. Broker 2 stops (TERM), broker 1 is killed (kt_stop_pair).

# shellcheck source=../lib/filebeat.sh
. "$COMPAT_DIR/lib/filebeat.sh"   # FILEBEAT_DIST, filebeat_binary

set -u
KT_PIDS=()
kt_cleanup() {
  local pid
  for pid in "${KT_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  KT_PIDS=()
  kafka_stop_all
  zk_stop_all
}
trap kt_cleanup EXIT
trap 'exit 143' TERM INT HUP

KT_RECORDS=50
KT_CERTS="$SUITE_WORK/certs"
KT_STOREPW=keel-compat-store      # PKCS12 / JKS store passwords (PKCS12: the key's too)
KT_PEMKEYPW=keel-compat-pem-key   # the broker's encrypted PKCS#8 key in the PEM keystore
KT_JKSKEYPW=keel-compat-jks-key   # the broker's key entry in the JKS keystore
KT_CLIENTKEYPW=alice-key-secret   # client.key (encrypted PKCS#8)
KT_PLAIN_JAAS='org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";'
KT_SCRAM_JAAS='org.apache.kafka.common.security.scram.ScramLoginModule required;'
KT_ADMIN512_JAAS='org.apache.kafka.common.security.scram.ScramLoginModule required username="admin512" password="admin512-secret";'
KT_PY="$COMPAT_DIR/python/kafka_tls_client.py"
KT_CHECK="$COMPAT_DIR/python/kafka_tls_check.py"
KT_ZK=""          # the ZooKeeper (host:port), chroots below it per part
KT_PLAIN=""       # the current broker's PLAINTEXT listener
KT_SSL=""         # its SSL listener
KT_SASL_SSL=""    # its SASL_SSL listener
KT_USERS=""       # how creating bob went (console-3.9-ssl-mtls reports it)

kt_py() { timeout_run 120 "$PY_VENV/bin/python" "$@"; }
kt_all_fail() {
  local c
  for c in $(sed -n 's/^# clients: //p' "$0" | head -1); do report "$c" fail "$*"; done
  exit 1
}

# --- certificates ------------------------------------------------------------------------

# kt_sign NAME CA SUBJECT EXTENSIONS: an RSA 2048 key (NAME-plain.key) and a certificate
# (NAME.pem) signed by CA (CA.pem / CA.key) with the given extension lines.
kt_sign() {
  local name=$1 ca=$2 subj=$3 ext=$4
  openssl req -new -newkey rsa:2048 -nodes -keyout "$name-plain.key" -out "$name.csr" -subj "$subj" &&
    printf '%b\n' "$ext" >"$name.ext" &&
    openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -days 2 -sha256 \
      -extfile "$name.ext" -out "$name.pem"
}

kt_certs() {
  local pw=$KT_STOREPW
  mkdir -p "$KT_CERTS" || return 1
  (
    cd "$KT_CERTS" || exit 1
    # the CA and the rogue CA
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/O=keel-compat/CN=keel-compat-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue-ca.key -out rogue-ca.pem -days 2 \
      -subj "/O=keel-compat-rogue/CN=rogue-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    # the broker: keytool's key pair in a PKCS12 keystore, signed by the CA, reply imported
    keytool -genkeypair -keystore broker.p12 -storetype PKCS12 -storepass "$pw" -alias broker \
      -keyalg RSA -keysize 2048 -validity 2 -dname "CN=127.0.0.1, O=keel-compat" &&
    keytool -certreq -keystore broker.p12 -storepass "$pw" -alias broker -file broker.csr &&
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >broker.ext &&
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
      -extfile broker.ext -out broker.pem &&
    keytool -importcert -noprompt -keystore broker.p12 -storepass "$pw" -alias ca -file ca.pem &&
    keytool -importcert -noprompt -keystore broker.p12 -storepass "$pw" -alias broker -file broker.pem &&
    # the PEM keystore: the same key, encrypted PKCS#8 (PBES1 3DES: see the header), then the chain
    openssl pkcs12 -in broker.p12 -passin "pass:$pw" -nocerts -nodes | openssl pkey -out broker-plain.key &&
    openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in broker-plain.key -passout "pass:$KT_PEMKEYPW" -out broker-enc.key &&
    cat broker-enc.key broker.pem ca.pem >broker-keystore.pem &&
    # the JKS keystore: the key entry alone, with a key password of its own
    keytool -importkeystore -noprompt -srckeystore broker.p12 -srcstoretype PKCS12 -srcstorepass "$pw" \
      -srcalias broker -destkeystore broker.jks -deststoretype JKS -deststorepass "$pw" \
      -destalias broker -destkeypass "$KT_JKSKEYPW" &&
    # truststores with the CA
    keytool -importcert -noprompt -keystore truststore.p12 -storetype PKCS12 -storepass "$pw" -alias ca -file ca.pem &&
    keytool -importcert -noprompt -keystore truststore.jks -storetype JKS -storepass "$pw" -alias ca -file ca.pem &&
    # the clients
    kt_sign client ca "/O=keel-compat/CN=alice-client" \
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth" &&
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in client-plain.key -passout "pass:$KT_CLIENTKEYPW" -out client.key &&
    openssl pkcs12 -export -in client.pem -inkey client-plain.key -certfile ca.pem -name alice-client \
      -passout "pass:$pw" -out client.p12 &&
    kt_sign rogue-client rogue-ca "/O=keel-compat/CN=alice-client" \
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth" &&
    cp rogue-client-plain.key rogue-client.key
  ) >"$KT_CERTS/make.log" 2>&1 || { tail -n 20 "$KT_CERTS/make.log" >&2; return 1; }
  head -n 1 "$KT_CERTS/broker-enc.key" | grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' ||
    { log "broker-enc.key is not an encrypted PKCS#8 key"; return 1; }
  log "certificates in $KT_CERTS; broker.p12: $(openssl pkcs12 -in "$KT_CERTS/broker.p12" -passin "pass:$pw" -info -noout 2>&1 |
    grep -m1 'Shrouded Keybag' | sed 's/^Shrouded Keybag: //')"
}

# --- brokers -------------------------------------------------------------------------------

# kt_ssl_props LISTENER KEYSTORE TRUSTSTORE CLIENT_AUTH: a TLS listener's settings with
# Kafka's per-listener prefix; KEYSTORE and TRUSTSTORE p12 | pem | jks.
kt_ssl_props() {
  local p="listener.name.${1,,}.ssl" c=$KT_CERTS
  case "$2" in
    p12) printf '%s\n' "$p.keystore.type=PKCS12" "$p.keystore.location=$c/broker.p12" \
      "$p.keystore.password=$KT_STOREPW" "$p.key.password=$KT_STOREPW" ;;
    pem) printf '%s\n' "$p.keystore.type=PEM" "$p.keystore.location=$c/broker-keystore.pem" \
      "$p.key.password=$KT_PEMKEYPW" ;;
    jks) printf '%s\n' "$p.keystore.type=JKS" "$p.keystore.location=$c/broker.jks" \
      "$p.keystore.password=$KT_STOREPW" "$p.key.password=$KT_JKSKEYPW" ;;
  esac
  case "$3" in
    p12) printf '%s\n' "$p.truststore.type=PKCS12" "$p.truststore.location=$c/truststore.p12" \
      "$p.truststore.password=$KT_STOREPW" ;;
    pem) printf '%s\n' "$p.truststore.type=PEM" "$p.truststore.location=$c/ca.pem" ;;
    jks) printf '%s\n' "$p.truststore.type=JKS" "$p.truststore.location=$c/truststore.jks" \
      "$p.truststore.password=$KT_STOREPW" ;;
  esac
  printf '%s\n' "$p.client.auth=$4"
}

# kt_broker NAME ZK_PATH BROKER_ID "LISTENER:KEYSTORE:TRUSTSTORE:CLIENT_AUTH ..." [k=v ...]:
# starts a broker of the target (or of KT_BROKER_TARGET) with PLAINTEXT and these TLS
# listeners (SSL and/or SASL_SSL); sets KT_PLAIN, KT_SSL, KT_SASL_SSL.
kt_broker() {
  local name=$1 zk=$2 id=$3 spec=$4 l ks ts auth port extra="" props="" ssl="" sasl=""
  shift 4
  for l in $spec; do
    IFS=: read -r l ks ts auth <<<"$l"
    port=$(free_port)
    extra="${extra:+$extra,}$l://127.0.0.1:$port"
    props="$props$(kt_ssl_props "$l" "$ks" "$ts" "$auth")"$'\n'
    case "$l" in SSL) ssl="127.0.0.1:$port" ;; SASL_SSL) sasl="127.0.0.1:$port" ;; esac
  done
  props="$props$(printf '%s\n' "$@")"
  KAFKA_BROKER_ID=$id KAFKA_EXTRA_PROPS=$props KAFKA_EXTRA_LISTENERS=$extra \
    kafka_start "${KT_BROKER_TARGET:-$TARGET}" zk "$name" "$zk" || return 1
  KT_PLAIN=$KAFKA_BOOTSTRAP KT_SSL=$ssl KT_SASL_SSL=$sasl
  for l in $ssl $sasl; do
    wait_port "${l##*:}" 10 || { log "broker $name does not listen on $l"; return 1; }
  done
}

# the SASL settings of a SASL_SSL listener (the single broker's)
kt_sasl_props() {
  printf '%s\n' "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" \
    "listener.name.sasl_ssl.plain.sasl.jaas.config=$KT_PLAIN_JAAS" \
    "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$KT_SCRAM_JAAS" \
    "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$KT_SCRAM_JAAS"
}

# --- client settings -------------------------------------------------------------------------

KT_CA_ARGS=()
KT_MTLS_ARGS=()
KT_GO_MTLS=()
kt_client_args() {
  KT_CA_ARGS=(--ca "$KT_CERTS/ca.pem")
  KT_MTLS_ARGS=(--protocol SSL --ca "$KT_CERTS/ca.pem" --cert "$KT_CERTS/client.pem"
    --key "$KT_CERTS/client.key" --key-password "$KT_CLIENTKEYPW")
  KT_GO_MTLS=(-tls -ca "$KT_CERTS/ca.pem" -cert "$KT_CERTS/client.pem" -key "$KT_CERTS/client-plain.key")
}

# kt_java_config FILE PROTOCOL TRUSTSTORE_TYPE [KEYSTORE | MECHANISM USER PASSWORD]: a Java
# client's properties. TRUSTSTORE_TYPE PKCS12 | JKS; KEYSTORE "p12" adds client.p12.
kt_java_config() {
  local file=$1 proto=$2 tstype=$3 ts module=org.apache.kafka.common.security.scram.ScramLoginModule
  ts="$KT_CERTS/truststore.p12"
  [ "$tstype" = JKS ] && ts="$KT_CERTS/truststore.jks"
  {
    echo "security.protocol=$proto"
    echo "ssl.truststore.type=$tstype"
    echo "ssl.truststore.location=$ts"
    echo "ssl.truststore.password=$KT_STOREPW"
    if [ "$proto" = SSL ]; then
      echo "ssl.keystore.type=PKCS12"
      echo "ssl.keystore.location=$KT_CERTS/client.p12"
      echo "ssl.keystore.password=$KT_STOREPW"
      echo "ssl.key.password=$KT_STOREPW"
    else
      [ "$4" = PLAIN ] && module=org.apache.kafka.common.security.plain.PlainLoginModule
      echo "sasl.mechanism=$4"
      echo "sasl.jaas.config=$module required username=\"$5\" password=\"$6\";"
    fi
  } >"$file"
}

# --- single broker ----------------------------------------------------------------------------

# kt_users: bob (SCRAM-SHA-256 4096 iterations, SCRAM-SHA-512) by the 3.9 kafka-configs
# --bootstrap-server over the mTLS listener; falls back to PLAINTEXT, so that the SCRAM
# clients still run when only the 3.9 admin client over mTLS fails.
kt_users() {
  local out cfg="$SUITE_WORK/admin-mtls.properties"
  local add='SCRAM-SHA-256=[iterations=4096,password=bob-secret],SCRAM-SHA-512=[password=bob-secret]'
  kt_java_config "$cfg" SSL PKCS12
  if out=$(kafka_tool 3.9 kafka-configs --bootstrap-server "$KT_SSL" --command-config "$cfg" --alter \
      --add-config "$add" --entity-type users --entity-name bob 2>&1) &&
      grep -q "Completed updating config for user bob" <<<"$out"; then
    KT_USERS=ok
  else
    printf '%s\n' "---- 3.9 kafka-configs --alter over mTLS:" "$out" | tail -n 20 >&2
    KT_USERS="3.9 kafka-configs --bootstrap-server $KT_SSL (mTLS, PKCS12 keystore) --alter failed: $(grep -m1 -E 'Error|Exception' <<<"$out" | cut -c1-200)"
    log "$KT_USERS; creating bob over PLAINTEXT instead"
    out=$(kafka_tool 3.9 kafka-configs --bootstrap-server "$KT_PLAIN" --alter \
      --add-config "$add" --entity-type users --entity-name bob 2>&1) ||
      printf '%s\n' "$out" | tail -n 10 >&2
  fi
  out=$(kt_py "$KT_CHECK" wait-auth "$KT_SASL_SSL" "$KT_CERTS/ca.pem" SCRAM-SHA-512 bob bob-secret 30 2>&1) ||
    log "bob cannot log in over SASL_SSL (SCRAM-SHA-512): $out"
  out=$(kt_py "$KT_CHECK" wait-auth "$KT_SASL_SSL" "$KT_CERTS/ca.pem" SCRAM-SHA-256 bob bob-secret 10 2>&1) ||
    log "bob cannot log in over SASL_SSL (SCRAM-SHA-256): $out"
}

# kt_roundtrip CLIENT TOPIC ARGS...: kafka_tls_client.py roundtrip
kt_roundtrip() {
  local client=$1 topic=$2 out
  shift 2
  if out=$(kt_py "$KT_PY" roundtrip "$client" "$@" 2>&1); then
    KAFKA_DETAIL=$(tail -n 1 <<<"$out")
  else
    printf '%s\n' "$out" | tail -n 30 >&2
    kafka_fail "$(tail -n 1 <<<"$out")"
  fi
}

# kt_console VER TOPIC CONFIG BOOTSTRAP WHAT: the console producer (acks=all) and consumer of Kafka VER.
kt_console() {
  local ver=$1 topic=$2 cfg=$3 boot=$4 what=$5 expected out flag=--bootstrap-server
  [ "$ver" = 2.2 ] && flag=--broker-list
  expected=$(seq 1 "$KT_RECORDS" | sed "s/.*/console $ver $topic line &/")
  out=$(printf '%s\n' "$expected" | kafka_tool "$ver" kafka-console-producer "$flag" "$boot" \
    --topic "$topic" --producer.config "$cfg" --request-required-acks all 2>&1) \
    || { printf '%s\n' "$out" | tail -n 20 >&2; kafka_fail "$ver console producer ($what) exited non-zero: $(grep -m1 -E 'ERROR|Exception' <<<"$out" | cut -c1-200)"; return 1; }
  out=$(kafka_tool "$ver" kafka-console-consumer --bootstrap-server "$boot" --topic "$topic" \
    --consumer.config "$cfg" --from-beginning --max-messages "$KT_RECORDS" --timeout-ms 30000 \
    2>"$SUITE_WORK/console-$topic.err")
  if [ "$out" != "$expected" ]; then
    printf '%s\n' "---- got $(grep -c . <<<"$out") lines; first differences:" >&2
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$out") | head -5 >&2
    tail -n 20 "$SUITE_WORK/console-$topic.err" >&2
    kafka_fail "$ver console consumer ($what) did not read the $KT_RECORDS lines back in order: $(grep -m1 -E 'ERROR|Exception' "$SUITE_WORK/console-$topic.err" | cut -c1-200)"
    return 1
  fi
  KAFKA_DETAIL="Kafka $ver console producer ($flag, acks=all) + consumer, $what: $KT_RECORDS lines in order"
}

kt_console_39_sasl() {
  local cfg="$SUITE_WORK/console-39-sasl-ssl.properties"
  kt_java_config "$cfg" SASL_SSL PKCS12 SCRAM-SHA-512 bob bob-secret
  kt_console 3.9 kt-console-39-sasl-ssl "$cfg" "$KT_SASL_SSL" "SASL_SSL SCRAM-SHA-512 as bob, PKCS12 truststore"
}

kt_console_39_mtls() {
  local cfg="$SUITE_WORK/console-39-mtls.properties"
  kt_java_config "$cfg" SSL PKCS12
  kt_console 3.9 kt-console-39-mtls "$cfg" "$KT_SSL" "SSL with the PKCS12 keystore (openssl-made client.p12) and truststore" || return 1
  if [ "$KT_USERS" != ok ]; then
    kafka_fail "$KT_USERS (the console tools worked)"
    return 1
  fi
  KAFKA_DETAIL="3.9 kafka-configs --bootstrap-server --alter (AlterUserScramCredentials) created bob over mTLS; $KAFKA_DETAIL"
}

kt_console_22() {
  local cfg="$SUITE_WORK/console-22-sasl-ssl.properties"
  kt_java_config "$cfg" SASL_SSL JKS PLAIN alice alice-secret
  kt_console 2.2 kt-console-22-sasl-ssl "$cfg" "$KT_SASL_SSL" "SASL_SSL PLAIN as alice, JKS truststore, Java 11"
}

kt_console_4_sasl() {
  local cfg="$SUITE_WORK/console-4-sasl-ssl.properties"
  kt_java_config "$cfg" SASL_SSL PKCS12 SCRAM-SHA-512 bob bob-secret
  kt_console 4 kt-console-4-sasl-ssl "$cfg" "$KT_SASL_SSL" "SASL_SSL SCRAM-SHA-512 as bob, PKCS12 truststore"
}

# kt_go LIB TOPIC BOOTSTRAP ARGS...: go/secure-clients (sarama | franz) writes KT_RECORDS
# records acks=all to partition 0 and reads them back in order.
kt_go() {
  local lib=$1 topic=$2 boot=$3 bin out
  shift 3
  bin=$(go_build secure-clients) || { kafka_fail "go build of secure-clients failed"; return 1; }
  if out=$(timeout_run 120 "$bin" -lib "$lib" -brokers "$boot" -topic "$topic" -records "$KT_RECORDS" "$@" 2>&1); then
    KAFKA_DETAIL=$(tail -n 1 <<<"$out")
  else
    printf '%s\n' "$out" | tail -n 20 >&2
    kafka_fail "$(tail -n 1 <<<"$out")"
  fi
}

# What the Go clients report when Apache refuses a client certificate of another CA on
# the mTLS listener, and when the client does not trust the broker's CA (kt_go_negative).
KT_GO_ROGUE_FRANZ='^refused: ping: remote error: tls: unknown certificate$'
KT_GO_ROGUE_SARAMA='^refused: client: kafka: client has run out of available brokers to talk to: remote error: tls: unknown certificate$'
KT_GO_UNTRUSTED='^refused: ping: unable to dial: tls: failed to verify certificate: x509: certificate signed by unknown authority$'

# kt_go_negative "LIB CASE" ...: each case must be refused with its error, then a good
# sarama mTLS client is still served. CASE rogue-cert (rogue-client.pem forced on the
# mTLS listener), untrusted-ca (SASL_SSL, trusting only rogue-ca.pem).
kt_go_negative() {
  local bin out lib what spec boot re seen=() c=$KT_CERTS
  bin=$(go_build secure-clients) || { kafka_fail "go build of secure-clients failed"; return 1; }
  for spec in "$@"; do
    read -r lib what <<<"$spec"
    case "$what" in
      rogue-cert) boot=$KT_SSL
        set -- -tls -ca "$c/ca.pem" -cert "$c/rogue-client.pem" -key "$c/rogue-client-plain.key" -force-cert
        re=$KT_GO_ROGUE_FRANZ; [ "$lib" = sarama ] && re=$KT_GO_ROGUE_SARAMA ;;
      untrusted-ca) boot=$KT_SASL_SSL re=$KT_GO_UNTRUSTED
        set -- -tls -ca "$c/rogue-ca.pem" -mechanism SCRAM-SHA-512 -user bob -password bob-secret ;;
    esac
    out=$(timeout_run 120 "$bin" -lib "$lib" -brokers "$boot" -topic kt-go-refused -records 1 -expect-failure \
      -timeout 20s "$@" 2>"$SUITE_WORK/go-negative.err") \
      || { cat "$SUITE_WORK/go-negative.err" >&2; kafka_fail "$lib $what: $(tail -n 1 <<<"$out")"; return 1; }
    sed "s/^/$lib $what: /" "$SUITE_WORK/go-negative.err" >&2
    printf '%s\n' "$lib $what: $out" >&2
    if ! grep -Eq -- "$re" <<<"$out"; then
      kafka_fail "$lib $what was refused, but not with /$re/: $(cut -c1-300 <<<"$out")"
      return 1
    fi
    seen+=("$lib $what: $(sed 's/^refused: //' <<<"$out" | cut -c1-200)")
  done
  out=$(timeout_run 120 "$bin" -lib sarama -brokers "$KT_SSL" -topic kt-go-after-negative -records "$KT_RECORDS" \
    "${KT_GO_MTLS[@]}" 2>&1) \
    || { printf '%s\n' "$out" | tail -n 20 >&2; kafka_fail "after the refusals a good sarama mTLS client failed: $(tail -n 1 <<<"$out")"; return 1; }
  KAFKA_DETAIL="refused, nothing acknowledged: $(IFS=';'; echo "${seen[*]}"); afterwards sarama mTLS still writes and reads"
}

kt_logstash() {
  local out
  if out=$(kafka_java kafka-clients-3.9 "$COMPAT_DIR/java/KafkaTlsLogstash.java" "$KT_SASL_SSL" kt-logstash 100 \
      "$KT_CERTS/truststore.jks" JKS "$KT_STOREPW" SCRAM-SHA-512 bob bob-secret 2>"$SUITE_WORK/logstash.err"); then
    KAFKA_DETAIL=$out
  else
    grep -v DEBUG "$SUITE_WORK/logstash.err" | tail -n 20 >&2
    kafka_fail "$(grep -m1 'KafkaTlsLogstash:' "$SUITE_WORK/logstash.err" || tail -n 1 "$SUITE_WORK/logstash.err")"
  fi
}

kt_filebeat() {
  local bin dir topic=kt-filebeat pid i lines=200 expected out messages
  bin=$(filebeat_binary) || { kafka_fail "no Filebeat binary at $FILEBEAT_DIST"; return 1; }
  dir="$SUITE_WORK/filebeat"
  mkdir -p "$dir/data" "$dir/logs"
  : >"$dir/input.log"
  cat >"$dir/filebeat.yml" <<YAML
filebeat.inputs:
  - type: filestream
    id: compat-tls
    paths: [$dir/input.log]
    prospector.scanner.check_interval: 1s
output.kafka:
  hosts: ["$KT_SASL_SSL"]
  topic: "$topic"
  username: "bob"
  password: "bob-secret"
  sasl.mechanism: SCRAM-SHA-512
  ssl.certificate_authorities: ["$KT_CERTS/ca.pem"]
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
  KT_PIDS+=("$pid")
  for i in $(seq 1 "$lines"); do
    printf 'tls app line %d\n' "$i" >>"$dir/input.log"
    [ $((i % 100)) = 0 ] && sleep 1
  done
  expected=$(seq 1 "$lines" | sed 's/.*/tls app line &/')
  # reads until it has $lines records, at most 60s
  out=$(kt_py "$KT_PY" consume confluent-kafka "$KT_SASL_SSL" "$topic" "$lines" --protocol SASL_SSL \
    "${KT_CA_ARGS[@]}" --mechanism SCRAM-SHA-512 --user bob --password bob-secret 2>"$dir/consume.err")
  messages=$(printf '%s\n' "$out" | python3 -c 'import json,sys
for line in sys.stdin:
    line=line.strip()
    if line: print(json.loads(line)["message"])' 2>/dev/null)
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ "$messages" != "$expected" ]; then
    printf '%s\n' "---- filebeat: got $(grep -c . <<<"$messages") lines; first differences:" >&2
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$messages") | head -10 >&2
    tail -n 20 "$dir"/logs/filebeat* "$dir/consume.err" >&2 2>/dev/null
    kafka_fail "Filebeat (SASL_SSL SCRAM-SHA-512) did not deliver the $lines lines once each in order: $(grep -h -m1 -iE 'tls|x509|certificate|handshake' "$dir"/logs/filebeat* 2>/dev/null | cut -c1-250)"
    return 1
  fi
  KAFKA_DETAIL="Filebeat 8.8.2, output.kafka SASL_SSL SCRAM-SHA-512 as bob, ssl.certificate_authorities ca.pem (verification_mode full): $lines lines tailed, read back once each in order (confluent-kafka SASL_SSL)"
}

kt_negative() {
  local out r1 r2
  if ! out=$(kt_py "$KT_CHECK" negative "$KT_SSL" "$KT_SASL_SSL" "$KT_PLAIN" "$KT_CERTS" 2>"$SUITE_WORK/negative-checks.txt"); then
    cat "$SUITE_WORK/negative-checks.txt" >&2
    kafka_fail "$out"
    return 1
  fi
  cat "$SUITE_WORK/negative-checks.txt" >&2
  if ! r1=$(kt_py "$KT_PY" refused kafka-python "$KT_SSL" kt-refused --protocol SSL "${KT_CA_ARGS[@]}" 2>&1); then
    printf '%s\n' "$r1" | tail -n 20 >&2
    kafka_fail "$(tail -n 1 <<<"$r1")"
    return 1
  fi
  r2=$(kt_py "$KT_PY" roundtrip kafka-python "$KT_SSL" kt-after-negative "$KT_RECORDS" "${KT_MTLS_ARGS[@]}" 2>&1) \
    || { printf '%s\n' "$r2" | tail -n 20 >&2; kafka_fail "after the refusals a good client failed: $(tail -n 1 <<<"$r2")"; return 1; }
  KAFKA_DETAIL="$out; $(tail -n 1 <<<"$r1" | sed 's/ \[[0-9.]*s\]$//'); afterwards kafka-python mTLS still writes and reads"
}

kt_single() {
  local c sasl
  sasl=(--protocol SASL_SSL "${KT_CA_ARGS[@]}")
  if ! kt_broker kt-single "$KT_ZK/tls" 1 "SSL:p12:p12:required SASL_SSL:pem:pem:none" \
      "inter.broker.listener.name=PLAINTEXT" "$(kt_sasl_props)"; then
    for c in kafka-python-ssl-mtls kafka-python-sasl-ssl-scram-sha-512 confluent-kafka-ssl-mtls \
        confluent-kafka-sasl-ssl-scram-sha-256 console-3.9-sasl-ssl-scram-sha-512 console-3.9-ssl-mtls \
        console-2.2-sasl-ssl-plain console-4-sasl-ssl-scram-sha-512 sarama-ssl-mtls \
        sarama-sasl-ssl-scram-sha-512 franz-go-ssl-mtls franz-go-sasl-ssl-scram-sha-256 go-tls-negative \
        logstash-sasl-ssl filebeat-sasl-ssl-scram-sha-512 negative; do
      report "$c" fail "the $TARGET broker with SSL (PKCS12, mTLS) and SASL_SSL (PEM) listeners did not start (see $(kafka_server_dir kt-single))"
    done
    KAFKA_SUITE_RC=1
    return
  fi
  kt_py "$KT_PY" create-topics "$KT_PLAIN" 1 1 1 kt-kp-mtls kt-kp-sasl-ssl kt-ck-mtls kt-ck-sasl-ssl \
    kt-console-39-sasl-ssl kt-console-39-mtls kt-console-22-sasl-ssl kt-console-4-sasl-ssl kt-go-sarama-mtls \
    kt-go-sarama-sasl-ssl kt-go-franz-mtls kt-go-franz-sasl-ssl kt-go-after-negative kt-filebeat kt-after-negative >&2 \
    || log "could not create the topics up front"
  kt_users
  kafka_client kafka-python-ssl-mtls kt_roundtrip kafka-python kt-kp-mtls "$KT_SSL" kt-kp-mtls "$KT_RECORDS" \
    "${KT_MTLS_ARGS[@]}" --group
  kafka_client kafka-python-sasl-ssl-scram-sha-512 kt_roundtrip kafka-python kt-kp-sasl-ssl "$KT_SASL_SSL" kt-kp-sasl-ssl \
    "$KT_RECORDS" "${sasl[@]}" --mechanism SCRAM-SHA-512 --user bob --password bob-secret --group
  kafka_client confluent-kafka-ssl-mtls kt_roundtrip confluent-kafka kt-ck-mtls "$KT_SSL" kt-ck-mtls "$KT_RECORDS" \
    "${KT_MTLS_ARGS[@]}" --group
  kafka_client confluent-kafka-sasl-ssl-scram-sha-256 kt_roundtrip confluent-kafka kt-ck-sasl-ssl "$KT_SASL_SSL" kt-ck-sasl-ssl \
    "$KT_RECORDS" "${sasl[@]}" --mechanism SCRAM-SHA-256 --user bob --password bob-secret --group
  kafka_client console-3.9-sasl-ssl-scram-sha-512 kt_console_39_sasl
  kafka_client console-3.9-ssl-mtls kt_console_39_mtls
  kafka_client console-2.2-sasl-ssl-plain kt_console_22
  kafka_client console-4-sasl-ssl-scram-sha-512 kt_console_4_sasl
  kafka_client sarama-ssl-mtls kt_go sarama kt-go-sarama-mtls "$KT_SSL" "${KT_GO_MTLS[@]}"
  kafka_client sarama-sasl-ssl-scram-sha-512 kt_go sarama kt-go-sarama-sasl-ssl "$KT_SASL_SSL" \
    -tls -ca "$KT_CERTS/ca.pem" -mechanism SCRAM-SHA-512 -user bob -password bob-secret
  kafka_client franz-go-ssl-mtls kt_go franz kt-go-franz-mtls "$KT_SSL" "${KT_GO_MTLS[@]}"
  kafka_client franz-go-sasl-ssl-scram-sha-256 kt_go franz kt-go-franz-sasl-ssl "$KT_SASL_SSL" \
    -tls -ca "$KT_CERTS/ca.pem" -mechanism SCRAM-SHA-256 -user bob -password bob-secret
  kafka_client go-tls-negative kt_go_negative "franz rogue-cert" "sarama rogue-cert" "franz untrusted-ca"
  kafka_client logstash-sasl-ssl kt_logstash
  if filebeat_binary >/dev/null; then
    kafka_client filebeat-sasl-ssl-scram-sha-512 kt_filebeat
  else
    report filebeat-sasl-ssl-scram-sha-512 skip "the Filebeat 8.8.2 build is not at $FILEBEAT_DIST (set FILEBEAT_DIST)"
  fi
  kafka_client negative kt_negative
  kafka_stop kt-single
}

# --- JKS ------------------------------------------------------------------------------------

kt_jks() {
  local out
  kt_broker kt-jks "$KT_ZK/jks" 1 "SSL:jks:jks:required" "inter.broker.listener.name=PLAINTEXT" \
    || { kafka_fail "the $TARGET broker with a JKS keystore and truststore did not start (see $(kafka_server_dir kt-jks))"; return 1; }
  out=$(kt_py "$KT_PY" roundtrip kafka-python "$KT_SSL" kt-jks "$KT_RECORDS" "${KT_MTLS_ARGS[@]}" 2>&1) \
    || { printf '%s\n' "$out" | tail -n 20 >&2; kafka_fail "$(tail -n 1 <<<"$out")"; kafka_stop kt-jks; return 1; }
  KAFKA_DETAIL="SSL listener with ssl.keystore.type=JKS (key password of its own) and a JKS truststore, mTLS: $(tail -n 1 <<<"$out")"
  kafka_stop kt-jks
}

# --- cluster over SSL --------------------------------------------------------------------------

kt_led_by() {  # stdin: partition lines; $1: the leader every partition must have; $2: its ISR
  local p l isr n=0
  while read -r p l isr; do
    [ "$l" = "$1" ] || return 1
    [ "$(tr ',' '\n' <<<"$isr" | sort | tr '\n' ' ')" = "$2" ] || return 1
    n=$((n + 1))
  done
  [ "$n" -ge 1 ]
}
kt_cluster_synced() { kt_led_by 1 "1 2 "; }
kt_cluster_failed_over() { kt_led_by 2 "2 "; }

kt_cluster() {
  local out i ssl=() plain=() cfg="$SUITE_WORK/admin-mtls.properties" t0 secs
  for i in 1 2; do
    kt_broker "kt-cluster-b$i" "$KT_ZK/cluster" "$i" "SSL:p12:p12:required" "inter.broker.listener.name=SSL" \
      || { kafka_fail "broker $i (inter-broker SSL, mTLS) did not start (see $(kafka_server_dir "kt-cluster-b$i"))"; return 1; }
    ssl+=("$KT_SSL")
    plain+=("$KT_PLAIN")
  done
  kt_java_config "$cfg" SSL PKCS12
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "${ssl[0]}" --command-config "$cfg" \
    --topic kt-cluster --replica-assignment 1:2 2>&1)
  kafka_expect "3.9 kafka-topics --create over mTLS, --replica-assignment 1:2" "$out" 'Created topic "?kt-cluster"?\.' || return 1
  if ! kafka_wait_partitions "${plain[0]}" kt-cluster 60 kt_cluster_synced; then
    kafka_fail "kt-cluster: not led by 1 with ISR {1,2} within 60s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  out=$(kt_py "$KT_PY" produce kafka-python "${ssl[0]},${ssl[1]}" kt-cluster 200 "${KT_MTLS_ARGS[@]}" --acks all 2>&1) \
    || { printf '%s\n' "$out" | tail -n 30 >&2; kafka_fail "acks=all: $(tail -n 1 <<<"$out") (kt-cluster now: $(kafka_partitions "${plain[0]}" kt-cluster | tr '\n' ';'))"; return 1; }
  KAFKA_DETAIL="brokers 1 and 2 replicating over SSL (mTLS with the broker certificate): kt-cluster 1:2 led by 1, ISR {1,2}; $(tail -n 1 <<<"$out" | sed 's/ \[[0-9.]*s\]$//')"
  t0=$(date +%s)
  kafka_stop kt-cluster-b1
  if ! kafka_wait_partitions "${plain[1]}" kt-cluster 45 kt_cluster_failed_over; then
    kafka_fail "broker 1 stopped, but broker 2 did not lead kt-cluster alone within 45s: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  secs=$(($(date +%s) - t0))
  out=$(kt_py "$KT_PY" verify kafka-python "${ssl[1]}" kt-cluster 200 "${KT_MTLS_ARGS[@]}" 2>&1) \
    || { printf '%s\n' "$out" | tail -n 30 >&2; kafka_fail "from the follower after the leader stopped: $(tail -n 1 <<<"$out")"; return 1; }
  KAFKA_DETAIL="$KAFKA_DETAIL; broker 1 stopped, broker 2 led after ${secs}s; from broker 2's SSL listener alone: $(tail -n 1 <<<"$out")"
}

# kt_stop_pair FIRST LAST: FIRST stops (TERM), LAST is killed: the last broker of a
# cluster cannot move its leaderships anywhere, and Apache's controlled shutdown retries
# that for 15s before it gives up.
kt_stop_pair() {
  kafka_stop "$1"
  kafka_kill "$2" >/dev/null 2>&1
  kafka_stop_all
}

# --- mixed cluster over SASL_SSL -------------------------------------------------------------

# kt_zk_brokers CHROOT: "controller ID" and one "broker ID ENDPOINTS" per /brokers/ids/ID
kt_zk_brokers() {
  kt_py - "$KT_ZK$1" <<'PY'
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

# partition 0 led by broker 1, partition 1 by broker 2 (1:2,2:1), both ISRs {1,2}
kt_mixed_led() {
  local p l isr n=0
  while read -r p l isr; do
    [ "$l" = $((p + 1)) ] || return 1
    [ "$(tr ',' '\n' <<<"$isr" | sort | tr '\n' ' ')" = "1 2 " ] || return 1
    n=$((n + 1))
  done
  [ "$n" -eq 2 ]
}

kt_mixed() {
  local out i t ctl other zkinfo endpoint sport errs n0="" plain=() sasl=() targets=(apache "$TARGET")
  out=$(kafka_tool 3.9 kafka-configs --zookeeper "$KT_ZK/mixed" --alter \
    --add-config 'SCRAM-SHA-512=[password=admin512-secret]' --entity-type users --entity-name admin512 2>&1)
  kafka_expect "3.9 kafka-configs --zookeeper admin512" "$out" "Completed updating config for entity: user-principal 'admin512'\." || return 1
  for i in 1 2; do
    t=${targets[$((i - 1))]}
    KT_BROKER_TARGET=$t kt_broker "kt-mixed-b$i" "$KT_ZK/mixed" "$i" "SASL_SSL:p12:pem:none" \
      "sasl.enabled.mechanisms=SCRAM-SHA-512" \
      "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$KT_ADMIN512_JAAS" \
      "inter.broker.listener.name=SASL_SSL" "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512" \
      || { kafka_fail "broker $i ($t; inter-broker SASL_SSL, SCRAM-SHA-512) did not start (see $(kafka_server_dir "kt-mixed-b$i"))"; return 1; }
    plain+=("$KT_PLAIN")
    sasl+=("$KT_SASL_SSL")
  done
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "${plain[0]}" --topic kt-mixed \
    --replica-assignment 1:2,2:1 --config min.insync.replicas=2 2>&1)
  kafka_expect "kafka-topics --create kt-mixed --replica-assignment 1:2,2:1" "$out" 'Created topic "?kt-mixed"?\.' || return 1
  for i in 0 1; do
    if ! kafka_wait_partitions "${plain[$i]}" kt-mixed 60 kt_mixed_led; then
      kafka_fail "kt-mixed: not partition 0 led by 1 and partition 1 by 2, both ISRs {1,2}, within 60s (broker $((i + 1))'s view, ${targets[$i]}): $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
      return 1
    fi
  done
  zkinfo=$(kt_zk_brokers /mixed 2>&1) || { kafka_fail "could not read /mixed/controller: $zkinfo"; return 1; }
  ctl=$(sed -n 's/^controller //p' <<<"$zkinfo")
  case "$ctl" in 1 | 2) ;; *) kafka_fail "no controller in /mixed/controller: $(tr '\n' ';' <<<"$zkinfo")"; return 1 ;; esac
  other=$((3 - ctl))
  sport=${sasl[$((other - 1))]##*:}
  endpoint=$(sed -n "s/^broker $other //p" <<<"$zkinfo")
  if ! tr ',' '\n' <<<"$endpoint" | grep -qx "SASL_SSL://127.0.0.1:$sport"; then
    kafka_fail "/mixed/brokers/ids/$other has endpoints '$endpoint', not its SASL_SSL listener 127.0.0.1:$sport"
    return 1
  fi
  if [ "${targets[$((ctl - 1))]}" = apache ]; then
    n0=$(grep -c "connected to 127\.0\.0\.1:$sport (id: $other rack: null) for sending state change requests" \
      "$(kafka_server_dir "kt-mixed-b$ctl")/server.log")
    if [ "$n0" -lt 1 ]; then
      kafka_fail "the Apache controller (broker $ctl) never logged a connection to broker $other's SASL_SSL listener 127.0.0.1:$sport"
      return 1
    fi
  fi
  out=$(kt_py "$KT_PY" roundtrip kafka-python "${sasl[0]},${sasl[1]}" kt-mixed 200 --protocol SASL_SSL "${KT_CA_ARGS[@]}" \
    --mechanism SCRAM-SHA-512 --user admin512 --password admin512-secret --acks all --partitions 2 2>&1) \
    || { printf '%s\n' "$out" | tail -n 30 >&2; kafka_fail "acks=all: $(tail -n 1 <<<"$out") (kt-mixed now: $(kafka_partitions "${plain[0]}" kt-mixed | tr '\n' ';'))"; return 1; }
  if ! kafka_wait_partitions "${plain[0]}" kt-mixed 30 kt_mixed_led; then
    kafka_fail "kt-mixed: a replica left the ISR after the writes: $(tr '\n' ';' <<<"$KAFKA_PARTITIONS")"
    return 1
  fi
  if [ -n "$n0" ] && errs=$(grep -E 'Received error [A-Z_]+ in (LeaderAndIsr|UpdateMetadata) response' \
      "$(kafka_server_dir "kt-mixed-b$ctl")/server.log"); then
    kafka_fail "the Apache controller (broker $ctl) got error answers to LeaderAndIsr / UpdateMetadata: $(head -n 1 <<<"$errs" | cut -c1-300)"
    return 1
  fi
  KAFKA_DETAIL="broker 1 apache, broker 2 ${targets[1]}, inter-broker SASL_SSL SCRAM-SHA-512 as admin512; controller broker $ctl, broker $other registered with SASL_SSL://127.0.0.1:$sport${n0:+ (the Apache controller connected to it $n0 time(s))}; kt-mixed 1:2,2:1: $(awk '{printf "%spartition %s leader %s isr %s", (NR > 1 ? ", " : ""), $1, $2, $3}' <<<"$KAFKA_PARTITIONS"); $(tail -n 1 <<<"$out")"
}

# --- main ----------------------------------------------------------------------------------

T0=$(date +%s)
python_env || kt_all_fail "python venv"
kt_certs || kt_all_fail "could not make the certificates and keystores (see $KT_CERTS/make.log)"
kt_client_args
log "certificates and keystores made in $(($(date +%s) - T0))s"
zk_start "$(kafka_zk_target)" standalone kt-zk || kt_all_fail "the $(kafka_zk_target) ZooKeeper did not start"
KT_ZK=$ZK_CONNECT
# /mixed exists before kafka-configs --zookeeper writes admin512 under it
kt_py - "$KT_ZK" <<'PY' || log "could not create the chroot /mixed (kazoo)"
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=15)
zk.start(timeout=15)
zk.ensure_path("/mixed")
zk.stop()
PY
kt_single
kafka_stop_all
kafka_client keystore-jks kt_jks
kafka_stop_all
kafka_client cluster-ssl kt_cluster
kt_stop_pair kt-cluster-b1 kt-cluster-b2
kafka_client mixed-cluster-sasl-ssl kt_mixed
kt_stop_pair kt-mixed-b2 kt-mixed-b1
log "kafka-tls done in $(($(date +%s) - T0))s"
exit "$KAFKA_SUITE_RC"
