#!/usr/bin/env bash
# The build directory a benchmark measures, printed: the one given as $1,
# or else the optimized build (preset "release", build/release), made
# here first, so figures never come from a debug build by accident.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${1:-}" ]; then
  cd "$1" && pwd
else
  cd "$here"
  cmake --preset release >/dev/null
  cmake --build --preset release >/dev/null
  echo "$here/build/release"
fi
