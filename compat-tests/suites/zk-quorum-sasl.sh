# needs: none
# clients: sasl-ensemble sasl-keel-leads-apache sasl-apache-leads-keel negative
# timeout: 900
#
# SASL between ensemble members (quorum.auth.enableSasl=true with
# quorum.auth.learnerRequireSasl=true and quorum.auth.serverRequireSasl=true), as Apache
# ZooKeeper 3.9 runs it: after the election connection's header and before FOLLOWERINFO
# the dialling member sends QuorumAuthPackets with DIGEST-MD5 tokens (protocol
# zookeeper-quorum, server name zk-quorum-sasl-md5) for the JAAS QuorumLearner login;
# the accepting member checks them against its QuorumServer section's user_<name>
# entries. Every server gets the same JAAS file through SERVER_JVMFLAGS
# (-Djava.security.auth.login.config).
# - sasl-ensemble: three servers of the target run the whole zk-ensemble check (writes
#   read on every server, the leader killed, re-election, data kept, the old leader
#   rejoining). Apache logs "Successfully completed the authentication using SASL".
# - sasl-keel-leads-apache / sasl-apache-leads-keel: the same in the two mixed layouts
#   (servers 1-2 Apache and 3 keel; servers 1-2 keel and 3 Apache). Against the apache
#   target these would be three Apache servers again, which sasl-ensemble just ran:
#   they report its result.
# - negative: a follower restarted with a wrong QuorumLearner password, then with
#   quorum.auth.enableSasl=false (no exchange at all), never rejoins (srvr answers no
#   Mode: follower within 20 s) while the other two keep serving writes; restarted with
#   its own settings it rejoins.

set -u
rc=0
QS_JAAS=$SUITE_WORK/quorum.jaas
QS_WRONG_JAAS=$SUITE_WORK/quorum-wrong.jaas
qs_jaas() { # PASSWORD
  printf '%s\n' "QuorumServer {" "  org.apache.zookeeper.server.auth.DigestLoginModule required" \
    "  user_test=\"test-secret\";" "};" "QuorumLearner {" \
    "  org.apache.zookeeper.server.auth.DigestLoginModule required" "  username=\"test\"" \
    "  password=\"$1\";" "};"
}
mkdir -p "$SUITE_WORK"
qs_jaas test-secret >"$QS_JAAS"
qs_jaas not-the-secret >"$QS_WRONG_JAAS"
export ZK_SERVER_JVMFLAGS="-Djava.security.auth.login.config=$QS_JAAS"
# fips-mode=false (the system property zookeeper.fips-mode): in its default FIPS mode
# Apache 3.9's SaslQuorumAuthLearner will not use DIGEST-MD5 ("QuorumLearner will not
# use DIGEST-MD5 as SASL mechanism, because FIPS mode is enabled", then a
# NullPointerException), so no Apache member could log in to any other.
QS_SASL="quorum.auth.enableSasl=true quorum.auth.learnerRequireSasl=true quorum.auth.serverRequireSasl=true fips-mode=false"

# qs_layout CLIENT TARGETS: the zk-ensemble check with quorum SASL, one target per server.
qs_layout() {
  local client=$1 targets=$2 name out fails
  name="qs-$client"
  if [ "$TARGET" = apache ] && [ "$client" != sasl-ensemble ]; then
    # Against Apache every layout is three Apache servers: sasl-ensemble ran exactly that.
    report "$client" "${QS_FIRST_RESULT:-fail}" "all Apache, as sasl-ensemble (not run again)"
    [ "${QS_FIRST_RESULT:-fail}" = pass ] || rc=1
    return
  fi
  if ! ZK_CFG_EXTRA="$QS_SASL" ZK_ENSEMBLE_TARGETS="$targets" zk_start "$TARGET" ensemble "$name"; then
    report "$client" fail "the SASL ensemble ($targets) did not form"
    rc=1
    zk_stop "$name"
    return
  fi
  grep -h -m1 "Successfully completed the authentication using SASL" "$(zk_server_dir "$name" 1)/server.log" \
    "$(zk_server_dir "$name" 2)/server.log" "$(zk_server_dir "$name" 3)/server.log" 2>/dev/null |
    head -1 | sed 's/^/      server log | /'
  out=$(ZK_ENSEMBLE_NAME="$name"; . "$COMPAT_DIR/suites/zk-ensemble.sh" 2>&1)
  echo "$out" | sed "s/^/[$client] /"
  fails=$(echo "$out" | grep -c '^RESULT [a-z]* fail')
  if [ "$fails" = 0 ] && echo "$out" | grep -q '^RESULT ensemble pass'; then
    QS_FIRST_RESULT=pass
    report "$client" pass "servers $targets with quorum SASL required (DIGEST-MD5): formed, writes on every server, leader killed, re-elected, data kept, the old leader rejoins"
  else
    report "$client" fail "$(echo "$out" | grep '^RESULT' | grep fail | tr '\n' ' ')"
    rc=1
  fi
  zk_stop "$name"
}

