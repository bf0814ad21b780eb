# bench/lib/common.sh: helpers shared by scripts/bench and the area scripts
# (bench/kafka.sh, bench/zookeeper.sh). Source it; it defines functions only.
#
#   bench_log MSG...            progress line on stderr
#   bench_emit AREA TEST METRIC UNIT SERVER REP VALUE BETTER [TARGET]
#                               appends one measurement to $BENCH_RESULTS (the JSON-lines
#                               contract bench/render.py reads, see scripts/bench)
#   bench_note TEXT             appends a line to $BENCH_NOTES (markdown, printed under
#                               the results table: failures, settings, caveats)
#   bench_fmt_secs SECONDS      "3 min 12 s"

bench_log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench__json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

bench_emit() {
  local area=$1 test=$2 metric=$3 unit=$4 server=$5 rep=$6 value=$7 better=$8 target=${9:-}
  # A value that is not a number (a parse that failed) must not poison the file.
  if ! [[ $value =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
    bench_log "not a number for $server '$test' $metric: '$value' (not recorded)"
    bench_note "- $area / $server rep $rep: '$test' $metric gave no number"
    return 0
  fi
  {
    printf '{"area":%s,"test":%s,"metric":%s,"unit":%s,"server":%s,"rep":%d,"value":%s,"better":%s' \
      "$(bench__json_str "$area")" "$(bench__json_str "$test")" "$(bench__json_str "$metric")" \
      "$(bench__json_str "$unit")" "$(bench__json_str "$server")" "$rep" "$value" \
      "$(bench__json_str "$better")"
    [ -n "$target" ] && printf ',"target":%s' "$(bench__json_str "$target")"
    printf '}\n'
  } >>"${BENCH_RESULTS:?BENCH_RESULTS is not set}"
}

bench_note() {
  [ -n "${BENCH_NOTES:-}" ] || return 0
  printf '%s\n' "$*" >>"$BENCH_NOTES"
}

bench_fmt_secs() {
  local s=$1
  if [ "$s" -ge 60 ]; then printf '%d min %d s' $((s / 60)) $((s % 60)); else printf '%d s' "$s"; fi
}
