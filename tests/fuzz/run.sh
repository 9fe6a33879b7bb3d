#!/usr/bin/env bash
# Build the libFuzzer harnesses and run each for SECONDS.
#
#   bash tests/fuzz/run.sh SECONDS [HARNESS...]     (default: all of them)
#
# Installs clang (installer/deps-debian.sh), builds APR with pool
# debugging once (tests/fuzz/apr-pool-debug.sh, cached), configures and
# builds the "fuzz" preset (build/fuzz: clang, -fsanitize=fuzzer-no-link,
# address,undefined for the libraries), then runs the harnesses one after
# the other, each on a working copy of its seed corpus
# tests/fuzz/corpus/<harness>/ (the repository's stays small) with
# -max_total_time=SECONDS -timeout=10 -rss_limit_mb=2048, leaks detected,
# and the harness's dictionary tests/fuzz/<harness>.dict.
# Prints the executions per harness (libFuzzer's final stats) and exits
# non-zero when any harness crashed, leaked, ran out of memory or time;
# the input that did it is kept in build/fuzz/findings/<harness>/ and the
# last lines of its log are printed. Reproduce a finding with
#   build/fuzz/tests/fuzz/fuzz_<harness> build/fuzz/findings/<harness>/crash-...
# The working corpora stay in build/fuzz/corpus/<harness>/ until the next
# run (to look at, or to merge what is worth keeping into the seeds).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] \
  || { echo "usage: tests/fuzz/run.sh SECONDS [HARNESS...]" >&2; exit 64; }
shift
all=(settings envfile config license api records models model_api agent_api
     http_head events notify_mail proxy_target)
harnesses=("${@:-${all[@]}}")

bash installer/deps-debian.sh clang >&2
apr=$(bash tests/fuzz/apr-pool-debug.sh | tail -1)
# a build tree configured against another APR keeps its paths: afresh
fresh=
if [ -f build/fuzz/CMakeCache.txt ] \
   && ! grep -q "^CMAKE_PREFIX_PATH:.*=$apr\$" build/fuzz/CMakeCache.txt; then
  fresh=--fresh
fi
cmake --preset fuzz $fresh -DCMAKE_PREFIX_PATH="$apr" >/dev/null
cmake --build --preset fuzz

out=build/fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
report=()
for h in "${harnesses[@]}"; do
  bin=$out/tests/fuzz/fuzz_$h
  [ -x "$bin" ] && [ -d "tests/fuzz/corpus/$h" ] \
    || { echo "run.sh: no harness '$h' (harnesses: ${all[*]})" >&2; exit 64; }
  corpus=$out/corpus/$h
  findings=$out/findings/$h
  log=$out/fuzz_$h.log
  rm -rf "$corpus" "$findings"
  mkdir -p "$corpus" "$findings"
  cp -r "tests/fuzz/corpus/$h/." "$corpus/"
  echo "run.sh: fuzz_$h for $seconds s" >&2
  rc=0
  dict=()
  [ -f "tests/fuzz/$h.dict" ] && dict=(-dict="tests/fuzz/$h.dict")
  began=$(date +%s)
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
         -detect_leaks=1 -print_final_stats=1 "${dict[@]}" \
         -artifact_prefix="$findings/" "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$(( $(date +%s) - began ))
  units=$(ls "$corpus" | wc -l)
  if [ "$rc" -ne 0 ] || ls "$findings" | grep -q .; then
    failed+=("$h")
    echo "run.sh: fuzz_$h FAILED (exit $rc); its log ($log) ends:" >&2
    grep -v '^#[0-9]' "$log" | tail -40 >&2
    report+=("$(printf '%-10s %12s execs  %6s s  corpus %5s  FAILED' "$h" \
                "${execs:-?}" "$took" "$units")")
  else
    report+=("$(printf '%-10s %12s execs  %6s s  corpus %5s  ok' "$h" \
                "${execs:-?}" "$took" "$units")")
  fi
done
printf '%s\n' "fuzz results (${seconds} s each):" "${report[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: findings in ${failed[*]}: inputs in $out/findings/" >&2
  exit 1
fi
