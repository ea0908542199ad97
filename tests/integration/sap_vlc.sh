#!/usr/bin/env bash
# VLC's SAP discovery lists our announcement (issue 16, part 3): VLC's
# "Network streams (SAP)" module, which listens on the well-known SAP groups
# on the default route, runs in a network namespace of its own whose
# loopback carries multicast (and the route for 224.0.0.0/4), beside
# `sender --announce NAME`; its debug log says "adding: NAME". VLC refuses
# to run as root: it runs as an unprivileged user.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
need ip sox setpriv
command -v cvlc >/dev/null 2>&1 || skip "VLC (cvlc, vlc-bin) not installed"
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
id nobody >/dev/null 2>&1 || skip "no unprivileged user (nobody) to run VLC as"
built sender
N=dl-$$-vlc
trap 'ip netns del "$N" 2>/dev/null; _cleanup' EXIT
ip netns add "$N" 2>"$T/ns.err" || skip "cannot create a network namespace: $(head -n 1 "$T/ns.err")"
ip -n "$N" link set lo multicast on && ip -n "$N" link set lo up &&
  ip -n "$N" route add 224.0.0.0/4 dev lo || fail "namespace set-up"
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 8 || fail "sox"
mkdir -p "$T/vlc" && chmod 777 "$T" "$T/vlc"
NAME="driftless test $$"
bg ip netns exec "$N" setpriv --reuid=nobody --regid=nogroup --clear-groups \
  env HOME="$T/vlc" XDG_CONFIG_HOME="$T/vlc" XDG_CACHE_HOME="$T/vlc" \
  timeout -s INT 12 cvlc -I dummy -vv --no-audio --services-discovery sap >"$T/vlc.log" 2>&1
sleep 2
ip netns exec "$N" "$BUILD/sender" -q --announce="$NAME" --iface 127.0.0.1 --duration 6 "$T/in.wav" \
  239.9.9.9:5004 2>"$T/tx.err" || fail "sender: $(cat "$T/tx.err")"
for _ in $(seq 1 40); do grep -q "adding: $NAME" "$T/vlc.log" && break; sleep 0.1; done
grep -q "adding: $NAME" "$T/vlc.log" ||
  fail "VLC's SAP discovery did not list \"$NAME\": $(grep -i sap "$T/vlc.log" | tail -n 3)"
pass "VLC's SAP discovery listed \"$NAME\""
