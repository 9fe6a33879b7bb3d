#!/usr/bin/env bash
# A minimal Debian 12 root with systemd, for booting with systemd-nspawn in
# the tests (tests/system/). Built once with debootstrap into
# /var/cache/tessera-build/rootfs-<key> (the key hashes this script) and
# reused; the tests boot it with --volatile=overlay, so it stays clean.
# Prints the root's path on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TESSERA_CACHE:-/var/cache/tessera-build}
# A fresh machine has no cache yet: create it before anything is written there.
mkdir -p "$cache"
bash "$here/installer/deps-debian.sh" debootstrap systemd-container >&2

# What tesserad and tessera-admin need at run time inside the container
# (keep in step with cmake/dependencies.cmake; the ASan build
# needs libasan and libubsan too), plus curl for checks.
include=systemd,systemd-sysv,dbus,libapr1,libpcre2-8-0,libmicrohttpd12
include=$include,libjansson4,libxml2,libsodium23,libsqlite3-0,libmosquitto1,libcurl4,libuv1,mosquitto,libasan8,libubsan1,curl

key=$(cat "$0" | sha256sum | cut -c1-12)
root=$cache/rootfs-$key
if [ -f "$root/.complete" ]; then
  echo "$root"
  exit 0
fi
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null \
         | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
rm -rf "$root" "$root.tmp"
echo "systemd-rootfs: debootstrap bookworm into $root (once)" >&2
debootstrap --variant=minbase --include="$include" bookworm "$root.tmp" \
  "$mirror" >"$cache/debootstrap.log" 2>&1 \
  || { tail -20 "$cache/debootstrap.log" >&2; echo "systemd-rootfs: debootstrap failed" >&2; exit 1; }
# No console login prompt to wait for; the tests talk through nsenter.
rm -f "$root.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
# Debian's own mosquitto service (port 1883) stays off: Tessera's bus runs
# as tessera-bus on p+1, and the container shares the host's network.
rm -f "$root.tmp/etc/systemd/system/multi-user.target.wants/mosquitto.service"
touch "$root.tmp/.complete"
mv "$root.tmp" "$root"
for old in "$cache"/rootfs-*; do
  [ "$old" = "$root" ] || rm -rf "$old"
done
echo "$root"
