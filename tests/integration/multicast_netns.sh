#!/usr/bin/env bash
# Multicast between network namespaces (issue 16, part 1): a LAN of a
# bridge and four hosts (namespaces joined to it by veth pairs), one sender
# and three receivers of one group, first an IPv4 group (239.1.2.4), then
# an IPv6 one (ff15::1:4), --iface by name or address: every receiver
# hears every packet (received = sent) and writes a WAV aligned with the
# input (speech, correlation >= 0.95 against the clean decode), and
# counts the session's RTCP members (RFC 3550 6.3.2: itself, the sender and
# the two other receivers, whose reports reach it through the group), as
# the sender does (itself and three receivers, with a round trip). No
# namespace or veth is left behind.
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need ip sox python3
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
built receiver sender tools/wavcmp tools/encdec
S=$BUILD/sender R=$BUILD/receiver
N=dl-$$-mc   # namespace names: $N-br (the bridge), $N-h0 (sender), $N-h1..3

_ns_cleanup() {
  local h
  for h in br h0 h1 h2 h3; do ip netns del "$N-$h" 2>/dev/null; done
}
trap '_ns_cleanup; _cleanup' EXIT
ip netns add "$N-br" 2>"$T/ns.err" || skip "cannot create a network namespace: $(head -n 1 "$T/ns.err")"
ip -n "$N-br" link add br0 type bridge 2>"$T/ns.err" || skip "no bridge in this kernel: $(head -n 1 "$T/ns.err")"
# No querier on this LAN: the bridge floods multicast to every port.
ip -n "$N-br" link set br0 type bridge mcast_snooping 0
ip -n "$N-br" link set br0 up
for i in 0 1 2 3; do
  ip netns add "$N-h$i" || fail "netns $N-h$i"
  ip link add "dlm$$p$i" netns "$N-br" type veth peer name lan0 netns "$N-h$i" || fail "veth $i"
  ip -n "$N-br" link set "dlm$$p$i" master br0 up
  ip -n "$N-h$i" addr add "10.99.0.$((i + 1))/24" dev lan0
  ip -n "$N-h$i" addr add "fd00:99::$((i + 1))/64" dev lan0 nodad
  ip -n "$N-h$i" link set lo up
  ip -n "$N-h$i" link set lan0 up
done
on() { local h=$1; shift; ip netns exec "$N-$h" "$@"; }

speech_input 4

# group TAG HOST:PORT: one sender (h0), three receivers; --iface by name
# (lan0 in every namespace), receiver 1's by its address instead.
group() {
  local tag=$1 dst=$2 rif i pids=() sent got corr mem
  for i in 1 2 3; do
    rif=lan0
    [ $i = 1 ] && { [ "$tag" = v4 ] && rif=10.99.0.2 || rif=fd00:99::2; }
    on h$i "$R" --duration 20 -q --no-resample --latency 100 --iface "$rif" --idle-exit 1 --exit-on-bye \
      --rtcp-interval 500 \
      -o "$T/$tag$i.wav" --stats "$T/$tag$i.json" "$dst" 2>"$T/$tag$i.err" &
    _pids+=($!) pids+=($!)
  done
  sleep 0.5
  on h0 timeout 20 "$S" --no-adapt --rtcp-interval 500 --iface lan0 --stats "$T/$tag-tx.json" "$T/in.wav" "$dst" 2>"$T/$tag-tx.err" ||
    fail "$tag sender: $(cat "$T/$tag-tx.err")"
  for i in "${pids[@]}"; do wait_exit "$i" 10; done
  sent=$(stats_key "$T/$tag-tx.json" sent)
  for i in 1 2 3; do
    got=$(stats_key "$T/$tag$i.json" received)
    [ "$got" = "$sent" ] || fail "$tag receiver $i: received $got of $sent ($(head -n 2 "$T/$tag$i.err"))"
    corr=$(aligned "$T/ref.wav" "$T/$tag$i.wav" "$tag receiver $i") || { echo "$corr"; exit 1; }
    mem=$(stats_key "$T/$tag$i.json" rtcp_members)
    [ "$mem" = 4 ] || fail "$tag receiver $i: rtcp_members $mem, expected 4 (itself, the sender, two others)"
    say "$tag $dst, receiver $i: received $got of $sent, corr $corr, RTCP members $mem"
  done
  # The sender hears the group's reports too (on the group's RTCP port).
  mem=$(stats_key "$T/$tag-tx.json" rtcp_members) rtt=$(stats_key "$T/$tag-tx.json" rtt_ms)
  [ "$mem" = 4 ] || fail "$tag sender: rtcp_members $mem, expected 4 (itself, three receivers)"
  [ "$rtt" != None ] || fail "$tag sender: no round trip from the group's reports"
  say "$tag sender: RTCP members $mem, RTT $rtt ms"
}

P=$(free_rtp_port)
group v4 "239.1.2.4:$P"
group v6 "[ff15::1:4]:$P"

_ns_cleanup
left=$(ip netns list | grep -c "^$N-" || true)
[ "$left" = 0 ] || fail "namespaces left behind"
ip link | grep -q "dlm$$p" && fail "a veth was left behind"
pass "three receivers of an IPv4 and an IPv6 group on a bridged LAN of namespaces"
