# needs: none
# clients: apache-to-keel keel-to-apache
# timeout: 1500
#
# zk-rolling-migration: an Apache ZooKeeper 3.9 ensemble of three is migrated to keel
# one server at a time, under client load, and then back to Apache the same way.
#
# Each step stops one server (gracefully with TERM, or with kill -9: the steps
# alternate), leaves the ensemble on two servers for a moment, starts the other
# implementation on the same zoo.cfg and dataDir (zk_set_server_target +
# zk_restart_server), waits for one leader and two followers, and lets the load run on
# the new layout for a few seconds. Each phase replaces the followers first, so its
# first two steps give mixed ensembles where the old implementation leads the new one,
# and its last step stops the leader (phase 1 with TERM, phase 2 with kill -9): the
# servers of the new implementation elect a leader among themselves and the last one
# rejoins as a follower. The RESULT line names each step's server, role and method.
#
# The load (python/zk_migration_load.py, kazoo) runs through the whole migration: a
# writer doing acknowledged sequential creates (creates of unknown outcome are looked
# for afterwards, not counted), and two sessions incrementing a counter znode under
# kazoo's Lock with a holder-marker znode that must be absent when the lock is taken.
#
# One RESULT line per phase:
#   apache-to-keel: the three steps Apache -> keel, then a check while the load runs:
#     every create acknowledged so far is on each (now keel) server, read over a session
#     to that server alone after sync, and the counter (read holding the lock) equals the
#     increments recorded; no double holding; no session expiry.
#   keel-to-apache: the three steps keel -> Apache, then the load stops and the same
#     checks run on the Apache servers, plus: the servers hold identical children, no
#     znode exists that no create asked for, and how many unknown-outcome creates landed.
# Figures per phase: step times, writes acknowledged, increments, reconnects, expiries,
# the longest gap between two acknowledged writes.
# Against the apache target every server stays Apache (each step restarts Apache on
# the same data), which proves the checks.

set -u
NAME=rolling
BASE="/keel-compat-rolling-$$-$RANDOM"
CTL="$SUITE_WORK/ctl"
DWELL_S=${ROLLING_DWELL_S:-6}      # load time on each new layout
DOWN_S=${ROLLING_DOWN_S:-2}        # load time on two servers, between stop and start
NEW=keel
[ "$TARGET" = apache ] && NEW=apache
rc=0
LOAD_PID=""
declare -a DONE=()   # servers replaced in the current phase

cleanup() {
  [ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null
  zk_stop "$NAME"
}
trap cleanup EXIT

modes() {
  local i
  for i in 1 2 3; do
    printf 's%s=%s(%s) ' "$i" "$(zk_mode "$(cat "$(zk_server_dir "$NAME" "$i")/client.port")")" \
      "$(cat "$(zk_server_dir "$NAME" "$i")/target")"
  done
}

# start_note LOG FROM_LINE: how the restarted server came up on the data it found,
# from its log (informative only): Apache says how it synced with the leader (a diff
# means it loaded the files the other implementation left), keel how much it recovered.
start_note() {
  local text
  text=$(tail -n +"$2" "$1")
  if printf '%s\n' "$text" | grep -q 'org.apache.zookeeper'; then
    printf '%s\n' "$text" | grep -oE 'Getting a (diff|snapshot) from (the )?leader|Truncating log' | tail -n 1 \
      | sed -E 's/Getting a (diff|snapshot).*/sync=\1/; s/Truncating log/sync=trunc/'
  else
    printf '%s\n' "$text" | grep -oE 'recovered data tree .*last_zxid=0x[0-9a-f]+' | tail -n 1 \
      | sed -E 's/.*replayed=([0-9]+).*last_zxid=(0x[0-9a-f]+).*/recovered to \2 (replayed \1)/'
  fi
}

# step N METHOD TO: one server replaced; appends to STEPS; returns non-zero if the
# ensemble did not become healthy again.
step() {
  local n=$1 method=$2 to=$3 from role t0 secs logf from_line note
  from=$(cat "$(zk_server_dir "$NAME" "$n")/target")
  role=$(zk_mode "$(cat "$(zk_server_dir "$NAME" "$n")/client.port")")
  log "step: server $n ($from, ${role:-down}) $method -> $to; modes before: $(modes)"
  t0=$(date +%s)
  case "$method" in
    TERM) zk_stop_server "$NAME" "$n" ;;
    KILL) zk_kill_server "$NAME" "$n" ;;
  esac
  sleep "$DOWN_S"
  zk_set_server_target "$NAME" "$n" "$to"
  logf="$(zk_server_dir "$NAME" "$n")/server.log"
  from_line=$(($(wc -l <"$logf") + 1))
  if ! zk_restart_server "$NAME" "$n"; then
    STEPS="$STEPS s$n:$from(${role:-?},$method)->$to did-not-start;"
    return 1
  fi
  if ! zk_wait_ensemble "$NAME" 120; then
    STEPS="$STEPS s$n:$from(${role:-?},$method)->$to no-healthy-ensemble($(modes));"
    return 1
  fi
  secs=$(($(date +%s) - t0))
  note=$(start_note "$logf" "$from_line")
  STEPS="$STEPS s$n:$from(${role:-?},$method)->$to ${secs}s${note:+ $note};"
  log "step done in ${secs}s; modes: $(modes)"
  sleep "$DWELL_S"
}

