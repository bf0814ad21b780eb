#!/usr/bin/env bash
# scripts/kafka-server-stop.sh: Apache Kafka's bin/kafka-server-stop.sh, for keel.
#
#   scripts/kafka-server-stop.sh [--process-role=ROLE] [--node-id=ID] [--config=PATH]
#
# Sends SIGNAL (default TERM) to keel brokers and returns without waiting for them to
# exit, as Apache's script does. A keel broker stops cleanly on SIGTERM: controlled
# shutdown first (when controlled.shutdown.enable, the default, and other brokers are
# alive), then its logs are flushed and it leaves ZooKeeper.
#   - The brokers are found in /proc: processes whose argv[0] is a keel binary (its base
#     name starts with "keel", or /proc/<pid>/exe is the binary keel-run-class.sh would
#     run: $KEEL_BIN, <repo>/target/release/keel, `keel` on PATH) and whose argv[1] is
#     `kafka`. ZooKeeper servers, `keel standalone` and unrelated processes that merely
#     mention kafka are never matched (Apache greps `ps ax` for " kafka.Kafka ").
#   - Without options every keel broker on the machine gets the signal (as in Apache:
#     the user's own brokers; others' refuse the signal, and kill's failure is the exit
#     status).
#   - --node-id=ID: only brokers whose id is ID: broker.id (an --override on their
#     command line wins over their properties file), else node.id.
#     --process-role=ROLE: only brokers whose process.roles equals ROLE; keel brokers
#     without process.roles count as "broker". With both, node-id wins and the script
#     says "When both node-id and process-role are provided, the value for node-id will
#     take precedence", as Apache's does.
#   - --config=PATH (keel's own): only brokers started with that properties file, or,
#     when PATH is a directory, with a file under it. Combines with the other two. A
#     test or a host running several clusters uses it to stop its own brokers only.
#   - The option values may also follow as the next argument (--node-id 2); other
#     arguments are ignored, as in Apache.
#   - No broker left to signal: prints "No kafka server to stop" and exits 1. Otherwise
#     the exit status is kill's (0 when every broker got the signal).
# Differences from Apache:
#   - a broker's properties file is read relative to the broker's own working directory
#     (/proc/<pid>/cwd), so the stop script may run from any directory (Apache resolves
#     it against the caller's and fails with "Can not find the configuration file in the
#     current directory..." when it is not there), and --override values count;
#   - when --node-id / --process-role / --config match no broker, the script prints
#     "No kafka server to stop" and exits 1 (Apache exits 0 silently when brokers run
#     but none matches);
#   - Linux only (/proc), no OS/390 (JOBNAME) or OS/400 branch.

SIGNAL=${SIGNAL:-TERM}
base_dir=$(cd "$(dirname "${BASH_SOURCE-$0}")/.." && pwd)

INPUT_PROCESS_ROLE=""
INPUT_NID=""
INPUT_CONFIG=""
while [ $# -gt 0 ]; do
  case "$1" in
    --process-role=*) INPUT_PROCESS_ROLE=${1#*=} ;;
    --process-role) INPUT_PROCESS_ROLE=${2:-}; shift ;;
    --node-id=*) INPUT_NID=${1#*=} ;;
    --node-id) INPUT_NID=${2:-}; shift ;;
    --config=*) INPUT_CONFIG=${1#*=} ;;
    --config) INPUT_CONFIG=${2:-}; shift ;;
    *) ;;
  esac
  [ $# -gt 0 ] && shift
done
if [ -n "$INPUT_NID" ] && [ -n "$INPUT_PROCESS_ROLE" ]; then
  echo "When both node-id and process-role are provided, the value for node-id will take precedence"
fi
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

# broker_args PID: from ARGV, CONFIG (the properties file, absolute, resolved against
# the broker's working directory) and OVERRIDES (the --override values, in order).
broker_args() {
  local i=2 arg cwd
  CONFIG="" OVERRIDES=()
  while [ "$i" -lt "${#ARGV[@]}" ]; do
    arg=${ARGV[i]}
    case "$arg" in
      --override) OVERRIDES+=("${ARGV[i + 1]:-}"); i=$((i + 1)) ;;
      --override=*) OVERRIDES+=("${arg#--override=}") ;;
      -*) ;;
      *) [ -z "$CONFIG" ] && CONFIG=$arg ;;
    esac
    i=$((i + 1))
  done
  [ -n "$CONFIG" ] || return 1
  case "$CONFIG" in
    /*) ;;
    *)
      cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
      CONFIG="$cwd/$CONFIG"
      ;;
  esac
  CONFIG=$(realpath -m -- "$CONFIG")
}

# prop KEY: the broker's value of KEY: its last --override, else the file's last line.
prop() {
  local key=$1 o value="" found=""
  for o in "${OVERRIDES[@]}"; do
    case "$o" in
      "$key="*) value=${o#*=}; found=1 ;;
    esac
  done
  if [ -n "$found" ]; then
    printf '%s' "$value"
  elif [ -r "$CONFIG" ]; then
    sed -n -E "s/^[[:space:]]*${key//./\\.}[[:space:]]*[=:[:space:]][[:space:]]*//p" "$CONFIG" \
      | tr -d '\r' | tail -n 1 | sed -e 's/[[:space:]]*$//'
  fi
}

# selected PID: the broker passes --config, --node-id and --process-role.
selected() {
  local nid role
  if [ -n "$INPUT_CONFIG" ] || [ -n "$INPUT_NID" ] || [ -n "$INPUT_PROCESS_ROLE" ]; then
    broker_args "$1" || return 1
  fi
  if [ -n "$INPUT_CONFIG" ]; then
    if [ -d "$INPUT_CONFIG" ]; then
      case "$CONFIG" in "$INPUT_CONFIG"/*) ;; *) return 1 ;; esac
    else
      [ "$CONFIG" = "$INPUT_CONFIG" ] || return 1
    fi
  fi
  if [ -n "$INPUT_NID" ]; then
    nid=$(prop broker.id)
    if [ -z "$nid" ] || [ "$nid" = "-1" ]; then nid=$(prop node.id); fi
    [ "$nid" = "$INPUT_NID" ] || return 1
  elif [ -n "$INPUT_PROCESS_ROLE" ]; then
    role=$(prop process.roles)
    [ "${role:-broker}" = "$INPUT_PROCESS_ROLE" ] || return 1
  fi
  return 0
}

PIDS=""
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  [ "$pid" = "$$" ] && continue
  read_argv "$pid" || continue
  [ "${ARGV[1]}" = kafka ] || continue
  is_keel "$pid" || continue
  selected "$pid" || continue
  PIDS="${PIDS:+$PIDS }$pid"
done

if [ -z "$PIDS" ]; then
  echo "No kafka server to stop"
  exit 1
fi
# shellcheck disable=SC2086
kill -s "$SIGNAL" $PIDS
