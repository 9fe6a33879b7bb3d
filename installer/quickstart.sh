#!/usr/bin/env bash
# README command 1: install what is needed, build, and run Tessera on its
# embedded defaults: show the effective settings and the port plan, then
# run the license server with its bus and hub in the foreground on loopback
# (Ctrl-C stops it).
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
echo
echo "== tesserad license         (foreground, with its bus on $((port + 1)) and hub on $((port + 2)); Ctrl-C stops it)"
echo "   in another terminal:     curl http://localhost:$port/health"
echo "   check out a seat:        curl -s -H 'Content-Type: application/json' \\"
echo "     -d '{\"product\":\"demo\",\"user\":\"${USER:-$(id -un)}\",\"host\":\"$(hostname)\",\"pid\":$$,\"application\":\"curl\"}' \\"
echo "     http://localhost:$port/v1/sessions"
echo "   the answer has the session's \"id\" and its \"token\", which only you see: keep both"
echo "   seats in use:            curl -s http://localhost:$port/v1/status   (or: $admin status)"
echo "   renew the lease:         curl -s -X PUT -H 'Authorization: Bearer <token>' http://localhost:$port/v1/sessions/<id>/heartbeat"
echo "   check it in again:       curl -s -X DELETE -H 'Authorization: Bearer <token>' http://localhost:$port/v1/sessions/<id>"
echo "   watch the bus:           mosquitto_sub -p $((port + 1)) -t 'tessera/v1/#' -v"
echo "   metrics:                 curl -s http://localhost:$port/metrics"
echo "   its log:                 $INOLIC/logs/license.$port/license.log"
echo "   the server credential:   $INODIR/server.key, made at the first start (model servers, proxies and"
echo "                            project license servers send 'Authorization: Tessera <token>' derived from it)"
exec build/linux/server/tesserad license
