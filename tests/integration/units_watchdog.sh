#!/usr/bin/env bash
# The receiver's unit under a real systemd: Type=notify and the watchdog.
# Two instances of driftless-recv@.service as make install lays it out,
# with a drop-in for the test (this build's receiver writing to /dev/null,
# WatchdogSec=2s, RestartSec=1s, the result of each stop recorded):
#   calm   starts (systemctl start returns: READY=1 came) and is still the
#          same process, never restarted, after 3 x WatchdogSec: its
#          playback thread's pings arrive;
#   stall  --stall-at 1:4000 holds the playback thread 4 s: systemd kills
#          it for the watchdog (SERVICE_RESULT=watchdog, SIGABRT) and, that
#          being a failure, starts it again (NRestarts >= 1, a new pid,
#          active).
# Where systemd is PID 1: the system manager, with the units in
# /run/systemd/system under a name of the test's own (removed at exit).
# Elsewhere (a container, a VM whose init is not systemd), as root: a
# private `systemd --user` manager that sees only the test's units, in a
# mount namespace where /run/systemd/system exists (without it systemd
# refuses to run) and in cgroups of its own, created under each
# hierarchy's root and removed at exit, so that it manages no process but
# the test's (started in the root cgroup it would take every process on
# the machine into its init.scope). Else skipped.
# tags: solo
# timeout: 180
. "$(dirname "$0")/../lib.sh"
built receiver
unset MAKEFLAGS MAKELEVEL MFLAGS

WATCHDOG_S=2

# check SYSTEMCTL UNIT_PREFIX RESULTS_DIR: start the two instances and
# judge them (see the header). Prints one line of figures; fails the test.
check() {
  local sc=$1 unit=$2 rd=$3 t0 pid0 calm0 i st nr pid res
  t0=$(date +%s.%N)
  timeout 30 $sc start "$unit@calm.service" "$unit@stall.service" ||
    fail "systemctl start: exit $? (no READY=1 within 30 s?): $($sc status --no-pager -l "$unit@calm.service" "$unit@stall.service" 2>&1 | tail -n 20)"
  for i in calm stall; do
    [ "$($sc show -p ActiveState --value "$unit@$i.service")" = active ] ||
      fail "$i is not active after start: $($sc status --no-pager -l "$unit@$i.service" 2>&1 | tail -n 12)"
  done
  calm0=$($sc show -p MainPID --value "$unit@calm.service")
  pid0=$($sc show -p MainPID --value "$unit@stall.service")
  # The stall begins 1 s in; the watchdog fires 2 s later; the restart 1 s
  # after that. Wait for it, up to 20 s.
  for i in $(seq 200); do
    nr=$($sc show -p NRestarts --value "$unit@stall.service")
    st=$($sc show -p ActiveState --value "$unit@stall.service")
    pid=$($sc show -p MainPID --value "$unit@stall.service")
    [ "${nr:-0}" -ge 1 ] && [ "$st" = active ] && [ "$pid" != "$pid0" ] && [ -s "$rd/stall.results" ] && break
    sleep 0.1
  done
  [ "${nr:-0}" -ge 1 ] || fail "stall: not restarted within 20 s (NRestarts=$nr, $st; results: $(cat "$rd/stall.results" 2>/dev/null))"
  [ "$st" = active ] && [ "$pid" != "$pid0" ] || fail "stall: after the restart $st, pid $pid (was $pid0)"
  res=$(head -n 1 "$rd/stall.results")
  [[ "$res" =~ ^watchdog\ (killed|dumped)\ ABRT ]] ||
    fail "stall: stopped for \"$res\", not the watchdog (SERVICE_RESULT EXIT_CODE EXIT_STATUS)"
  # calm: three watchdog periods after its start, still its first process.
  while awk -v a="$t0" -v b="$(date +%s.%N)" -v w=$WATCHDOG_S 'BEGIN { exit !(b - a < 3 * w + 1) }'; do sleep 0.2; done
  [ "$($sc show -p ActiveState --value "$unit@calm.service")" = active ] ||
    fail "calm is not active: $(cat "$rd/calm.results" 2>/dev/null) $($sc status --no-pager -l "$unit@calm.service" 2>&1 | tail -n 12)"
  [ "$($sc show -p NRestarts --value "$unit@calm.service")" = 0 ] && [ ! -s "$rd/calm.results" ] &&
    [ "$($sc show -p MainPID --value "$unit@calm.service")" = "$calm0" ] ||
    fail "calm was stopped or restarted: $(cat "$rd/calm.results" 2>/dev/null)"
  $sc stop "$unit@calm.service" "$unit@stall.service"
  echo "calm: one process for $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; stall: \"$res\", restarted ($nr), pid $pid0 -> $pid"
}

# units DIR UNIT_PREFIX RESULTS_DIR EXTRA: the installed template as
# DIR/UNIT_PREFIX@.service and its drop-in. EXTRA: more [Service] lines.
units() {
  local dir=$1 unit=$2 rd=$3 extra=$4 p
  install -m 644 "$root/usr/local/lib/systemd/system/driftless-recv@.service" "$dir/$unit@.service"
  mkdir -p "$dir/$unit@.service.d"
  # ProtectHome=no: this build may live in a home directory, which the
  # unit hides from an installed program's service. ReadWritePaths: the
  # results, in a file system that ProtectSystem=strict makes read-only.
  cat >"$dir/$unit@.service.d/test.conf" <<EOF
[Service]
User=
Group=
EnvironmentFile=
EnvironmentFile=$rd/%i.conf
ExecStart=
ExecStart=$BUILD/receiver \$OPTIONS
ExecStopPost=/bin/sh -c 'echo "\$\$SERVICE_RESULT \$\$EXIT_CODE \$\$EXIT_STATUS" >>$rd/%i.results'
WatchdogSec=${WATCHDOG_S}s
RestartSec=1s
ProtectHome=no
ReadWritePaths=$rd
StandardOutput=append:$rd/%i.log
StandardError=inherit
$extra
EOF
  p=$(free_port); echo "OPTIONS=\"-c 1 -o /dev/null $p\"" >"$rd/calm.conf"
  p=$(free_port); echo "OPTIONS=\"-c 1 -o /dev/null --stall-at 1:4000 $p\"" >"$rd/stall.conf"
}

# Inside the private manager's mount namespace (see the header): $1 is
# the directory the outer run prepared.
if [ "${1:-}" = --inside ]; then
  d=$2
  mount -t tmpfs -o mode=755 tmpfs /run/systemd && mkdir /run/systemd/system ||
    fail "cannot mount a private /run/systemd"
  export XDG_RUNTIME_DIR=$d/rt SYSTEMD_UNIT_PATH=$d/units HOME=$d
  # timeout: a manager left behind by a killed test exits on its own
  # (SIGTERM starts its exit.target).
  bg timeout 120 /lib/systemd/systemd --user --log-target=console --log-level=notice >>"$d/manager.log" 2>&1
  for _ in $(seq 100); do [ -S "$d/rt/systemd/private" ] && break; sleep 0.1; done
  [ -S "$d/rt/systemd/private" ] || fail "the private manager did not start: $(tail -n 5 "$d/manager.log")"
  r=$(check "systemctl --user" driftless-recv "$d/res") || { echo "$r"; systemctl --user exit; exit 1; }
  echo "$r" >"$d/figures"
  systemctl --user exit
  exit 0
fi

need systemctl systemd-analyze
[ "$(id -u)" = 0 ] || skip "not root: the system manager and a private one both need root"
root=$T/root
make -s -C "$TOP" BUILD="${DL_BUILD:-build}" DESTDIR="$root" install >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "make install failed"; }
mkdir -p "$T/res"