# qs_write PORT PATH: creates PATH through the server on PORT (kazoo), prints "ok".
qs_write() {
  timeout_run 60 "$PY_VENV/bin/python" - "$1" "$2" <<'PY'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1], timeout=15)
zk.start(timeout=20)
zk.create(sys.argv[2], b"x")
zk.sync(sys.argv[2])
print("ok" if zk.exists(sys.argv[2]) else "missing")
zk.stop()
PY
}

qs_negative() {
  local client=negative name=qs-negative ports leader out n dir fails="" variant why target
  if ! python_env; then
    report "$client" fail "python_env failed"
    rc=1
    return
  fi
  if ! ZK_CFG_EXTRA="$QS_SASL" zk_start "$TARGET" ensemble "$name"; then
    report "$client" fail "the SASL ensemble did not form"
    rc=1
    zk_stop "$name"
    return
  fi
  read -r -a ports <<<"$ZK_ENSEMBLE_PORTS"
  leader=$(zk_leader_server "$name")
  n=1
  [ "$leader" = 1 ] && n=2
  dir=$(zk_server_dir "$name" "$n")
  target=$(cat "$dir/target" 2>/dev/null || cat "$(dirname "$dir")/target")
  for variant in wrong-password no-sasl; do
    zk_stop_server "$name" "$n"
    cp "$dir/zoo.cfg" "$dir/zoo.cfg.good"
    if [ "$variant" = wrong-password ]; then
      why="a wrong QuorumLearner password"
      ZK_SERVER_JVMFLAGS="-Djava.security.auth.login.config=$QS_WRONG_JAAS" zk__launch "$dir" "$target"
    else
      why="quorum.auth.enableSasl=false"
      sed -i '/^quorum\.auth\./d' "$dir/zoo.cfg"
      zk__launch "$dir" "$target"
    fi
    sleep 20
    out=$(zk_mode "${ports[$((n - 1))]}")
    echo "      server $n with $why, after 20 s: mode '${out:-none}'"
    case "$out" in
      follower | leader | observer) fails="$fails; server $n joined with $why (mode $out)" ;;
    esac
    leader=$(zk_leader_server "$name")
    if [ -z "$leader" ]; then
      fails="$fails; no leader while server $n was refused"
    else
      out=$(qs_write "${ports[$((leader - 1))]}" "/qs-$variant-$$")
      [ "$out" = ok ] || fails="$fails; no write while server $n was refused: $out"
    fi
    zk_stop_server "$name" "$n"
    mv "$dir/zoo.cfg.good" "$dir/zoo.cfg"
  done
  if ! zk_restart_server "$name" "$n" || ! zk_wait_ensemble "$name" 60; then
    fails="$fails; server $n did not rejoin with its own settings"
  fi
  if [ -z "$fails" ]; then
    report "$client" pass "a follower with a wrong QuorumLearner password, or without quorum SASL, never joins while the others serve writes; with its own settings it rejoins"
  else
    report "$client" fail "${fails#; }"
    rc=1
  fi
  zk_stop "$name"
}

qs_layout sasl-ensemble "$TARGET $TARGET $TARGET"
qs_layout sasl-keel-leads-apache "apache apache keel"
qs_layout sasl-apache-leads-keel "keel keel apache"
qs_negative
exit $rc
