#!/usr/bin/env bash
# Build Debian's APR with pool debugging into a cached prefix and print
# the prefix on the last line; tests/fuzz/run.sh builds the harnesses
# against it.
#
# Why: Tessera allocates almost everything from APR pools, and a release
# APR carves pool allocations out of 8 KiB blocks, so AddressSanitizer
# cannot see a read or write past the end of one allocation into the
# next. With --enable-pool-debug every apr_palloc() is a malloc() of its
# own (freed when the pool is cleared), so ASan checks pool memory like
# any other heap memory. Only the fuzz build uses it; the library is the
# same version as the system's (from `apt-get source apr`), with the same
# API and ABI.
#
# The prefix is keyed by the source tarball and this script; a second run
# only prints it.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
cache=${TESSERA_CACHE:-/var/cache/tessera-build}
src=$cache/src
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

log() { printf 'apr-pool-debug: %s\n' "$*" >&2; }
die() { printf 'apr-pool-debug: error: %s\n' "$*" >&2; exit 1; }

bash "$here/installer/deps-debian.sh" dpkg-dev bzip2 >&2
$SUDO mkdir -p "$src"
$SUDO chmod 755 "$cache" "$src"
tarball() {
  ls "$src"/apr_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -1
}
if [ -z "$(tarball)" ]; then
  bash "$here/installer/deb-src.sh"
  log "apt-get source apr"
  # only the orig tarball is needed; a missing .debian.tar is no failure
  (cd "$src" && $SUDO apt-get source --download-only -qq apr >/dev/null 2>&1) \
    || true
  [ -n "$(tarball)" ] \
    || die "apt-get source apr fetched no orig tarball into $src"
fi

key=$( { basename "$(tarball)"; cat "$0"; } | sha256sum | cut -c1-12)
prefix=$cache/apr-pooldebug-$key
if [ -f "$prefix/.complete" ]; then
  echo "$prefix"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building APR with pool debugging into $prefix"
tar -xf "$(tarball)" -C "$work" --strip-components=1
(cd "$work" && ./configure --prefix="$prefix" --enable-pool-debug=yes \
   --disable-static >"$work/configure.log" 2>&1) \
  || { tail -20 "$work/configure.log"; die "configure failed"; }
make -C "$work" -j "$(nproc)" >"$work/make.log" 2>&1 \
  || { grep -E 'error' "$work/make.log" | head -20; die "make failed"; }
$SUDO rm -rf "$prefix"
$SUDO make -C "$work" install >/dev/null
$SUDO touch "$prefix/.complete"
echo "$prefix"
