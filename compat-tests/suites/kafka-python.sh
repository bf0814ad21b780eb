# needs: kafka
# clients: kafka-python
# timeout: 240
#
# kafka-python (python/kafka_python_client.py): admin create/list/describe/delete, a
# producer, a group consumer from the beginning with an explicit commit, committed
# offsets read back through the consumer and the admin client.

kafka_python() {
  local out
  if out=$(timeout_run 150 "$PY_VENV/bin/python" "$COMPAT_DIR/python/kafka_python_client.py" \
      "$KAFKA_BOOTSTRAP" "$(kafka_unique kpy)" "$(kafka_unique kpy-group)" 300); then
    KAFKA_DETAIL="kafka-python $KAFKA_PYTHON_VERSION: $out"
  else
    kafka_fail "kafka_python_client.py failed (see log)"
  fi
}

python_env || { report kafka-python fail "python_env failed"; exit 1; }
kafka_client kafka-python kafka_python
exit "$KAFKA_SUITE_RC"
