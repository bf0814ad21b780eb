#!/usr/bin/env bash
# bench/kafka-tls.sh: the cost of TLS. One Kafka broker of each kind with two listeners,
# PLAINTEXT and SASL_SSL (TLS + SCRAM-SHA-512), driven over both in the same run:
# Apache Kafka 3.9.1 in ZooKeeper mode (its Maven jars, started as bench/kafka-cluster.sh
# starts it: compat-tests/lib/kafka.sh kafka_start apache zk) against `keel kafka`, one
# after the other, never at once, each on a fresh Apache ZooKeeper 3.9.4
# (compat-tests/lib/zookeeper.sh zk_start apache standalone; BENCH_TLS_ZK=keel runs keel's
# ZooKeeper for both instead), so only the brokers differ.
#
# Environment (set by scripts/bench; the last three are for developing this script):
#   BENCH_RESULTS  JSON-lines file every measurement is appended to (bench_emit)
#   BENCH_NOTES    markdown notes printed under the table (optional)
#   BENCH_LONG     0|1: short default run, or longer loads
#   BENCH_REPS     repetitions (each starts both brokers afresh)
#   BENCH_WORK     scratch dir for certificates, data dirs and logs (under bench/.cache:
#                  the same disk for both kinds)
#   KEEL_BIN       release keel binary
#   BENCH_KAFKA_TLS_TINY=1          tiny counts: a smoke test of the script, the numbers
#                                   mean nothing
#   BENCH_KAFKA_TLS_SERVERS=apache  one kind only
#   BENCH_TLS_ZK=apache|keel        which ZooKeeper both kinds use (apache)
#
# Certificates, made once per run in BENCH_WORK/kafka-tls/certs with openssl and the JDK's
# keytool, the same files for both kinds (as compat-tests/suites/kafka-tls.sh makes them):
#   ca.pem / ca.key   the CA (RSA 2048, self-signed, CA:TRUE)
#   broker.p12        the broker's key pair (keytool -genkeypair -storetype PKCS12, RSA
#                     2048, Java's PBES2/AES-256 defaults), its certificate signed by the
#                     CA (CN=127.0.0.1, SAN IP:127.0.0.1 + DNS:localhost, serverAuth) and
#                     imported back with the CA: the SASL_SSL listener's keystore
#   truststore.p12    the CA, keytool-made: the clients' truststore (they verify the
#                     broker's name, Kafka's default ssl.endpoint.identification.algorithm)
#
# Both kinds get the same server.properties block: compat-tests' kafka__common_props (no
# log.flush.* settings: no per-message fsync, Kafka's default) plus
#   listeners=PLAINTEXT://127.0.0.1:P1,SASL_SSL://127.0.0.1:P2 (inter-broker: PLAINTEXT)
#   sasl.enabled.mechanisms=SCRAM-SHA-512
#   listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=...ScramLoginModule required;
#   listener.name.sasl_ssl.ssl.keystore.{type=PKCS12,location,password}, ssl.key.password,
#   listener.name.sasl_ssl.ssl.truststore.* (the CA), ssl.client.auth=none
# The SCRAM-SHA-512 user "bench" (4096 iterations) is written into the fresh ZooKeeper by
# the 3.9.1 `kafka-configs --zookeeper ... --alter --add-config SCRAM-SHA-512=[...]`
# before the broker starts. Apache runs with kafka-server-start.sh's heap (-Xmx1G -Xms1G)
# and kafka-run-class.sh's G1/JMX flags, as bench/kafka-cluster.sh runs it.
#
# Per repetition and kind (apache first in odd repetitions, keel first in even ones; the
# two protocols in the order PLAINTEXT, SASL_SSL in odd repetitions, the other way round in
# even ones), every load once over each listener, the clients configured only by
# security.protocol (and, for SASL_SSL, the truststore and the SCRAM-SHA-512 login):
#   topics     warmup, tput-plaintext, tput-sasl_ssl (8 partitions each), lat-plaintext,
#              lat-sasl_ssl (1 partition); AdminClient over PLAINTEXT (bench/lib/BenchAdmin.java)
#   warm-up    ProducerPerformance over each listener to "warmup" (not measured: the JIT of
#              the Apache broker and of the TLS code paths, first segments)
#   produce    ProducerPerformance (kafka-tools 3.9.1), 1 KB records, acks=1, unthrottled, a
#              fixed count (256 MiB short, 1 GiB --long) to the protocol's tput topic:
#              records/s, MB/s (MB = 10^6 B), the tool's p50/p99 (unthrottled: mostly time
#              queued in the client, no target). Then `sync`, outside every measurement.
#   consume    ConsumerPerformance (kafka-tools 3.9.1, a group of its own) reads those records
#              back over the same listener: fetch MB/s and records/s (without the group join).
#   CPU        the broker's CPU seconds (utime+stime, /proc) over produce + consume, per GB
#              moved (2 x the bytes produced).
#   latency    bench/lib/PacedLatency.java (kafka-clients 3.9.1, as bench/kafka.sh and
#              bench/kafka-cluster.sh use it): 1000 records/s of 1 KB to the 1-partition
#              lat topic, linger.ms=0, acks=all (one broker: acknowledged once in its log),
#              idempotent: send-to-ack p50/p99/p99.9 and end-to-end p50/p99.
#   TLS cost   per kind and repetition, SASL_SSL / PLAINTEXT of produce MB/s, consume MB/s,
#              CPU per GB and send-to-ack p50/p99 (unit "ratio").
#   memory     the broker's VmRSS / VmHWM after all of it (ZooKeeper not included).
# Targets (the issue's): over SASL_SSL keel >= 1.0x Apache's produce and consume throughput
# and <= 0.33x its send-to-ack p99. The PLAINTEXT rows have none (bench/kafka.sh's).
# Once per kind (repetition 1) `openssl s_client` offers Java 17's TLS 1.3 suites in Java's
# order to the SASL_SSL port and the note records what the broker chose.
#
# Sizes and run time (both kinds, 2 cores): short default 30,000 x 1 KB warm-up per
# listener, 262,144 x 1 KB per listener, 10 s of paced latency per listener: about 2
# minutes on a quiet machine (1 min 41 s on 2026-12-07). --long: 50,000 / 1,048,576 x 1 KB,
# 30 s of latency, 3 repetitions: about 10-15 minutes.
# Caveats: clients and broker share the machine's cores, and the Java clients' own TLS
# and SCRAM work is part of every SASL_SSL figure, for both kinds alike.
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
: "${BENCH_RESULTS:?}" "${BENCH_WORK:?}" "${KEEL_BIN:?}"
BENCH_LONG=${BENCH_LONG:-0}
BENCH_REPS=${BENCH_REPS:-1}
BENCH_TLS_ZK=${BENCH_TLS_ZK:-apache}
export REPO_DIR KEEL_BIN
# shellcheck source=/dev/null
. "$BENCH_DIR/lib/common.sh"
# The compat harness' helpers: Maven classpaths (jars cached in compat-tests/.cache),
# zk_start, kafka_start (the way the compat suites start brokers of either kind),
# kafka_tool, kafka_java, kafka__common_props, free_port, wait_port.
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/common.sh"
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/fetch.sh"
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/zookeeper.sh"
# shellcheck source=/dev/null
. "$REPO_DIR/compat-tests/lib/kafka.sh"

