# needs: kafka-zk
# clients: producer-3.9 group-3.9
# timeout: 420
#
# Crash test (issue 4, "Recovery after kill -9"): a Java producer (kafka-clients 3.9,
# acks=all, idempotent, java/Durability.java) sends numbered records to a 3-partition
# topic and writes every acknowledged (record, partition, offset) to a file, while a
# group consumer reads and commits after every poll. Part-way the consumer is paused
# (no commit in flight), the broker gets SIGKILL and is restarted on the same data dir,
# port and ZooKeeper (kafka_kill / kafka_restart); the producer carries on by retrying.
#   producer-3.9: every record acknowledged in the end; every acknowledged record stored
#                 exactly at its acked offset; no record stored twice (idempotence).
#   group-3.9:    right after the restart, each partition's committed offset is >= the
#                 last commit acknowledged before the kill; the consumer then resumes,
#                 sees every record, and its final commits reach the end offsets.
# The broker is the group's (kz): it is left running on the same port for later suites.

CRASH_N=${CRASH_N:-9000}
CRASH_P=3
CRASH_JAVA="$COMPAT_DIR/java/Durability.java"
topic=$(kafka_unique crash)
group=$(kafka_unique crash-group)
ackf="$SUITE_WORK/acked.txt"
commitf="$SUITE_WORK/commits.txt"
pausef="$SUITE_WORK/consumer.pause"
: >"$ackf"
: >"$commitf"
CRASH_PIDS=()

crash_cleanup() {
  local pid c
  for pid in "${CRASH_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    for c in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill -TERM "$c" 2>/dev/null; done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  CRASH_PIDS=()
}
trap crash_cleanup EXIT
# a TERM (time limit, interrupted run) must still stop the clients: their own `timeout`
# puts them in process groups of their own
trap 'exit 143' TERM INT HUP

# the background clients must outlive a broker restart (ZooKeeper session expiry)
export KAFKA_TOOL_TIMEOUT_S=300

# max_commits FILE: "partition offset" of the highest commit per partition
max_commits() {
  awk '{ if (!($1 in m) || $2 > m[$1]) m[$1] = $2 } END { for (p in m) print p, m[p] }' "$1" | sort -n
}

PRODUCER_DETAIL="" GROUP_DETAIL="" PRODUCER_OK=1 GROUP_OK=1
pfail() { PRODUCER_OK=0; PRODUCER_DETAIL="$PRODUCER_DETAIL$*; "; log "producer: FAIL $*"; }
gfail() { GROUP_OK=0; GROUP_DETAIL="$GROUP_DETAIL$*; "; log "group: FAIL $*"; }

t0=$(date +%s)
log "producer: $CRASH_N records to $topic ($CRASH_P partitions); consumer group $group"
kafka_java kafka-clients-3.9 "$CRASH_JAVA" produce "$KAFKA_BOOTSTRAP" "$topic" "$CRASH_P" \
  "$CRASH_N" "$ackf" 20 25 >"$SUITE_WORK/producer.out" 2>"$SUITE_WORK/producer.err" &
prod_pid=$!
CRASH_PIDS+=("$prod_pid")
# the consumer starts once the topic exists
for _ in $(seq 1 300); do [ -s "$ackf" ] && break; sleep 0.2; done
kafka_java kafka-clients-3.9 "$CRASH_JAVA" consume "$KAFKA_BOOTSTRAP" "$topic" "$group" \
  "$CRASH_N" "$commitf" "$pausef" >"$SUITE_WORK/consumer.out" 2>"$SUITE_WORK/consumer.err" &
cons_pid=$!
CRASH_PIDS+=("$cons_pid")

# part-way: a quarter of the records acknowledged, and some commits made
killed=0
for _ in $(seq 1 600); do
  if [ "$(wc -l <"$ackf")" -ge $((CRASH_N / 4)) ] && [ "$(wc -l <"$commitf")" -ge 3 ]; then killed=1; break; fi
  kill -0 "$prod_pid" 2>/dev/null || break
  sleep 0.2
done
if [ "$killed" -ne 1 ]; then
  pfail "never reached $((CRASH_N / 4)) acks with commits before the kill (acks $(wc -l <"$ackf"), commit lines $(wc -l <"$commitf"))"
  cat "$SUITE_WORK/producer.out" "$SUITE_WORK/producer.err" "$SUITE_WORK/consumer.err" 2>/dev/null | tail -n 20 >&2
