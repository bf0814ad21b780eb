# needs: zk
# clients: kazoo
#
# zk-kazoo: the Python client kazoo (python/zk_kazoo.py): Lock, Election, Queue and
# LockingQueue, Party and ShallowParty across several sessions, DataWatch /
# ChildrenWatch / one-shot watches, transactions, sequence nodes.

set -u
if timeout_run 240 bash -c '. "$COMPAT_DIR/lib/common.sh"; . "$COMPAT_DIR/lib/python.sh"; py_run "$0" "$ZK_CONNECT"' \
    "$COMPAT_DIR/python/zk_kazoo.py"; then
  report kazoo pass "kazoo $KAZOO_VERSION recipes and watches"
else
  report kazoo fail "see log"
  exit 1
fi
