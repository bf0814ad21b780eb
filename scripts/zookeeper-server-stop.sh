#!/usr/bin/env bash
# scripts/zookeeper-server-stop.sh: Apache Kafka's bin/zookeeper-server-stop.sh, for keel.
#
#   scripts/zookeeper-server-stop.sh [--config=PATH]
#
# Sends SIGNAL (default TERM) to keel ZooKeeper servers and returns without waiting for
# them to exit, as Apache's script does. A keel ZooKeeper server stops cleanly on
# SIGTERM (sessions and the transaction log are closed; a quorum member leaves its
# ensemble, which elects again without it).
#   - The servers are found in /proc: processes whose argv[0] is a keel binary (its base
#     name starts with "keel", or /proc/<pid>/exe is the binary keel-run-class.sh would
#     run: $KEEL_BIN, <repo>/target/release/keel, `keel` on PATH) and whose argv[1] is
#     `zookeeper` (started by zookeeper-server-start.sh, zkServer.sh or by hand). Brokers,
#     `keel standalone` and unrelated processes are never matched (Apache greps `ps ax`
#     for java ... QuorumPeerMain).
#   - Without options every keel ZooKeeper server on the machine gets the signal (as in
#     Apache: the user's own; others' refuse it, and kill's failure is the exit status).
#   - --config=PATH (keel's own; Apache's script takes no options and ignores its
#     arguments, as this one ignores any other): only servers started with that config
#     file, or, when PATH is a directory, with a file under it (a relative config path
#     on a server's command line is resolved against that server's working directory).
#     A test or a host running several ensembles uses it to stop its own servers only.
#   - No server left to signal: prints "No zookeeper server to stop" and exits 1.
#     Otherwise the exit status is kill's (0 when every server got the signal).
# Differences from Apache: the --config filter; Linux only (/proc), no OS/390 (JOBNAME)
# or OS/400 branch.

SIGNAL=${SIGNAL:-TERM}
base_dir=$(cd "$(dirname "${BASH_SOURCE-$0}")/.." && pwd)

INPUT_CONFIG=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config=*) INPUT_CONFIG=${1#*=} ;;
    --config) INPUT_CONFIG=${2:-}; shift ;;
    *) ;;
  esac
  [ $# -gt 0 ] && shift
done
if [ -n "$INPUT_CONFIG" ]; then
  INPUT_CONFIG=$(realpath -m -- "$INPUT_CONFIG")
fi

# The binary keel-run-class.sh would start, to recognise keel under another name.
if [ -n "${KEEL_BIN:-}" ]; then
  KEEL_EXE=$KEEL_BIN
elif [ -x "$base_dir/target/release/keel" ]; then
  KEEL_EXE="$base_dir/target/release/keel"
else
  KEEL_EXE=$(command -v keel)
fi
[ -n "$KEEL_EXE" ] && KEEL_EXE=$(readlink -f -- "$KEEL_EXE")

# read_argv PID: ARGV becomes the process's argument vector (false if unreadable).
read_argv() {
  ARGV=()
  mapfile -d '' -t ARGV 2>/dev/null <"/proc/$1/cmdline" || return 1
  [ "${#ARGV[@]}" -gt 1 ]
}

# is_keel PID: ARGV[0] (read_argv first) is a keel binary.
is_keel() {
  case "${ARGV[0]##*/}" in
    keel*) return 0 ;;
  esac
  [ -n "$KEEL_EXE" ] && [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$KEEL_EXE" ]
}

# selected PID: the server's config (ARGV[2]) is --config's file, or under its dir.
selected() {
  local config=${ARGV[2]:-} cwd
  [ -n "$INPUT_CONFIG" ] || return 0
  [ -n "$config" ] || return 1
  case "$config" in
    /*) ;;
    *)
      cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
      config="$cwd/$config"
      ;;
  esac
  config=$(realpath -m -- "$config")
  if [ -d "$INPUT_CONFIG" ]; then
    case "$config" in "$INPUT_CONFIG"/*) return 0 ;; esac
    return 1
  fi
  [ "$config" = "$INPUT_CONFIG" ]
}

PIDS=""
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  [ "$pid" = "$$" ] && continue
  read_argv "$pid" || continue
  [ "${ARGV[1]}" = zookeeper ] || continue
  is_keel "$pid" || continue
  selected "$pid" || continue
  PIDS="${PIDS:+$PIDS }$pid"
done

if [ -z "$PIDS" ]; then
  echo "No zookeeper server to stop"
  exit 1
fi
# shellcheck disable=SC2086
kill -s "$SIGNAL" $PIDS
