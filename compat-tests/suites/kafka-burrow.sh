# needs: kafka-zk
# clients: burrow-1.2.1
# timeout: 300
#
# Burrow 1.2.1 (Debian's package `burrow`, versions.env BURROW_PACKAGE), the consumer-lag
# monitor of ZooKeeper-era Kafka, watching the target:
# - its own coordination in ZooKeeper under a root path of its own (a chroot per run);
# - cluster "local" (client profile kafka-version 2.1.0) and cluster "legacy" (0.10.0,
#   the profile of Debian's sample config: Fetch v2, message format v1) on the broker:
#   Metadata, and the end offset of every partition through ListOffsets v0 every 2 s;
# - one consumer of class "kafka" per cluster reading __consumer_offsets from the start
#   (decoding the offset-commit records the broker wrote; group-metadata records past
#   v1, which Kafka 2.1+ writes, Burrow 1.2.1 skips with a warning), and one of class
#   "kafka_zk" on "local" watching /consumers/<group>/offsets/... in ZooKeeper.
# A 3-partition topic gets 10/20/30 records (kcat); a kafka-python group member commits
# 3/11/27 and a ZooKeeper-era consumer (its znodes written as the Scala consumer wrote
# them) 5/5/5. Burrow's HTTP API must then report, per partition, the end offsets
# (/v3/kafka/<cluster>/topic/<topic>) and lag = end - committed
# (/v3/kafka/<cluster>/consumer/<group>/lag) in every cluster; then both groups consume
# the rest and commit, and Burrow must report lag 0 and status OK for both.
# Burrow starts before the suite's first commit: on a broker where no group has committed
# yet, its consumers' Metadata request for __consumer_offsets (sarama 1.22: v1 from the
# 0.10.0 profile, v5 with allow_auto_topic_creation from the 2.1.0 one) must create that
# internal topic, as Apache's broker does (LEADER_NOT_AVAILABLE, then
# offsets.topic.num.partitions partitions); Burrow exits when a consumer finds no
# offsets topic.

BURROW_COUNTS=(10 20 30)
BURROW_KAFKA_COMMIT=(3 11 27)
BURROW_ZK_COMMIT=(5 5 5)
BURROW_BIN=${BURROW_BIN:-/usr/bin/Burrow}

# burrow_ensure: Burrow on disk, installing Debian's package with apt-get if missing.
burrow_ensure() {
  [ -x "$BURROW_BIN" ] && return 0
  command -v apt-get >/dev/null || { log "Burrow is missing and there is no apt-get"; return 1; }
  log "installing $BURROW_PACKAGE with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$BURROW_PACKAGE" >"$CACHE_DIR/apt-burrow.log" 2>&1 </dev/null; then
    apt-get update -q >>"$CACHE_DIR/apt-burrow.log" 2>&1 </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$BURROW_PACKAGE" >>"$CACHE_DIR/apt-burrow.log" 2>&1 </dev/null \
      || { tail -n 20 "$CACHE_DIR/apt-burrow.log" >&2; log "could not install $BURROW_PACKAGE"; return 1; }
  fi
  [ -x "$BURROW_BIN" ]
}

# burrow_version: the installed package's version (Debian's, e.g. 1.2.1-2+b14).
burrow_version() {
  dpkg-query -W -f '${Version}' "$BURROW_PACKAGE" 2>/dev/null
}

# burrow_get PATH: Burrow's JSON answer for an HTTP API path ("" when it does not answer).
burrow_get() {
  curl -s --max-time 5 "http://127.0.0.1:$BURROW_PORT$1" 2>/dev/null
}

# burrow_topic_offsets CLUSTER TOPIC: "10,20,30" as Burrow reports the topic's end offsets.
burrow_topic_offsets() {
  burrow_get "/v3/kafka/$1/topic/$2" | python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
if not d.get("error") and d.get("offsets") is not None:
    print(",".join(str(o) for o in d["offsets"]))'
}

# burrow_lag CLUSTER GROUP: "STATUS TOTALLAG p0:end.offset/current_lag ..." from the lag
# endpoint (partitions in order, end.offset = the last commit Burrow stored), or ""
# while Burrow does not know the group.
burrow_lag() {
  burrow_get "/v3/kafka/$1/consumer/$2/lag" | python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
s = d.get("status")
if d.get("error") or not s:
    sys.exit(0)
parts = sorted(s.get("partitions") or [], key=lambda p: (p["topic"], p["partition"]))
print(s["status"], s["totallag"], " ".join("p%d:%s/%d" % (p["partition"],
      p["end"]["offset"] if p.get("end") else "-", p["current_lag"]) for p in parts))'
}

