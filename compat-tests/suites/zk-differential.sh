# needs: none
# clients: differential
# timeout: 900
#
# zk-differential: one seeded random workload (java/zk/Differential.java, ZooKeeper 3.9
# client) sent in lockstep to a reference Apache ZooKeeper 3.9 standalone server (A) and
# to the target's standalone server (B): creates of every mode (TTL excluded), setData /
# delete with right and wrong versions, reads with and without watches, multi and
# multiRead, setACL / getACL with world and digest ids (NoAuth, InvalidACL), sync,
# getAllChildrenNumber, getEphemerals, addWatch / removeWatches, session close and
# reopen, missing and malformed paths. Replies, errors, data, children, ACLs, Stat
# fields and watch events are compared (zxids and times as orderings); the first
# divergence stops the run with the seed and op index.
#
# ZK_DIFF_SEED (default 20261125), ZK_DIFF_OPS (default 10000), ZK_DIFF_SESSIONS
# (default 4). B is the run's target (apache or keel); ZK_DIFF_B=apache forces B to be a
# second Apache server (to prove the checker: Apache against Apache must pass).
# Reproduce a failure: ZK_DIFF_SEED=<seed> compat-tests/run --target keel zk-differential

set -u
SRC="$COMPAT_DIR/java/zk/Differential.java"
SEED=${ZK_DIFF_SEED:-20261125}
OPS=${ZK_DIFF_OPS:-10000}
SESSIONS=${ZK_DIFF_SESSIONS:-4}
B_TARGET=${ZK_DIFF_B:-$TARGET}

trap 'zk_stop diff-a >/dev/null 2>&1; zk_stop diff-b >/dev/null 2>&1' EXIT

zk_start apache standalone diff-a || { report differential fail "reference Apache server did not start"; exit 1; }
A_CONNECT=$ZK_CONNECT
zk_start "$B_TARGET" standalone diff-b || { report differential fail "$B_TARGET server did not start"; exit 1; }
B_CONNECT=$ZK_CONNECT

out="$SUITE_WORK/differential.out"
if timeout_run 840 env JAVA_OPTS="-Dorg.slf4j.simpleLogger.defaultLogLevel=error" \
    bash -c '. "$COMPAT_DIR/lib/common.sh"; . "$COMPAT_DIR/lib/fetch.sh"; . "$COMPAT_DIR/lib/zookeeper.sh"; zk_java zookeeper-3.9 "$@"' \
    _ "$SRC" --a "$A_CONNECT" --b "$B_CONNECT" --seed "$SEED" --ops "$OPS" --sessions "$SESSIONS" ${ZK_DIFF_EXTRA:-} \
    >"$out" 2>&1; then
  cat "$out"
  report differential pass "apache vs $B_TARGET: $(grep '^SUMMARY' "$out" | sed 's/^SUMMARY //')"
else
  rc=$?
  cat "$out"
  report differential fail "apache vs $B_TARGET, seed $SEED: $(grep -m1 '^DIVERGENCE' "$out" || echo "exit $rc, see log")"
  exit 1
fi
