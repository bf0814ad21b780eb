# compat-tests/lib/common.sh: helpers every part of the harness sources.
#
# The contract between the runner, the server starters and the suites lives here and
# in compat-tests/README.md. Keep it small; put anything client-specific in the file
# of that client.

COMPAT_DIR=${COMPAT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
REPO_DIR=${REPO_DIR:-$(cd "$COMPAT_DIR/.." && pwd)}
CACHE_DIR=${CACHE_DIR:-$COMPAT_DIR/.cache}      # fetched clients and jars, git-ignored, kept across runs
WORK_DIR=${WORK_DIR:-$COMPAT_DIR/.work}         # per-run data dirs and logs, git-ignored
# The real path: cached classpaths and scripts hold absolute paths, which must stay
# valid when the cache is reached through a symlink (a worktree sharing it).
mkdir -p "$CACHE_DIR" 2>/dev/null && CACHE_DIR=$(cd -P "$CACHE_DIR" && pwd)
# shellcheck source=/dev/null
. "$COMPAT_DIR/versions.env"
# KEEL_VERSIONS_OVERRIDE=FILE: a second env file sourced after versions.env, so a run can
# use other versions without editing the pins (scripts/client-matrix runs the newest
# releases this way). Made absolute here, so suites that cd elsewhere source the same file.
if [ -n "${KEEL_VERSIONS_OVERRIDE:-}" ]; then
  case "$KEEL_VERSIONS_OVERRIDE" in /*) ;; *) KEEL_VERSIONS_OVERRIDE="$PWD/$KEEL_VERSIONS_OVERRIDE" ;; esac
  [ -f "$KEEL_VERSIONS_OVERRIDE" ] || { printf 'KEEL_VERSIONS_OVERRIDE: no file %s\n' "$KEEL_VERSIONS_OVERRIDE" >&2; exit 2; }
  export KEEL_VERSIONS_OVERRIDE
  # shellcheck source=/dev/null
  . "$KEEL_VERSIONS_OVERRIDE"
fi

log() { printf '[compat %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# wait_port PORT [TIMEOUT_S]: waits until 127.0.0.1:PORT accepts connections.
wait_port() {
  local port=$1 timeout_s=${2:-60} waited=0
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -ge $((timeout_s * 5)) ]; then return 1; fi
  done
  return 0
}

# report CLIENT pass|fail|skip [DETAIL]: one result line a suite prints per client it ran
# (skip: a prerequisite outside the repository is absent; the detail says which).
# The runner collects these lines (they go to stdout) into the summary table.
report() {
  local client=$1 verdict=$2
  shift 2
  printf 'RESULT %s %s %s\n' "$client" "$verdict" "$*"
}

# timeout_run SECONDS CMD...: runs CMD with a hard limit so no client can hang a run.
timeout_run() {
  local seconds=$1
  shift
  timeout --kill-after=10 "$seconds" "$@"
}
