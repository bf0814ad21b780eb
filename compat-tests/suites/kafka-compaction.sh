# needs: kafka
# clients: compaction-4 dump-log-3.9
# timeout: 420
#
# Log compaction (issue 4, "compaction for cleanup.policy=compact"). A topic is created
# with cleanup.policy=compact, segment.ms=100 and min.cleanable.dirty.ratio=0.01, and the
# 4.x console producer writes four rounds, each in its own segment (segment.ms rolls on
# the next append) and each with another codec:
#   offsets   0..49   k0..k49 = r1            gzip
#   offsets  50..99   k0..k49 = r2            lz4
#   offsets 100..109  k0..k9  = tombstones    zstd (null.marker)
#   offset  110       zz      = roll          snappy (makes the tombstone segment inactive)
# The broker's own log cleaner (Apache's: log.cleaner.backoff.ms 15 s by default) must
# then compact the three inactive segments:
#   compaction-4: the 4.x console consumer reads from the beginning until it reads
#                 (within 120 s) exactly k10..k49=r2 at their original offsets
#                 60..99, the ten tombstones at 100..109 (delete.retention.ms is a day,
#                 so they stay), zz at 110; earliest offset 0 and latest 111 unchanged.
#   dump-log-3.9: Apache 3.9.1's DumpLogSegments reads every segment of the compacted
#                 partition with --deep-iteration: every batch valid, and the records it
#                 lists are exactly those the consumer saw.

topic=$(kafka_unique compact)
B=$KAFKA_BOOTSTRAP

# produce ROUND CODEC LINES...: one console-producer run, keys parsed from "key:value"
produce() {
  local codec=$1 out
  shift
  out=$(printf '%s\n' "$@" | kafka_tool 4 kafka-console-producer --bootstrap-server "$B" \
    --topic "$topic" --compression-codec "$codec" --property parse.key=true \
    --property key.separator=: --property null.marker=NULL 2>&1) \
    || { printf '%s\n' "$out" >&2; kafka_fail "console producer ($codec) failed"; return 1; }
}

# consume_all: "offset key value" lines of the whole partition
consume_all() {
  kafka_tool 4 kafka-console-consumer --bootstrap-server "$B" --topic "$topic" \
    --from-beginning --timeout-ms 8000 --property print.offset=true \
    --property print.key=true 2>"$SUITE_WORK/consumer.err" \
    | tee "$SUITE_WORK/consumer.raw" | sed -E 's/^Offset:([0-9]+)\t/\1 /; s/\t/ /g'
}

expected_after() {
  local i
  for i in $(seq 10 49); do echo "$((50 + i)) k$i r2"; done
  for i in $(seq 0 9); do echo "$((100 + i)) k$i null"; done
  echo "110 zz roll"
}

compaction() {
  local out i lines=() got deadline
  out=$(kafka_tool 4 kafka-topics --bootstrap-server "$B" --create --topic "$topic" \
    --partitions 1 --replication-factor 1 --config cleanup.policy=compact \
    --config segment.ms=100 --config min.cleanable.dirty.ratio=0.01 2>&1)
  kafka_expect "kafka-topics --create (compact)" "$out" "Created topic $topic\." || return 1

  lines=(); for i in $(seq 0 49); do lines+=("k$i:r1"); done
  produce gzip "${lines[@]}" || return 1
  sleep 0.5
  lines=(); for i in $(seq 0 49); do lines+=("k$i:r2"); done
  produce lz4 "${lines[@]}" || return 1
  sleep 0.5
  lines=(); for i in $(seq 0 9); do lines+=("k$i:NULL"); done
  produce zstd "${lines[@]}" || return 1
  sleep 0.5
  produce snappy "zz:roll" || return 1

  # Apache's cleaner may already be at work: what was written is checked by the
  # offsets at the end; what is read must converge to the compacted view.
  got=$(consume_all)
  # Each cleaner pass takes what is inactive then: wait for the last pass.
  deadline=$(($(date +%s) + 120))
  while [ "$got" != "$(expected_after)" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      diff <(printf '%s\n' "$got") <(expected_after) >&2
      kafka_fail "not compacted to the latest value per key at original offsets within 120 s"
      return 1
    fi
    sleep 3
    got=$(consume_all)
  done
  out=$(kafka_tool 4 kafka-get-offsets --bootstrap-server "$B" --topic "$topic" 2>&1)
  kafka_expect "kafka-get-offsets (latest)" "$out" "^$topic:0:111\$" || return 1
  out=$(kafka_tool 4 kafka-get-offsets --bootstrap-server "$B" --topic "$topic" --time -2 2>&1)
  kafka_expect "kafka-get-offsets --time -2 (earliest)" "$out" "^$topic:0:0\$" || return 1
  printf '%s\n' "$got" >"$SUITE_WORK/compacted.txt"
  KAFKA_DETAIL="111 records in 4 codecs compacted to the 51 latest per key, offsets unchanged, tombstones kept"
}

dump_log() {
  local pdir files out records
  pdir="$(kafka_server_dir k1)/data/$topic-0"
  [ -s "$SUITE_WORK/compacted.txt" ] || { kafka_fail "needs compaction-4 to pass first"; return 1; }
  files=$(ls "$pdir"/*.log | paste -sd, -)
  out=$(kafka_tool 3.9 dump-log --deep-iteration --print-data-log --files "$files" 2>&1) \
    || { printf '%s\n' "$out" >&2; kafka_fail "DumpLogSegments failed"; return 1; }
  if printf '%s\n' "$out" | grep -q "isvalid: false"; then
    printf '%s\n' "$out" >&2
    kafka_fail "DumpLogSegments reports an invalid batch"
    return 1
  fi
  records=$(printf '%s\n' "$out" | sed -nE 's/^\| offset: ([0-9]+) .* key: ([^ ]+)( payload: (.*))?$/\1 \2 \4/p' \
    | sed -E 's/ $/ null/')
  if [ "$records" != "$(cat "$SUITE_WORK/compacted.txt")" ]; then
    printf '%s\n' "$out" >&2
    diff <(printf '%s\n' "$records") "$SUITE_WORK/compacted.txt" >&2
    kafka_fail "DumpLogSegments lists other records than the consumer read"
    return 1
  fi
  KAFKA_DETAIL="$(ls "$pdir"/*.log | wc -l) segments valid, $(printf '%s\n' "$records" | wc -l) records as consumed"
}

kafka_client compaction-4 compaction
kafka_client dump-log-3.9 dump_log
exit "$KAFKA_SUITE_RC"
