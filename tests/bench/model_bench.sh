#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): a model server (tesserad
# model) serving a version of 100000 elements, beside a real license
# server (demo license, a seat per session), against SQLite alone doing
# the same work with the same durability, in the same run on the same
# machine. Loopback only.
#
# 1. Start: the repository is made by tests/bench/model_bench.c (`fill`:
#    ts_repo_create, then one SQLite transaction of 100000 INSERTs into
#    the repository's own elements table). Then, three times, the time
#    from launching `tesserad model REPO` until GET /health answers 200
#    on its port (p+6), and until its record in INOPRJ/ivm/modelservers
#    exists (registered with the license server and on the bus: found by
#    clients), its own figure for reading the elements (srv.log), and its
#    RSS (VmRSS) at that moment. Goal: under 1 s.
# 2. Throughput at 1 and 64 clients (threads, one keep-alive connection
#    and one session each): element reads (GET /v1/elements/<random id>)
#    and durable writes (PUT /v1/elements/<the client's own element> with
#    its revision; answered once committed: WAL, synchronous=FULL) per
#    second; beside them SQLite alone on a copy of the same repository
#    file (same schema), one connection per client with the same
#    settings: the SELECT of one element by id, and the model server's
#    UPDATE of one element as its own committed transaction. Goal: the
#    model server >= 0.5x SQLite alone for both. For scale, GET /health
#    at the same client count: what one HTTP request costs on this
#    machine without any model server work.
# Last, one line per figure:
#   model server: 64 clients: 12345 reads/s (SQLite alone: 23456/s, 0.53x)
# Usage: tests/bench/model_bench.sh [BUILD_DIR] [SECONDS] [ELEMENTS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(bash "$here/tests/bench/build_dir.sh" "${1:-}")
secs=${2:-5}
n=${3:-100000}
bench=$build/tests/model_bench
work=$(mktemp -d /var/tmp/tessera-mbench-XXXXXX)
chmod 711 "$work"   # as root the bus broker runs as tessera or nobody
pids=()   # the license server first, then the model servers
cleanup() {
  # the model server first: it unregisters from the license server
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 "$here/tests/free_ports.py" 8)   # p..p+7: p+6 the model's
mport=$((port + 6))
export HOME=$work INOLIC=$work/lic INODIR=$work/params INOHOST=localhost.$port
export INOPRJ=$work/prj ASAN_OPTIONS=detect_leaks=0
mkdir -p "$INOLIC" "$INOPRJ"
cat >"$INOLIC/tessera.xml" <<EOF
<tessera xmlns="urn:tessera:config:1">
  <listen address="127.0.0.1"/>
  <machine name="localhost"/>
  <model-servers max="2"/>
</tessera>
EOF
"$build/admin/tessera-admin" license issue --demo-key --host localhost \
  --licensee bench --product bench:1000000:2099-12-31 --out "$work/b.lic" >/dev/null
"$build/admin/tessera-admin" license import "$work/b.lic" >/dev/null
ulimit -n "$(ulimit -Hn)"
"$build/server/tesserad" license 2>"$work/license.err" &
pids+=($!)
lpid=$!
until curl -sf "localhost:$port/health" >/dev/null; do
  kill -0 "$lpid" || { cat "$work/license.err"; exit 1; }; sleep 0.05; done

echo "tesserad model (build $(basename "$build")), $secs s per run, $(nproc) cores"
echo "load at the start:$(uptime | sed 's/.*load average: */ /')"
repo=$INOPRJ/ivr/bench/v1
mkdir -p "$repo" "$work/alone"
echo "repository made: $("$bench" fill "$repo" "$n" bench); ts_repo_create, then one transaction of INSERTs"
cp "$repo/repository.db" "$work/alone/repository.db"
record=$INOPRJ/ivm/modelservers/localhost.$mport.json

