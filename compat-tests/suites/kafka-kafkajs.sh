# needs: kafka
# clients: kafkajs
# timeout: 240
#
# KafkaJS (node/kafkajs, npm kafkajs@$KAFKAJS_VERSION): the admin client creates a
# 3-partition topic, a producer writes keyed records with acks=all (half of them
# GZIP-compressed), a group consumer reads each once and commits, the admin client sees
# committed = end offsets and an Empty group, and deletes the topic.
#
# kafkajs is installed with npm into $CACHE_DIR/node-kafkajs-<version>/ (a copy of
# node/kafkajs/package.json, its dependency set to the versions.env pin), once; the
# client runs from the repository with NODE_PATH pointing there.

# kafkajs_install: prints the dir whose node_modules holds kafkajs.
kafkajs_install() {
  local dir="$CACHE_DIR/node-kafkajs-$KAFKAJS_VERSION" src="$COMPAT_DIR/node/kafkajs" tmp got
  command -v node >/dev/null && command -v npm >/dev/null || { log "node and npm are needed"; return 1; }
  if [ ! -f "$dir/.ok" ]; then
    log "installing kafkajs@$KAFKAJS_VERSION with npm into $dir"
    tmp="$dir.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    cp "$src/package.json" "$tmp/"
    if ! (cd "$tmp" && npm pkg set "dependencies.kafkajs=$KAFKAJS_VERSION" &&
        npm install --no-audit --no-fund --cache "$CACHE_DIR/npm") >"$CACHE_DIR/npm-kafkajs.log" 2>&1; then
      cat "$CACHE_DIR/npm-kafkajs.log" >&2
      rm -rf "$tmp"
      log "npm install kafkajs@$KAFKAJS_VERSION failed"
      return 1
    fi
    got=$(node -p 'require(process.argv[1]).version' "$tmp/node_modules/kafkajs/package.json")
    if [ "$got" != "$KAFKAJS_VERSION" ]; then
      rm -rf "$tmp"
      log "npm installed kafkajs $got, versions.env pins $KAFKAJS_VERSION"
      return 1
    fi
    touch "$tmp/.ok"
    rm -rf "$dir"
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
  fi
  printf '%s\n' "$dir"
}

kafkajs() {
  local dir out
  dir=$(kafkajs_install) || { kafka_fail "npm install of kafkajs@$KAFKAJS_VERSION failed"; return 1; }
  if out=$(NODE_PATH="$dir/node_modules" timeout_run 150 node "$COMPAT_DIR/node/kafkajs/client.js" --brokers "$KAFKA_BOOTSTRAP" \
      --topic "$(kafka_unique kafkajs)" --group "$(kafka_unique kafkajs-group)" \
      --records 600 --partitions 3 --timeout 120); then
    KAFKA_DETAIL="kafkajs $KAFKAJS_VERSION: $out"
  else
    kafka_fail "kafkajs $KAFKAJS_VERSION failed (see log)"
  fi
}

kafka_client kafkajs kafkajs
exit "$KAFKA_SUITE_RC"
