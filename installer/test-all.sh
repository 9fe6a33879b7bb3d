#!/usr/bin/env bash
# README command 2: install what is needed, build, and run every test.
# Runs as root (some tests drop to the 'nobody' account to check real
# permissions). Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash installer/deps-debian.sh
# Linux: debug build with AddressSanitizer and UBSan.
cmake --workflow --preset linux-asan
# Windows: cross-built with mingw-w64, tests under wine.
bash installer/windows-test.sh
