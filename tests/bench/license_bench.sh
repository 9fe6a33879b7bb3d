#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): checkout + check-in pairs
# against the license server over keep-alive connections at 1, 64 and 1000
# concurrent clients, every session committed before it is answered
# (SQLite WAL, synchronous=NORMAL, group commit), beside redis-benchmark's
# INCR rate against a redis-server started on loopback in the same run;
# then the server's RSS holding 100000 open sessions. Usage: tests/bench/license_bench.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(bash "$here/tests/bench/build_dir.sh" "${1:-}")
secs=${2:-5}
bash "$here/installer/deps-debian.sh" redis-server redis-tools >&2
work=$(mktemp -d /var/tmp/tessera-lbench-XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
cc -O2 -pthread -o "$work/checkout_bench" "$here/tests/bench/checkout_bench.c"

port=$(python3 "$here/tests/free_ports.py")
export HOME=$work INOLIC=$work/lic INOHOST=localhost.$port ASAN_OPTIONS=detect_leaks=0
"$build/admin/tessera-admin" license issue --demo-key --host localhost \
  --licensee bench --product bench:1000000:2099-12-31 --out "$work/b.lic" >/dev/null
"$build/admin/tessera-admin" license import "$work/b.lic" >/dev/null
ulimit -n "$(ulimit -Hn)"
"$build/server/tesserad" license 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.05; done

rport=$(python3 "$here/tests/free_ports.py" 1)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no >/dev/null 2>&1 &
pids+=($!)
sleep 0.5

echo "tesserad license (build $(basename "$build")), $secs s per run:"
for c in 1 64 1000; do
  "$work/checkout_bench" "$port" "$c" "$secs"
  r=$(redis-benchmark -h 127.0.0.1 -p "$rport" -t incr -c "$c" -n 200000 -q \
        2>/dev/null | tr '\r' '\n' | grep -o 'INCR: [0-9.]* requests per second' | tail -1)
  echo "  redis-benchmark, $c clients: $r"
done

# The two halves alone, for scale: the HTTP layer (one GET /health a
# round) and the session store (no HTTP, one thread).
echo "the HTTP layer alone (no session store):"
"$work/checkout_bench" "$port" 64 "$secs" health
"$build/tests/store_bench" "$work"

# Leases last 60 s, so fill for 50 s and measure at once.
echo "filling sessions for 50 s (goal: 100000 open) ..."
"$work/checkout_bench" "$port" 64 50 hold
used=$(curl -s "localhost:$port/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["products"][0]["used"])')
rss=$(awk '/VmRSS/ {print $2}' "/proc/${pids[0]}/status")
echo "sessions open: $used; tesserad RSS: $((rss / 1024)) MB (goal: under 100 MB with 100000)"
