# needs: none
# clients: keel-leads-apache apache-leads-keel snap-under-load
# timeout: 900
#
# Mixed ensembles: keel and Apache ZooKeeper 3.9 servers in one ensemble, speaking
# Apache's election and learner protocols to each other. Each layout runs the whole
# zk-ensemble check (four-letter words, FourLetterWordMain, writes read on every
# server after sync, the leader killed with SIGKILL, re-election, data kept, the old
# leader rejoining):
# - keel-leads-apache: servers 1 and 2 Apache, server 3 keel; from a fresh start the
#   highest id leads, so keel leads two Apache followers; once it is killed an Apache
#   server leads and the restarted keel server rejoins as its follower;
# - apache-leads-keel: servers 1 and 2 keel, server 3 Apache: an Apache leader with
#   keel followers, then a keel leader with the restarted Apache server following.
# - snap-under-load: servers 1 Apache, 2 and 3 keel, server 3 leading with 3,000 nodes
#   of 1 KB (more txns than the leader's committed log, so no DIFF); each follower in
#   turn is killed, loses its data and is restarted while a client keeps creating,
#   updating and deleting: the leader streams it a SNAP (fuzzy, as the tree changes
#   during the stream) and afterwards every server holds the same nodes and Stats and
#   every acknowledged write (python/zk_snap_under_load.py).
# Against the apache target every server is Apache (the same checks, proven).

set -u
rc=0

# start_with_server3_leading CLIENT TARGETS NAME: an ensemble whose server 3 leads,
# or a failed report (returns 1).
start_with_server3_leading() {
  local client=$1 targets=$2 name=$3 leader_port current n
  if ! ZK_ENSEMBLE_TARGETS="$targets" zk_start "$TARGET" ensemble "$name"; then
    report "$client" fail "the ensemble ($targets) did not form"
    rc=1
    return 1
  fi
  read -r -a ports <<<"$ZK_ENSEMBLE_PORTS"
  leader_port=${ports[2]}
  # Server 3 leads a fresh ensemble when all three start together; when two start
  # first they elect the higher of themselves. Then kill that leader once: the two
  # left (server 3 among them) elect server 3, and the killed one rejoins.
  current=$(zk_leader_server "$name")
  if [ -n "$current" ] && [ "$current" != 3 ]; then
    echo "server $current leads first; restarting it so that server 3 leads"
    zk_kill_server "$name" "$current"
    for n in $(seq 1 120); do [ "$(zk_mode "$leader_port")" = leader ] && break; sleep 0.5; done
    zk_restart_server "$name" "$current" && zk_wait_ensemble "$name" 60
  fi
}

layout() {
  local client=$1 targets=$2 expected_leader=$3 name out verdict leader_port leader_target
  name="mixed-$client"
  if [ "$TARGET" = apache ]; then targets="apache apache apache"; fi
  start_with_server3_leading "$client" "$targets" "$name" || return
  leader_port=${ports[2]}
  if [ "$(zk_mode "$leader_port")" != leader ]; then
    report "$client" fail "server 3 ($expected_leader) does not lead: modes $(zk_mode "${ports[0]}") $(zk_mode "${ports[1]}") $(zk_mode "$leader_port")"
    rc=1
    zk_stop "$name"
    return
  fi
  leader_target=$(sed -n 1p "$(zk_server_dir "$name" 3)/target")
  # The zk-ensemble suite itself, in a subshell that shares our functions.
  out=$(ZK_ENSEMBLE_NAME="$name"; . "$COMPAT_DIR/suites/zk-ensemble.sh" 2>&1)
  echo "$out" | sed "s/^/[$client] /"
  verdict=$(echo "$out" | grep -c '^RESULT [a-z]* fail')
  if [ "$verdict" = 0 ] && echo "$out" | grep -q '^RESULT ensemble pass'; then
    report "$client" pass "servers $targets: $leader_target leader, then the others re-elect, data kept, the old leader rejoins as a follower; srvr/mntr/FourLetterWordMain agree"
  else
    report "$client" fail "$(echo "$out" | grep '^RESULT' | grep fail | tr '\n' ' ')"
    rc=1
  fi
  zk_stop "$name"
}