# wait_result NAME TIMEOUT_S: the load's verdict line for a checkpoint ("" if none came).
wait_result() {
  local f="$CTL/$1.result" waited=0
  while [ ! -f "$f" ] && [ "$waited" -lt $(($2 * 2)) ]; do
    [ -n "$LOAD_PID" ] && ! kill -0 "$LOAD_PID" 2>/dev/null && [ ! -f "$f" ] && break
    sleep 0.5
    waited=$((waited + 1))
  done
  [ -f "$f" ] && cat "$f"
}

# next_server: a server this phase has not replaced yet, a follower if there is one.
next_server() {
  local i last=""
  for i in 1 2 3; do
    [ -n "${DONE[$i]:-}" ] && continue
    last=$i
    if [ "$(zk_mode "$(cat "$(zk_server_dir "$NAME" "$i")/client.port")")" = follower ]; then
      printf '%s' "$i"
      return
    fi
  done
  printf '%s' "$last"
}

# phase TO METHODS...: three steps, followers first, stopped with the METHODs in turn;
# sets STEPS, PHASE_SECS, PHASE_OK (0 once a step left no healthy ensemble).
phase() {
  local to=$1 t0 ok=1 n method
  shift
  STEPS=""
  DONE=()
  t0=$(date +%s)
  for method in "$@"; do
    n=$(next_server)
    DONE[$n]=1
    if ! step "$n" "$method" "$to"; then ok=0; break; fi
  done
  PHASE_SECS=$(($(date +%s) - t0))
  PHASE_OK=$ok
}

python_env || { report apache-to-keel fail "python venv"; report keel-to-apache fail "python venv"; exit 1; }
mkdir -p "$CTL"
if ! ZK_ENSEMBLE_TARGETS="apache apache apache" zk_start apache ensemble "$NAME"; then
  report apache-to-keel fail "the Apache ensemble did not form"
  report keel-to-apache fail "the Apache ensemble did not form"
  exit 1
fi
log "ensemble: $(modes)"

py_run "$COMPAT_DIR/python/zk_migration_load.py" "$ZK_ENSEMBLE_CONNECT" "$BASE" "$CTL" \
  >"$SUITE_WORK/load.log" 2>&1 &
LOAD_PID=$!
for _ in $(seq 1 120); do
  [ -f "$CTL/ready" ] && break
  kill -0 "$LOAD_PID" 2>/dev/null || break
  sleep 0.5
done
if [ ! -f "$CTL/ready" ]; then
  tail -n 30 "$SUITE_WORK/load.log"
  report apache-to-keel fail "the load did not start"
  report keel-to-apache fail "the load did not start"
  exit 1
fi
sleep "$DWELL_S"

# --- phase 1: Apache -> keel -------------------------------------------------------
phase "$NEW" TERM KILL TERM
touch "$CTL/checkpoint-apache-to-keel"
res=$(wait_result apache-to-keel 400)
steps1="$STEPS"
log "phase apache-to-keel: ${PHASE_SECS}s;$STEPS check: ${res:-none}"
if [ "$PHASE_OK" = 1 ] && [ "${res%% *}" = pass ]; then
  report apache-to-keel pass "steps:$steps1 phase ${PHASE_SECS}s; load: ${res#pass }"
else
  report apache-to-keel fail "steps:$steps1 phase ${PHASE_SECS}s; load: ${res:-no checkpoint result}"
  rc=1
fi

# --- phase 2: keel -> Apache (only on a healthy ensemble) -----------------------------
if [ "$PHASE_OK" = 1 ]; then
  phase apache KILL TERM KILL
else
  STEPS=" skipped: phase 1 left no healthy ensemble;" PHASE_SECS=0 PHASE_OK=0
fi
touch "$CTL/stop"
res=$(wait_result final 600)
wait "$LOAD_PID" 2>/dev/null
LOAD_PID=""
log "phase keel-to-apache: ${PHASE_SECS}s;$STEPS check: ${res:-none}"
sed 's/^/    load | /' "$SUITE_WORK/load.log" | tail -n 40
if [ "$PHASE_OK" = 1 ] && [ "${res%% *}" = pass ]; then
  report keel-to-apache pass "steps:$STEPS phase ${PHASE_SECS}s; load (then stopped, quiescent check): ${res#pass }"
else
  report keel-to-apache fail "steps:$STEPS phase ${PHASE_SECS}s; load: ${res:-no final result}"
  rc=1
fi
exit $rc
