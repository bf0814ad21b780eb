# needs: kafka-zk
# clients: filebeat-1.0.0-kill9 filebeat-1.0.0-acks1-kill9
# timeout: 420
#
# The seed's pipeline is Filebeat -> Kafka -> Logstash; this is its first hop through a
# broker crash. The real Filebeat 8.8.2 (lib/filebeat.sh) with its default
# `output.kafka.version` (1.0.0: record batches, gzip by default) tails a log
# file that an "application" appends a numbered line to every few ms. Part-way (once
# Filebeat's registry shows it has had a good part of the lines acknowledged) the broker
# gets SIGKILL (kafka_kill), stays down a few seconds while the application keeps
# writing, and is restarted on the same data dir, port and ZooKeeper (kafka_restart).
# Filebeat has to retry and deliver. Once its registry says everything was shipped (or
# after a generous wait) the one-partition topic is read back with kcat and:
#   - every line written is in the topic (none lost, none left undelivered);
#   - the lines are in the order they were written, counting each line where it first
#     appears, except that a line in flight around the kill may come late. "In flight"
#     = the window (acked, back]: not yet acknowledged per Filebeat's registry just
#     before the kill, and written before the broker served again. Filebeat (not the
#     broker) reorders these: the batch that failed at the kill goes back to its
#     retryer with a backoff while the next batch, read meanwhile, is published first
#     once the broker is back (seen against Apache 3.9.1: lines 930-934 stored after
#     935-5025). A line outside the window must come after every line written before
#     it, so no acknowledged line moves and nothing written later overtakes it;
#   - a line appears more than once only if it is in that window. Filebeat is
#     at-least-once: it resends the batches it had no answer for, and the dead broker
#     may have stored them. The duplicates are counted in the detail line;
#   - nothing Filebeat had acknowledged before the kill (the registry's offset) is lost.
# Clients:
#   filebeat-1.0.0-kill9        required_acks: -1 (acks=all)
#   filebeat-1.0.0-acks1-kill9  required_acks: 1, Filebeat's default
# A loss fails both. With acks=all a lost acknowledged record is plainly a broken
# promise. With acks=1 the leader acknowledges once the records are appended to its log,
# i.e. written into the segment file (the OS page cache), not fsynced; acks=1 only risks
# what the leader has not replicated when the leader *machine* or its disk goes, or when
# another replica takes over. Here there is one broker and only its process dies: the
# kernel keeps the page cache and writes it out, the restarted broker reads the same
# files, and no other replica can truncate it. So a record acknowledged with acks=1 is
# still there after kill -9, and one that is not has been lost by the broker itself
# (acknowledged before it was written, or cut away by the restart's log recovery).
#
# FILEBEAT_CRASH_INTERVAL_MS (default 4): the application's pace, one line per interval.

# shellcheck source=../lib/filebeat.sh
. "$COMPAT_DIR/lib/filebeat.sh"

FBC_INTERVAL_MS=${FILEBEAT_CRASH_INTERVAL_MS:-4}
FBC_BEFORE_ACKED=800     # lines Filebeat has had acknowledged before the kill
FBC_DOWN_S=4             # seconds the broker stays down
FBC_AFTER_S=6            # seconds the application keeps writing after the restart
FBC_DRAIN_S=120          # at most this long for Filebeat to ship everything afterwards
FBC_PIDS=()
FBC_TOPIC=""
BROKER_OK=1

fbc_cleanup() {
  local pid
  for pid in "${FBC_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  FBC_PIDS=()
}
trap fbc_cleanup EXIT
trap 'exit 143' TERM INT HUP

# fbc_lines_upto FILE BYTES: complete lines in the first BYTES of FILE
fbc_lines_upto() { head -c "$2" "$1" | tr -cd '\n' | wc -c; }

# fbc_writer FILE STOPFILE TAG: the application, one numbered line per interval until
# STOPFILE exists (each line one write, so the file only ever holds whole lines). Run it
# in the background: it execs python, so its pid is the application's.
fbc_writer() {
  exec python3 - "$1" "$2" "$3" "$FBC_INTERVAL_MS" <<'PY'
import os, sys, time
path, stop, tag, ms = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
n = 0
while not os.path.exists(stop):
    n += 1
    os.write(fd, b"%s app line %07d level=info msg=\"request served\"\n" % (tag.encode(), n))
    time.sleep(ms / 1000.0)
os.close(fd)
PY
}

