#!/bin/sh
# keel-entrypoint: runs `keel "$@"`. For `zookeeper <zoo.cfg>` with ZOO_MY_ID set (the
# variable Apache's own ZooKeeper image uses), it first writes dataDir/myid, as the
# seed does by hand (`echo 1 > /opt/zookeeper/data/myid`), unless a myid is there.
set -e
if [ "${1:-}" = zookeeper ] && [ -n "${ZOO_MY_ID:-}" ] && [ -f "${2:-}" ]; then
  data_dir=$(sed -n 's/^[[:space:]]*dataDir[[:space:]]*=[[:space:]]*//p' "$2" | tail -n 1)
  if [ -n "$data_dir" ] && [ ! -s "$data_dir/myid" ]; then
    mkdir -p "$data_dir"
    echo "$ZOO_MY_ID" >"$data_dir/myid"
  fi
fi
exec /usr/local/bin/keel "$@"