AREA=kafka-tls
WORK="$BENCH_WORK/kafka-tls"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# --- sizes -------------------------------------------------------------------------
if [ "${BENCH_KAFKA_TLS_TINY:-0}" = 1 ]; then
  N_WARMUP=5000; N=20000
  LAT_SECONDS=2; LAT_WARMUP=1
elif [ "$BENCH_LONG" = 1 ]; then
  N_WARMUP=50000; N=1048576     # 1 GiB of 1 KiB records per listener
  LAT_SECONDS=30; LAT_WARMUP=2
else
  N_WARMUP=30000; N=262144      # 256 MiB per listener
  # 10 s: in 5 s one stall of the shared machine (~50 records) is the whole p99
  LAT_SECONDS=10; LAT_WARMUP=1
fi
SIZE=1024                 # bytes per record, every test
PARTS=8                   # partitions of the throughput topics
LAT_RATE=1000             # records/s: moderate, far below either broker's limit
LAT_SIZE=$SIZE
KAFKA_TOOL_TIMEOUT_S=300  # one tool or client run
export KAFKA_TOOL_TIMEOUT_S

# The JVM options Apache's scripts give (as bench/kafka-cluster.sh): kafka-server-start.sh's
# heap, kafka-run-class.sh's performance and JMX defaults.
APACHE_JVM_PERF="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true"
APACHE_JMX="-Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
KAFKA_SERVER_JAVA_OPTS="-Xmx1G -Xms1G $APACHE_JVM_PERF $APACHE_JMX"
# The perf tools and clients run with kafka-run-class.sh's flags too (the harness'
# C1-only flags would make the client the bottleneck).
PERF_TOOL_OPTS="$APACHE_JVM_PERF"
KAFKA_START_TIMEOUT_S=180

