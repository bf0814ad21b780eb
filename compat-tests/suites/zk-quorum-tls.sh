# needs: none
# clients: tls-ensemble tls-keel-leads-apache tls-apache-leads-keel negative
# timeout: 900
#
# TLS between ensemble members (sslQuorum=true), as Apache ZooKeeper 3.9 sets it up
# with QuorumX509Util: the election and learner ports speak TLS only, each side
# presents its certificate from ssl.quorum.keyStore.* and checks the other's against
# ssl.quorum.trustStore.*, and (ssl.quorum.hostnameVerification, on by default) a
# certificate must name the address of the server it belongs to, the dialling side's
# too. Stores: PEM (one CA; one certificate for IP:127.0.0.1 with serverAuth and
# clientAuth, used by every server since they all listen on 127.0.0.1; the key store
# is key + chain in one .pem, the type guessed from the extension).
# - tls-ensemble: three servers of the target with sslQuorum=true run the whole
#   zk-ensemble check (four-letter words, writes read on every server after sync, the
#   leader killed with SIGKILL, re-election, data kept, the old leader rejoining).
# - tls-keel-leads-apache / tls-apache-leads-keel: the same over TLS in the two mixed
#   layouts of zk-mixed-ensemble (servers 1-2 Apache and 3 keel leading; servers 1-2
#   keel and 3 Apache leading). Against the apache target these would be three Apache
#   servers again, which tls-ensemble just ran: they report its result.
# - negative: with a TLS ensemble of the target up, (1) a plain TCP connection to the
#   leader's election port that sends a valid v1 header for server 1 and a
#   notification is dropped (the ensemble keeps its leader and serves a write), and
#   (2) a follower, stopped and restarted with a certificate from another CA, never
#   rejoins (srvr answers no Mode: follower within 20 s) while the other two keep
#   serving writes; (3) the same with a certificate of the right CA naming IP
#   127.0.0.9 (hostname verification of the dialling side); then restarted with the
#   good certificate it rejoins. This ensemble runs with fips-mode=false (the system
#   property zookeeper.fips-mode): Apache 3.9 in its default FIPS mode leaves out its
#   ZKTrustManager and with it every address check, so a certificate naming another
#   address is accepted there (and by keel, which follows it).

set -u
rc=0
QT_CERTS=$SUITE_WORK/certs

qt_certs() {
  mkdir -p "$QT_CERTS" && (
    cd "$QT_CERTS" || exit 1
    qt_ca() {
      openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 2 -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    }
    qt_sign() { # NAME CA SAN
      openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/O=keel-compat/CN=quorum" &&
        printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
          "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$3" >"$1.ext" &&
        openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 -sha256 \
          -extfile "$1.ext" -out "$1.pem" &&
        cat "$1.key" "$1.pem" "$2.pem" >"$1-keystore.pem"
    }
    qt_ca ca "/O=keel-compat/CN=quorum-ca" && qt_ca rogue-ca "/O=keel-compat-rogue/CN=rogue-ca" &&
      qt_sign server ca IP:127.0.0.1 && qt_sign rogue rogue-ca IP:127.0.0.1 &&
      qt_sign elsewhere ca IP:127.0.0.9
  ) >"$QT_CERTS/make.log" 2>&1
}

if ! qt_certs; then
  for c in tls-ensemble tls-keel-leads-apache tls-apache-leads-keel negative; do
    report "$c" fail "could not make the certificates (see $QT_CERTS/make.log)"
  done
  exit 1
fi

QT_TLS="sslQuorum=true ssl.quorum.keyStore.location=$QT_CERTS/server-keystore.pem ssl.quorum.trustStore.location=$QT_CERTS/ca.pem"

# qt_layout CLIENT TARGETS: the zk-ensemble check over TLS with one target per server.
qt_layout() {
  local client=$1 targets=$2 name out fails
  name="qt-$client"
  if [ "$TARGET" = apache ] && [ "$client" != tls-ensemble ]; then
    # Against Apache every layout is three Apache servers: tls-ensemble ran exactly that.
    report "$client" "${QT_FIRST_RESULT:-fail}" "all Apache, as tls-ensemble (not run again)"
    [ "${QT_FIRST_RESULT:-fail}" = pass ] || rc=1
    return
  fi
  if ! ZK_CFG_EXTRA="$QT_TLS" ZK_ENSEMBLE_TARGETS="$targets" zk_start "$TARGET" ensemble "$name"; then
    report "$client" fail "the TLS ensemble ($targets) did not form"
    rc=1
    zk_stop "$name"
    return
  fi
  # Evidence that the peers really talk TLS: Apache logs its handshakes; keel's
  # ports take nothing else (see negative).
  grep -h -m1 "SSL handshake complete" "$(zk_server_dir "$name" 1)/server.log" \
    "$(zk_server_dir "$name" 2)/server.log" "$(zk_server_dir "$name" 3)/server.log" 2>/dev/null |
    head -1 | sed 's/^/      server log | /'
  out=$(ZK_ENSEMBLE_NAME="$name"; . "$COMPAT_DIR/suites/zk-ensemble.sh" 2>&1)
  echo "$out" | sed "s/^/[$client] /"
  fails=$(echo "$out" | grep -c '^RESULT [a-z]* fail')
  if [ "$fails" = 0 ] && echo "$out" | grep -q '^RESULT ensemble pass'; then
    QT_FIRST_RESULT=pass
    report "$client" pass "servers $targets with sslQuorum=true (PEM stores): formed, writes on every server, leader killed, re-elected, data kept, the old leader rejoins"
  else
    report "$client" fail "$(echo "$out" | grep '^RESULT' | grep fail | tr '\n' ' ')"
    rc=1
  fi
  zk_stop "$name"
}

