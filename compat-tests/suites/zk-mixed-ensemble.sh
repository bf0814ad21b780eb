# needs: none
# clients: keel-leads-apache apache-leads-keel
# timeout: 600
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
# Against the apache target every server is Apache (the same checks, proven).

set -u
rc=0

layout() {
  local client=$1 targets=$2 expected_leader=$3 name out verdict leader_port leader_target
  name="mixed-$client"
  if [ "$TARGET" = apache ]; then targets="apache apache apache"; fi
  if ! ZK_ENSEMBLE_TARGETS="$targets" zk_start "$TARGET" ensemble "$name"; then
    report "$client" fail "the ensemble ($targets) did not form"
    rc=1
    return
  fi
  read -r -a ports <<<"$ZK_ENSEMBLE_PORTS"
  leader_port=${ports[2]}
  # Server 3 leads a fresh ensemble when all three start together; when two start
  # first they elect the higher of themselves. Then kill that leader once: the two
  # left (server 3 among them) elect server 3, and the killed one rejoins.
  local current n
  current=$(zk_leader_server "$name")
  if [ -n "$current" ] && [ "$current" != 3 ]; then
    echo "server $current leads first; restarting it so that server 3 leads"
    zk_kill_server "$name" "$current"
    for n in $(seq 1 120); do [ "$(zk_mode "$leader_port")" = leader ] && break; sleep 0.5; done
    zk_restart_server "$name" "$current" && zk_wait_ensemble "$name" 60
  fi
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

layout keel-leads-apache "apache apache keel" keel
layout apache-leads-keel "keel keel apache" apache
exit $rc
