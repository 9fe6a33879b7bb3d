#!/usr/bin/env bash
# README command 2: install what is needed, build, and run every test
# (Linux, a short fuzzing run of every harness, Windows).
# Runs as root (some tests drop to the 'nobody' account to check real
# permissions). Both platforms run even when the first fails, so one run
# shows every failure; exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash installer/deps-debian.sh
failed=()
# Linux: debug build with AddressSanitizer and UBSan.
cmake --workflow --preset linux-asan || failed+=(linux)
# Every parser of outside input under libFuzzer, 20 s each (about 3 min
# with the build; tests/fuzz/run.sh runs them longer).
bash tests/fuzz/run.sh 20 || failed+=(fuzz)
# Windows: cross-built with mingw-w64, tests under wine.
bash installer/windows-test.sh || failed+=(windows)
if [ ${#failed[@]} -gt 0 ]; then
  echo "test-all: tests failed on: ${failed[*]}" >&2
  exit 1
fi
echo "test-all: all tests passed (linux, fuzz, windows)"
