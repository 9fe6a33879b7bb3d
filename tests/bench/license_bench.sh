#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): Tessera's license server
# against redis doing the same work with the same durability, in the same
# run on the same machine.
#
#   Tessera: POST /v1/sessions (checkout), DELETE /v1/sessions/<id>
#     (check-in) over keep-alive HTTP; every change committed before it is
#     answered (SQLite WAL, synchronous=NORMAL: durable against a crash of
#     the server, the OS writes it out).
#   redis:   redis-server --appendonly yes --appendfsync everysec (durable
#     against a crash of the server, fsync once a second); checkout = one
#     EVALSHA of a Lua script that checks the product's count against its
#     seats, adds the session hash with its lease and increments the
#     count; check-in = one EVALSHA that deletes it and decrements. As
#     Tessera's sessions belong to their holder, the hash keeps the
#     holder's token and the check-in compares it first.
#
# Both driven by tests/bench/checkout_bench.c with the same number of
# concurrent clients (1, 64, 1000), each client one connection doing
# checkout then check-in in a loop. Then the store's commits per second
# and requests per commit, and the server's RSS holding 100000 sessions.
# Last, one line per client count:
#   checkout+checkin clients=64 tessera_pairs_per_s=... redis_pairs_per_s=... ratio=...
# Usage: tests/bench/license_bench.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(bash "$here/tests/bench/build_dir.sh" "${1:-}")
secs=${2:-5}
bash "$here/installer/deps-debian.sh" redis-server redis-tools >&2
work=$(mktemp -d /var/tmp/tessera-lbench-XXXXXX)
chmod 711 "$work"   # as root the bus broker runs as tessera or nobody
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
cc -O2 -pthread -o "$work/checkout_bench" "$here/tests/bench/checkout_bench.c"

port=$(python3 "$here/tests/free_ports.py")
export HOME=$work INOLIC=$work/lic INODIR=$work/params INOHOST=localhost.$port
export ASAN_OPTIONS=detect_leaks=0
"$build/admin/tessera-admin" license issue --demo-key --host localhost \
  --licensee bench --product bench:1000000:2099-12-31 --out "$work/b.lic" >/dev/null
"$build/admin/tessera-admin" license import "$work/b.lic" >/dev/null
ulimit -n "$(ulimit -Hn)"
"$build/server/tesserad" license 2>"$work/server.log" &
pids+=($!)
tpid=$!

rport=$(python3 "$here/tests/free_ports.py" 1)
mkdir -p "$work/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --save '' \
  --appendonly yes --appendfsync everysec --maxclients 4096 \
  --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
# readiness: each answers before any figure is taken
until curl -sf "localhost:$port/health" >/dev/null; do
  kill -0 "$tpid" || { cat "$work/server.log"; exit 1; }; sleep 0.05; done
until redis-cli -p "$rport" ping >/dev/null 2>&1; do sleep 0.05; done

checkout_lua='local used = tonumber(redis.call("GET", KEYS[1]) or "0")
if used >= tonumber(ARGV[1]) then return redis.error_reply("no seat left") end
redis.call("HSET", KEYS[2], "product", ARGV[2], "user", ARGV[3], "host", ARGV[4], "pid", ARGV[5], "application", ARGV[6], "token", ARGV[8])
redis.call("PEXPIRE", KEYS[2], ARGV[7])
redis.call("INCR", KEYS[1])
return 1'
checkin_lua='if redis.call("HGET", KEYS[2], "token") ~= ARGV[1] then return 0 end
redis.call("DEL", KEYS[2])
redis.call("DECR", KEYS[1])
return 1'
sha_out=$(redis-cli -p "$rport" script load "$checkout_lua")
sha_in=$(redis-cli -p "$rport" script load "$checkin_lua")

# A counter of the license server's /metrics.
metric() {
  curl -s "localhost:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "tesserad license (build $(basename "$build")) and redis $(redis-server --version | grep -o 'v=[0-9.]*'), $secs s per run, $(nproc) cores"
summary=()
for c in 1 64 1000; do
  c0=$(metric tessera_session_store_transactions_total)
  r0=$(metric tessera_session_store_requests_total)
  t=$("$work/checkout_bench" "$port" "$c" "$secs")
  c1=$(metric tessera_session_store_transactions_total)
  r1=$(metric tessera_session_store_requests_total)
  r=$("$work/checkout_bench" "$rport" "$c" "$secs" redis "$sha_out,$sha_in")
  tp=$(field pairs_per_s <<<"$t"); rp=$(field pairs_per_s <<<"$r")
  echo "  clients=$c tessera: $t"
  echo "  clients=$c redis:   $r"
  awk -v n="$c" -v k="$((c1 - c0))" -v q="$((r1 - r0))" -v s="$secs" 'BEGIN {
    printf "  clients=%d store: %.0f commits/s, %.1f requests per commit\n",
      n, k / s, k ? q / k : 0 }'
  summary+=("$(awk -v c="$c" -v t="$tp" -v r="$rp" 'BEGIN {
    printf "checkout+checkin clients=%d tessera_pairs_per_s=%.0f redis_pairs_per_s=%.0f ratio=%.2f", c, t, r, r ? t / r : 0 }')")
done

# The two halves alone, for scale: the HTTP layer (one GET /health a
# round) and the session store (no HTTP, one thread).
echo "the HTTP layer alone (no session store):"
echo "  $("$work/checkout_bench" "$port" 64 "$secs" health)"
echo "the session store alone (one thread, no HTTP):"
echo "  $("$build/tests/store_bench" "$work")"

# Leases last 60 s: fill at full speed, measure at once.
echo "filling 100000 open sessions ..."
echo "  $("$work/checkout_bench" "$port" 64 50 hold 100000)"
used=$(curl -s "localhost:$port/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["products"][0]["used"])')
rss=$(awk '/VmRSS/ {print $2}' "/proc/$tpid/status")
echo "sessions open: $used; tesserad RSS: $((rss / 1024)) MB (goal: under 100 MB with 100000)"
printf '%s\n' "${summary[@]}"