CERTS="$WORK/certs"
STOREPW=keel-bench-store          # PKCS12 store (and key) password
SCRAM_USER=bench
SCRAM_PW=bench-scram-secret
# Java 17's TLS 1.3 suites in the order its client offers them
JAVA_TLS13_SUITES="TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

declare -A BOOT=()    # protocol -> host:port of the current broker's listener
ZK=""

# --- certificates and client settings --------------------------------------------------

make_certs() {
  local pw=$STOREPW
  rm -rf "$CERTS"
  mkdir -p "$CERTS"
  (
    cd "$CERTS" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/O=keel-bench/CN=keel-bench-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    keytool -genkeypair -keystore broker.p12 -storetype PKCS12 -storepass "$pw" -alias broker \
      -keyalg RSA -keysize 2048 -validity 2 -dname "CN=127.0.0.1, O=keel-bench" &&
    keytool -certreq -keystore broker.p12 -storepass "$pw" -alias broker -file broker.csr &&
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >broker.ext &&
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
      -extfile broker.ext -out broker.pem &&
    keytool -importcert -noprompt -keystore broker.p12 -storepass "$pw" -alias ca -file ca.pem &&
    keytool -importcert -noprompt -keystore broker.p12 -storepass "$pw" -alias broker -file broker.pem &&
    keytool -importcert -noprompt -keystore truststore.p12 -storetype PKCS12 -storepass "$pw" -alias ca -file ca.pem
  ) >"$WORK/certs.log" 2>&1 || { tail -n 20 "$WORK/certs.log" >&2; return 1; }
  # the clients' settings, one file per protocol (ProducerPerformance --producer.config,
  # ConsumerPerformance --consumer.config, PacedLatency's last argument)
  printf '%s\n' "security.protocol=PLAINTEXT" >"$WORK/client-PLAINTEXT.properties"
  {
    echo "security.protocol=SASL_SSL"
    echo "ssl.truststore.type=PKCS12"
    echo "ssl.truststore.location=$CERTS/truststore.p12"
    echo "ssl.truststore.password=$STOREPW"
    echo "sasl.mechanism=SCRAM-SHA-512"
    echo "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$SCRAM_USER\" password=\"$SCRAM_PW\";"
  } >"$WORK/client-SASL_SSL.properties"
}

