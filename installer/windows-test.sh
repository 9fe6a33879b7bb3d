#!/usr/bin/env bash
# Build Tessera for 64-bit Windows with mingw-w64 and run its tests under
# wine: the one command for the Windows side.
#
#   bash installer/windows-test.sh
#
# The dependencies come from installer/windows-deps.sh (built once, then
# cached under /var/cache/tessera-build). Tests run through ctest with
# CMAKE_CROSSCOMPILING_EMULATOR (cmake/wine-run) in a private WINEPREFIX,
# against a wineserver started here and stopped at the end: a persistent
# server makes a test start in milliseconds instead of seconds, and
# starting it (and wine's background services) before ctest keeps those
# services from inheriting ctest's output pipes, which would make ctest
# wait for them forever.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=$(bash installer/windows-deps.sh | tail -1)
export TESSERA_DEPS_PREFIX=$prefix
export WINEPREFIX=${WINEPREFIX:-${TESSERA_CACHE:-/var/cache/tessera-build}/wineprefix}
export WINEDEBUG=-all
mkdir -p "$(dirname "$WINEPREFIX")"   # wine creates the prefix, not its parent

stop_wine() { wineserver -k 2>/dev/null || true; }
trap stop_wine EXIT

# N: is a network drive for the network-drive tests: wine takes the drive
# type from HKLM\Software\Wine\Drives and the target from dosdevices,
# and reads them when it starts, so set them up, then restart the server.
netdrive=${TESSERA_CACHE:-/var/cache/tessera-build}/netdrive
mkdir -p "$netdrive/projects"
wine cmd /c exit </dev/null >/dev/null 2>&1    # creates the prefix if new
ln -sfn "$netdrive" "$WINEPREFIX/dosdevices/n:"
wine reg add 'HKLM\Software\Wine\Drives' /v n: /d network /f \
  </dev/null >/dev/null 2>&1
wineserver -k 2>/dev/null || true
wineserver -w 2>/dev/null || true

wineserver -p 2>/dev/null || true
wine cmd /c exit </dev/null >/dev/null 2>&1

# The tests keep their trees in the prefix's temp directory; the prefix
# is cached, so clear what earlier (perhaps killed) runs left there.
rm -rf "$WINEPREFIX"/drive_c/users/*/Temp/tessera-*

# A build tree configured against an older prefix (new package versions)
# keeps that prefix's paths in its cache: configure it afresh.
fresh=
if [ -f build/windows/CMakeCache.txt ] && \
   ! grep -q "^TESSERA_DEPS_PREFIX:PATH=$prefix\$" build/windows/CMakeCache.txt; then
  fresh=--fresh
fi
cmake --preset windows $fresh >/dev/null
cmake --build --preset windows
# No 32-bit artifacts: wine32 is not installed, and a 32-bit program would
# "pass" by exiting 0 without running.
for exe in build/windows/admin/*.exe build/windows/tests/*.exe; do
  file "$exe" | grep -q 'PE32+ executable' \
    || { echo "windows-test: $exe is not a 64-bit Windows executable" >&2; exit 1; }
done
ctest --preset windows
