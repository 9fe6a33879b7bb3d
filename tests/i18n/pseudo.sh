#!/bin/bash
# A catalog for the made-up language "xx", for tests that a message is
# whole (issue 16): every message the code marks (core/i18n/extract.sh)
# translated into itself in capitals, its printf directives kept. Spoken
# with INOLANG=xx, a whole message shows all of Tessera's words in
# capitals; an English fragment the code passed in as a %s argument stays
# in small letters, beside the values (paths, names) that are meant to.
# usage: pseudo.sh SOURCE_DIR LOCALE_DIR   (writes LOCALE_DIR/xx/...)
set -euo pipefail
src=${1:?usage: pseudo.sh SOURCE_DIR LOCALE_DIR}
out=${2:?usage: pseudo.sh SOURCE_DIR LOCALE_DIR}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
bash "$src/core/i18n/extract.sh" "$src" "$tmp/all.pot"
# msginit fills an English catalog's translations with the English
msginit --no-translator --no-wrap --locale=en_US.UTF-8 \
  --input="$tmp/all.pot" --output-file="$tmp/en-ascii.po" 2>/dev/null
msgconv --to-code=UTF-8 --no-wrap -o "$tmp/en.po" "$tmp/en-ascii.po"
# capitals, except in printf directives (%s, %ld, %04o, %.*s, %%)
msgfilter --keep-header --no-wrap --input="$tmp/en.po" \
  --output-file="$tmp/xx.po" perl -pe \
  's/(%(?:%|[-+ #0]*(?:\*|[0-9]+)?(?:\.(?:\*|[0-9]+))?(?:hh|h|ll|l|L|z|j|t)?[a-zA-Z]))|([a-z]+)/defined $1 ? $1 : uc $2/ge'
mkdir -p "$out/xx/LC_MESSAGES"
msgfmt -c -o "$out/xx/LC_MESSAGES/tessera.mo" "$tmp/xx.po"
