#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): the proxy (tesserad proxy,
# p+5) side by side with HAProxy in mode tcp, in the same run on the same
# machine, both forwarding to the same targets of tests/bench/proxy_bench.c
# (a sink, a source and an echo on one epoll thread, registered with a real
# license server as model servers of this machine, as a model server
# registers). Loopback only.
#
# HAProxy runs with one thread (nbthread 1; HAPROXY_THREADS=N for more):
# the proxy serves every tunnel on one event-loop thread, so both get one
# core for forwarding.
# The proxy's tunnels start with `CONNECT <name>:80` and its 200; HAProxy's
# connections go straight to their target (mode tcp needs no handshake),
# so the connection rate carries one round trip more through the proxy.
#
# 1. 10,000 concurrent idle tunnels through the proxy, first (a fresh
#    proxy): its RSS (VmRSS) before and with them open; HAProxy's with as
#    many connections beside. Goal: under 64 MB.
# 2. Throughput: 4 connections streaming 64 KiB writes to the sink (up)
#    and reading from the source (down) for SECONDS each. Goal: the proxy
#    >= 0.9x HAProxy.
# 3. Connection rate: 8 threads each connecting, sending one byte to the
#    echo and reading it back, closing, for SECONDS.
# Last, one line per figure:
#   proxy: throughput up 812 MB/s (haproxy 850 MB/s, 0.96x)
# Usage: tests/bench/proxy_bench.sh [BUILD_DIR] [SECONDS] [TUNNELS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(bash "$here/tests/bench/build_dir.sh" "${1:-}")
secs=${2:-5}
tunnels=${3:-10000}
bench=$build/tests/proxy_bench
work=$(mktemp -d /var/tmp/tessera-pbench-XXXXXX)
chmod 711 "$work"   # as root the bus broker runs as tessera or nobody
pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# two descriptors per tunnel in the proxy, and the targets' and clients'
ulimit -Hn 200000 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
# the proxy keeps 128 descriptors for itself (ts_role_proxy.c)
fit=$(( ($(ulimit -n) - 128 - 64) / 2 ))
if [ "$fit" -lt "$tunnels" ]; then
  echo "note: the open-files limit here is $(ulimit -n) (hard; raising it needs CAP_SYS_RESOURCE): $fit tunnels fit in one proxy, not $tunnels; measuring $fit"
  tunnels=$fit
fi

port=$(python3 "$here/tests/free_ports.py" 6)
targets=$(python3 "$here/tests/free_ports.py" 6)
sink=$targets source=$((targets + 1)) echo=$((targets + 2))
hsink=$((targets + 3)) hsource=$((targets + 4)) hecho=$((targets + 5))
pport=$((port + 5))
export HOME=$work INOLIC=$work/lic INODIR=$work/params INOHOST=localhost.$port
export ASAN_OPTIONS=detect_leaks=0
mkdir -p "$INOLIC"
cat >"$INOLIC/tessera.xml" <<EOF
<tessera xmlns="urn:tessera:config:1">
  <listen address="127.0.0.1"/>
  <license-server>
    <model-servers probe-seconds="3600" gone-after-seconds="86400"/>
  </license-server>
  <machine name="localhost"/>
</tessera>
EOF
admin=$build/admin/tessera-admin
"$admin" license issue --demo-key --host localhost --licensee bench \
  --product bench:10:2099-12-31 --out "$work/b.lic" >/dev/null
"$admin" license import "$work/b.lic" >/dev/null
wait_health() {   # PORT PID ERRFILE
  until curl -sf "127.0.0.1:$1/health" >/dev/null; do
    kill -0 "$2" 2>/dev/null || { cat "$3"; exit 1; }; sleep 0.05; done
}
"$build/server/tesserad" license 2>"$work/license.err" &
pids+=($!); wait_health "$port" $! "$work/license.err"
"$bench" serve "$targets" &
pids+=($!)
until (exec 3<>"/dev/tcp/127.0.0.1/$echo") 2>/dev/null; do sleep 0.05; done
for t in sink:$sink source:$source echo:$echo; do
  "$bench" register "$port" "$INODIR" "${t%%:*}" "${t##*:}"
