# docker/lib.sh: what scripts/docker-base-image and scripts/docker-compose-run share.
# Sourced, not run.
#
#   docker_log MSG...            one timestamped line on stderr
#   docker_ensure_packages       apt-get installs Debian's docker.io, docker-compose and
#                                debootstrap when one of their commands is missing
#   docker_ensure_daemon         starts dockerd when no engine answers (see below)
#   docker_stop_daemon           stops the dockerd that docker_ensure_daemon started
#                                (only that one: its pid file), nothing else
#   docker_debian_mirror         prints the Debian mirror of this machine's apt sources
#
# The engine: these machines have no init system (PID 1 is the VM's process API, not
# systemd), so `service docker start` would run Debian's /etc/init.d/docker, which starts
# dockerd with the default bridge (docker0, 172.17.0.0/16) and its iptables NAT rules.
# Nothing here needs either: every container runs with `network_mode: host` and binds
# 127.0.0.1 only. So dockerd is started directly, without a bridge and without touching
# iptables or IP forwarding:
#   dockerd --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false
# on the default socket /var/run/docker.sock, data under /var/lib/docker, its log in
# $KEEL_DOCKER_STATE/dockerd.log and its pid in $KEEL_DOCKER_STATE/dockerd.pid. A dockerd
# that already answers (started by anyone, any way) is used as it is and never stopped.

# Debian's client (docker.io 20.10), the same version as the daemon; a newer client
# elsewhere on PATH would try BuildKit/buildx, which this engine does not need.
DOCKER=${DOCKER:-/usr/bin/docker}
DOCKER_COMPOSE=${DOCKER_COMPOSE:-/usr/bin/docker-compose}
KEEL_DOCKER_STATE=${KEEL_DOCKER_STATE:-/var/tmp/keel-docker}
KEEL_BASE_IMAGE=${KEEL_BASE_IMAGE:-keel-base:bookworm}
KEEL_IMAGE=${KEEL_IMAGE:-keel:local}

docker_log() { printf '[docker %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

docker_ensure_packages() {
  local missing=()
  [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || missing+=(docker.io)
  [ -x "$DOCKER_COMPOSE" ] || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ "${#missing[@]}" -eq 0 ] && return 0
  docker_log "installing from Debian: ${missing[*]}"
  mkdir -p "$KEEL_DOCKER_STATE"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
      >"$KEEL_DOCKER_STATE/apt.log" 2>&1; then
    apt-get update >>"$KEEL_DOCKER_STATE/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
      >>"$KEEL_DOCKER_STATE/apt.log" 2>&1 || { tail -20 "$KEEL_DOCKER_STATE/apt.log" >&2; return 1; }
  fi
}

docker_ensure_daemon() {
  "$DOCKER" info >/dev/null 2>&1 && return 0
  mkdir -p "$KEEL_DOCKER_STATE"
  docker_log "no Docker engine answers: starting dockerd (no bridge, no iptables; log $KEEL_DOCKER_STATE/dockerd.log)"
  nohup /usr/sbin/dockerd --bridge=none --iptables=false --ip6tables=false \
    --ip-forward=false --ip-masq=false --host=unix:///var/run/docker.sock \
    --pidfile="$KEEL_DOCKER_STATE/dockerd.pid" \
    >>"$KEEL_DOCKER_STATE/dockerd.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && { docker_log "dockerd serves (pid $(cat "$KEEL_DOCKER_STATE/dockerd.pid" 2>/dev/null))"; return 0; }
    sleep 1
  done
  tail -20 "$KEEL_DOCKER_STATE/dockerd.log" >&2
  return 1
}

docker_stop_daemon() {
  local pid
  pid=$(cat "$KEEL_DOCKER_STATE/dockerd.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  docker_log "stopping the dockerd this script started (pid $pid)"
  kill -TERM "$pid"
  local i
  for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
  kill -KILL "$pid" 2>/dev/null
}

# The first archive URI (not the security one) listed for this release's codename in
# /etc/apt/sources.list or /etc/apt/sources.list.d/*.{list,sources} (one-line and deb822
# formats). KEEL_DEBIAN_MIRROR overrides it.
docker_debian_mirror() {
  [ -n "${KEEL_DEBIAN_MIRROR:-}" ] && { printf '%s\n' "$KEEL_DEBIAN_MIRROR"; return 0; }
  python3 - "$1" <<'PY'
import glob, re, sys
suite = sys.argv[1]
files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) \
      + sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
for path in files:
    try:
        text = open(path).read()
    except OSError:
        continue
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.split()
            if "deb" in fields.get("types", []) and suite in fields.get("suites", []) \
                    and fields.get("enabled", ["yes"])[0] != "no":
                print(fields["uris"][0])
                sys.exit(0)
    else:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", "", line).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                print(words[1])
                sys.exit(0)
sys.exit("no deb source for %s in /etc/apt" % suite)
PY
}
