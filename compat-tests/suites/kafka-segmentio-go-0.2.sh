# needs: kafka-zk
# clients: kafka-go
# timeout: 300
#
# segmentio/kafka-go at the API of v0.2.x (go/kafka-go-0.2, $KAFKA_GO_OLD_VERSION:
# Debian stable's golang-github-segmentio-kafka-go-dev), which the v0.4 program of
# kafka-segmentio-go cannot be built against (no kafka.Client, no headers, no reading of
# committed offsets). It speaks Produce v2 and Fetch v2 (message format v1), which Apache
# Kafka 4 refuses (KIP-896): the reference is Apache 3.9 on ZooKeeper.
# - kafka-topics (3.9) creates a 3-partition topic;
# - the program (see its header) writes 300 keyed, timestamped records with kafka.Writers
#   (round-robin, acks=all; none, snappy and gzip, a third each), reads each once in
#   order with a group kafka.Reader and commits, then writes 30 more that a new Reader of
#   the group must read alone (it resumes at the committed offsets), and prints the end
#   offsets (ListOffsets);
# - kafka-consumer-groups --describe (3.9): CURRENT-OFFSET = LOG-END-OFFSET = the
#   program's end offsets on every partition, LAG 0; --state: Empty, 0 members once the
#   last reader's 6s session has expired (v0.2.1's Reader.Close sends no LeaveGroup);
# - the program deletes the topic (DeleteTopics), and kafka-topics --list no longer lists it.

# kafka_go_old_build: go_build of go/kafka-go-0.2 in a module that requires only kafka-go
# at KAFKA_GO_OLD_VERSION (its own module and binary, apart from the v0.4 pin's).
kafka_go_old_build() {
  (
    go__requires() { echo "github.com/segmentio/kafka-go@$KAFKA_GO_OLD_VERSION"; }
    go_build kafka-go-0.2
  )
}

kafka_go_old() {
  local bin out topic group ends want got state summary deleted=0
  bin=$(kafka_go_old_build) || { kafka_fail "go build of kafka-go $KAFKA_GO_OLD_VERSION failed"; return 1; }
  topic=$(kafka_unique kafka-go-02)
  group=$(kafka_unique kafka-go-02-group)
  KAFKA_GO_OLD_TOPIC=$topic

  out=$(kafka_tool 3.9 kafka-topics --bootstrap-server "$KAFKA_BOOTSTRAP" --create \
    --topic "$topic" --partitions 3 --replication-factor 1 2>&1)
  kafka_expect "kafka-topics --create --partitions 3" "$out" "Created topic $topic\." || return 1

  out=$(timeout_run 150 "$bin" -brokers "$KAFKA_BOOTSTRAP" -topic "$topic" -group "$group" \
      -records 300 -second 30 -partitions 3 -timeout 120s) \
    || { printf '%s\n' "$out" >&2; kafka_fail "kafka-go $KAFKA_GO_OLD_VERSION failed (see log)"; return 1; }
  printf '%s\n' "$out" >&2
  ends=$(sed -n 's/^END //p' <<<"$out")
  summary=$(grep -v '^END ' <<<"$out" | tail -n 1)
  [ -n "$ends" ] || { kafka_fail "the program printed no END line"; return 1; }

  # the committed offsets, as Kafka's own tool reads them: "pP:CURRENT/END/LAG"
  want=""
  for e in $ends; do want="$want${want:+ }${e%%:*}:${e#*:}/${e#*:}/0"; done
  got=""
  for _ in $(seq 1 10); do
    out=$(kafka_tool 3.9 kafka-consumer-groups --bootstrap-server "$KAFKA_BOOTSTRAP" --describe --group "$group" 2>&1)
    got=$(printf '%s\n' "$out" | awk -v t="$topic" '
      $1 == "GROUP" { for (i = 1; i <= NF; i++) col[$i] = i; next }
      col["TOPIC"] && $col["TOPIC"] == t {
        print "p" $col["PARTITION"] ":" $col["CURRENT-OFFSET"] "/" $col["LOG-END-OFFSET"] "/" $col["LAG"] }' |
      sort -t: -k1.2n | paste -sd' ')
    [ "$got" = "$want" ] && break
    sleep 1
  done
  if [ "$got" != "$want" ]; then
    printf '%s\n' "$out" >&2
    kafka_fail "kafka-consumer-groups --describe: want (partition:committed/end/lag) '$want', got '$got'"
    return 1
  fi
  # v0.2.1's Reader.Close sends no LeaveGroup (it dials the coordinator with the context
  # it has just cancelled): the last member goes when its 6s session expires
  for _ in $(seq 1 30); do
    out=$(kafka_tool 3.9 kafka-consumer-groups --bootstrap-server "$KAFKA_BOOTSTRAP" --describe --group "$group" --state 2>&1)
    # STATE and #MEMBERS are the last two columns (ASSIGNMENT-STRATEGY is blank when Empty)
    state=$(printf '%s\n' "$out" | awk -v g="$group" '$1 == g { print $(NF - 1) "/" $NF }')
    [ "$state" = "Empty/0" ] && break
    sleep 1
  done
  if [ "$state" != "Empty/0" ]; then
    printf '%s\n' "$out" >&2
    kafka_fail "kafka-consumer-groups --describe --state: want STATE Empty with 0 members 30s after the last reader closed (its session: 6s), got '$state'"
    return 1
  fi

  out=$(timeout_run 60 "$bin" -brokers "$KAFKA_BOOTSTRAP" -topic "$topic" -delete -timeout 50s 2>&1) \
    || { printf '%s\n' "$out" >&2; kafka_fail "kafka-go $KAFKA_GO_OLD_VERSION could not delete the topic (DeleteTopics)"; return 1; }
  for _ in $(seq 1 30); do
    if ! kafka_tool 3.9 kafka-topics --bootstrap-server "$KAFKA_BOOTSTRAP" --list 2>/dev/null | grep -qx "$topic"; then
      deleted=1
      break
    fi
    sleep 1
  done
  [ "$deleted" = 1 ] || { kafka_fail "kafka-topics --list still lists $topic 30s after DeleteTopics"; return 1; }
  KAFKA_GO_OLD_TOPIC=""

  KAFKA_DETAIL="kafka-go $KAFKA_GO_OLD_VERSION: $summary; kafka-consumer-groups (3.9): committed = end ($got), group Empty after the session expired; topic deleted (DeleteTopics v1)"
}

KAFKA_GO_OLD_TOPIC=""
kafka_client kafka-go kafka_go_old
[ -n "$KAFKA_GO_OLD_TOPIC" ] && kafka_delete_topics 3.9 "$KAFKA_GO_OLD_TOPIC"
exit "$KAFKA_SUITE_RC"