snap_under_load() {
  local client=snap-under-load targets="apache keel keel" name=mixed-snap n dir writer
  local leader_hostport sends_before sends_after details=""
  if [ "$TARGET" = apache ]; then targets="apache apache apache"; fi
  if ! python_env; then
    report "$client" fail "python_env failed"
    rc=1
    return
  fi
  start_with_server3_leading "$client" "$targets" "$name" || return
  if [ "$(zk_mode "${ports[2]}")" != leader ]; then
    report "$client" fail "server 3 does not lead"
    rc=1
    zk_stop "$name"
    return
  fi
  local py=("$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_snap_under_load.py")
  leader_hostport="127.0.0.1:${ports[2]}"
  local leader_log
  leader_log="$(zk_server_dir "$name" 3)/server.log"
  if ! out=$(timeout_run 300 "${py[@]}" fill "$leader_hostport" 3000 2>&1); then
    report "$client" fail "fill: $(echo "$out" | tail -3 | tr '\n' ' ')"
    rc=1
    zk_stop "$name"
    return
  fi
  for n in 1 2; do
    dir=$(zk_server_dir "$name" "$n")
    zk_kill_server "$name" "$n"
    rm -rf "$dir/data/version-2"
    sends_before=$(grep -c -e 'sending a snapshot' -e 'Sending snapshot' "$leader_log")
    timeout_run 120 "${py[@]}" write "$leader_hostport" 12 "$RUN_DIR/snap-acked-$n.json" \
      >"$RUN_DIR/snap-writer-$n.log" 2>&1 &
    writer=$!
    sleep 2
    zk_restart_server "$name" "$n"
    if ! wait "$writer"; then
      report "$client" fail "the writer failed while server $n synced: $(tail -3 "$RUN_DIR/snap-writer-$n.log" | tr '\n' ' ')"
      rc=1
      zk_stop "$name"
      return
    fi
    if ! zk_wait_ensemble "$name" 60; then
      report "$client" fail "server $n did not rejoin after losing its data"
      rc=1
      zk_stop "$name"
      return
    fi
    sends_after=$(grep -c -e 'sending a snapshot' -e 'Sending snapshot' "$leader_log")
    if [ "$sends_after" -le "$sends_before" ]; then
      report "$client" fail "the leader sent server $n no snapshot (DIFF instead?)"
      rc=1
      zk_stop "$name"
      return
    fi
    if ! out=$(timeout_run 300 "${py[@]}" compare "$RUN_DIR/snap-acked-$n.json" \
        "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" 2>&1); then
      report "$client" fail "after server $n's SNAP: $(echo "$out" | tail -3 | tr '\n' ' ')"
      rc=1
      zk_stop "$name"
      return
    fi
    details="$details server $n ($(sed -n "${n}p" <<<"${targets// /$'\n'}")): $(tail -1 "$RUN_DIR/snap-writer-$n.log");"
  done
  # A keel learner replays its sync over the fuzzy stream without comparing txn
  # digests, and compares them again after: no mismatch is counted. (An Apache
  # learner compares them throughout and may count some; not asserted.)
  local mismatches=""
  for n in 1 2 3; do
    mismatches="$mismatches $(zk_4lw "${ports[$((n - 1))]}" mntr | sed -n 's/^zk_digest_mismatches_count\t*//p' | tr -d '\r')"
  done
  read -r -a counts <<<"$mismatches"
  for n in 2 3; do
    if [ "$(sed -n "${n}p" <<<"${targets// /$'\n'}")" = keel ] && [ "${counts[$((n - 1))]:-x}" != 0 ]; then
      report "$client" fail "keel server $n counts ${counts[$((n - 1))]:-no} digest mismatches after the SNAP"
      rc=1
      zk_stop "$name"
      return
    fi
  done
  report "$client" pass "servers $targets, server 3 leading 3000 x 1 KB:$details then $(echo "$out" | tail -1); digest mismatches per server:$mismatches"
  zk_stop "$name"
}

layout keel-leads-apache "apache apache keel" keel
layout apache-leads-keel "keel keel apache" apache
snap_under_load
exit $rc
