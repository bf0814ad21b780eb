# compat-tests/lib/python.sh: one virtualenv in the cache with every pinned Python
# client (kazoo, kafka-python, confluent-kafka), made on first use.

PY_VENV="$CACHE_DIR/venv"

python_env() {
  local want stamp
  want="kazoo==$KAZOO_VERSION kafka-python==$KAFKA_PYTHON_VERSION confluent-kafka==$CONFLUENT_KAFKA_VERSION"
  stamp="$PY_VENV/.pinned"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "installing python clients: $want"
  rm -rf "$PY_VENV"
  python3 -m venv "$PY_VENV" || die "python3 -m venv failed"
  # shellcheck disable=SC2086
  "$PY_VENV/bin/pip" install -q $want >"$CACHE_DIR/pip.log" 2>&1 || { cat "$CACHE_DIR/pip.log" >&2; die "pip install failed"; }
  echo "$want" >"$stamp"
}

# py_run SCRIPT [ARGS...]: runs a suite program with the pinned clients importable.
py_run() {
  python_env || return 1
  "$PY_VENV/bin/python" "$@"
}
