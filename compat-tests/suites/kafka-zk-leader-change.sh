# needs: none
# clients: apache-3.9.1-broker keel-broker
# timeout: 900
#
# kafka-zk-leader-change: a Kafka broker keeps serving while the leader of its
# ZooKeeper ensemble is killed (SIGKILL) and a new one is elected.
#
# Each part starts a three-server ZooKeeper ensemble of the target (keel, or Apache
# with --target apache) and one broker on it (zookeeper.connect = the three servers):
#   apache-3.9.1-broker: Apache Kafka 3.9.1 in ZooKeeper mode (lib/kafka.sh);
#   keel-broker:         `keel kafka` (Apache Kafka 3.9.1 again against the apache
#                        target, which proves the checks).
# It creates a topic (kafka-topics 3.9 --create) and runs kafka-python
# (python/kafka_zk_leader_change.py stream): a producer with acks=all, one record every
# 20 ms, and a consumer reading alongside. Then the ZooKeeper leader gets SIGKILL; once
# the two survivors show one leader and one follower, the broker must still:
#   - take and deliver records: every acknowledged record is consumed exactly once, at
#     its acknowledged offset, and records keep going round after the re-election;
#   - list the topic in its metadata (kafka-topics 3.9 --list);
#   - create a new topic (kafka-topics --create: ZooKeeper writes by the broker, then the
#     controller's partition assignment through its ZooKeeper watches) that takes and
#     returns records (kafka-python round trip);
#   - keep its registration: /brokers/ids/1 is on both survivors (sessions to one server
#     alone, after sync) and is owned by the same session as before the kill (the broker
#     did not lose its session and re-register); /controller and both topics' znodes too.
# Last, the killed server restarts, the ensemble is whole again, and all three servers
# show the same registration. Figures: time to re-election, records acked before and
# after, the longest gap between two acks, whether the broker's session was on the
# killed leader (`cons`, when the server answers it).

set -u
rc=0
PIDS=()

