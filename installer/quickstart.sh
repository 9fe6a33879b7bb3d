#!/usr/bin/env bash
# README command 1: install what is needed, build, and run Tessera on its
# embedded defaults. Until the servers exist this shows the effective
# architecture settings and the port plan derived from them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash installer/deps-debian.sh
cmake --preset linux >/dev/null
cmake --build --preset linux

admin=build/linux/admin/tessera-admin
echo
echo "== tessera-admin env show   (the effective architecture settings)"
"$admin" env show
echo
echo "== tessera-admin ports      (the port plan derived from INOHOST)"
"$admin" ports