# the SASL_SSL listener's settings, with Kafka's per-listener prefix
server_tls_props() {
  local p=listener.name.sasl_ssl
  printf '%s\n' \
    "sasl.enabled.mechanisms=SCRAM-SHA-512" \
    "$p.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;" \
    "$p.ssl.keystore.type=PKCS12" "$p.ssl.keystore.location=$CERTS/broker.p12" \
    "$p.ssl.keystore.password=$STOREPW" "$p.ssl.key.password=$STOREPW" \
    "$p.ssl.truststore.type=PKCS12" "$p.ssl.truststore.location=$CERTS/truststore.p12" \
    "$p.ssl.truststore.password=$STOREPW" \
    "$p.ssl.client.auth=none"
}

# --- broker ----------------------------------------------------------------------------

broker_pid() { cat "$(kafka_server_dir broker)/server.pid" 2>/dev/null || true; }

# start_server apache|keel DIR: a fresh ZooKeeper holding the SCRAM user, then the broker
# with its two listeners; sets BOOT[PLAINTEXT], BOOT[SASL_SSL] and ZK.
start_server() {
  local server=$1 dir=$2 out sport
  rm -rf "$dir"
  mkdir -p "$dir"
  export RUN_DIR=$dir
  zk_start "$BENCH_TLS_ZK" standalone zk || return 1
  ZK=$ZK_CONNECT
  out=$(kafka_tool 3.9 kafka-configs --zookeeper "$ZK" --alter \
    --add-config "SCRAM-SHA-512=[iterations=4096,password=$SCRAM_PW]" \
    --entity-type users --entity-name "$SCRAM_USER" 2>&1) || true
  printf '%s\n' "$out" >"$dir/scram-user.log"
  grep -q "Completed updating config for entity: user-principal '$SCRAM_USER'" <<<"$out" \
    || { bench_log "kafka-configs --zookeeper could not create the SCRAM user: $(tail -n 3 <<<"$out" | tr '\n' ' ')"; return 1; }
  sport=$(free_port)
  KAFKA_BROKER_ID=1 KAFKA_EXTRA_PROPS=$(server_tls_props) \
    KAFKA_EXTRA_LISTENERS="SASL_SSL://127.0.0.1:$sport" kafka_start "$server" zk broker "$ZK" || return 1
  BOOT[PLAINTEXT]=$KAFKA_BOOTSTRAP
  BOOT[SASL_SSL]="127.0.0.1:$sport"
  wait_port "$sport" 30 || { bench_log "$server does not listen on its SASL_SSL port $sport"; return 1; }
  bench_log "$server serving: PLAINTEXT ${BOOT[PLAINTEXT]}, SASL_SSL ${BOOT[SASL_SSL]} (ZooKeeper $BENCH_TLS_ZK on $ZK; broker pid $(broker_pid))"
}

stop_server() {
  kafka_stop_all
  zk_stop_all
}

server_alive() {
  local p
  p=$(broker_pid)
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

snap() { python3 "$BENCH_DIR/lib/procstat.py" snap "$(broker_pid)"; }
kb_to_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "x"; else printf "%.4f", a / b }'; }

# --- tools ---------------------------------------------------------------------------

# producer_perf PROTOCOL TOPIC N OUT: ProducerPerformance 3.9.1, 1 KB, acks=1, unthrottled,
# over the listener of PROTOCOL; its summary line goes to OUT.
producer_perf() {
  local proto=$1 topic=$2 n=$3 out=$4
  KAFKA_TOOL_JAVA_OPTS="$PERF_TOOL_OPTS" kafka_tool 3.9 producer-perf-test \
    --topic "$topic" --num-records "$n" --record-size "$SIZE" --throughput -1 \
    --producer.config "$WORK/client-$proto.properties" \
    --producer-props "bootstrap.servers=${BOOT[$proto]}" acks=1 \
    >"$out.full" 2>"$out.err" || { tail -n 20 "$out.err" "$out.full" >&2; return 1; }
  grep '99.9th' "$out.full" | tail -n 1 >"$out"
  [ -s "$out" ] || { bench_log "no ProducerPerformance summary"; tail -n 20 "$out.full" "$out.err" >&2; return 1; }
}

