# compat-tests/faults/net.sh: the fault suite's private network, made of network
# namespaces so that partitions never touch the host's interfaces, routes or firewall.
#
#   kfnet_up                 creates the namespaces and links below (fails if it cannot)
#   kfnet_down               deletes them (and with them every link and nft rule here)
#   kfnet_exec WHO CMD...    runs CMD inside namespace WHO (s1 s2 s3 cl)
#   kfnet_isolate N          partitions server N from everyone (both directions)
#   kfnet_heal               removes every partition
#   kfnet_mechanism          prints how partitions are made (nft-bridge | bridge-detach)
#
# Layout (addresses from KFNET_PREFIX, default 10.213.0; nothing routes out of it):
#
#   kfault-s1  eth0 10.213.0.1/24 ─┐
#   kfault-s2  eth0 10.213.0.2/24 ─┼─ kfault-br: bridge br0, ports kf-s1 kf-s2 kf-s3 kf-cl
#   kfault-s3  eth0 10.213.0.3/24 ─┤
#   kfault-cl  eth0 10.213.0.100/24┘  (every client and every check runs here)
#
# A partition drops every frame to and from the server's bridge port inside kfault-br
# (an nftables table of family bridge, forward hook): the server's own stack sees no
# link change and no error, exactly as when a switch stops forwarding. Without nft the
# port is detached from the bridge instead (same effect, ARP included).

KFNET_PREFIX=${KFNET_PREFIX:-10.213.0}
KFNET_NS_PREFIX=${KFNET_NS_PREFIX:-kfault}
KFNET_MECHANISM=""

kfnet_ns() { printf '%s-%s' "$KFNET_NS_PREFIX" "$1"; }
kfnet_addr() {
  case "$1" in
    cl) printf '%s.100' "$KFNET_PREFIX" ;;
    *) printf '%s.%s' "$KFNET_PREFIX" "$1" ;;
  esac
}

kfnet_exec() {
  local who=$1
  shift
  ip netns exec "$(kfnet_ns "$who")" "$@"
}

kfnet_down() {
  local who
  for who in s1 s2 s3 cl br; do
    ip netns del "$(kfnet_ns "$who")" 2>/dev/null
  done
  return 0
}

kfnet_up() {
  local br who ns
  br=$(kfnet_ns br)
  kfnet_down
  ip netns add "$br" || return 1
  ip -n "$br" link set lo up
  ip -n "$br" link add br0 type bridge || return 1
  ip -n "$br" link set br0 up
  for who in s1 s2 s3 cl; do
    ns=$(kfnet_ns "$who")
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    ip link add "kf-$who" netns "$br" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$br" link set "kf-$who" master br0 || return 1
    ip -n "$br" link set "kf-$who" up
    ip -n "$ns" addr add "$(kfnet_addr "${who#s}")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  if command -v nft >/dev/null && ip netns exec "$br" nft -f - <<'NFT' 2>/dev/null; then
table bridge kfault {
  chain forward {
    type filter hook forward priority 0; policy accept;
  }
}
NFT
    KFNET_MECHANISM=nft-bridge
  else
    KFNET_MECHANISM=bridge-detach
  fi
  # the bridge forwards only once its ports have left the listening state
  local i
  for i in $(seq 1 50); do
    if kfnet_exec cl bash -c "exec 3<>/dev/tcp/$(kfnet_addr 1)/9" 2>&1 | grep -q -i refused; then break; fi
    sleep 0.1
  done
  return 0
}

kfnet_mechanism() { printf '%s' "$KFNET_MECHANISM"; }

kfnet_isolate() {
  local n=$1 br
  br=$(kfnet_ns br)
  case "$KFNET_MECHANISM" in
    nft-bridge)
      ip netns exec "$br" nft add rule bridge kfault forward iifname "kf-s$n" drop &&
        ip netns exec "$br" nft add rule bridge kfault forward oifname "kf-s$n" drop ;;
    *) ip -n "$br" link set "kf-s$n" nomaster ;;
  esac
}

kfnet_heal() {
  local br who
  br=$(kfnet_ns br)
  case "$KFNET_MECHANISM" in
    nft-bridge) ip netns exec "$br" nft flush chain bridge kfault forward ;;
    *) for who in s1 s2 s3; do ip -n "$br" link set "kf-$who" master br0; done ;;
  esac
}