# burrow_exited: true (printing why, from Burrow's first error) once Burrow has exited;
# it exits when a module does not start, e.g. a consumer that finds no offsets topic.
burrow_exited() {
  kill -0 "$BURROW_PID" 2>/dev/null && return 1
  grep -m1 '"level":"error"' "$SUITE_WORK/burrow/burrow.log" 2>/dev/null | python3 -c 'import json,sys
for line in sys.stdin:
    d = json.loads(line)
    print(", ".join("%s=%s" % (k, v) for k, v in d.items() if k not in ("level", "ts", "type")))'
  return 0
}

# burrow_consumers_started: how many of Burrow's consumer modules have started: the
# kafka ones log "starting consumers" once they consume __consumer_offsets, the kafka_zk
# one "starting" once it watches /consumers.
burrow_consumers_started() {
  grep -E '"msg":"starting consumers".*"class":"kafka"|"msg":"starting".*"coordinator":"consumer","class":"kafka_zk"' \
    "$SUITE_WORK/burrow/burrow.log" 2>/dev/null | grep -c .
}

# burrow_wait DESC SECONDS CMD WANT: until CMD prints WANT; BURROW_LAST keeps the last output.
BURROW_LAST=""
burrow_wait() {
  local desc=$1 secs=$2 want=$4 t0 why
  t0=$(date +%s)
  while :; do
    BURROW_LAST=$(eval "$3")
    [ "$BURROW_LAST" = "$want" ] && return 0
    if why=$(burrow_exited); then
      kafka_fail "$desc: Burrow exited: $why"
      return 1
    fi
    if [ $(($(date +%s) - t0)) -ge "$secs" ]; then
      kafka_fail "$desc: Burrow reports '${BURROW_LAST}', expected '$want' (after ${secs}s)"
      return 1
    fi
    sleep 1
  done
}

# burrow_expect_lag CLUSTER GROUP STATUS_RE COMMITTED...: the lag endpoint shows every
# partition at end offset BURROW_COUNTS[p] with COMMITTED[p] and current lag = end - committed.
burrow_expect_lag() {
  local cluster=$1 group=$2 status_re=$3 want total=0 p t0 why
  shift 3
  local committed=("$@") parts=()
  for p in 0 1 2; do
    parts+=("p$p:${committed[$p]}/$((BURROW_COUNTS[p] - committed[p]))")
    total=$((total + BURROW_COUNTS[p] - committed[p]))
  done
  want="$total ${parts[*]}"
  t0=$(date +%s)
  while :; do
    BURROW_LAST=$(burrow_lag "$cluster" "$group")
    if [ "${BURROW_LAST#* }" = "$want" ] && [[ ${BURROW_LAST%% *} =~ ^($status_re)$ ]]; then
      log "cluster $cluster, group $group: $BURROW_LAST"
      return 0
    fi
    if why=$(burrow_exited); then
      kafka_fail "cluster $cluster, group $group: Burrow exited: $why"
      return 1
    fi
    if [ $(($(date +%s) - t0)) -ge 60 ]; then
      kafka_fail "cluster $cluster, group $group: Burrow's lag endpoint says '${BURROW_LAST}', expected status /$status_re/ and '$want'"
      return 1
    fi
    sleep 1
  done
}

burrow_session() {
  local dir="$SUITE_WORK/burrow" topic group zkgroup root zk_servers zk_chroot out c pid p
  local ends first_lags
  burrow_ensure || { kafka_fail "Burrow is not installed and apt-get could not install $BURROW_PACKAGE"; return 1; }
  case "$(burrow_version)" in
    1.2.1-*) ;;
    *) kafka_fail "Debian's $BURROW_PACKAGE is '$(burrow_version)' here, not Burrow 1.2.1"; return 1 ;;
  esac
  kcat_ensure || { kafka_fail "kcat is not installed and apt-get could not install $KCAT_PACKAGE"; return 1; }
  python_env || { kafka_fail "python_env failed"; return 1; }
  command -v curl >/dev/null || { kafka_fail "curl is missing"; return 1; }

  topic=$(kafka_unique burrow)
  group=$(kafka_unique burrow-group)
  zkgroup=$(kafka_unique burrow-zkgroup)
  root="/$(kafka_unique burrow-root)"
  # Burrow's ZooKeeper client takes host:port only: a chroot in the broker's connect
  # string becomes the kafka_zk consumer's zookeeper-path.
  zk_servers=${KAFKA_ZK_CONNECT%%/*}
  zk_chroot=""
  case "$KAFKA_ZK_CONNECT" in */*) zk_chroot="/${KAFKA_ZK_CONNECT#*/}" ;; esac
  BURROW_CLEANUP=(topic "$topic" group "$group" znodes "$zk_chroot/consumers/$zkgroup" "$root")

  out=$(kafka_tool 3.9 kafka-topics --bootstrap-server "$KAFKA_BOOTSTRAP" --create \
    --topic "$topic" --partitions 3 --replication-factor 1 2>&1)
  kafka_expect "kafka-topics --create --partitions 3" "$out" "Created topic $topic\." || return 1
  for p in 0 1 2; do
    seq 1 "${BURROW_COUNTS[$p]}" | sed "s/^/burrow record p$p #/" |
      timeout_run 60 kcat -P -b "$KAFKA_BOOTSTRAP" -t "$topic" -p "$p" 2>"$SUITE_WORK/kcat-$p.err" \
      || { cat "$SUITE_WORK/kcat-$p.err" >&2; kafka_fail "kcat -P -p $p failed"; return 1; }
  done

  mkdir -p "$dir"
  BURROW_PORT=$(free_port)
  cat >"$dir/burrow.toml" <<TOML
