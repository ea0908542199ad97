#!/usr/bin/env bash
# Bad input to the receiver: every bad flag or value exits 2, every runtime
# failure (unwritable WAV or stats file, port in use, device that does not
# open) exits 1, each with exactly one line on stderr that starts with
# "receiver: " and names the culprit; nothing is left running and no WAV is
# created when the port is taken. --help names every flag, -V the version.
# tags: sanitize
# timeout: 60
. "$(dirname "$0")/../lib.sh"
need python3
R=$BUILD/receiver
[ -x "$R" ] || fail "$R not built"
port=$(free_rtp_port) || fail "no free port"
n=0

# expect STATUS WORD ARGS...: exit STATUS, one stderr line naming WORD.
expect() {
  local want=$1 word=$2 rc lines
  shift 2
  timeout 10 "$R" "$@" >"$T/out" 2>"$T/err" </dev/null
  rc=$?
  lines=$(wc -l <"$T/err")
  if [ $rc -ne "$want" ] || [ "$lines" -ne 1 ] || ! grep -q '^receiver: ' "$T/err" ||
     ! grep -qF -- "$word" "$T/err"; then
    echo "args: $*"; echo "stderr:"; cat "$T/err"
    fail "want exit $want and one line naming '$word'; got exit $rc, $lines line(s)"
  fi
  n=$((n + 1))
  echo "ok   exit $rc: $*  ->  $(cat "$T/err")"
}

# Usage errors: 2.
expect 2 "--bogus" --bogus "$port"
expect 2 "-z" -z "$port"
expect 2 "PORT" -o "$T/x.wav"
expect 2 "70000" -o "$T/x.wav" 70000
expect 2 "nope" -o "$T/x.wav" "127.0.0.1:nope"
expect 2 "extra" -o "$T/x.wav" "$port" extra
expect 2 "--latency" --latency abc -o "$T/x.wav" "$port"
expect 2 "--latency" --latency 0 -o "$T/x.wav" "$port"
expect 2 "--latency" --latency 3000 -o "$T/x.wav" "$port"
expect 2 "--max-latency" --latency 600 -o "$T/x.wav" "$port"
expect 2 "--min-latency" --min-latency 300 --max-latency 200 -o "$T/x.wav" "$port"
expect 2 "--conceal" --conceal fec -o "$T/x.wav" "$port"
expect 2 "--pt" --pt 95 -o "$T/x.wav" "$port"
expect 2 "--pt" --pt 128 -o "$T/x.wav" "$port"
expect 2 "--duration" --duration -1 -o "$T/x.wav" "$port"
expect 2 "--idle-exit" --idle-exit x -o "$T/x.wav" "$port"
expect 2 "--stats-interval" --stats-interval 5 -o "$T/x.wav" "$port"
expect 2 "--sink-skew-ppm" --sink-skew-ppm 100 "$port"
expect 2 "--sink-skew-ppm" --sink-skew-ppm 1e9 -o "$T/x.wav" "$port"
expect 2 "--device" -d default -o "$T/x.wav" "$port"
expect 2 "--stats" -o "$T/x.wav" "$port" --stats
[ -e "$T/x.wav" ] && fail "a usage error created the WAV"

# Runtime errors: 1.
expect 1 "$T/no/such/dir/x.wav" -o "$T/no/such/dir/x.wav" "$port"
expect 1 "--stats" --stats "$T/no/such/dir/s.jsonl" -o "$T/x.wav" "$port"
expect 1 "no-such-device" -d no-such-device "$port"
# A port in use: a socket holds it while the receiver tries.
python3 -c "import socket,time,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',$port)); open('$T/held','w').close(); time.sleep(20)" &
holder=$!
_pids+=($holder)
for _ in $(seq 1 50); do [ -e "$T/held" ] && break; sleep 0.1; done
expect 1 "$port" -o "$T/busy.wav" "127.0.0.1:$port"
[ -e "$T/busy.wav" ] && fail "a port in use still created the WAV"
kill "$holder"; wait "$holder" 2>/dev/null
expect 1 "::2" -o "$T/x.wav" "[::2]:$port"   # not an address of this machine

# --help names every flag and exits 0 on stdout; -V prints the version.
"$R" --help >"$T/help" 2>"$T/err" || fail "--help exit $?"
[ -s "$T/err" ] && fail "--help wrote on stderr"
for f in --device --output --sink-skew-ppm --latency --min-latency --max-latency --conceal \
         --pt --duration --idle-exit --stats --stats-interval --quiet --verbose --help --version \
         " -d," " -o," " -q," " -v," " -h," " -V,"; do
  grep -qF -- "$f" "$T/help" || fail "--help does not mention $f"
done
"$R" -V >"$T/ver" || fail "-V exit $?"
grep -q '^receiver ' "$T/ver" || fail "-V printed: $(cat "$T/ver")"
pass "$n error cases, --help and -V"
