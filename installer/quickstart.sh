#!/usr/bin/env bash
# README command 1: install what is needed, build, and run Tessera on its
# embedded defaults: show the effective settings and the port plan, then
# run the license server with its bus and hub in the foreground on loopback
# with an agent over a demo project directory and one running model
# version, the notification service and the proxy; show an element read
# through the proxy and the version's start on an SSE stream (Ctrl-C
# stops them).
# Its license directory defaults to build/demo/license here (and the
# server credential to build/demo/params), so nothing is written outside
# the work tree unless INOLIC says otherwise (or, as root, the bus
# broker's account cannot enter the work tree: /var/lib/tessera-demo).
set -euo pipefail
cd "$(dirname "$0")/.."

bash installer/deps-debian.sh
cmake --preset linux >/dev/null
cmake --build --preset linux

admin=build/linux/admin/tessera-admin
demo=$PWD/build/demo
if [ "$(id -u)" = 0 ] && [ -z "${INOLIC:-}" ]; then
  # As root, the bus broker runs as tessera (or nobody), never as root, and
  # must reach INOLIC: a work tree it cannot enter (one under /root) keeps
  # the demo in /var/lib/tessera-demo instead.
  acct=$(id -u tessera >/dev/null 2>&1 && echo tessera || echo nobody)
  if ! setpriv --reuid="$acct" --regid="$(id -g "$acct")" --init-groups \
       test -x "$PWD/build"; then
    demo=/var/lib/tessera-demo
    echo "note: $acct (the bus broker's account) cannot enter $PWD/build; the demo lives in $demo"
  fi
fi
export INOLIC=${INOLIC:-$demo/license}
export INODIR=${INODIR:-$demo/params}   # the server credential server.key
echo
echo "== tessera-admin env show   (the effective architecture settings)"
"$admin" env show
echo
echo "== tessera-admin ports      (the port plan derived from INOHOST)"
"$admin" ports
port=$("$admin" env get INOHOST | sed 's/.*\.//')
host=$("$admin" env get INOHOST | sed 's/\.[0-9]*$//')
echo
echo "== the demo license         (signed with the published demo key for $host)"
mkdir -p "$INOLIC" "$demo"
if ! "$admin" license show >/dev/null 2>&1; then
  "$admin" license issue --demo-key --host "$host" --licensee "Tessera demo" \
    --product demo:10:2099-12-31 --out "$demo/demo.lic"
  "$admin" license import "$demo/demo.lic"
fi
"$admin" license show
echo
echo "== tessera.xml              (minimal blueprint: listen on loopback only)"
[ -f "$INOLIC/tessera.xml" ] || cp config/blueprints/tessera-minimal.xml "$INOLIC/tessera.xml"
build/linux/server/tesserad license --check
export INOPRJ=${INOPRJ:-$demo/projects}
# a second shell sees this demo installation after `. build/demo/environment`
cat > "$demo/environment" <<ENV
export INOLIC='$INOLIC' INODIR='$INODIR' INOPRJ='$INOPRJ'
ENV
pwfile=$demo/admin-password     # the demo's administrator password
[ -s "$pwfile" ] || (umask 077; head -c 12 /dev/urandom | base64 | tr -d '/+=' > "$pwfile")
if [ ! -s "$INOLIC/admin.passwd" ]; then
  printf '%s\n%s\n' "$(cat "$pwfile")" "$(cat "$pwfile")" \
    | "$admin" license passwd --stdin >/dev/null
fi
"$admin" project init >/dev/null