fi

if [ "$killed" -eq 1 ]; then
  touch "$pausef"
  for _ in $(seq 1 150); do [ -f "$pausef.ack" ] && break; sleep 0.2; done
  [ -f "$pausef.ack" ] || gfail "consumer did not pause"
  before=$(max_commits "$commitf")
  kafka_kill kz || pfail "kafka_kill failed"
  acked_at_kill=$(wc -l <"$ackf")
  log "killed the broker with $acked_at_kill records acknowledged; commits before: $(echo $before)"
  tk=$(date +%s)
  if ! kafka_restart kz; then
    pfail "broker did not serve again after kill -9"
    gfail "broker did not serve again after kill -9"
  else
    log "broker serving again $(($(date +%s) - tk))s after the kill"
    after=$(kafka_java kafka-clients-3.9 "$CRASH_JAVA" committed "$KAFKA_BOOTSTRAP" "$group" 2>"$SUITE_WORK/committed1.err")
    log "committed offsets after the restart: $(echo $after)"
    while read -r p off; do
      [ -n "$p" ] || continue
      got=$(awk -v p="$p" '$1 == p { print $2 }' <<<"$after")
      if [ -z "$got" ]; then gfail "partition $p: commit $off lost (no committed offset after restart)"
      elif [ "$got" -lt "$off" ]; then gfail "partition $p: committed $got after restart < $off acknowledged before the kill"
      fi
    done <<<"$before"
    [ "$GROUP_OK" -eq 1 ] && GROUP_DETAIL="commits survived kill -9 ($(echo $before | tr ' ' ':' ) -> $(echo $after | tr ' ' ':')); "
  fi
  rm -f "$pausef"
fi

wait "$prod_pid"; prc=$?
wait "$cons_pid"; crc=$?
CRASH_PIDS=()
pout=$(cat "$SUITE_WORK/producer.out")
log "producer exit $prc: $(echo $pout)"
log "consumer exit $crc: $(cat "$SUITE_WORK/consumer.out")"
[ "$prc" -eq 0 ] || { pfail "producer exit $prc: $(echo $pout | head -c 300)"; tail -n 20 "$SUITE_WORK/producer.err" >&2; }
[ "$crc" -eq 0 ] || { gfail "consumer exit $crc: $(cat "$SUITE_WORK/consumer.out")"; tail -n 20 "$SUITE_WORK/consumer.err" >&2; }

if vout=$(kafka_java kafka-clients-3.9 "$CRASH_JAVA" verify "$KAFKA_BOOTSTRAP" "$topic" "$CRASH_P" \
    "$CRASH_N" "$ackf" 2>"$SUITE_WORK/verify.err"); then
  PRODUCER_DETAIL="$PRODUCER_DETAIL${acked_at_kill:-?} acked before kill -9; $(head -1 <<<"$vout")"
else
  printf '%s\n' "$vout" >&2
  tail -n 20 "$SUITE_WORK/verify.err" >&2
  pfail "verify: $(echo $vout | head -c 400)"
fi

final=$(kafka_java kafka-clients-3.9 "$CRASH_JAVA" committed "$KAFKA_BOOTSTRAP" "$group" 2>"$SUITE_WORK/committed2.err")
sum=$(awk '{ s += $2 } END { print s + 0 }' <<<"$final")
if [ "$sum" -ne "$CRASH_N" ]; then
  gfail "final committed offsets $(echo $final) sum to $sum, not $CRASH_N"
else
  GROUP_DETAIL="${GROUP_DETAIL}final commits at the end offsets ($(echo $final | tr ' ' ':'))"
fi

secs=$(($(date +%s) - t0))
if [ "$PRODUCER_OK" -eq 1 ]; then report producer-3.9 pass "$PRODUCER_DETAIL [${secs}s]"
else report producer-3.9 fail "$PRODUCER_DETAIL [${secs}s]"; fi
if [ "$GROUP_OK" -eq 1 ]; then report group-3.9 pass "$GROUP_DETAIL [${secs}s]"
else report group-3.9 fail "$GROUP_DETAIL [${secs}s]"; fi

kafka_delete_topics 3.9 "$topic"
[ "$PRODUCER_OK" -eq 1 ] && [ "$GROUP_OK" -eq 1 ]
