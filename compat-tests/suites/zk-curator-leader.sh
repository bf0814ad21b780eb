# needs: zk
# clients: curator-leader
#
# zk-curator-leader: Curator LeaderLatch with 3 member JVM processes and a coordinator
# (java/zk/CuratorLeader.java): exactly one leader that every member agrees on; the
# leader closes its latch and another takes over; the next leader's process is killed
# and, once its session expires, the last member takes over.

set -u
SRC="$COMPAT_DIR/java/zk/CuratorLeader.java"
MEMBERS=3
BASE="/keel-compat-leader-$$-$RANDOM"
JOPTS="-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto"

CP=$(zk_java_build curator "$SRC") || { report curator-leader fail "could not compile CuratorLeader.java"; exit 1; }
pids=()
for i in $(seq 1 "$MEMBERS"); do
  # shellcheck disable=SC2086
  java $JOPTS -cp "$CP" CuratorLeader member "$ZK_CONNECT" "$BASE" "m$i" >"$SUITE_WORK/member-$i.log" 2>&1 &
  pids+=($!)
done
# shellcheck disable=SC2086
timeout_run 180 java $JOPTS -cp "$CP" CuratorLeader coordinator "$ZK_CONNECT" "$BASE" "$MEMBERS"
rc=$?
for i in "${!pids[@]}"; do
  if ! timeout_run 30 tail --pid="${pids[$i]}" -f /dev/null; then kill -KILL "${pids[$i]}" 2>/dev/null; fi
  wait "${pids[$i]}" 2>/dev/null
  echo "--- member $((i + 1)) (exit $?):"; grep -v '^SLF4J' "$SUITE_WORK/member-$((i + 1)).log" | tail -n 20
done
if [ "$rc" -eq 0 ]; then
  report curator-leader pass "LeaderLatch, $MEMBERS processes: close and kill take-overs, Curator $CURATOR_VERSION"
else
  report curator-leader fail "see log"
fi
exit $rc