pids=()
stop_all() { kill "${pids[@]}" 2>/dev/null; wait; }
trap stop_all INT TERM EXIT
wait_for() {  # wait_for PORT WHAT LOG
  for _ in $(seq 100); do
    curl -fs "http://localhost:$1/health" >/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "quickstart: $2 did not start; its log: $3" >&2; exit 1
}
echo
echo "== tesserad license         (its bus on $((port + 1)), hub on $((port + 2)))"
build/linux/server/tesserad license & pids+=($!)
wait_for "$port" "the license server" "$INOLIC/logs/license.$port/license.log"
agent_port=$("$admin" env get INOAGENTPORT 2>/dev/null || echo $((port + 3)))
echo
echo "== tesserad agent           (port $agent_port, project directory $INOPRJ)"
build/linux/server/tesserad agent & pids+=($!)
wait_for "$agent_port" "the agent" "$INOPRJ/ivm/logs"
echo
echo "== tesserad notify          (the notification service on $((port + 4)): the bus as Server-Sent Events)"
build/linux/server/tesserad notify & pids+=($!)
wait_for "$((port + 4))" "the notification service" "$INOPRJ/inonotify"
echo
echo "== tesserad proxy           (the proxy on $((port + 5)): one port for every model server here)"
build/linux/server/tesserad proxy & pids+=($!)
wait_for "$((port + 5))" "the proxy" "$INOPRJ/ivm/logs/proxy.*/proxy.log"
models() { "$admin" models --password-stdin --as demo "$@" < "$pwfile"; }
echo
echo "== the demo model           (bridge: product demo, one version with a few elements)"
models define bridge --product demo --check 'v[0-9]+' --proposal 'v$(YYYY)$(MM)$(DD)'
[ -d "$INOPRJ/ivr/bridge/v1" ] || models create bridge v1
# a subscriber of the notification service sees the version start
events=$demo/events.txt
curl -sN "http://localhost:$((port + 4))/v1/events?topic=versions/%23" > "$events" & sse=$!
for _ in $(seq 50); do [ -s "$events" ] && break; sleep 0.1; done   # the stream is open
models start bridge/v1 || true
mport=$("$admin" models list --json | python3 -c '
import json, sys
for v in json.load(sys.stdin)["versions"]:
    if v["model"] == "bridge" and v["version"] == "v1": print(v.get("port") or "")')
[ -n "$mport" ] || { echo "quickstart: bridge/v1 does not run; see $INOPRJ/ivr/bridge/v1/srv.log" >&2; exit 1; }
session=$(curl -fs -H 'Content-Type: application/json' -d '{"user":"demo","host":"quickstart","pid":1,"application":"quickstart"}' "http://localhost:$mport/v1/sessions")
sid=$(echo "$session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
token=$(echo "$session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
if [ "$(curl -fs -H "Authorization: Bearer $token" "http://localhost:$mport/v1/elements?limit=1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["elements"]))')" = 0 ]; then
  for e in '{"type":"span","name":"north span","properties":{"length_m":120}}' \
           '{"type":"span","name":"south span","properties":{"length_m":95}}' \
           '{"type":"pier","name":"pier 1","properties":{"height_m":31}}'; do
    curl -fs -H 'Content-Type: application/json' -H "Authorization: Bearer $token" -d "$e" "http://localhost:$mport/v1/elements" >/dev/null
  done
fi
echo
echo "== one element read through the proxy   (curl -p -x localhost:$((port + 5)) http://bridge/v1/elements/1)"
curl -fs -p -x "localhost:$((port + 5))" -H "Authorization: Bearer $token" http://bridge/v1/elements/1
echo
curl -fs -X DELETE -H "Authorization: Bearer $token" "http://localhost:$mport/v1/sessions/$sid" >/dev/null
echo
echo "== the SSE stream saw the start          (curl -N http://localhost:$((port + 4))/v1/events?topic=versions/%23)"
for _ in $(seq 50); do grep -q '"state":"running"' "$events" && break; sleep 0.1; done
kill "$sse" 2>/dev/null; wait "$sse" 2>/dev/null || true
grep -v '^:' "$events" | grep . || true
echo
"$admin" models list
echo
echo "== running: the license server on $port, the agent on $agent_port, the notification service on $((port + 4)), the proxy on $((port + 5)), bridge/v1's model server on $mport; Ctrl-C stops them"
echo "   in another shell, first:  . $demo/environment     (then tessera-admin status, doctor, models list see this demo)"
echo "   the administrator's password of this demo is in $pwfile"
echo "   open a session on bridge/v1 (takes a seat of demo):"
echo "     curl -s -H 'Content-Type: application/json' -d '{\"user\":\"${USER:-$(id -un)}\",\"host\":\"$(hostname)\",\"pid\":$$,\"application\":\"curl\"}' http://localhost:$mport/v1/sessions"
echo "   the answer has the session's \"id\" and its \"token\"; then read the elements and one of them:"
echo "     curl -s -H 'Authorization: Bearer <token>' http://localhost:$mport/v1/elements"
echo "     curl -s -H 'Authorization: Bearer <token>' http://localhost:$mport/v1/elements/1"
echo "   the same through the proxy (one port for every model server of this machine):"
echo "     curl -s -p -x localhost:$((port + 5)) -H 'Authorization: Bearer <token>' http://bridge/v1/elements/1"
echo "   watch versions start and stop, and elements change (Server-Sent Events; Ctrl-C ends it):"
echo "     curl -N 'http://localhost:$((port + 4))/v1/events?topic=versions/%23&topic=models/%23'"
echo "   end the session (frees the seat):  curl -s -X DELETE -H 'Authorization: Bearer <token>' http://localhost:$mport/v1/sessions/<id>"
echo "   a license seat directly:   curl -s -H 'Content-Type: application/json' \\"
echo "     -d '{\"product\":\"demo\",\"user\":\"${USER:-$(id -un)}\",\"host\":\"$(hostname)\",\"pid\":$$,\"application\":\"curl\"}' \\"
echo "     http://localhost:$port/v1/sessions"
echo "   seats in use:              curl -s http://localhost:$port/v1/status   (or: $admin status)"
echo "   watch the bus:             mosquitto_sub -p $((port + 1)) -t 'tessera/v1/#' -v"
echo "   metrics:                   curl -s http://localhost:$port/metrics"
echo "   logs:                      $INOLIC/logs/license.$port/license.log, $INOPRJ/ivm/logs/agent.*/agent.log, $INOPRJ/ivr/bridge/v1/srv.log,"
echo "                              $INOPRJ/ivm/logs/proxy.*/proxy.log, $INOPRJ/inonotify/*/logs/notify.*.log"
wait "${pids[0]}"