# stop_streams: a part that failed early leaves its stream running; the stop file ends
# it (the background job is a subshell: a TERM to it would not reach the python child)
stop_streams() {
  local d pid
  for d in "$SUITE_WORK"/*/; do [ -d "$d" ] && touch "$d/stop"; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  PIDS=()
}

cleanup() {
  stop_streams
  kafka_stop_all
  zk_stop_all
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

# py MODE ARGS...: the suite's kafka-python/kazoo program (the stream lives through the
# whole part: the kill, the re-election and the tools' checks)
py() {
  local limit=240
  [ "$1" = stream ] && limit=480
  timeout_run "$limit" "$PY_VENV/bin/python" "$COMPAT_DIR/python/kafka_zk_leader_change.py" "$@"
}

# part CLIENT BROKER_TARGET: one broker through one ZooKeeper leader change.
part() {
  local client=$1 btarget=$2 zkname="lc-zk-$1" kname="lc-$1" ctl="$SUITE_WORK/$1"
  local topic topic2 out owner leader t0 elect_s n m1 m2 new="" on_leader="?" stream_pid detail
  mkdir -p "$ctl"
  KAFKA_DETAIL=""
  zk_start "$(kafka_zk_target)" ensemble "$zkname" || { kafka_fail "the $(kafka_zk_target) ensemble did not form"; return 1; }
  local -a ports
  read -r -a ports <<<"$ZK_ENSEMBLE_PORTS"
  local zkc=$ZK_ENSEMBLE_CONNECT
  kafka_start "$btarget" zk "$kname" "$zkc" || { kafka_fail "the $btarget broker did not start on $zkc"; return 1; }

  topic=$(kafka_unique leader-change)
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --replication-factor 1 --partitions 1 --topic "$topic" 2>&1)
  kafka_expect "kafka-topics --create before the kill" "$out" "Created topic \"?$topic\"?\." || return 1
  out=$(py znodes "$zkc" 1 - "$topic" 2>&1) || { kafka_fail "before the kill: $out"; return 1; }
  owner=${out#owner=0x}
  log "$client: /brokers/ids/1 owned by session 0x$owner on all three servers"

  py stream "$KAFKA_BOOTSTRAP" "$topic" "$ctl" >"$ctl/stream.out" 2>"$ctl/stream.err" &
  stream_pid=$!
  PIDS+=("$stream_pid")
  for _ in $(seq 1 240); do
    [ -f "$ctl/ready" ] && break
    kill -0 "$stream_pid" 2>/dev/null || break
    sleep 0.5
  done
  [ -f "$ctl/ready" ] || { cat "$ctl/stream.err" >&2; kafka_fail "the producer/consumer did not get going"; return 1; }
  sleep 3

  leader=$(zk_leader_server "$zkname")
  [ -n "$leader" ] || { kafka_fail "no ZooKeeper leader before the kill"; return 1; }
  # which server holds the broker's connection (`cons` lists each connection's session)
  for n in 1 2 3; do
    if zk_4lw "${ports[$((n - 1))]}" cons | grep -qi "sid=0x0*$owner[,)]"; then
      if [ "$n" = "$leader" ]; then on_leader="yes, server $n"; else on_leader="no, server $n"; fi
    fi
  done
  log "$client: kill -9 of the ZooKeeper leader, server $leader ($(cat "$(zk_server_dir "$zkname" "$leader")/target")); broker session on it: $on_leader"
  t0=$(date +%s)
  zk_kill_server "$zkname" "$leader"
  local surv=()
  for n in 1 2 3; do [ "$n" != "$leader" ] && surv+=("$n"); done
  for _ in $(seq 1 240); do
    m1=$(zk_mode "${ports[$((surv[0] - 1))]}") m2=$(zk_mode "${ports[$((surv[1] - 1))]}")
    if [ "$m1" = leader ] && [ "$m2" = follower ]; then new=${surv[0]}; break; fi
    if [ "$m2" = leader ] && [ "$m1" = follower ]; then new=${surv[1]}; break; fi
    sleep 0.5
  done
  elect_s=$(($(date +%s) - t0))
  [ -n "$new" ] || { kafka_fail "no new ZooKeeper leader after 120s (modes $m1 $m2)"; return 1; }
  touch "$ctl/elected"
  log "$client: server $new leads after ${elect_s}s"
  local surv_connect="127.0.0.1:${ports[$((surv[0] - 1))]},127.0.0.1:${ports[$((surv[1] - 1))]}"

  # the broker after the re-election
  local fails=""
  out=$(kafka_tool 3.9 kafka-topics --list --bootstrap-server "$KAFKA_BOOTSTRAP" 2>&1)
  printf '%s\n' "$out" | grep -qx "$topic" || { fails="$fails metadata-lists-topic"; printf '%s\n' "$out" >&2; }
  topic2=$(kafka_unique after-election)
  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --replication-factor 1 --partitions 1 --topic "$topic2" 2>&1)
  if printf '%s\n' "$out" | grep -Eq "Created topic \"?$topic2\"?\."; then
    out=$(py roundtrip "$KAFKA_BOOTSTRAP" "$topic2" 10 2>&1) || { fails="$fails new-topic-roundtrip"; printf '%s\n' "$out" >&2; }
  else
    fails="$fails new-topic-create"
    printf '%s\n' "$out" >&2
  fi
  out=$(py znodes "$surv_connect" 1 "$owner" "$topic" "$topic2" 2>&1) \
    || { fails="$fails registration-after-election"; log "$out"; }

  touch "$ctl/stop"
  wait "$stream_pid"
  local stream_rc=$?
  local stream_sum
  stream_sum=$(head -n 1 "$ctl/stream.out")
  if [ "$stream_rc" -ne 0 ]; then
    fails="$fails produce-consume"
    cat "$ctl/stream.err" >&2
    stream_sum=$(tail -n 1 "$ctl/stream.err")
  fi

  # the killed server comes back and shows the same registration
  if zk_restart_server "$zkname" "$leader" && zk_wait_ensemble "$zkname" 120; then
    out=$(py znodes "$zkc" 1 "$owner" "$topic" "$topic2" 2>&1) || { fails="$fails registration-after-rejoin"; log "$out"; }
  else
    fails="$fails killed-server-rejoin"
  fi
  kafka_delete_topics 3.9 "$topic|$topic2"

  detail="ZooKeeper ($(kafka_zk_target)) leader server $leader killed (broker session on it: $on_leader), server $new leads after ${elect_s}s; stream: $stream_sum; topic listed, new topic created and used, /brokers/ids/1 kept by session 0x$owner on all servers"
  if [ -n "$fails" ]; then
    kafka_fail "failed:$fails | $detail"
    return 1
  fi
  KAFKA_DETAIL=$detail
  kafka_stop "$kname"
  zk_stop "$zkname"
}

python_env || { report apache-3.9.1-broker fail "python venv"; report keel-broker fail "python venv"; exit 1; }
keel_broker=keel
[ "$TARGET" = apache ] && keel_broker=apache
kafka_client apache-3.9.1-broker part apache-3.9.1-broker apache
stop_streams
kafka_stop_all
zk_stop_all
kafka_client keel-broker part keel-broker "$keel_broker"
exit $KAFKA_SUITE_RC
