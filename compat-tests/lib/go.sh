# compat-tests/lib/go.sh: builds the suites' Go programs (compat-tests/go/<prog>/) against
# the client versions pinned in versions.env, into the git-ignored cache.
#
#   go_build PROG     prints the path of the built binary of compat-tests/go/PROG
#   go_run PROG ARGS  builds (once) and runs it
#
# There is no go.mod in the repository: versions.env is the one place that pins the Go
# clients. go_build writes a go.mod in the cache (`go mod edit -require` with the pins),
# lets `go build -mod=mod` complete the indirect requirements and go.sum, and then
# checks that minimal version selection kept every pin (a pin that another pin forces
# upward is an error to fix in versions.env, not something to paper over).
# Modules and the build cache live in $CACHE_DIR/go too. The Go checksum database is
# not reachable from this machine, so GOSUMDB is off: go.sum still records the hashes
# of what the module proxy served.

GO_SRC_DIR="$COMPAT_DIR/go"

# go__requires: "module@version" for every pinned Go client.
go__requires() {
  echo "github.com/IBM/sarama@$SARAMA_VERSION"
  if [ "${SARAMA_MODULE:-github.com/IBM/sarama}" != github.com/IBM/sarama ]; then
    echo "replace:$SARAMA_MODULE@$SARAMA_VERSION"
  fi
  echo "github.com/twmb/franz-go@$FRANZ_GO_VERSION"
  echo "github.com/twmb/franz-go/pkg/kadm@$FRANZ_GO_KADM_VERSION"
}

go__env() {
  export GOMODCACHE="$CACHE_DIR/go/modcache"
  export GOCACHE="$CACHE_DIR/go/build-cache"
  export GOFLAGS="-mod=mod -modcacherw -buildvcs=false"
  export GOSUMDB=off
  export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
  export CGO_ENABLED=0
}

go_build() {
  local prog=$1 key moddir bin src req m v got
  src="$GO_SRC_DIR/$prog"
  [ -d "$src" ] || { log "go_build: no program $src"; return 1; }
  command -v go >/dev/null || { log "go_build: no go toolchain on PATH"; return 1; }
  key=$( { go__requires; go env GOVERSION; find "$src" -name '*.go' -type f | sort | xargs cat; } | sha256sum | cut -c1-16)
  bin="$CACHE_DIR/go/bin/$prog-$key"
  if [ -x "$bin" ]; then
    printf '%s\n' "$bin"
    return 0
  fi
  (
    go__env
    moddir="$CACHE_DIR/go/mod-$(go__requires | sha256sum | cut -c1-16)"
    mkdir -p "$moddir" "$CACHE_DIR/go/bin"
    if [ ! -f "$moddir/go.mod" ]; then
      (cd "$moddir" && go mod init keel.compat/clients >/dev/null 2>&1) || { log "go mod init failed"; exit 1; }
      for req in $(go__requires); do
        case "$req" in
          replace:*) continue ;;
          github.com/IBM/sarama@*)
            # sarama before v1.40 is the module github.com/Shopify/sarama (the same code,
            # renamed when it moved to IBM): the programs import github.com/IBM/sarama and
            # SARAMA_MODULE (an override, e.g. the Debian-packaged release) replaces it
            if [ "${SARAMA_MODULE:-github.com/IBM/sarama}" != github.com/IBM/sarama ]; then
              (cd "$moddir" && go mod edit -replace="$req=$SARAMA_MODULE@${req#*@}") || exit 1
            fi ;;
        esac
        (cd "$moddir" && go mod edit -require="$req") || exit 1
      done
    fi
    # the program: a fresh copy of compat-tests/go/PROG inside the module
    rm -rf "$moddir/progs/$prog"
    mkdir -p "$moddir/progs"
    cp -r "$src" "$moddir/progs/$prog"
    log "building go program $prog (sarama $SARAMA_VERSION, franz-go $FRANZ_GO_VERSION)"
    if ! (cd "$moddir" && go build -o "$bin.tmp" "./progs/$prog") >"$CACHE_DIR/go/build-$prog.log" 2>&1; then
      cat "$CACHE_DIR/go/build-$prog.log" >&2
      log "go build of $prog failed"
      exit 1
    fi
    for req in $(go__requires); do
      case "$req" in replace:*) continue ;; esac
      m=${req%@*} v=${req#*@}
      got=$(cd "$moddir" && go list -m -f '{{.Version}}' "$m")
      if [ "$got" != "$v" ]; then
        log "go: $m resolved to $got, but versions.env pins $v (another pin requires a newer one)"
        exit 1
      fi
    done
    mv "$bin.tmp" "$bin"
  ) >&2 || return 1
  printf '%s\n' "$bin"
}

go_run() {
  local prog=$1 bin
  shift
  bin=$(go_build "$prog") || return 1
  "$bin" "$@"
}
