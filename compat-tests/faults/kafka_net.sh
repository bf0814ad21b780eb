# compat-tests/faults/kafka_net.sh: the Kafka fault suite's additions to net.sh's
# private network. Source it before net.sh: it sets net.sh's prefixes.
#
#   kknet_up                 net.sh's namespaces (brokers s1-s3, clients cl, bridge br)
#                            plus one for ZooKeeper, zk, on the same bridge
#   kknet_down               deletes them all
#   kknet_cut N              cuts broker N off from ZooKeeper and the other brokers (both
#                            directions) while the clients still reach it: the split-brain
#                            case, where producers keep talking to a leader that has lost
#                            its followers and its ZooKeeper session
#   kknet_heal               removes every cut (net.sh's kfnet_heal)
#
# The suite uses its own prefixes (KFNET_PREFIX 10.214.0, namespaces kkafka-*), so it
# never touches a ZooKeeper fault suite's network. ZooKeeper listens on <prefix>.50.

KFNET_PREFIX=${KFNET_PREFIX:-10.214.0}
KFNET_NS_PREFIX=${KFNET_NS_PREFIX:-kkafka}
KKNET_ZK_HOST=50

kknet_zk_addr() { printf '%s.%s' "$KFNET_PREFIX" "$KKNET_ZK_HOST"; }

kknet_down() {
  ip netns del "$(kfnet_ns zk)" 2>/dev/null
  kfnet_down
}

kknet_up() {
  local br ns
  kknet_down
  kfnet_up || return 1
  br=$(kfnet_ns br)
  ns=$(kfnet_ns zk)
  ip netns add "$ns" || return 1
  ip -n "$ns" link set lo up
  ip link add kf-zk netns "$br" type veth peer name eth0 netns "$ns" || return 1
  ip -n "$br" link set kf-zk master br0 || return 1
  ip -n "$br" link set kf-zk up
  ip -n "$ns" addr add "$(kknet_zk_addr)/24" dev eth0
  ip -n "$ns" link set eth0 up
}

kknet_cut() {
  local n=$1 br other
  br=$(kfnet_ns br)
  [ "$(kfnet_mechanism)" = nft-bridge ] || { log "kknet_cut needs nftables (a bridge table in $br)"; return 1; }
  for other in zk s1 s2 s3; do
    [ "$other" = "s$n" ] && continue
    ip netns exec "$br" nft add rule bridge kfault forward iifname "kf-s$n" oifname "kf-$other" drop || return 1
    ip netns exec "$br" nft add rule bridge kfault forward iifname "kf-$other" oifname "kf-s$n" drop || return 1
  done
}

kknet_heal() { kfnet_heal; }