# qt_write PORT PATH: creates PATH through the server on PORT (kazoo), prints "ok".
qt_write() {
  timeout_run 60 "$PY_VENV/bin/python" - "$1" "$2" <<'PY'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1], timeout=15)
zk.start(timeout=20)
zk.create(sys.argv[2], b"x")
zk.sync(sys.argv[2])
print("ok" if zk.exists(sys.argv[2]) else "missing")
zk.stop()
PY
}

qt_negative() {
  local client=negative name=qt-negative ports leader election_port out n dir fails=""
  if ! python_env; then
    report "$client" fail "python_env failed"
    rc=1
    return
  fi
  # fips-mode=false: Apache 3.9 checks certificates against addresses only outside
  # FIPS mode (its ZKTrustManager), and FIPS mode is its default.
  if ! ZK_CFG_EXTRA="$QT_TLS fips-mode=false" zk_start "$TARGET" ensemble "$name"; then
    report "$client" fail "the TLS ensemble did not form"
    rc=1
    zk_stop "$name"
    return
  fi
  read -r -a ports <<<"$ZK_ENSEMBLE_PORTS"
  leader=$(zk_leader_server "$name")
  election_port=$(sed -n "s/^server\.$leader=127\.0\.0\.1:[0-9]*:\([0-9]*\)$/\1/p" "$(zk_server_dir "$name" 1)/zoo.cfg")
  # (1) plaintext to the election port: header v1 (-65536, sid 1, "127.0.0.1:1") and
  # a notification claiming server 1 votes for itself at a huge epoch.
  out=$(timeout_run 30 "$PY_VENV/bin/python" - "$election_port" <<'PY'
import socket, struct, sys, time
addr = b"127.0.0.1:1"
header = struct.pack(">qqi", -65536, 1, len(addr)) + addr
body = struct.pack(">iqqqqiq", 1, 1, 0x7fffffff00000000, 1, 0x7fffffff, 2, 0x7fffffff)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
try:
    s.sendall(header + struct.pack(">i", len(body)) + body)
    s.settimeout(5)
    data = s.recv(100)
    print("closed" if data == b"" else "answered %d bytes" % len(data))
except (ConnectionResetError, BrokenPipeError):
    print("closed")
except socket.timeout:
    print("no answer")
PY
)
  echo "      plain header to the leader's election port: $out"
  case "$out" in
    closed | "no answer" | "answered "*) ;;
    *) fails="$fails; plain election connection: $out" ;;
  esac
  sleep 2
  if [ "$(zk_leader_server "$name")" != "$leader" ]; then
    fails="$fails; the leader changed after a plain election connection"
  fi
  out=$(qt_write "${ports[$((leader - 1))]}" "/qt-plain-$$")
  [ "$out" = ok ] || fails="$fails; no write after the plain connection: $out"
  # (2) a follower with another CA's certificate, (3) with one naming another address
  n=1
  [ "$leader" = 1 ] && n=2
  dir=$(zk_server_dir "$name" "$n")
  local store why
  for store in rogue elsewhere; do
    why="another CA's certificate"
    [ "$store" = elsewhere ] && why="a certificate for 127.0.0.9 (hostname verification)"
    zk_stop_server "$name" "$n"
    sed -i "s#[a-z]*-keystore.pem#$store-keystore.pem#" "$dir/zoo.cfg"
    zk__launch "$dir" "$(cat "$dir/target" 2>/dev/null || cat "$(dirname "$dir")/target")"
    sleep 20
    out=$(zk_mode "${ports[$((n - 1))]}")
    echo "      server $n with $why, after 20 s: mode '${out:-none}'"
    case "$out" in
      follower | leader | observer) fails="$fails; server $n joined with $why (mode $out)" ;;
    esac
    leader=$(zk_leader_server "$name")
    if [ -z "$leader" ]; then
      fails="$fails; no leader while server $n was refused"
    else
      out=$(qt_write "${ports[$((leader - 1))]}" "/qt-$store-$$")
      [ "$out" = ok ] || fails="$fails; no write while server $n was refused: $out"
    fi
  done
  zk_stop_server "$name" "$n"
  sed -i "s#[a-z]*-keystore.pem#server-keystore.pem#" "$dir/zoo.cfg"
  if ! zk_restart_server "$name" "$n" || ! zk_wait_ensemble "$name" 60; then
    fails="$fails; server $n did not rejoin with its own certificate"
  fi
  if [ -z "$fails" ]; then
    report "$client" pass "a plain connection to the election port changes nothing; a server with another CA's certificate, or one naming another address, never joins while the others serve writes; with its own it rejoins"
  else
    report "$client" fail "${fails#; }"
    rc=1
  fi
  zk_stop "$name"
}

qt_layout tls-ensemble "$TARGET $TARGET $TARGET"
qt_layout tls-keel-leads-apache "apache apache keel"
qt_layout tls-apache-leads-keel "keel keel apache"
qt_negative
exit $rc
