# needs: none
# clients: apache-3.9-reference legacy-admin-differential
# timeout: 300
#
# kafka-api-versions: the target broker's ApiVersions answer compared API by API with
# an Apache Kafka 3.9.1 broker's (ZooKeeper mode, from Maven), the reference for what
# a keel broker must accept (python/api_versions_diff.py). Both run on one ZooKeeper
# of the target's kind, each in its own chroot (two one-broker clusters). Every API
# 3.9 announces must be announced with at least its version range, except the named
# gaps in api_versions_diff.py (APIs not served yet, older minimums not read yet),
# which the suite's detail lists; a gap that closes must be dropped from the lists.
# Against the apache target both brokers are Apache 3.9.1: the answers are identical.
# legacy-admin-differential: the admin versions Kafka 4 dropped and 3.9 serves
# (CreateTopics v0-v1, DescribeConfigs v0, DescribeLogDirs v0, DeleteTopics v0), sent
# to both brokers, answers compared (python/legacy_admin_diff.py).

set -u
cleanup() {
  kafka_stop_all
  zk_stop_all
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

compare() {
  local zk reference target out
  zk_start "$(kafka_zk_target)" standalone apiv-zk || { kafka_fail "ZooKeeper ($(kafka_zk_target)) did not start"; return 1; }
  zk=$ZK_CONNECT
  kafka_start apache zk apiv-reference "$zk/reference" || { kafka_fail "the Apache 3.9.1 reference broker did not start"; return 1; }
  reference=$KAFKA_BOOTSTRAP
  kafka_start "$TARGET" zk apiv-target "$zk/target" || { kafka_fail "the $TARGET broker did not start"; return 1; }
  target=$KAFKA_BOOTSTRAP
  if ! out=$("$PY_VENV/bin/python" "$COMPAT_DIR/python/api_versions_diff.py" "$reference" "$target" 2>&1); then
    printf '%s\n' "$out" >&2
    kafka_fail "$(tr '\n' ';' <<<"$out")"
    return 1
  fi
  KAFKA_DETAIL=$out
  REFERENCE=$reference TARGET_BOOTSTRAP=$target
}

legacy_admin() {
  local out
  [ -n "${REFERENCE:-}" ] || { kafka_fail "no brokers (the first part failed)"; return 1; }
  if ! out=$(LEGACY_DIFF_LOG="$SUITE_WORK/legacy_admin_diff.log" \
      "$PY_VENV/bin/python" "$COMPAT_DIR/python/legacy_admin_diff.py" "$REFERENCE" "$TARGET_BOOTSTRAP" 2>&1); then
    printf '%s\n' "$out" >&2
    kafka_fail "$(tr '\n' ';' <<<"$out")"
    return 1
  fi
  KAFKA_DETAIL=$out
}

python_env || { report apache-3.9-reference fail "python venv"; exit 1; }
REFERENCE=""
TARGET_BOOTSTRAP=""
kafka_client apache-3.9-reference compare
kafka_client legacy-admin-differential legacy_admin
exit $KAFKA_SUITE_RC
