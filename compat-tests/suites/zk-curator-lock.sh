# needs: zk
# clients: curator-lock
#
# zk-curator-lock: the seed's distributed lock. Curator InterProcessMutex, 4 JVM
# processes (java/zk/CuratorLock.java: one lead + 3 workers) each incrementing a shared
# counter znode by read-modify-write under the lock; the final value must be exact and
# no two processes may hold the lock at once. Then re-entrancy and acquire time-outs.

set -u
SRC="$COMPAT_DIR/java/zk/CuratorLock.java"
WORKERS=3
INCREMENTS=${ZK_LOCK_INCREMENTS:-40}
BASE="/keel-compat-lock-$$-$RANDOM"
JOPTS="-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto"

CP=$(zk_java_build curator "$SRC") || { report curator-lock fail "could not compile CuratorLock.java"; exit 1; }
pids=()
for i in $(seq 1 "$WORKERS"); do
  # shellcheck disable=SC2086
  java $JOPTS -cp "$CP" CuratorLock worker "$ZK_CONNECT" "$BASE" "w$i" "$INCREMENTS" \
    >"$SUITE_WORK/worker-$i.log" 2>&1 &
  pids+=($!)
done
# shellcheck disable=SC2086
timeout_run 240 java $JOPTS -cp "$CP" CuratorLock lead "$ZK_CONNECT" "$BASE" "$WORKERS" "$INCREMENTS"
rc=$?
for i in "${!pids[@]}"; do
  if ! timeout_run 30 tail --pid="${pids[$i]}" -f /dev/null; then kill -KILL "${pids[$i]}" 2>/dev/null; fi
  wait "${pids[$i]}" || { echo "worker $((i + 1)) exited non-zero"; rc=1; }
  echo "--- worker $((i + 1)):"; grep -v '^SLF4J' "$SUITE_WORK/worker-$((i + 1)).log" | tail -n 20
done
if [ "$rc" -eq 0 ]; then
  report curator-lock pass "InterProcessMutex, $((WORKERS + 1)) processes x $INCREMENTS increments, Curator $CURATOR_VERSION"
else
  report curator-lock fail "see log"
fi
exit $rc