done
"$build/server/tesserad" proxy 2>"$work/proxy.err" &
ppid=$!
pids+=($ppid); wait_health "$pport" "$ppid" "$work/proxy.err"

cat >"$work/haproxy.cfg" <<EOF
global
  maxconn $((tunnels + 40))
  nbthread ${HAPROXY_THREADS:-1}
defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s
listen sink
  bind 127.0.0.1:$hsink
  server t 127.0.0.1:$sink
listen source
  bind 127.0.0.1:$hsource
  server t 127.0.0.1:$source
listen echo
  bind 127.0.0.1:$hecho
  server t 127.0.0.1:$echo
EOF
haproxy -f "$work/haproxy.cfg" -db 2>"$work/haproxy.err" &
hpid=$!
pids+=($hpid)
until (exec 3<>"/dev/tcp/127.0.0.1/$hecho") 2>/dev/null; do
  kill -0 "$hpid" || { cat "$work/haproxy.err"; exit 1; }; sleep 0.05; done

rss() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$1/status"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
echo "tesserad proxy (build $(basename "$build")) vs $(haproxy -v | head -1 | cut -d' ' -f1-3) (nbthread ${HAPROXY_THREADS:-1}), $secs s per run, $(nproc) cores"
echo "load at the start:$(uptime | sed 's/.*load average: */ /')"

lines=()
before=$(rss "$ppid")
"$bench" idle "$pport" echo "$tunnels" >"$work/idle.out" &
ipid=$!
pids+=($ipid)
until grep -q ready "$work/idle.out"; do
  kill -0 "$ipid" || { echo "idle tunnels failed" >&2; exit 1; }; sleep 0.2; done
open=$(awk '/ready/ { print $2 }' "$work/idle.out")
with=$(rss "$ppid")
hbefore=$(rss "$hpid")
"$bench" idle "$hecho" - "$open" >"$work/hidle.out" &
hipid=$!
pids+=($hipid)
until grep -q ready "$work/hidle.out"; do
  kill -0 "$hipid" || { echo "haproxy idle failed" >&2; exit 1; }; sleep 0.2; done
hwith=$(rss "$hpid")
per=$(awk -v a="$with" -v b="$before" -v n="$open" 'BEGIN { printf "%.1f", n ? (a - b) * 1024 / n : 0 }')
at10k=$(awk -v a="$with" -v b="$before" -v n="$open" 'BEGIN { printf "%.0f", n ? b + (a - b) * 10000 / n : 0 }')
lines+=("proxy: $open idle tunnels: RSS $with MB (before them $before MB, $per KiB a tunnel, about $at10k MB at 10,000; goal < 64 MB; haproxy $hwith MB with $open connections, $hbefore MB before)")
echo "${lines[-1]}"
# the idle tunnels and connections end before the throughput runs
kill "$ipid" "$hipid"; wait "$ipid" "$hipid" 2>/dev/null || true
until [ "$(curl -s "127.0.0.1:$pport/metrics" | awk '/^tessera_proxy_tunnels_open / { print $2 }')" = 0 ]; do sleep 0.2; done
for dir in up down; do
  name=sink hp=$hsink
  [ $dir = down ] && name=source hp=$hsource
  p=$("$bench" throughput "$pport" $name $dir 4 "$secs")
  h=$("$bench" throughput "$hp" - $dir 4 "$secs")
  lines+=("proxy: throughput $dir $p MB/s (haproxy $h MB/s, $(ratio "$p" "$h")x)")
  echo "${lines[-1]}"
done
p=$("$bench" rate "$pport" echo 8 "$secs")
h=$("$bench" rate "$hecho" - 8 "$secs")
lines+=("proxy: connection rate $p/s (haproxy $h/s, $(ratio "$p" "$h")x; the proxy's include CONNECT and its 200)")
echo "${lines[-1]}"

echo
printf '%s\n' "${lines[@]}"
