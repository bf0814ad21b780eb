# needs: zk
# clients: curator-discovery
#
# zk-curator-discovery: service registration and discovery with curator-x-discovery
# (java/zk/CuratorDiscovery.java): a provider and a consumer, each with its own session:
# register, query, round-robin ServiceProvider, ServiceCache listener, payload update,
# unregister, and registrations vanishing with the provider's session.

set -u
BASE="/keel-compat-discovery-$$-$RANDOM"
if timeout_run 120 env JAVA_OPTS="" bash -c '. "$COMPAT_DIR/lib/common.sh"; . "$COMPAT_DIR/lib/fetch.sh"; . "$COMPAT_DIR/lib/zookeeper.sh"; zk_java curator "$0" "$ZK_CONNECT" "$1"' \
    "$COMPAT_DIR/java/zk/CuratorDiscovery.java" "$BASE"; then
  report curator-discovery pass "ServiceDiscovery register/query/update/unregister, Curator $CURATOR_VERSION"
else
  report curator-discovery fail "see log"
  exit 1
fi