# fbc_check TOPIC_DUMP WRITTEN ACKED_AT_KILL WRITTEN_AT_RESTART: checks what kcat read
# (one "offset<TAB>json" per record) against the lines written; prints one summary
# line; exits non-zero on a failure.
fbc_check() {
  python3 - "$@" <<'PY'
import json, re, sys
dump, written, acked, back = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
nums, bad = [], 0
with open(dump, encoding="utf-8", errors="replace") as fh:
    for line in fh:
        line = line.rstrip("\n")
        if not line:
            continue
        _, _, payload = line.partition("\t")
        try:
            msg = json.loads(payload)["message"]
            nums.append(int(re.search(r" app line (\d+) ", msg).group(1)))
        except (ValueError, KeyError, AttributeError, TypeError):
            bad += 1
seen, first, dups = set(), [], []
for n in nums:
    if n in seen:
        dups.append(n)
    else:
        seen.add(n)
        first.append(n)
problems = []
missing = sorted(set(range(1, written + 1)) - seen)
lost_acked = [n for n in missing if n <= acked]
if lost_acked:
    problems.append("%d lines acknowledged before the kill are lost (%s)" % (
        len(lost_acked), ",".join(map(str, lost_acked[:10]))))
if len(missing) > len(lost_acked):
    rest = [n for n in missing if n > acked]
    problems.append("%d lines never delivered (%s)" % (len(rest), ",".join(map(str, rest[:10]))))
extra = sorted(n for n in seen if n < 1 or n > written)
if extra:
    problems.append("%d records of lines never written (%s)" % (len(extra), ",".join(map(str, extra[:10]))))
if bad:
    problems.append("%d records are not Filebeat events of this run" % bad)
# Order: a line that was not pending during the outage (acknowledged before the kill, or
# written after the broker was back) comes after every line written before it; a line of
# the window may come late (its batch resent after newer ones), not early.
late, bad_order, top = 0, [], 0
for n in first:
    if n < top:
        if acked < n <= back:
            late += 1
        else:
            bad_order.append((top, n))
    top = max(top, n)
if bad_order:
    problems.append("lines out of order: %s" % ", ".join(
        "%d arrived after %d" % (b, a) for a, b in bad_order[:5]))
stray = sorted(set(n for n in dups if not (acked < n <= back)))
if stray:
    problems.append("duplicates outside the in-flight window (%d, %d]: %s" % (
        acked, back, ",".join(map(str, stray[:10]))))
summary = "%d lines written, %d acked by the registry before the kill, %d written before the broker served again; %d records read, %d distinct lines, %s; %d duplicates%s" % (
    written, acked, back, len(nums), len(seen),
    "in order" if not late and not bad_order else
    "in order but %d in-flight lines resent after newer ones" % late if not bad_order else
    "NOT in order",
    len(dups), " (lines %d..%d)" % (min(dups), max(dups)) if dups else "")
print(summary + ("" if not problems else "; " + "; ".join(problems)))
sys.exit(1 if problems else 0)
PY
}

# fbc_metrics LOGDIR: what Filebeat's "Total metrics" (logged when it stops) and its
# error lines say about the outage, in one line.
fbc_metrics() {
  cat "$1"/filebeat* 2>/dev/null | python3 -c '
import json, sys
m, errors = None, 0
for line in sys.stdin:
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("log.level") == "error" and d.get("log.logger") in ("kafka", "publisher_pipeline_output"):
        errors += 1
    if d.get("message") == "Total metrics":
        m = d.get("monitoring", {}).get("metrics", {}).get("libbeat", {})
if m is None:
    print("no metrics logged, %d output errors logged" % errors)
else:
    out = m.get("output", {}).get("events", {})
    pipe = m.get("pipeline", {}).get("events", {})
    print("%d events failed in the output and were retried (pipeline retry count %d), %d dropped, %d acked; %d output errors logged" % (
        out.get("failed", 0), pipe.get("retry", 0), out.get("dropped", 0) + pipe.get("dropped", 0),
        out.get("acked", 0), errors))
'
}