# consumer_perf PROTOCOL TOPIC N OUT: ConsumerPerformance 3.9.1 (its own group) over the
# listener of PROTOCOL; the stats line to OUT.
consumer_perf() {
  local proto=$1 topic=$2 n=$3 out=$4
  KAFKA_TOOL_JAVA_OPTS="$PERF_TOOL_OPTS" kafka_tool 3.9 consumer-perf-test \
    --bootstrap-server "${BOOT[$proto]}" --consumer.config "$WORK/client-$proto.properties" \
    --topic "$topic" --messages "$n" --group "bench-$(kafka_unique g)" --timeout 60000 \
    >"$out.full" 2>"$out.err" || { tail -n 20 "$out.err" "$out.full" >&2; return 1; }
  # header "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
  # nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
  grep -A1 '^start.time' "$out.full" | tail -n 1 >"$out"
  [ -s "$out" ] || { bench_log "no ConsumerPerformance stats"; cat "$out.full" >&2; return 1; }
}

# tls_handshake PORT: "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519" as openssl s_client negotiates
# it when it offers Java 17's TLS 1.3 suites in Java's order.
tls_handshake() {
  local out
  out=$(timeout 15 openssl s_client -connect "127.0.0.1:$1" -servername localhost -CAfile "$CERTS/ca.pem" \
    -ciphersuites "$JAVA_TLS13_SUITES" -brief </dev/null 2>&1) || true
  printf '%s %s %s (verification: %s)' \
    "$(sed -nE 's/^Protocol version: *//p' <<<"$out" | head -n 1)" \
    "$(sed -nE 's/^Ciphersuite: *//p' <<<"$out" | head -n 1)" \
    "$(sed -nE 's/^(Negotiated TLS1.3 group|Server Temp Key): *//p' <<<"$out" | head -n 1)" \
    "$(sed -nE 's/^Verification: *//p' <<<"$out" | head -n 1)"
}

# --- one kind, one repetition ----------------------------------------------------------

declare -A VAL=()   # "PROTOCOL:measure" -> value, for the TLS cost rows

