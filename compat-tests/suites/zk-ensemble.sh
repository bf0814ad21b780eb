# needs: zk-ensemble
# clients: ensemble 4lw fourletterwordmain follower-reads
#
# zk-ensemble: a three-server ensemble as the seed runs it. Four-letter words (srvr,
# ruok, mntr) show exactly one leader and two followers; FourLetterWordMain (what
# zkServer.sh status runs) reports the same; writes through one server are read from
# the other two after sync (java/zk/EnsembleCheck.java); the leader is killed (SIGKILL),
# a new leader is elected, the data survives and the survivors take writes; the killed
# server is restarted and catches up. A kazoo session that only reads through a
# follower outlives its timeout (python/zk_follower_reads.py: the follower must report
# its clients' activity to the leader, which alone expires sessions).

set -u
SRC="$COMPAT_DIR/java/zk/EnsembleCheck.java"
read -r -a PORTS <<<"$ZK_ENSEMBLE_PORTS"
NAME=${ZK_ENSEMBLE_NAME:-ze}
BASE="/keel-compat-ensemble-$$-$RANDOM"
JOPTS="-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
rc=0

modes() { local p; for p in "${PORTS[@]}"; do printf '%s ' "$(zk_mode "$p")"; done; }
count_mode() { local n=0 m; for m in $1; do [ "$m" = "$2" ] && n=$((n + 1)); done; echo $n; }

# --- four-letter words -------------------------------------------------------------
fails=""
LEADER=""
for i in 0 1 2; do
  out=$(zk_4lw "${PORTS[$i]}" srvr)
  echo "--- srvr server $((i + 1)) (port ${PORTS[$i]}):"; echo "$out"
  echo "$out" | grep -q '^Zookeeper version: ' || fails="$fails srvr-version-$((i + 1))"
  echo "$out" | grep -Eq '^Zxid: 0x[0-9a-f]+$' || fails="$fails srvr-zxid-$((i + 1))"
  if [ "$(echo "$out" | sed -n 's/^Mode: //p')" = leader ]; then
    LEADER=$((i + 1))
    # StatCommand: a leader adds its proposal sizes after the node count.
    echo "$out" | grep -Eq '^Proposal sizes last/min/max: -?[0-9]+/-?[0-9]+/-?[0-9]+$' \
      || fails="$fails srvr-proposal-sizes"
  else
    if echo "$out" | grep -q '^Proposal sizes'; then fails="$fails srvr-proposal-sizes-on-non-leader-$((i + 1))"; fi
  fi
  [ "$(zk_4lw "${PORTS[$i]}" ruok)" = imok ] || fails="$fails ruok-$((i + 1))"
done
m=$(modes)
echo "modes: $m"
[ "$(count_mode "$m" leader)" = 1 ] && [ "$(count_mode "$m" follower)" = 2 ] || fails="$fails srvr-modes($m)"
if [ -n "$LEADER" ]; then
  mntr=$(zk_4lw "${PORTS[$((LEADER - 1))]}" mntr)
  echo "--- mntr of the leader:"; echo "$mntr" | grep -E 'zk_server_state|zk_followers|zk_synced_followers|zk_version'
  echo "$mntr" | grep -Eq $'^zk_server_state\tleader$' || fails="$fails mntr-state"
  echo "$mntr" | grep -Eq $'^zk_synced_followers\t2(\\.0)?$' || fails="$fails mntr-synced-followers"
  echo "$mntr" | grep -Eq $'^zk_max_proposal_size\t-?[0-9]+(\\.0)?$' || fails="$fails mntr-max-proposal-size"
fi
if [ -z "$fails" ]; then report 4lw pass "srvr/ruok/mntr: one leader (server $LEADER), two followers"
else report 4lw fail "$fails"; rc=1; fi

