#!/usr/bin/env bash
# Install what Tessera needs to build, run and test on Debian 12, plus any
# packages named as arguments (the Windows build adds its tools that way).
# Idempotent: when every package is already installed it asks no mirror.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config gettext
  # libraries (DEVELOPERS: APR, libxml2, PCRE2, jansson, ...)
  libapr1-dev libxml2-dev libpcre2-dev libjansson-dev libmicrohttpd-dev
  libsodium-dev libsqlite3-dev libmosquitto-dev libcurl4-openssl-dev
  libuv1-dev
  # run: the bus broker
  mosquitto
  # tests
  libcriterion-dev file acl nftables mosquitto-clients prometheus faketime
  python3-aiosmtpd haproxy
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi
