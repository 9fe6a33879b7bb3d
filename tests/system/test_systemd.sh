#!/usr/bin/env bash
# tesserad under a real systemd: boot a Debian 12 root with systemd-nspawn
# (a throwaway overlay over the cached root of installer/systemd-rootfs.sh),
# register the license server with `tessera-admin service install`, and
# check through nsenter and the journal that
#   - the unit becomes active only after tesserad said READY=1 (its
#     "serving on port" line comes before systemd's "Started"),
#   - /health answers while it is active,
#   - `systemctl reload` makes it reload (log reopened) and stay active,
#   - stderr lines reach the journal with their priority, not as "<6>",
#   - the bus runs as a service of its own (tessera-bus) and the license
#     server's retained state reaches it (read with mosquitto_sub),
#   - an agent runs as a service (tessera-agent) and reports to it,
#   - the notification service and the proxy run as services
#     (tessera-notify, tessera-proxy) and are listed as the machine's,
#   - `systemctl stop` stops it cleanly, and uninstall removes the unit.
# Needs root. Usage: test_systemd.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/../.." && pwd)
# Inside the container the build tree is bound read-only at /opt/tessera:
# a fixed path outside /tmp and /home, which the unit's PrivateTmp= and
# ProtectHome= would hide wherever the tree lives on the host.
admin=/opt/tessera/admin/tessera-admin
tesserad=/opt/tessera/server/tesserad

pass=0 fail=0
check() {  # description command...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   - $what"
  else fail=$((fail + 1)); echo "FAIL - $what"; fi
}

root=$(bash "$here/installer/systemd-rootfs.sh" | tail -1)
machine=tessera-test-$$
log=$(mktemp)
# Share the host's network (loopback only is used).
systemd-nspawn -D "$root" -b --register=no --keep-unit --volatile=overlay \
  --machine="$machine" --bind-ro="$build:/opt/tessera" -q </dev/null \
  >"$log" 2>&1 &
nspawn=$!
leader=
cleanup() {
  [ -n "$leader" ] && in_ct systemctl poweroff >/dev/null 2>&1 || true
  for _ in $(seq 50); do kill -0 $nspawn 2>/dev/null || break; sleep 0.1; done
  kill $nspawn 2>/dev/null || true
  wait $nspawn 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT
in_ct() {
  nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root "$@"
}

for _ in $(seq 100); do
  leader=$(pgrep -P $nspawn -x systemd || true)
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || { cat "$log"; echo "Bail out! the container did not boot"; exit 1; }
for _ in $(seq 150); do
  state=$(in_ct systemctl is-system-running 2>/dev/null || true)
  case $state in running|degraded) break;; esac
  sleep 0.2
done
check "systemd in the container is up ($state)" \
  test "$state" = running -o "$state" = degraded

port=$(python3 "$here/tests/free_ports.py")
check "env set INOHOST for all users" \
  in_ct "$admin" env set INOHOST "127.0.0.1.$port" --scope all
install_out=$(in_ct "$admin" service install license --program "$tesserad" 2>&1) \
  && installed=1 || installed=0
echo "$install_out"
check "service install license" test "$installed" = 1
check "install names the bus service still to install" \
  sh -c "echo \"\$1\" | grep -q 'service install bus'" _ "$install_out"
check "unit is active" test "$(in_ct systemctl is-active tessera-license)" = active

journal() { in_ct journalctl -q -o cat --no-pager "$@"; }
order=$(in_ct journalctl -q --no-pager -o cat _PID=1 -u tessera-license \
          + _SYSTEMD_UNIT=tessera-license.service 2>/dev/null \
        | grep -n -E 'serving on port|Started' || true)
serving_line=$(echo "$order" | grep "serving on port" | head -1 | cut -d: -f1 || true)
started_line=$(echo "$order" | grep Started | head -1 | cut -d: -f1 || true)
check "READY came before systemd marked the unit started" \
  test -n "$serving_line" -a -n "$started_line" -a "${serving_line:-0}" -lt "${started_line:-0}"
check "/health answers while active" \
  sh -c "curl -sf http://127.0.0.1:$port/health | grep -q '\"status\":\"ok\"'"
status_running() { in_ct "$admin" service status license | grep -q running; }
in_ct "$admin" service status license --json || true
check "status says running" status_running

check "systemctl reload" in_ct systemctl reload tessera-license
for _ in $(seq 50); do
  journal -u tessera-license | grep -q 'log file reopened' && break
  sleep 0.1
done
in_journal() { journal -u tessera-license | grep -q "$1"; }
check "the reload reopened the log" in_journal 'log file reopened'
check "still active after the reload" test "$(in_ct systemctl is-active tessera-license)" = active
priorities_parsed() {
  journal -u tessera-license -p info | grep -q 'serving on port' &&
    ! journal -u tessera-license | grep -q '^<[0-9]>'
}
check "journal has info lines with their priority, no '<6>' prefix" \
  priorities_parsed
check "the unit runs as the dedicated user" \
  test "$(in_ct systemctl show -p User --value tessera-license)" = tessera

# Under systemd the bus is a service of its own (`tesserad bus`): the
# license unit (--service) starts no broker of its own; it connects to the
# bus service and keeps its state there (retained).
no_broker() { ! in_ct sh -c 'cat /proc/[0-9]*/comm' 2>/dev/null | grep -qx mosquitto; }
check "the license unit runs no broker" no_broker
check "service install bus" \
  in_ct "$admin" service install bus --program "$tesserad"
check "bus unit is active" test "$(in_ct systemctl is-active tessera-bus)" = active
bus_state() {  # the host shares the container's network
  mosquitto_sub -h 127.0.0.1 -p $((port + 1)) -t tessera/v1/license/state \
    -C 1 -W 3 2>/dev/null
}
for _ in $(seq 30); do bus_state | grep -q '"state":"up"' && break; sleep 0.5; done
check "the license server says it is up on the bus service" \
  sh -c "mosquitto_sub -h 127.0.0.1 -p $((port + 1)) -t tessera/v1/license/state -C 1 -W 3 | grep -q '\"state\":\"up\"'"
check "systemctl stop bus" in_ct systemctl stop tessera-bus
check "service uninstall bus" in_ct "$admin" service uninstall bus

# The agent as a service of a model-server machine (its model servers are
# its children): over the project directory INOPRJ, which the service
# account gets to own; it answers on p+3 and reports to the license server.
check "project init" in_ct "$admin" project init
check "service install agent" \
  in_ct "$admin" service install agent --program "$tesserad"
check "agent unit is active" test "$(in_ct systemctl is-active tessera-agent)" = active
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$((port + 3))/health" >/dev/null && break
  sleep 0.1
done
check "the agent answers on p+3" \
  sh -c "curl -sf http://127.0.0.1:$((port + 3))/health | grep -q '\"status\":\"ok\"'"
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/v1/agents" | grep -q "\"port\":$((port + 3))" && break
  sleep 0.2
done
check "the license server lists the agent" \
  sh -c "curl -sf http://127.0.0.1:$port/v1/agents | grep -q '\"port\":$((port + 3))'"
check "the agent unit runs as the dedicated user" \
  test "$(in_ct systemctl show -p User --value tessera-agent)" = tessera
check "systemctl stop agent" in_ct systemctl stop tessera-agent
check "service uninstall agent" in_ct "$admin" service uninstall agent

# The notification service (p+4) and the proxy (p+5) of a machine: each a
# unit of its own, running as the dedicated user, registered with the
# license server as that machine's services.
for role in notify proxy; do
  rport=$((port + 4)); [ "$role" = proxy ] && rport=$((port + 5))
  check "service install $role" \
    in_ct "$admin" service install "$role" --program "$tesserad"
  check "$role unit is active" \
    test "$(in_ct systemctl is-active "tessera-$role")" = active
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$rport/health" >/dev/null && break
    sleep 0.1
  done
  check "the $role answers on port $rport" \
    sh -c "curl -sf http://127.0.0.1:$rport/health | grep -q '\"status\":\"ok\"'"
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/v1/status" \
      | grep -q "\"kind\":\"$role\",\"host\":\"[^\"]*\",\"port\":$rport" && break
    sleep 0.2
  done
  check "the license server lists the $role of the machine" \
    sh -c "curl -sf http://127.0.0.1:$port/v1/status | grep -q '\"kind\":\"$role\",\"host\":\"[^\"]*\",\"port\":$rport'"
  check "the $role unit runs as the dedicated user" \
    test "$(in_ct systemctl show -p User --value "tessera-$role")" = tessera
  check "systemctl stop $role" in_ct systemctl stop "tessera-$role"
  check "service uninstall $role" in_ct "$admin" service uninstall "$role"
done

check "systemctl stop" in_ct systemctl stop tessera-license
check "unit is inactive after stop" \
  test "$(in_ct systemctl is-active tessera-license || true)" = inactive
check "tesserad logged its stop" in_journal 'stopped'
check "service uninstall" in_ct "$admin" service uninstall license
check "no unit file after uninstall" \
  test ! -e "$root/etc/systemd/system/tessera-license.service" -a \
       "$(in_ct systemctl show -p LoadState --value tessera-license)" = not-found

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