# --- FourLetterWordMain, as zkServer.sh status runs it --------------------------------
fails=""
CP39=$(maven_classpath zookeeper-3.9)
for i in 0 1 2; do
  # shellcheck disable=SC2086
  out=$(timeout_run 30 java $JOPTS -cp "$CP39" org.apache.zookeeper.client.FourLetterWordMain 127.0.0.1 "${PORTS[$i]}" srvr 2>&1)
  mode=$(echo "$out" | sed -n 's/^Mode: //p')
  echo "FourLetterWordMain server $((i + 1)): Mode: $mode"
  want=follower; [ "$((i + 1))" = "$LEADER" ] && want=leader
  [ "$mode" = "$want" ] || { fails="$fails server$((i + 1))=$mode"; echo "$out"; }
done
if [ -z "$fails" ]; then report fourletterwordmain pass "zkServer.sh status view: leader + 2 followers"
else report fourletterwordmain fail "$fails"; rc=1; fi

# --- a read-only session on a follower stays alive -------------------------------------
FOLLOWER=""
for i in 0 1 2; do [ "$((i + 1))" != "$LEADER" ] && { FOLLOWER=${PORTS[$i]}; break; }; done
if [ -z "$FOLLOWER" ]; then
  report follower-reads fail "no follower"
  rc=1
elif ! python_env; then
  report follower-reads fail "python_env failed"
  rc=1
elif out=$(timeout_run 60 "$PY_VENV/bin/python" "$COMPAT_DIR/python/zk_follower_reads.py" "127.0.0.1:$FOLLOWER"); then
  report follower-reads pass "$out"
else
  report follower-reads fail "a read-only session on a follower expired (see log)"
  rc=1
fi

# --- data through the ensemble, leader failure, rejoin ---------------------------------
CP=$(zk_java_build zookeeper-3.9 "$SRC") || { report ensemble fail "could not compile EnsembleCheck.java"; exit 1; }
ej() {
  # shellcheck disable=SC2086
  timeout_run 120 java $JOPTS -cp "$CP" EnsembleCheck "$@"
}
efails=""
HP=("127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" "127.0.0.1:${PORTS[2]}")
ej write "$BASE" "${HP[@]}" || efails="$efails write"

if [ -z "$LEADER" ]; then
  efails="$efails no-leader"
else
  echo "killing the leader, server $LEADER (pid $(zk_server_pid "$NAME" "$LEADER"))"
  t0=$(date +%s)
  zk_kill_server "$NAME" "$LEADER"
  SURV=()
  for i in 1 2 3; do [ "$i" != "$LEADER" ] && SURV+=("$i"); done
  NEW=""
  for _ in $(seq 1 120); do
    m1=$(zk_mode "${PORTS[$((SURV[0] - 1))]}") m2=$(zk_mode "${PORTS[$((SURV[1] - 1))]}")
    if [ "$m1" = leader ] && [ "$m2" = follower ]; then NEW=${SURV[0]}; break; fi
    if [ "$m2" = leader ] && [ "$m1" = follower ]; then NEW=${SURV[1]}; break; fi
    sleep 0.5
  done
  if [ -n "$NEW" ]; then
    echo "new leader: server $NEW after $(($(date +%s) - t0))s"
  else
    efails="$efails no-new-leader($m1,$m2)"
  fi
  ej survive "$BASE" "127.0.0.1:${PORTS[$((SURV[0] - 1))]}" "127.0.0.1:${PORTS[$((SURV[1] - 1))]}" || efails="$efails survive"

  echo "restarting server $LEADER"
  if zk_restart_server "$NAME" "$LEADER" && zk_wait_ensemble "$NAME" 60; then
    m=$(modes)
    echo "modes after restart: $m"
    [ "$(zk_mode "${PORTS[$((LEADER - 1))]}")" = follower ] || efails="$efails restarted-not-follower"
  else
    efails="$efails restart"
  fi
  ej rejoin "$BASE" "127.0.0.1:${PORTS[$((LEADER - 1))]}" "$ZK_ENSEMBLE_CONNECT" || efails="$efails rejoin"
fi
if [ -z "$efails" ]; then report ensemble pass "sync reads on followers, leader killed -> re-elected, data kept, rejoin"
else report ensemble fail "$efails"; rc=1; fi
exit $rc
