# needs: zk
# clients: zkcli-3.9 zkcli-3.4
#
# zk-cli: the operator's everyday zkCli.sh commands (the seed's "常用操作指令"), run with
# zkCli.sh's own main class from the 3.9.x and the 3.4.14 jars. One JVM per command, as
# `zkCli.sh -server HOST:PORT CMD` runs them: create, get, set, ls, stat (3.9) / ls2
# (3.4), delete, deleteall (3.9) / rmr (3.4), errors for a missing node; then one
# interactive session fed on stdin for create -e / create -s, which need a live session.

set -u
LOG4J_PROPS="$COMPAT_DIR/java/zk/log4j.properties"

# zkcli VERSION [ARGS...]: runs ZooKeeperMain of that version; stdout and stderr merged
# (zkCli prints "Created ..." and the stat lines on stderr).
zkcli() {
  local version=$1
  shift
  case "$version" in
    3.9)
      timeout_run 60 java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -cp "$(maven_classpath zookeeper-3.9)" org.apache.zookeeper.ZooKeeperMain "$@" 2>&1 ;;
    3.4)
      timeout_run 60 "$(zk_java11)" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j.configuration="file:$LOG4J_PROPS" \
        -cp "$(maven_classpath zookeeper-3.4)" org.apache.zookeeper.ZooKeeperMain "$@" 2>&1 ;;
  esac
}

FAILS=""
# expect DESC OUTPUT REGEX: OUTPUT must contain a line matching the extended REGEX.
expect() {
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then
    echo "  ok   $1"
  else
    echo "  FAIL $1: no line matches /$3/ in:"
    printf '%s\n' "$2" | sed 's/^/      | /'
    FAILS="$FAILS; $1"
  fi
}
# expect_not DESC OUTPUT REGEX: no line of OUTPUT may match.
expect_not() {
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then
    echo "  FAIL $1: a line matches /$3/ in:"
    printf '%s\n' "$2" | sed 's/^/      | /'
    FAILS="$FAILS; $1"
  else
    echo "  ok   $1"
  fi
}

run_client() {
  local v=$1 base out stat_cmd rmr_cmd
  base="/keel-compat-cli-${v/./}-$$-$RANDOM"
  if [ "$v" = 3.9 ]; then stat_cmd=stat rmr_cmd=deleteall; else stat_cmd=ls2 rmr_cmd=rmr; fi
  FAILS=""
  echo "== zkcli-$v on $ZK_CONNECT, base $base"

  out=$(zkcli "$v" -server "$ZK_CONNECT" create "$base" hello)
  expect "create" "$out" "^Created $base\$"
  out=$(zkcli "$v" -server "$ZK_CONNECT" create "$base/child" c1)
  expect "create child" "$out" "^Created $base/child\$"
  out=$(zkcli "$v" -server "$ZK_CONNECT" create "$base" again)
  expect "create existing" "$out" "Node already exists: $base"
  out=$(zkcli "$v" -server "$ZK_CONNECT" get "$base")
  expect "get" "$out" "^hello\$"
  out=$(zkcli "$v" -server "$ZK_CONNECT" set "$base" world)
  expect_not "set" "$out" "Exception|does not exist"
  out=$(zkcli "$v" -server "$ZK_CONNECT" get "$base")
  expect "get after set" "$out" "^world\$"
  out=$(zkcli "$v" -server "$ZK_CONNECT" ls "$base")
  expect "ls" "$out" "^\[child\]\$"
  out=$(zkcli "$v" -server "$ZK_CONNECT" "$stat_cmd" "$base")
  expect "$stat_cmd: dataVersion" "$out" "^dataVersion = 1\$"
  expect "$stat_cmd: dataLength" "$out" "^dataLength = 5\$"
  expect "$stat_cmd: numChildren" "$out" "^numChildren = 1\$"
  expect "$stat_cmd: ephemeralOwner" "$out" "^ephemeralOwner = 0x0\$"
  expect "$stat_cmd: cZxid" "$out" "^cZxid = 0x[0-9a-f]+\$"
  out=$(zkcli "$v" -server "$ZK_CONNECT" get "$base/missing")
  expect "get missing" "$out" "Node does not exist: $base/missing"
  out=$(zkcli "$v" -server "$ZK_CONNECT" delete "$base")
  expect "delete non-empty" "$out" "Node not empty: $base"
  out=$(zkcli "$v" -server "$ZK_CONNECT" delete "$base/child")
  expect_not "delete" "$out" "Exception|does not exist|not empty"

  # One interactive session, commands on stdin: ephemeral and sequential nodes.
  out=$(printf '%s\n' \
    "create -e $base/eph e" \
    "create -s $base/seq- s" \
    "create -s $base/seq- s" \
    "$stat_cmd $base/eph" \
    "ls $base" \
    "quit" | zkcli "$v" -server "$ZK_CONNECT")
  expect "session: create -e" "$out" "Created $base/eph\$"
  expect "session: create -s (10 digits)" "$out" "Created $base/seq-[0-9]{10}\$"
  local seqs s1 s2
  seqs=$(printf '%s\n' "$out" | sed -n "s|.*Created $base/seq-\([0-9]\{10\}\)\$|\1|p" | tr '\n' ' ')
  read -r s1 s2 _ <<<"$seqs"
  if [ -n "${s2:-}" ] && [ $((10#$s2)) -eq $((10#$s1 + 1)) ]; then
    echo "  ok   session: sequential numbers $s1 then $s2"
  else
    echo "  FAIL session: sequential numbers not consecutive: '$seqs'"
    FAILS="$FAILS; sequential numbering"
  fi
  expect "session: ephemeralOwner set" "$out" "^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*\$"
  expect "session: ls" "$out" "eph"
  # the session closed with quit: its ephemeral node is gone, the sequential ones stay
  out=$(zkcli "$v" -server "$ZK_CONNECT" ls "$base")
  expect "ephemeral gone after quit" "$out" "^\[seq-$s1, seq-$s2\]\$|^\[seq-$s2, seq-$s1\]\$"

  out=$(zkcli "$v" -server "$ZK_CONNECT" "$rmr_cmd" "$base")
  expect_not "$rmr_cmd" "$out" "Exception|does not exist"
  out=$(zkcli "$v" -server "$ZK_CONNECT" ls "$base")
  expect "gone after $rmr_cmd" "$out" "Node does not exist: $base"
  out=$(zkcli "$v" -server "$ZK_CONNECT" ls /)
  expect "ls / shows /zookeeper" "$out" "^\[.*zookeeper.*\]\$"

  if [ -z "$FAILS" ]; then report "zkcli-$v" pass "zkCli $v commands"; return 0; fi
  report "zkcli-$v" fail "${FAILS#; }"
  return 1
}

rc=0
run_client 3.9 || rc=1
run_client 3.4 || rc=1
exit $rc
