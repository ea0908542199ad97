# Shared by the integration tests (bash). Source it first:
#   . "$(dirname "$0")/../lib.sh"
# Gives: $BUILD, $T (a private temp dir, removed at exit), bg (start a
# process whose pid is killed at exit), skip/fail/pass, need, built, free_port,
# wait_exit, udp_bound, interop_inputs/interop_check (the interop_*_rx
# tests' inputs and verdict), pulse_start (a paced PulseAudio null sink as
# ALSA "default").
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$TOP/${DL_BUILD:-build}
case "${DL_BUILD:-build}" in /*) BUILD=$DL_BUILD ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/dl-test.XXXXXX")
# GStreamer and PulseAudio write into $HOME; keep them inside $T.
export HOME=$T XDG_CONFIG_HOME=$T/.config XDG_CACHE_HOME=$T/.cache XDG_RUNTIME_DIR=$T
mkdir -p "$T/.config" "$T/.cache"
_pids=()

_cleanup() {
  local p
  for p in "${_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${_pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  if [ -f "$T/pulse/pid" ]; then
    # The daemon writes its log and state into $T until it has gone.
    p=$(cat "$T/pulse/pid")
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

say()  { echo "$(basename "$0" .sh): $*"; }
skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "passed${1:+: $1}"; exit 0; }
need() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c not installed"; done; }

# built PROG...: our programs under $BUILD (sender, tools/wavcmp, ...), or fail.
built() { local b; for b in "$@"; do [ -x "$BUILD/$b" ] || fail "$BUILD/$b not built (run make)"; done; }

# bg CMD...: start CMD in the background, remember its pid in $!.
bg() { "$@" & _pids+=($!); }

# A UDP port nothing listens on: the kernel picks it (bind to 0), then
# releases it. free_rtp_port: an even port whose port+1 is free too (RTCP).
# One python3 call each: both are cheap even on a loaded machine.
free_port() {
  python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
free_rtp_port() {
  python3 -c 'import socket, sys
for _ in range(200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1] & ~1
    s.close()
    try:
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", p))
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("127.0.0.1", p + 1))
    except OSError:
        continue
    print(p); sys.exit(0)
sys.exit(1)'
}

# udp_bound PORT SEC: wait up to SEC until something listens on UDP PORT
# (a receiver, ffmpeg, GStreamer). Returns 1 on time-out.
udp_bound() {
  local i
  for i in $(seq 1 $(($2 * 10))); do
    [ -n "$(ss -Hlun "sport = :$1")" ] && return 0
    sleep 0.1
  done
  return 1
}

# wait_exit PID SEC: wait for PID to exit within SEC; returns its status,
# or 124 (and kills it) on time-out.
wait_exit() {
  local pid=$1 limit=$2 i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt $((limit * 10)) ]; then kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 124; fi
    sleep 0.1
  done
  wait "$pid"
}

# interop_inputs: the inputs of the interop_*_rx tests: $T/st44.wav
# (44.1 kHz stereo, different speech in each channel, so that a peer that
# dropped a channel fails the correlation) and $T/m16.wav (16 kHz mono).
interop_inputs() {
  local s=$TOP/tests/data/speech.flac
  sox "$s" "$T/l.wav" trim 1 7 &&
  sox "$s" "$T/r.wav" trim 12 7 &&
  sox -M "$T/l.wav" "$T/r.wav" -r 44100 -b 16 "$T/st44.wav" &&
  sox "$s" -r 16000 -c 1 -b 16 "$T/m16.wav" trim 3 6 || fail "sox could not make the inputs"
}

# interop_check NAME REF OUT: OUT aligned against REF has corr >= 0.9 and
# lasts as long within 60 ms; prints the figures, fails the test if not.
interop_check() {
  local res
  res=$("$BUILD/tools/wavcmp" "$2" "$3" --json) || fail "$1: wavcmp failed"
  say "$1: $res"
  echo "$res" | python3 -c '
import json, sys
d = json.load(sys.stdin)
bad = []
if d["corr"] is None or d["corr"] < 0.9: bad.append("corr %s < 0.9" % d["corr"])
if abs(d["out_s"] - d["ref_s"]) > 0.060:
    bad.append("duration %.4f s vs input %.4f s (more than 60 ms apart)" % (d["out_s"], d["ref_s"]))
if bad: print("; ".join(bad)); sys.exit(1)' >"$T/why" || fail "$1: $(cat "$T/why")"
}

# pulse_start: a PulseAudio daemon with a paced null sink, made ALSA's
# "default" through $HOME/.asoundrc. Skips the test where it cannot start.
pulse_start() {
  need pulseaudio parec
  [ -f /usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so ] ||
    ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1 ||
    skip "ALSA pulse plugin (libasound2-plugins) not installed"
  export PULSE_RUNTIME_PATH=$T/pulse
  # Clients without shared memory: PulseAudio 16 can abort on a memfd
  # block of a client that went away (memblock_replace_import), which took
  # the daemon down between two clients in 2 of 10 runs.
  printf '%s\n' "enable-shm = no" "enable-memfd = no" >"$T/client.conf"
  export PULSE_CLIENTCONFIG=$T/client.conf
  pulseaudio -D --exit-idle-time=-1 --system=false -n \
    --load="module-null-sink sink_name=nullsink rate=48000 channels=${1:-1}" \
    --load=module-native-protocol-unix --log-target="file:$T/pa.log" 2>>"$T/pa.log" ||
    skip "pulseaudio would not start ($(tail -n 1 "$T/pa.log"))"
  for _ in $(seq 1 50); do [ -S "$T/pulse/native" ] && break; sleep 0.1; done
  [ -S "$T/pulse/native" ] || skip "pulseaudio socket did not appear"
  cat >"$T/.asoundrc" <<EOT
pcm.!default { type pulse  server "unix:$T/pulse/native"  device "nullsink" }
ctl.!default { type pulse  server "unix:$T/pulse/native" }
EOT
}

# stats_key FILE KEY: KEY's last value among FILE's JSON lines (a stats
# file), "None" if no line has it.
stats_key() {
  python3 -c 'import json, sys
v = None
for l in open(sys.argv[1]):
    try: d = json.loads(l)
    except ValueError: continue
    v = d.get(sys.argv[2], v)
print(v)' "$1" "$2"
}

# aligned REF OUT WHAT: OUT (a WAV a receiver wrote) aligns with REF (the
# clean decode) with correlation >= 0.95 (tools/wavcmp, lag up to 3 s), or
# fail naming WHAT; prints the correlation (or, failing, the reason: call
# it as  corr=$(aligned ...) || { echo "$corr"; exit 1; }).
aligned() {
  local res corr
  res=$("$BUILD/tools/wavcmp" "$1" "$2" --max-lag-ms 3000 --json) || fail "$3: wavcmp: $res"
  corr=$(echo "$res" | python3 -c 'import json,sys; print(json.load(sys.stdin)["corr"])')
  python3 -c "import sys; sys.exit(0 if $corr >= 0.95 else 1)" || fail "$3: not aligned with the input: $res"
  echo "$corr"
}

# pulse_record CHANNELS FILE [SINK]: record what SINK (nullsink) plays from
# its monitor into FILE (a WAV), at real-time priority where permitted
# (a late recorder would lose what a test judges); $rec is its pid. Also
# what keeps an idle null sink awake: start it before the players.
pulse_record() {
  local rt=""
  chrt -f 10 true 2>/dev/null && rt="chrt -f 10"
  bg $rt parec --device="${3:-nullsink}.monitor" --latency-msec=20 --file-format=wav --rate=48000 \
     --channels="$1" --format=s16le "$2"
  rec=$!
  sleep 0.5
  kill -0 "$rec" 2>/dev/null || fail "parec did not start"
}

# speech_input SECONDS: $T/in.wav, the first SECONDS of the bundled speech
# (48 kHz mono), and $T/ref.wav, its clean-path decode (tools/encdec), the
# reference a receiver's output is judged against.
speech_input() {
  sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 "$1" || fail "sox"
  "$BUILD/tools/encdec" "$T/in.wav" "$T/ref.wav" || fail "encdec"
}

# stats_last FILE: FILE's last JSON line (a stats file), as JSON; null if none.
stats_last() {
  python3 -c 'import json, sys
v = None
for l in open(sys.argv[1]):
    try: v = json.loads(l)
    except ValueError: pass
print(json.dumps(v))' "$1"
}