run_server() {
  local server=$1 rep=$2 dir="$WORK/$1-r$2" proto lc order test out line rps mbs p50 p99 c cpu0 cpu1 rss hwm
  bench_log "== kafka-tls rep $rep: $server =="
  VAL=()
  if ! start_server "$server" "$dir"; then
    bench_note "- kafka-tls rep $rep: the $server broker did not start (logs: $dir)"
    stop_server
    return 1
  fi
  if ! kafka_java kafka-clients-3.9 "$BENCH_DIR/lib/BenchAdmin.java" "${BOOT[PLAINTEXT]}" \
      "warmup:$PARTS" "tput-plaintext:$PARTS" "tput-sasl_ssl:$PARTS" lat-plaintext:1 lat-sasl_ssl:1 \
      >"$dir/admin.log" 2>&1; then
    cat "$dir/admin.log" >&2
    bench_note "- kafka-tls rep $rep: $server: topic creation failed"
    stop_server
    return 1
  fi
  if [ "$rep" = 1 ]; then
    bench_note "- kafka-tls: $server's SASL_SSL listener, TLS as negotiated with \`openssl s_client\` offering Java 17's TLS 1.3 suites in Java's order: $(tls_handshake "${BOOT[SASL_SSL]##*:}")"
  fi
  if [ $((rep % 2)) = 1 ]; then order="PLAINTEXT SASL_SSL"; else order="SASL_SSL PLAINTEXT"; fi

  for proto in $order; do
    bench_log "$server: warm-up over $proto, $N_WARMUP x 1 KB (not measured)"
    producer_perf "$proto" warmup "$N_WARMUP" "$dir/warmup-$proto" \
      || bench_note "- kafka-tls rep $rep: $server: the warm-up over $proto failed"
  done
  server_alive || { bench_note "- kafka-tls rep $rep: $server died during the warm-up"; stop_server; return 1; }

  # throughput: produce, then read it all back, over each listener in turn
  for proto in $order; do
    lc=${proto,,}
    read -r _ _ cpu0 < <(snap)
    test="produce 1KB acks=1 ${PARTS}p, $proto"
    bench_log "$server: $test ($N records)"
    local produced=0
    if producer_perf "$proto" "tput-$lc" "$N" "$dir/produce-$proto"; then
      line=$(cat "$dir/produce-$proto")
      rps=$(sed -nE 's/.* records sent, ([0-9.]+) records\/sec.*/\1/p' <<<"$line")
      p50=$(sed -nE 's/.* ([0-9.]+) ms 50th.*/\1/p' <<<"$line")
      p99=$(sed -nE 's/.* ([0-9.]+) ms 99th.*/\1/p' <<<"$line")
      # MB = 10^6 bytes everywhere in the results (the tool's "MB" is 2^20).
      mbs=$(awk -v r="$rps" -v s="$SIZE" 'BEGIN { printf "%.2f", r * s / 1e6 }')
      local target=""
      [ "$proto" = SASL_SSL ] && target=">= 1.0x"
      bench_emit $AREA "$test" "records/s" "records/s" "$server" "$rep" "$rps" higher "$target"
      bench_emit $AREA "$test" "MB/s" "MB/s" "$server" "$rep" "$mbs" higher "$target"
      bench_emit $AREA "$test" "p50 latency (unthrottled)" "ms" "$server" "$rep" "$p50" lower
      bench_emit $AREA "$test" "p99 latency (unthrottled)" "ms" "$server" "$rep" "$p99" lower
      VAL[$proto:produce]=$mbs
      produced=1
    else
      bench_note "- kafka-tls rep $rep: $server: $test failed"
    fi
    server_alive || { bench_note "- kafka-tls rep $rep: $server died during $test"; stop_server; return 1; }
    # the next test must not pay for this one's page-cache writeback (outside any timing)
    sync
    [ "$produced" = 1 ] || continue
    test="consume $(awk -v n="$N" -v s="$SIZE" 'BEGIN { m = n * s / 1048576; if (m >= 1024) printf "%g GiB", m / 1024; else printf "%.0f MiB", m }') 1KB ${PARTS}p, $proto"
    bench_log "$server: $test"
    if consumer_perf "$proto" "tput-$lc" "$N" "$dir/consume-$proto"; then
      read -r _ _ cpu1 < <(snap)
      IFS=',' read -r -a c <"$dir/consume-$proto"
      # fetch.MB.sec / fetch.nMsg.sec: the fetching itself, without the group join
      mbs=$(awk -v m="${c[8]}" 'BEGIN { printf "%.2f", m * 1.048576 }')
      local target=""
      [ "$proto" = SASL_SSL ] && target=">= 1.0x"
      bench_emit $AREA "$test" "MB/s" "MB/s" "$server" "$rep" "$mbs" higher "$target"
      bench_emit $AREA "$test" "records/s" "records/s" "$server" "$rep" "$(awk -v r="${c[9]}" 'BEGIN { printf "%.0f", r }')" higher
      VAL[$proto:consume]=$mbs
      local cpugb
      cpugb=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$N" -v s="$SIZE" 'BEGIN { printf "%.3f", (b - a) / (2 * n * s / 1e9) }')
      bench_emit $AREA "broker CPU per GB moved (produce + consume), $proto" "CPU per GB moved" "CPU s/GB" "$server" "$rep" "$cpugb" lower
      VAL[$proto:cpu]=$cpugb
    else
      bench_note "- kafka-tls rep $rep: $server: $test failed"
    fi
    server_alive || { bench_note "- kafka-tls rep $rep: $server died during $test"; stop_server; return 1; }
  done

  # send-to-ack (and end-to-end) latency at a fixed rate over each listener
  for proto in $order; do
    lc=${proto,,}
    bench_log "$server: latency over $proto, $LAT_RATE records/s for ${LAT_SECONDS}s"
    if out=$(KAFKA_CLIENT_JAVA_OPTS="-Xmx256m $PERF_TOOL_OPTS" kafka_java kafka-clients-3.9 \
        "$BENCH_DIR/lib/PacedLatency.java" "${BOOT[$proto]}" "lat-$lc" "$LAT_RATE" "$LAT_SIZE" \
        "$LAT_SECONDS" "$LAT_WARMUP" "$WORK/client-$proto.properties" 2>"$dir/latency-$proto.err"); then
      echo "$out" >"$dir/latency-$proto.out"
      local target=""
      [ "$proto" = SASL_SSL ] && target="<= 0.33x"
      test="produce latency (send to ack) ${LAT_RATE}/s 1KB acks=all 1p, $proto"
      p50=$(sed -nE 's/.* ack_p50=([0-9.]+)ms.*/\1/p' <<<"$out")
      p99=$(sed -nE 's/.* ack_p99=([0-9.]+)ms.*/\1/p' <<<"$out")
      bench_emit $AREA "$test" "p50" ms "$server" "$rep" "$p50" lower
      bench_emit $AREA "$test" "p99" ms "$server" "$rep" "$p99" lower "$target"
      bench_emit $AREA "$test" "p99.9" ms "$server" "$rep" "$(sed -nE 's/.* ack_p999=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
      VAL[$proto:ack_p50]=$p50
      VAL[$proto:ack_p99]=$p99
      test="end-to-end latency ${LAT_RATE}/s 1KB 1p, $proto"
      bench_emit $AREA "$test" "p50" ms "$server" "$rep" "$(sed -nE 's/.* p50=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
      bench_emit $AREA "$test" "p99" ms "$server" "$rep" "$(sed -nE 's/.* p99=([0-9.]+)ms.*/\1/p' <<<"$out")" lower
    else
      bench_note "- kafka-tls rep $rep: $server: latency over $proto failed (${out:-} $(tail -n 3 "$dir/latency-$proto.err" | tr '\n' ' '))"
    fi
    server_alive || { bench_note "- kafka-tls rep $rep: $server died during the latency test over $proto"; stop_server; return 1; }
  done

  # the TLS cost: SASL_SSL / PLAINTEXT on the same broker in the same repetition
  test="TLS cost: SASL_SSL / PLAINTEXT"
  local m what better
  for m in produce:"produce MB/s":higher consume:"consume MB/s":higher cpu:"broker CPU per GB moved":lower \
      ack_p50:"send-to-ack p50":lower ack_p99:"send-to-ack p99":lower; do
    IFS=: read -r m what better <<<"$m"
    [ -n "${VAL[SASL_SSL:$m]:-}" ] && [ -n "${VAL[PLAINTEXT:$m]:-}" ] || continue
    bench_emit $AREA "$test" "$what" ratio "$server" "$rep" "$(ratio "${VAL[SASL_SSL:$m]}" "${VAL[PLAINTEXT:$m]}")" "$better"
  done

  read -r rss hwm _ < <(snap)
  test="broker memory after the runs"
  bench_emit $AREA "$test" "VmRSS" MB "$server" "$rep" "$(kb_to_mb "$rss")" lower
  bench_emit $AREA "$test" "VmHWM" MB "$server" "$rep" "$(kb_to_mb "$hwm")" lower

  stop_server
  # the data of one run must not cost the next broker page-cache writeback
  rm -rf "$(kafka_server_dir broker)/data" "$(zk_server_dir zk)/data"
  sync
}

# --- main ----------------------------------------------------------------------------

[ -x "$KEEL_BIN" ] || { bench_log "no keel binary at $KEEL_BIN"; exit 1; }
command -v java >/dev/null || { bench_log "java is missing"; exit 1; }
command -v keytool >/dev/null || { bench_log "keytool (the JDK's) is missing"; exit 1; }
command -v openssl >/dev/null || { bench_log "openssl is missing"; exit 1; }
bench_log "fetching Kafka $KAFKA_ZK_VERSION and ZooKeeper $ZOOKEEPER_VERSION jars (cached after the first run)"
maven_classpath kafka-3.9 >/dev/null
maven_classpath kafka-clients-3.9 >/dev/null
[ "$BENCH_TLS_ZK" = apache ] && maven_classpath zookeeper-3.9 >/dev/null
make_certs || { bench_log "could not make the certificates (see $WORK/certs.log)"; exit 1; }

trap 'stop_server' EXIT
started=$SECONDS
zk_desc="Apache ZooKeeper $ZOOKEEPER_VERSION (its Maven jar, the compat suites' flags)"
[ "$BENCH_TLS_ZK" = keel ] && zk_desc="keel's ZooKeeper (\`keel zookeeper\`)"
bench_note "- kafka-tls: one Apache Kafka $KAFKA_ZK_VERSION broker (ZooKeeper mode, -Xmx1G -Xms1G G1 as kafka-server-start.sh) vs one \`keel kafka\` broker (keel $("$KEEL_BIN" --version 2>/dev/null | awk '{ print $2 }'), sha256 $(sha256sum "$KEEL_BIN" | cut -c1-12)), each on a fresh $zk_desc; memory and CPU figures are the broker's only. Two listeners each: PLAINTEXT and SASL_SSL (SCRAM-SHA-512; user created with kafka-configs $KAFKA_ZK_VERSION --zookeeper before the start; TLS with the same PKCS12 keystore for both kinds: RSA 2048 certificate for 127.0.0.1 signed by a CA made for the run, ssl.client.auth=none; clients verify the broker's name). Same server.properties block otherwise (compat-tests kafka__common_props: no log.flush.* settings, so no per-message fsync, Kafka's default), data under bench/.cache, 127.0.0.1 only."
bench_note "- kafka-tls load, the same over both listeners (only security.protocol and, for SASL_SSL, the truststore and SCRAM login differ): kafka-tools $KAFKA_ZK_VERSION ProducerPerformance, ${N_WARMUP} x 1 KB of warm-up (not measured), then ${N} x 1 KB, acks=1, unthrottled, ${PARTS} partitions (its p50/p99 are mostly time queued in the client), then \`sync\`, then ConsumerPerformance reads those ${N} back (fetch MB/s, without the group join); CPU s = the broker's utime+stime over produce + consume, per GB moved (2 x the bytes produced). Latency: bench/lib/PacedLatency.java (kafka-clients $KAFKA_ZK_VERSION), ${LAT_RATE} records/s of ${LAT_SIZE} B for ${LAT_SECONDS} s after ${LAT_WARMUP} s of warm-up, acks=all (one broker), linger.ms=0, 1 partition. 'TLS cost' rows: SASL_SSL / PLAINTEXT of the same broker in the same repetition (their keel/Apache column compares the two costs). Protocol order PLAINTEXT first in odd repetitions, SASL_SSL first in even ones. Clients and broker share the machine's $(nproc) cores; the Java clients' TLS work is in every SASL_SSL figure, for both kinds. MB = 10^6 bytes."
for rep in $(seq 1 "$BENCH_REPS"); do
  if [ $((rep % 2)) = 1 ]; then order="apache keel"; else order="keel apache"; fi
  for server in ${BENCH_KAFKA_TLS_SERVERS:-$order}; do
    run_server "$server" "$rep" || bench_log "kafka-tls rep $rep: $server incomplete"
  done
done
secs=$((SECONDS - started))
bench_log "kafka-tls benchmark done in $(bench_fmt_secs "$secs")"
