# needs: zk
# clients: curator-cache
#
# zk-curator-cache: shared configuration with Curator's CuratorCache
# (java/zk/CuratorCacheCheck.java): a writer session updates a config tree many times;
# reader sessions see every final value via listener events; a late reader loads the
# tree; then ZooKeeper.addWatch PERSISTENT_RECURSIVE / PERSISTENT and removeWatches.

set -u
BASE="/keel-compat-cache-$$-$RANDOM"
if timeout_run 120 env JAVA_OPTS="" bash -c '. "$COMPAT_DIR/lib/common.sh"; . "$COMPAT_DIR/lib/fetch.sh"; . "$COMPAT_DIR/lib/zookeeper.sh"; zk_java curator "$0" "$ZK_CONNECT" "$1"' \
    "$COMPAT_DIR/java/zk/CuratorCacheCheck.java" "$BASE"; then
  report curator-cache pass "CuratorCache shared config + persistent recursive watches, Curator $CURATOR_VERSION"
else
  report curator-cache fail "see log"
  exit 1
fi
