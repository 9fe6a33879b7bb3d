#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): the notification service's
# event stream (tesserad notify, p+4) with N subscribers on
# GET /v1/events, beside N MQTT subscribers of the bus broker itself
# (mosquitto on p+1), in the same run on the same machine, loopback only.
#
# A real license server starts with its bus (demo license, tessera.xml
# listening on 127.0.0.1), then tesserad notify. tests/bench/notify_bench.c
# opens N subscribers in one thread (epoll) — SSE streams filtered on
# bench/x, then, in a second run, MQTT 3.1.1 clients subscribed to
# tessera/v1/bench/x — and publishes ROUNDS messages on that topic as
# Tessera's servers do, each once every subscriber got the one before.
# The latency of a message at a subscriber is its arrival minus its
# publication; p50 and p99 are over every (subscriber, message). An SSE
# event travels publisher -> mosquitto -> tesserad notify (its bus
# thread, then its event loop) -> subscriber; an MQTT one publisher ->
# mosquitto -> subscriber. Goal: the service's p99 <= 1.5x the broker's.
# The open-files limit is raised to the hard limit (N subscribers need N
# descriptors in the client, the service and the broker; 127.0.0.2..5
# are the clients' addresses, so no one address holds more than the
# service's per-client share).
#
# Last, one line:
#   notify: 10000 SSE subscribers: p50 12.3 ms p99 25.1 ms (mosquitto 10000 subscribers: p50 ... p99 ..., 1.2x)
# Usage: tests/bench/notify_bench.sh [BUILD_DIR] [SUBSCRIBERS] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(bash "$here/tests/bench/build_dir.sh" "${1:-}")
n=${2:-10000}
rounds=${3:-20}
bench=$build/tests/notify_bench
work=$(mktemp -d /var/tmp/tessera-nbench-XXXXXX)
chmod 711 "$work"   # as root the bus broker runs as tessera or nobody
pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

ulimit -n "$(ulimit -Hn)"
need=$((n + 1000))
[ "$(ulimit -n)" -ge "$need" ] || {
  echo "notify_bench: the open-files limit ($(ulimit -n)) is below $need: raise the hard limit (ulimit -Hn)" >&2
  exit 69; }

port=$(python3 "$here/tests/free_ports.py" 6)
export HOME=$work INOLIC=$work/lic INODIR=$work/params INOHOST=localhost.$port
export INONOTIFY=$work/notify ASAN_OPTIONS=detect_leaks=0
mkdir -p "$INOLIC"
cat >"$INOLIC/tessera.xml" <<EOF
<tessera xmlns="urn:tessera:config:1">
  <listen address="127.0.0.1"/>
  <events heartbeat-seconds="60"/>
</tessera>
EOF
"$build/admin/tessera-admin" license issue --demo-key --host localhost \
  --licensee bench --product bench:10:2099-12-31 --out "$work/b.lic" >/dev/null
"$build/admin/tessera-admin" license import "$work/b.lic" >/dev/null
wait_health() {   # PORT PID ERRFILE
  until curl -sf "127.0.0.1:$1/health" >/dev/null; do
    kill -0 "$2" 2>/dev/null || { cat "$3"; exit 1; }; sleep 0.05; done
}
"$build/server/tesserad" license 2>"$work/license.err" &
pids+=($!)
wait_health "$port" $! "$work/license.err"
"$build/server/tesserad" notify 2>"$work/notify.err" &
npid=$!
pids+=($npid)
wait_health $((port + 4)) $npid "$work/notify.err"
broker=$(pgrep -f "mosquitto -c $INOLIC/logs/bus.$((port + 1))/" | head -1)

echo "tesserad notify (build $(basename "$build")), $n subscribers, $rounds messages, $(nproc) cores"
echo "load at the start:$(uptime | sed 's/.*load average: */ /')"
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
rss() { awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$1/status"; }

sse=$("$bench" sse $((port + 4)) "$n" "$rounds" $((port + 1)) "$INODIR/server.key")
echo "  SSE  (tesserad notify, RSS $(rss $npid) after): $sse"
subs=$(curl -s "127.0.0.1:$((port + 4))/metrics" | awk '$1 == "tessera_notify_dropped_slow_total" {print $2}')
echo "  subscribers dropped as too slow: ${subs:-?}"
mq=$("$bench" mqtt $((port + 1)) "$n" "$rounds" $((port + 1)) "$INODIR/server.key")
echo "  MQTT (mosquitto${broker:+, RSS $(rss "$broker") after}): $mq"

awk -v n="$n" -v s50="$(field p50_ms <<<"$sse")" -v s99="$(field p99_ms <<<"$sse")" \
    -v m50="$(field p50_ms <<<"$mq")" -v m99="$(field p99_ms <<<"$mq")" 'BEGIN {
  printf "notify: %d SSE subscribers: p50 %.1f ms p99 %.1f ms (mosquitto %d subscribers: p50 %.1f ms p99 %.1f ms, %.2fx)\n",
    n, s50, s99, n, m50, m99, (m99 > 0 ? s99 / m99 : 0) }'
