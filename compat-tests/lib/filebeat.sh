# compat-tests/lib/filebeat.sh: the real Filebeat 8.8.2 for the kafka suites (sourced by
# the suites that use it; the runner does not source it).
#
#   filebeat_binary                 unpacks the shared Filebeat build ($FILEBEAT_DIST, see
#                                   its README) into the cache, checked against its sha256;
#                                   prints its path
#   filebeat_registry_offset DATA   the highest filestream cursor offset in the registry
#                                   under Filebeat's path.data DATA (0 when none yet): the
#                                   bytes of the input file whose events the output has
#                                   had acknowledged

FILEBEAT_DIST=${FILEBEAT_DIST:-$COMPAT_DIR/../../shared/tools/filebeat}

filebeat_binary() {
  local bin="$CACHE_DIR/filebeat-8.8.2/filebeat"
  if [ ! -x "$bin" ]; then
    [ -f "$FILEBEAT_DIST/filebeat-8.8.2-linux-x86_64.gz" ] || return 1
    mkdir -p "$(dirname "$bin")"
    gunzip -c "$FILEBEAT_DIST/filebeat-8.8.2-linux-x86_64.gz" >"$bin.tmp" || return 1
    if [ "$(sha256sum <"$bin.tmp" | cut -d' ' -f1)" != "$(cut -d' ' -f1 "$FILEBEAT_DIST/filebeat-8.8.2-linux-x86_64.sha256")" ]; then
      log "filebeat: checksum mismatch"
      rm -f "$bin.tmp"
      return 1
    fi
    chmod +x "$bin.tmp" && mv "$bin.tmp" "$bin"
  fi
  printf '%s\n' "$bin"
}

# The registry (libbeat's memlog store) is registry/filebeat/log.json, one JSON document
# per line ({"op":...} then {"k":KEY,"v":{"cursor":{"offset":N},...}}), plus checkpoint
# files <n>.json (an array of {"_key":KEY,"cursor":...}) when the log is compacted.
# Filestream moves a cursor only once the output has acknowledged the events before it.
filebeat_registry_offset() {
  python3 - "$1" <<'PY'
import glob, json, os, sys
best = 0
for path in glob.glob(os.path.join(sys.argv[1], "registry", "filebeat", "*.json")):
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        continue
    docs = []
    if os.path.basename(path) == "log.json":
        for line in text.splitlines():
            try:
                docs.append(json.loads(line))
            except ValueError:
                pass  # a line being written
    else:
        try:
            doc = json.loads(text)
        except ValueError:
            doc = []
        docs = doc if isinstance(doc, list) else [doc]
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        v = doc.get("v", doc)
        try:
            best = max(best, int(v["cursor"]["offset"]))
        except (KeyError, TypeError, ValueError):
            pass
print(best)
PY
}