# fbc_session ACKS: one Filebeat, one application, one kill -9 of the broker.
fbc_session() {
  local acks=$1 bin topic dir input stopf fb_pid app_pid t0 acked off written_kill
  local written_back written drained size td down retries out
  bin=$(filebeat_binary) || { kafka_fail "no Filebeat binary at $FILEBEAT_DIST"; return 1; }
  kcat_ensure || { kafka_fail "kcat is not installed and apt-get could not install $KCAT_PACKAGE"; return 1; }
  [ "$BROKER_OK" -eq 1 ] || { kafka_fail "the broker did not come back after the previous client's kill -9"; return 1; }
  topic=$(kafka_unique "fbcrash-acks${acks#-}")
  FBC_TOPIC=$topic
  dir="$SUITE_WORK/filebeat-acks$acks"
  input="$dir/input.log"
  stopf="$dir/app.stop"
  rm -rf "$dir"
  mkdir -p "$dir/data" "$dir/logs"
  : >"$input"

  out=$(kafka_tool 3.9 kafka-topics --create --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --replication-factor 1 --partitions 1 --topic "$topic" 2>&1)
  kafka_expect "kafka-topics --create $topic" "$out" "Created topic \"?$topic\"?\." || return 1

  # output.kafka.version and compression are left at Filebeat's defaults (1.0.0, gzip)
  cat >"$dir/filebeat.yml" <<YAML
filebeat.inputs:
  - type: filestream
    id: compat-crash-acks$acks
    paths: [$input]
    prospector.scanner.check_interval: 1s
output.kafka:
  hosts: ["$KAFKA_BOOTSTRAP"]
  topic: "$topic"
  required_acks: $acks
path.data: $dir/data
path.logs: $dir/logs
logging.to_files: true
logging.to_stderr: false
monitoring.enabled: false
YAML
  chmod 600 "$dir/filebeat.yml"

  t0=$(date +%s)
  fbc_writer "$input" "$stopf" "$topic" &
  app_pid=$!
  FBC_PIDS+=("$app_pid")
  "$bin" -c "$dir/filebeat.yml" --path.home "$dir" >"$dir/stdout.log" 2>&1 &
  fb_pid=$!
  FBC_PIDS+=("$fb_pid")

  # part-way: Filebeat has had FBC_BEFORE_ACKED lines acknowledged
  acked=0
  while [ $(($(date +%s) - t0)) -lt 60 ]; do
    off=$(filebeat_registry_offset "$dir/data")
    acked=$(fbc_lines_upto "$input" "$off")
    [ "$acked" -ge "$FBC_BEFORE_ACKED" ] && break
    kill -0 "$fb_pid" 2>/dev/null || break
    sleep 0.5
  done
  if [ "$acked" -lt "$FBC_BEFORE_ACKED" ]; then
    touch "$stopf"
    tail -n 20 "$dir"/logs/filebeat* "$dir/stdout.log" >&2 2>/dev/null
    kafka_fail "Filebeat had only $acked lines acknowledged after 60s, before any kill"
    return 1
  fi
  # the registry lags the acknowledgements: everything up to its offset is acked
  off=$(filebeat_registry_offset "$dir/data")
  acked=$(fbc_lines_upto "$input" "$off")
  kafka_kill kz || { touch "$stopf"; BROKER_OK=0; kafka_fail "kafka_kill failed"; return 1; }
  td=$(date +%s)
  written_kill=$(wc -l <"$input")
  log "acks=$acks: broker killed with $written_kill lines written, $acked acknowledged per Filebeat's registry"
  sleep "$FBC_DOWN_S"
  if ! kafka_restart kz; then
    touch "$stopf"
    BROKER_OK=0
    kafka_fail "the broker did not serve again after kill -9"
    return 1
  fi
  written_back=$(wc -l <"$input")
  down=$(($(date +%s) - td))
  log "acks=$acks: broker serving again after ${down}s, $written_back lines written by then"
  sleep "$FBC_AFTER_S"
  touch "$stopf"
  wait "$app_pid"
  written=$(wc -l <"$input")
  size=$(stat -c %s "$input")
  log "acks=$acks: the application stopped after $written lines ($size bytes)"

  drained=0
  td=$(date +%s)
  while [ $(($(date +%s) - td)) -lt "$FBC_DRAIN_S" ]; do
    off=$(filebeat_registry_offset "$dir/data")
    if [ "$off" -ge "$size" ]; then drained=1; break; fi
    kill -0 "$fb_pid" 2>/dev/null || break
    sleep 1
  done
  log "acks=$acks: registry offset $off of $size bytes after $(($(date +%s) - td))s"
  kill -TERM "$fb_pid" 2>/dev/null
  wait "$fb_pid" 2>/dev/null
  FBC_PIDS=()

  timeout_run 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$topic" -p 0 -o beginning -e -q \
    -f '%o\t%s\n' >"$dir/topic.txt" 2>"$dir/kcat.err" \
    || { cat "$dir/kcat.err" >&2; kafka_fail "kcat could not read $topic back"; return 1; }
  # Filebeat's retries, from the metrics it logs at shutdown
  retries=$(fbc_metrics "$dir/logs")

  if ! out=$(fbc_check "$dir/topic.txt" "$written" "$acked" "$written_back"); then
    tail -n 30 "$dir"/logs/filebeat* >&2 2>/dev/null
    kafka_fail "required_acks $acks: $out; broker down ${down}s; Filebeat: $retries; registry drained: $drained"
    return 1
  fi
  [ "$drained" -eq 1 ] || log "acks=$acks: note: the registry never reached the end of the file, yet every line arrived"
  KAFKA_DETAIL="Filebeat 8.8.2, version 1.0.0, required_acks $acks, kill -9 mid-stream, broker down ${down}s: $out; Filebeat: $retries"
}

# fbc_client ACKS: fbc_session, then stop what it left running and delete its topic
# (what was read back stays in $SUITE_WORK/filebeat-acks<ACKS>/topic.txt).
fbc_client() {
  local rc
  FBC_TOPIC=""
  fbc_session "$@"
  rc=$?
  fbc_cleanup
  [ -n "$FBC_TOPIC" ] && [ "$BROKER_OK" -eq 1 ] && kafka_delete_topics 3.9 "$FBC_TOPIC"
  return "$rc"
}

if filebeat_binary >/dev/null; then
  kafka_client filebeat-1.0.0-kill9 fbc_client -1
  kafka_client filebeat-1.0.0-acks1-kill9 fbc_client 1
else
  for c in filebeat-1.0.0-kill9 filebeat-1.0.0-acks1-kill9; do
    report "$c" skip "the Filebeat 8.8.2 build is not at $FILEBEAT_DIST (set FILEBEAT_DIST)"
  done
fi
exit "$KAFKA_SUITE_RC"
