#!/usr/bin/env bash
# The real relay on loopback: numbered datagrams through build/impair with
# loss, delay, jitter, duplication and a blackout, echoed back the other
# way; the same seed again gives the same fates; a rate limit holds.
# The statistics proper are unit tests of common/relay/impair (test_impair).
# tags: sanitize
# timeout: 120
. "$(dirname "$0")/../lib.sh"
built impair
U="$BUILD/tools/udpseq"
[ -x "$U" ] || fail "$U not built"
SEED=${DL_SEED:-7}
say "seed $SEED (DL_SEED)"

# Usage errors exit 2 with one line naming the flag; --help exits 0.
"$BUILD/impair" --help | grep -q -- '--blackout START_S:LEN_S' || fail "--help"
for args in "--loss 101 5000 127.0.0.1:5002" "--burst 1.2 --loss 60 5000 127.0.0.1:5002" \
            "--jitter-dist gauss 5000 127.0.0.1:5002" "--blackout 3 5000 127.0.0.1:5002" \
            "--bogus 5000 127.0.0.1:5002" "5000" "5000 127.0.0.1" "70000 127.0.0.1:5002"; do
  # shellcheck disable=SC2086
  msg=$("$BUILD/impair" $args 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || fail "impair $args: exit $rc, expected 2 ($msg)"
  [ "$(echo "$msg" | wc -l)" -eq 1 ] && [[ "$msg" == impair:* ]] || fail "impair $args: message \"$msg\""
done

# The ports serve every run (each run's processes have exited before the next).
lp=$(free_rtp_port) && tp=$(free_rtp_port) || fail "no free ports"
[ "$lp" != "$tp" ] || fail "no free ports"

# run NAME COUNT INTERVAL_MS SIZE IMPAIR_OPTIONS...: relay COUNT datagrams,
# leave $T/NAME.{trace,stats,rx,tx,log}.
run() {
  local name=$1 count=$2 ivl=$3 size=$4; shift 4
  bg "$BUILD/impair" --seed "$SEED" --trace "$T/$name.trace" --stats "$T/$name.stats" \
     --duration 60 "$@" "127.0.0.1:$lp" "127.0.0.1:$tp"
  local ipid=$!
  $U recv "127.0.0.1:$tp" --echo --idle 2 --max-time 40 --log "$T/$name.log" \
    --ready "$T/$name.ready" >"$T/$name.rx" &
  local rpid=$!
  _pids+=($rpid)
  for _ in $(seq 1 100); do [ -e "$T/$name.ready" ] && break; sleep 0.1; done
  [ -e "$T/$name.ready" ] || fail "$name: receiver did not start"
  timeout 40 $U send "127.0.0.1:$lp" --count "$count" --interval-ms "$ivl" --size "$size" \
    --expect-echo --echo-wait 0.5 >"$T/$name.tx" || fail "$name: sender failed"
  wait_exit $rpid 20 || fail "$name: receiver did not finish"
  kill -TERM $ipid
  wait_exit $ipid 10 || fail "$name: impair did not exit on SIGTERM (status $?)"
  grep -q '"final":true' "$T/$name.stats" || fail "$name: no final stats line"
  say "$name: rx $(cat "$T/$name.rx") tx $(cat "$T/$name.tx")"
  say "$name: stats $(tail -n 1 "$T/$name.stats")"
}
# jget FILE EXPR: a value from the last JSON line of FILE, e.g. "['lost']".
jget() { tail -n 1 "$1" | grep -o "\"$2\":[^,}]*" | head -n 1 | cut -d: -f2; }

# 1. Loss 10 %, delay 40 ms +- 8 ms, duplicate 3 %, blackout 1 s .. 2 s.
# Trace columns: index flow arrival_ms bytes rtp_seq fate copies delays...
run a 300 10 100 --loss 10 --delay 40 --jitter 8 --duplicate 3 --blackout 1:1
tr=$T/a.trace
n=$(awk '$2=="rtp"' "$tr" | wc -l)
[ "$n" -eq 300 ] || fail "relay saw $n of 300 datagrams"
bo=$(awk '$2=="rtp" && $6=="blackout"' "$tr" | wc -l)
bad_bo=$(awk '$2=="rtp" && $6=="blackout" && ($3 < 1000 || $3 >= 2000)' "$tr" | wc -l)
miss_bo=$(awk '$2=="rtp" && $6!="blackout" && $3 >= 1000 && $3 < 2000' "$tr" | wc -l)
say "blackout: $bo dropped, $bad_bo outside [1 s, 2 s), $miss_bo inside not dropped"
[ "$bad_bo" -eq 0 ] && [ "$miss_bo" -eq 0 ] || fail "blackout window wrong"
[ "$bo" -ge 80 ] && [ "$bo" -le 120 ] || fail "blackout dropped $bo, expected about 100 (1 s at 10 ms)"
lost=$(awk '$2=="rtp" && $6=="lost"' "$tr" | wc -l)
passed=$(awk '$2=="rtp" && $6=="pass"' "$tr" | wc -l)
dups=$(awk '$2=="rtp" && $7==2' "$tr" | wc -l)
pct=$(awk -v l="$lost" -v n="$((300 - bo))" 'BEGIN { printf "%.1f", 100 * l / n }')
say "loss $lost of $((300 - bo)) = $pct % (10 expected), $dups duplicated"
awk -v p="$pct" 'BEGIN { exit !(p >= 4 && p <= 16) }' || fail "loss $pct % not near 10 %"
[ "$(jget "$T/a.rx" unique)" -eq "$passed" ] ||
  fail "receiver got $(jget "$T/a.rx" unique) distinct, relay passed $passed"
[ "$(jget "$T/a.rx" duplicates)" -eq "$dups" ] ||
  fail "receiver saw $(jget "$T/a.rx" duplicates) duplicates, relay made $dups"
[ "$(jget "$T/a.stats" lost)" -eq "$lost" ] || fail "stats and trace disagree on lost"
mean=$(jget "$T/a.rx" mean)
sd=$(jget "$T/a.rx" sd)
tmean=$(awk '$2=="rtp" && $6=="pass" { s += $8; n++ } END { printf "%.2f", s / n }' "$tr")
say "one-way delay seen by the receiver: mean $mean ms, sd $sd ms (decided: mean $tmean; 40, 8 asked)"
# The sample mean of ~180 draws of sd 8 is within 2 ms; the rest is
# scheduling and Python on a loaded machine.
awk -v m="$mean" -v s="$sd" 'BEGIN { exit !(m >= 38 && m <= 45 && s >= 6 && s <= 11) }' ||
  fail "delay mean $mean / sd $sd ms off"
echoed=$(jget "$T/a.tx" echoed)
back=$(jget "$T/a.stats" back_sent)
[ "$echoed" -eq "$back" ] || fail "sender got $echoed echoes, relay sent $back back"
[ "$echoed" -ge $((passed * 8 / 10)) ] || fail "only $echoed echoes of $passed"

# 2. The same seed and options: the same fate and delays for every datagram
# that arrived outside the blackout window in both runs.
run b 100 10 100 --loss 10 --delay 40 --jitter 8 --duplicate 3 --blackout 1:1
read -r same total < <(awk 'FNR == 1 { f++ }
  $1 != "#" && $2 == "rtp" && $6 != "blackout" {
    v = ""; for (i = 6; i <= NF; i++) v = v " " $i
    if (f == 1) a[$5] = v; else if ($5 in a) { t++; s += (a[$5] == v) }
  } END { print s + 0, t + 0 }' "$T/a.trace" "$T/b.trace")
say "determinism: $same of $total datagrams had the same fate and delays"
[ "$total" -ge 90 ] && [ "$same" -eq "$total" ] || fail "same seed, different fates"

# 3. Rate 64 kbit/s, 200 bytes on the wire every 10 ms (160 kbit/s offered).
run c 200 10 172 --rate 64 --queue 200
# Past the first 10 datagrams: the full bucket (1514 bytes) lets the
# first few through at once.
first=$(sed -n 11p "$T/c.log" | cut -d' ' -f3)
last=$(tail -n 1 "$T/c.log" | cut -d' ' -f3)
cnt=$(($(wc -l <"$T/c.log") - 10))
kbit=$(awk -v a="$first" -v b="$last" -v n="$cnt" 'BEGIN { printf "%.2f", (n - 1) * 200 * 8 / ((b - a) / 1e9) / 1000 }')
say "rate: $cnt datagrams at $kbit kbit/s (64 expected), $(jget "$T/c.stats" queue_full) queue drops"
awk -v k="$kbit" 'BEGIN { exit !(k >= 60.8 && k <= 67.2) }' || fail "throughput $kbit kbit/s not within 5 % of 64"
pass "loss $pct %, delay $mean/$sd ms, blackout $bo, rate $kbit kbit/s"
