# needs: none
# clients: standalone ensemble
# timeout: 300
#
# zk-metrics: the Prometheus endpoint (/metrics at metricsProvider.httpPort) that zoo.cfg
# turns on with metricsProvider.className=...PrometheusMetricsProvider, compared with
# Apache ZooKeeper 3.9.4's own (Maven set zookeeper-3.9-prometheus: the server, the
# zookeeper-prometheus-metrics provider and its Jetty) by python/zk_metrics_check.py.
# Every server here gets the same zoo.cfg lines (provider class, httpHost 127.0.0.1, a
# free httpPort of its own).
# standalone: an Apache standalone (the reference) and a target standalone take the
#   same kazoo workload (persistent, ephemeral and sequential znodes, set data, watches,
#   one session open during the scrape); then the target exports only names Apache
#   exports, with Apache's TYPEs; the names it lacks are exactly the checker's MISSING
#   list (a stale entry fails); znode_count, ephemerals_count, watch_count,
#   global_sessions, approximate_data_size (and the other workload-determined gauges)
#   equal Apache's; GET / is 404; /metrics has Apache's Content-Type.
# ensemble: an Apache three-server ensemble (the reference) and one of the target's kind:
#   the leader gauges (learners=2, synced_followers=2, ...) on the leader and on no
#   follower, as on Apache's; each role's names and values as Apache's server of the
#   same role.
# Against the apache target both sides are Apache: MISSING is not applied, nothing differs.

set -u
cleanup() { zk_stop_all; }
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

export ZK_APACHE_MAVEN_SET=zookeeper-3.9-prometheus
ZKM_PROVIDER="metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider metricsProvider.httpHost=127.0.0.1"
ZKM_RC=0

zkm_fail() { report "$1" fail "$2"; ZKM_RC=1; }

# zkm_check PART CLIENT REF TGT: runs the checker, reports its line.
zkm_check() {
  local part=$1 client=$2 out
  if out=$(timeout_run 120 "$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_metrics_check.py" "$part" \
      --target "$TARGET" --ref "$3" --tgt "$4" --dump "$SUITE_WORK" 2>&1); then
    report "$client" pass "$out"
  else
    printf '%s\n' "$out" >&2
    zkm_fail "$client" "$(tr '\n' ';' <<<"$out")"
  fi
}

# zkm_standalone NAME TARGET METRICS_PORT: starts it; ZKM_SPEC=zkport:metricsport
zkm_standalone() {
  ZK_CFG_EXTRA="$ZKM_PROVIDER metricsProvider.httpPort=$3" zk_start "$2" standalone "$1" || return 1
  ZKM_SPEC="${ZK_CONNECT##*:}:$3"
}

# zkm_ensemble NAME TARGET M1 M2 M3: starts it; ZKM_SPEC=z1:m1,z2:m2,z3:m3
zkm_ensemble() {
  local name=$1 target=$2 m=("$3" "$4" "$5") z i=0
  ZK_CFG_EXTRA="$ZKM_PROVIDER" ZK_CFG_EXTRA_1="metricsProvider.httpPort=$3" \
    ZK_CFG_EXTRA_2="metricsProvider.httpPort=$4" ZK_CFG_EXTRA_3="metricsProvider.httpPort=$5" \
    zk_start "$target" ensemble "$name" || return 1
  ZKM_SPEC=""
  for z in $ZK_ENSEMBLE_PORTS; do
    ZKM_SPEC="${ZKM_SPEC:+$ZKM_SPEC,}$z:${m[i]}"
    i=$((i + 1))
  done
}

python_env || { zkm_fail standalone "python venv"; zkm_fail ensemble "python venv"; exit 1; }
mapfile -t MPORTS < <(zk__ports 8)

# --- standalone: the same workload on both, then the two scrapes ---------------------
if ! zkm_standalone zkm-ref apache "${MPORTS[0]}"; then
  zkm_fail standalone "the Apache 3.9.4 reference (Prometheus provider) did not start"
elif REF=$ZKM_SPEC && ! zkm_standalone zkm-target "$TARGET" "${MPORTS[1]}"; then
  zkm_fail standalone "the $TARGET server did not start"
else
  zkm_check standalone standalone "$REF" "$ZKM_SPEC"
fi
zk_stop zkm-ref
zk_stop zkm-target

# --- ensembles: the leader's gauges, the followers' names ------------------------------
if ! zkm_ensemble zkm-ref-ens apache "${MPORTS[@]:2:3}"; then
  zkm_fail ensemble "the Apache 3.9.4 reference ensemble did not form"
elif REF=$ZKM_SPEC && ! zkm_ensemble zkm-target-ens "$TARGET" "${MPORTS[@]:5:3}"; then
  zkm_fail ensemble "the $TARGET ensemble did not form"
else
  zkm_check ensemble ensemble "$REF" "$ZKM_SPEC"
fi
zk_stop_all
exit $ZKM_RC