if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ] && [ -d /run/systemd/system ]; then
  unit=dltest-recv-$$
  units /run/systemd/system "$unit" "$T/res" ""
  _system_cleanup() {
    systemctl stop "$unit@calm.service" "$unit@stall.service" 2>/dev/null
    rm -rf "/run/systemd/system/$unit@.service" "/run/systemd/system/$unit@.service.d"
    systemctl daemon-reload
    _cleanup
  }
  trap _system_cleanup EXIT
  systemctl daemon-reload || fail "systemctl daemon-reload failed"
  figures=$(check systemctl "$unit" "$T/res") || { echo "$figures"; exit 1; }
  pass "under systemd (PID 1): $figures"
fi

# No systemd as PID 1: a private manager, if this machine lets us make one.
init=$(ps -p 1 -o comm= 2>/dev/null)
[ -x /lib/systemd/systemd ] || skip "systemd is not PID 1 (PID 1: $init) and not installed for a private manager"
need unshare findmnt
[ -n "$(findmnt -rn -t cgroup,cgroup2 -o TARGET)" ] || skip "systemd is not PID 1 (PID 1: $init) and no cgroup file system is mounted"

# Our own cgroup in every hierarchy; remember where we were, to go back.
cg=dltest-$$
declare -A back=()
made=()
while read -r target fstype opts; do
  if [ "$fstype" = cgroup2 ]; then
    path=$(sed -n 's/^0:://p' /proc/self/cgroup)
  else
    path=""
    while IFS=: read -r _ ctl p; do
      [ -n "$ctl" ] || continue
      ok=1
      for c in ${ctl//,/ }; do [[ ",$opts," == *",$c,"* ]] || ok=0; done
      [ $ok = 1 ] && path=$p && break
    done </proc/self/cgroup
    [ -n "$path" ] || continue
  fi
  mkdir "$target/$cg" 2>/dev/null || continue
  # A hierarchy that will not take us (a v1 cpuset without cpus) is left alone.
  if echo $$ >"$target/$cg/cgroup.procs" 2>/dev/null; then
    back[$target]=$path
    made+=("$target/$cg")
  else
    rmdir "$target/$cg"
  fi
done < <(findmnt -rn -t cgroup,cgroup2 -o TARGET,FSTYPE,OPTIONS)
_cgroup_cleanup() {
  local t d p
  for t in "${!back[@]}"; do echo $$ >"$t${back[$t]}/cgroup.procs" 2>/dev/null; done
  for d in "${made[@]}"; do
    # Anything still in our cgroups was started by this test.
    for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$d" ] || break
      sleep 0.2
    done
    [ -d "$d" ] && echo "units_watchdog: could not remove $d"
  done
  _cleanup
}
trap _cgroup_cleanup EXIT
[ ${#made[@]} -gt 0 ] || skip "systemd is not PID 1 (PID 1: $init) and the cgroups are not writable, so no private manager"

d=$T/private
mkdir -p "$d/units" "$d/rt" && chmod 700 "$d/rt"
for t in exit.target systemd-exit.service shutdown.target; do
  [ -f "/usr/lib/systemd/user/$t" ] && cp "/usr/lib/systemd/user/$t" "$d/units/"
done
for t in default basic; do printf '[Unit]\nDescription=private %s.target\n' "$t" >"$d/units/$t.target"; done
# PrivateTmp=, ProtectKernelTunables= and ProtectKernelLogs= need a user
# namespace in a per-user manager (systemd.exec(5)); the system manager
# applies them.
mkdir -p "$d/res"
units "$d/units" driftless-recv "$d/res" "PrivateTmp=no
ProtectKernelTunables=no
ProtectKernelLogs=no"
unshare --mount --propagation private bash "$0" --inside "$d" >"$T/inside.log" 2>&1
rc=$?
cat "$T/inside.log"
[ $rc -eq 0 ] || fail "under the private manager (exit $rc): $(tail -n 3 "$T/inside.log")"
pass "under a private systemd --user manager (systemd is not PID 1 here: $init): $(cat "$d/figures")"
