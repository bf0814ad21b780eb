# compat-tests/lib/python.sh: a virtualenv in the cache with every pinned Python client
# (kazoo and pure-sasl for its SASL, kafka-python, confluent-kafka, and lz4 + xxhash for
# kafka-python's LZ4),
# made on first use. One venv per version set
# ($CACHE_DIR/venv-<hash of the pins>), so a run with other versions
# (KEEL_VERSIONS_OVERRIDE) gets its own and never touches the pinned one.

# python__want: the pip requirements, from versions.env (and its override).
python__want() {
  echo "kazoo==$KAZOO_VERSION kafka-python==$KAFKA_PYTHON_VERSION confluent-kafka==$CONFLUENT_KAFKA_VERSION lz4==$PYTHON_LZ4_VERSION xxhash==$PYTHON_XXHASH_VERSION pure-sasl==$PYTHON_PURE_SASL_VERSION"
}
PY_VENV="$CACHE_DIR/venv-$(python__want | sha256sum | cut -c1-16)"

# python__apt_build_deps: the Debian packages a pinned client's sdist builds against
# (PYTHON_APT_BUILD_DEPS, set by an override such as client-versions --oldest's:
# confluent-kafka 1.7.0, Debian's, has no wheel for Python 3.11 and builds against
# Debian's librdkafka-dev, as Debian's python3-confluent-kafka does), installed with
# apt-get when missing.
python__apt_build_deps() {
  local pkg missing=""
  for pkg in ${PYTHON_APT_BUILD_DEPS:-}; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
  done
  [ -z "$missing" ] && return 0
  command -v apt-get >/dev/null || { log "missing$missing and there is no apt-get"; return 1; }
  log "installing$missing with apt-get (to build the pinned Python clients)"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
}

python_env() {
  local want stamp tmp
  want=$(python__want)
  PY_VENV="$CACHE_DIR/venv-$(printf '%s\n' "$want" | sha256sum | cut -c1-16)"
  stamp="$PY_VENV/.pinned"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "installing python clients into $PY_VENV: $want"
  # a venv is not relocatable: made at its final path, marked (.pinned) once pip succeeded
  rm -rf "$PY_VENV"
  python3 -m venv "$PY_VENV" || die "python3 -m venv failed"
  tmp="$CACHE_DIR/pip-$(basename "$PY_VENV").log"
  python__apt_build_deps || die "apt-get could not install PYTHON_APT_BUILD_DEPS ($PYTHON_APT_BUILD_DEPS)"
  # shellcheck disable=SC2086
  "$PY_VENV/bin/pip" install -q $want >"$tmp" 2>&1 || { cat "$tmp" >&2; die "pip install failed"; }
  echo "$want" >"$stamp"
}

# py_run SCRIPT [ARGS...]: runs a suite program with the pinned clients importable.
py_run() {
  python_env || return 1
  "$PY_VENV/bin/python" "$@"
}
