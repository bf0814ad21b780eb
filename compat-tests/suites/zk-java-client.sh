# needs: zk
# clients: java-3.9 java-3.4
#
# zk-java-client: org.apache.zookeeper.ZooKeeper from the 3.9.x and the 3.4.14 jars,
# driven by one program (java/zk/ZkClientCheck.java, compiled against each): CRUD and
# Stat, BadVersion / NoNode / NodeExists / NotEmpty, sequential names, data / exists /
# child watches, ephemerals vanishing with their session, multi all-or-nothing, digest
# ACLs (NoAuth for others), a 1,000,000-byte node and a refused node over 1 MB.

set -u
SRC="$COMPAT_DIR/java/zk/ZkClientCheck.java"
rc=0

if timeout_run 180 env JAVA_OPTS="-Dorg.slf4j.simpleLogger.defaultLogLevel=warn" \
    bash -c '. "$COMPAT_DIR/lib/common.sh"; . "$COMPAT_DIR/lib/fetch.sh"; . "$COMPAT_DIR/lib/zookeeper.sh"; zk_java zookeeper-3.9 "$0" "$ZK_CONNECT" j39' "$SRC"; then
  report java-3.9 pass "ZooKeeper $ZOOKEEPER_VERSION client API"
else
  report java-3.9 fail "ZkClientCheck failed (see log)"
  rc=1
fi

JAVA11=$(zk_java11) || { report java-3.4 fail "no Java 11 runtime"; exit 1; }
if timeout_run 180 env ZK_JAVA_BIN="$JAVA11" \
    JAVA_OPTS="-Dlog4j.configuration=file:$COMPAT_DIR/java/zk/log4j.properties" \
    bash -c '. "$COMPAT_DIR/lib/common.sh"; . "$COMPAT_DIR/lib/fetch.sh"; . "$COMPAT_DIR/lib/zookeeper.sh"; zk_java zookeeper-3.4 "$0" "$ZK_CONNECT" j34' "$SRC"; then
  report java-3.4 pass "ZooKeeper $ZOOKEEPER_OLD_VERSION client API (Java 11)"
else
  report java-3.4 fail "ZkClientCheck failed (see log)"
  rc=1
fi
exit $rc
