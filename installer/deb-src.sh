#!/usr/bin/env bash
# Make `apt-get source` work: add deb-src entries with the same URIs,
# suites and components as the machine's Debian deb entries (in
# /etc/apt/sources.list.d/tessera-deb-src.sources), once, for the builds
# that compile Debian's sources themselves (installer/windows-deps.sh,
# tests/fuzz/apr-pool-debug.sh).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
log() { printf 'deb-src: %s\n' "$*" >&2; }

srclist=/etc/apt/sources.list.d/tessera-deb-src.sources
if [ ! -f "$srclist" ]; then
  log "adding deb-src entries in $srclist"
  python3 - "$srclist" <<'PY'
import re, sys, glob
stanzas = []
for path in glob.glob('/etc/apt/sources.list.d/*.sources'):
    for st in open(path).read().strip().split('\n\n'):
        lines = [l for l in st.splitlines() if not l.lstrip().startswith('#')]
        if any(re.match(r'Types:.*\bdeb\b', l) for l in lines) and \
           any('debian' in l for l in lines if l.startswith('URIs:')):
            stanzas.append('\n'.join(
                'Types: deb-src' if l.startswith('Types:') else l for l in lines))
for line in open('/etc/apt/sources.list').read().splitlines() \
        if glob.glob('/etc/apt/sources.list') else []:
    m = re.match(r'\s*deb\s+(\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)', line)
    if m:
        stanzas.append(f"Types: deb-src\nURIs: {m.group(2)}\n"
                       f"Suites: {m.group(3)}\nComponents: {m.group(4)}")
if not stanzas:
    sys.exit("no Debian deb entry found to mirror as deb-src")
open(sys.argv[1] + '.tmp', 'w').write('\n\n'.join(stanzas) + '\n')
PY
  $SUDO mv "$srclist.tmp" "$srclist"
  $SUDO apt-get update -qq
fi