[general]
pidfile="$dir/burrow.pid"
stdout-logfile="$dir/burrow.out"

[logging]
filename="$dir/burrow.log"
level="info"
maxsize=100
maxbackups=1
maxage=1
use-localtime=false
use-compression=false

[zookeeper]
servers=[ "${zk_servers//,/\", \"}" ]
timeout=6
root-path="$root/burrow"

[client-profile.current]
client-id="burrow-compat"
kafka-version="2.1.0"

[client-profile.legacy]
client-id="burrow-compat-legacy"
kafka-version="0.10.0"

[cluster.local]
class-name="kafka"
servers=[ "$KAFKA_BOOTSTRAP" ]
client-profile="current"
topic-refresh=5
offset-refresh=2

[cluster.legacy]
class-name="kafka"
servers=[ "$KAFKA_BOOTSTRAP" ]
client-profile="legacy"
topic-refresh=5
offset-refresh=2

[consumer.local]
class-name="kafka"
cluster="local"
servers=[ "$KAFKA_BOOTSTRAP" ]
client-profile="current"
offsets-topic="__consumer_offsets"
group-blacklist="^(console-consumer-|python-kafka-consumer-|quick-).*$"
group-whitelist=""

[consumer.local_zk]
class-name="kafka_zk"
cluster="local"
servers=[ "${zk_servers//,/\", \"}" ]
zookeeper-path="$zk_chroot"
zookeeper-timeout=30
group-blacklist="^(console-consumer-|python-kafka-consumer-|quick-).*$"
group-whitelist=""

[consumer.legacy]
class-name="kafka"
cluster="legacy"
servers=[ "$KAFKA_BOOTSTRAP" ]
client-profile="legacy"
offsets-topic="__consumer_offsets"

[httpserver.default]
address="127.0.0.1:$BURROW_PORT"

[storage.default]
class-name="inmemory"
workers=4
intervals=10
expire-group=604800
min-distance=1