# Start, three times; the last one stays for the throughput.
summary=()
for run in 1 2 3; do
  t0=$EPOCHREALTIME
  "$build/server/tesserad" model "$repo" 2>>"$work/model.err" &
  mpid=$!
  pids+=("$mpid")
  t=$("$bench" health "$mport" "$record" 30) || { cat "$work/model.err"; exit 1; }
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$mpid/status")
  # the record is written after the registration was tried: it must have
  # worked, or no session could be opened
  [ "$(grep -c ' registered with the license server' "$repo/srv.log")" -ge "$run" ] \
    || { echo "the model server did not register:"; cat "$repo/srv.log"; exit 1; }
  loaded=$(grep -o 'read into memory in [0-9]* ms' "$repo/srv.log" | tail -1)
  line=$(awk -v t0="$t0" -v t="$t" -v r="$rss" -v n="$n" 'BEGIN {
    split(t, a, /[= ]/)
    printf "start of a version with %d elements: /health answers after %.3f s, record written after %.3f s; RSS %.1f MB",
      n, a[2] - t0, a[4] - t0, r / 1024 }')
  echo "  run $run: $line (srv.log: $loaded)"
  if [ "$run" -lt 3 ]; then
    kill -TERM "$mpid"
    wait "$mpid" || true
    i=0   # a clean stop removes the record: up to 10 s
    while [ -e "$record" ] && [ $((i++)) -lt 200 ]; do sleep 0.05; done
    [ ! -e "$record" ] || { echo "the stopped model server left $record"; exit 1; }
  fi
done
summary+=("model server: $line")

# The model server still runs, or say how it ended and stop here.
alive() {
  kill -0 "$mpid" 2>/dev/null && return 0
  local status=0
  wait "$mpid" || status=$?
  echo "the model server (pid $mpid) ended with status $status during $1:"
  tail -5 "$repo/srv.log"; tail -5 "$work/model.err"
  exit 1
}
metric() {
  curl -s "localhost:$mport/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ratio() {
  awk -v c="$1" -v w="$2" -v t="$3" -v s="$4" 'BEGIN {
    printf "model server: %d clients: %.0f %s/s (SQLite alone: %.0f/s, %.2fx)",
      c, t, w, s, s ? t / s : 0 }'
}
for c in 1 64; do
  t=$("$bench" http "$mport" "$c" "$secs" read "$n")
  alive "reads at $c clients"
  s=$("$bench" sqlite "$work/alone/repository.db" "$c" "$secs" read "$n")
  h=$("$bench" http "$mport" "$c" "$secs" health "$n")
  alive "GET /health at $c clients"
  echo "  clients=$c reads  model server: $t"
  echo "  clients=$c reads  SQLite alone: $s"
  echo "  clients=$c GET /health (the HTTP layer alone, for scale): $h"
  summary+=("$(ratio "$c" reads "$(field ops_per_s <<<"$t")" "$(field ops_per_s <<<"$s")")")
  k0=$(metric tessera_model_commits_total); o0=$(metric tessera_model_operations_total)
  t=$("$bench" http "$mport" "$c" "$secs" write "$n")
  alive "writes at $c clients"
  k1=$(metric tessera_model_commits_total); o1=$(metric tessera_model_operations_total)
  s=$("$bench" sqlite "$work/alone/repository.db" "$c" "$secs" write "$n")
  echo "  clients=$c writes model server: $t ($(awk -v k=$((k1 - k0)) -v o=$((o1 - o0)) 'BEGIN {
    printf "%d commits, %.1f changes per commit", k, k ? o / k : 0 }'))"
  echo "  clients=$c writes SQLite alone: $s"
  summary+=("$(ratio "$c" "durable writes" "$(field ops_per_s <<<"$t")" "$(field ops_per_s <<<"$s")")")
done
echo "  model server RSS after the runs: $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$mpid/status")"
echo "load at the end:$(uptime | sed 's/.*load average: */ /')"
printf '%s\n' "${summary[@]}"