[evaluator.default]
class-name="caching"
expire-cache=1
TOML
  log "starting Burrow (http 127.0.0.1:$BURROW_PORT, zookeeper $zk_servers$root/burrow)"
  "$BURROW_BIN" -config-dir "$dir" >"$dir/stdout.log" 2>&1 </dev/null &
  BURROW_PID=$!
  if ! wait_port "$BURROW_PORT" 30; then
    cat "$dir/stdout.log" >&2; tail -n 30 "$dir/burrow.log" >&2 2>/dev/null
    kafka_fail "Burrow did not serve HTTP on 127.0.0.1:$BURROW_PORT in 30 s"
    return 1
  fi

  ends=$(IFS=,; echo "${BURROW_COUNTS[*]}")
  for c in local legacy; do
    burrow_wait "cluster $c, topic end offsets (ListOffsets v0)" 60 \
      "burrow_topic_offsets $c $topic" "$ends" || return 1
    log "cluster $c, topic $topic: end offsets $BURROW_LAST"
  done

  # Every consumer module up (or Burrow gone) before the suite's first commit: the
  # first group commit creates __consumer_offsets, which Burrow must find by itself.
  burrow_wait "Burrow's two kafka consumers and its kafka_zk consumer started" 60 \
    "burrow_consumers_started" "3" || return 1

  out=$(timeout_run 90 "$PY_VENV/bin/python" "$COMPAT_DIR/python/burrow_offsets.py" commit \
    "$KAFKA_BOOTSTRAP" "$topic" "$group" "$(IFS=,; echo "${BURROW_KAFKA_COMMIT[*]}")") \
    || { kafka_fail "the kafka-python group member could not commit ${BURROW_KAFKA_COMMIT[*]}"; return 1; }
  log "group $group committed $out"
  timeout_run 60 "$PY_VENV/bin/python" "$COMPAT_DIR/python/burrow_offsets.py" zk-commit \
    "$KAFKA_ZK_CONNECT" "$zkgroup" "$topic" "$(IFS=,; echo "${BURROW_ZK_COMMIT[*]}")" \
    || { kafka_fail "could not write the ZooKeeper-era offsets of $zkgroup"; return 1; }

  # Lags while behind. The status is whatever Burrow's rules make of one commit per
  # partition that has not moved since (STOP once the commit is older than the window
  # it spans), so any status goes here; it is shown in the detail.
  burrow_expect_lag local "$group" '[A-Z]+' "${BURROW_KAFKA_COMMIT[@]}" || return 1
  first_lags="kafka group: $BURROW_LAST"
  burrow_expect_lag legacy "$group" '[A-Z]+' "${BURROW_KAFKA_COMMIT[@]}" || return 1
  burrow_expect_lag local "$zkgroup" '[A-Z]+' "${BURROW_ZK_COMMIT[@]}" || return 1
  first_lags="$first_lags; zk group: $BURROW_LAST"

  # Both groups catch up: lag 0, status OK.
  timeout_run 90 "$PY_VENV/bin/python" "$COMPAT_DIR/python/burrow_offsets.py" commit \
    "$KAFKA_BOOTSTRAP" "$topic" "$group" end >/dev/null \
    || { kafka_fail "the kafka-python group member could not consume the rest and commit"; return 1; }
  timeout_run 60 "$PY_VENV/bin/python" "$COMPAT_DIR/python/burrow_offsets.py" zk-commit \
    "$KAFKA_ZK_CONNECT" "$zkgroup" "$topic" "$ends" \
    || { kafka_fail "could not update the ZooKeeper-era offsets of $zkgroup"; return 1; }
  burrow_expect_lag local "$group" OK "${BURROW_COUNTS[@]}" || return 1
  burrow_expect_lag legacy "$group" OK "${BURROW_COUNTS[@]}" || return 1
  burrow_expect_lag local "$zkgroup" OK "${BURROW_COUNTS[@]}" || return 1

  # Burrow must have decoded every offset commit of the suite's groups and fetched every
  # offset of its topic. Three warnings are expected and left out: "unknown consumer" (the
  # lag endpoint polled before the first commit arrived), "unknown topic" from a
  # StorageFetchTopic (the topic endpoint polled before Burrow's first refresh saw the
  # topic; the suite waits on that endpoint) and group-metadata records of a
  # value version past 1 (Burrow 1.2.1 decodes v0/v1 only; Kafka 2.1+ writes v2/v3: the
  # groups' owners stay empty).
  if grep -E '"level":"(warn|error|dpanic|panic|fatal)"' "$dir/burrow.log" |
      grep -F -e "$topic" -e "$group" -e "$zkgroup" |
      grep -v -e '"msg":"unknown consumer"' \
        -e '"msg":"unknown topic".*"request":"StorageFetchTopic"' \
        -e '"message_type":"metadata".*"reason":"value version"' >&2; then
    kafka_fail "Burrow logged warnings or errors about the suite's topic or groups (above)"
    return 1
  fi
  KAFKA_DETAIL="Burrow $(burrow_version), clusters local (kafka-version 2.1.0) + legacy (0.10.0), 3 partitions, end offsets $ends (ListOffsets v0); committed ${BURROW_KAFKA_COMMIT[*]} (__consumer_offsets) / ${BURROW_ZK_COMMIT[*]} (ZooKeeper /consumers): lags seen (partition:committed/lag) $first_lags; after catching up: lag 0, status OK in both clusters and for both groups"
}

burrow_cleanup() {
  local kind
  if [ -n "${BURROW_PID:-}" ]; then
    kill "$BURROW_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$BURROW_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$BURROW_PID" 2>/dev/null
    wait "$BURROW_PID" 2>/dev/null
  fi
  set -- "${BURROW_CLEANUP[@]}"
  while [ $# -gt 0 ]; do
    kind=$1; shift
    case "$kind" in
      topic) kafka_delete_topics 3.9 "$1"; shift ;;
      group)
        timeout_run 60 "$PY_VENV/bin/python" "$COMPAT_DIR/python/burrow_offsets.py" group-rm \
          "$KAFKA_BOOTSTRAP" "$1" >/dev/null 2>&1 || log "cleanup: could not delete group $1"
        shift ;;
      znodes)
        timeout_run 60 "$PY_VENV/bin/python" "$COMPAT_DIR/python/burrow_offsets.py" zk-rm \
          "${KAFKA_ZK_CONNECT%%/*}" "$@" >/dev/null 2>&1 || log "cleanup: could not delete $*"
        break ;;
    esac
  done
}

BURROW_CLEANUP=()
BURROW_PID=""
kafka_client burrow-1.2.1 burrow_session
[ "$KAFKA_SUITE_RC" = 0 ] || { tail -n 40 "$SUITE_WORK/burrow/burrow.log" >&2 2>/dev/null; }
burrow_cleanup
exit "$KAFKA_SUITE_RC"
