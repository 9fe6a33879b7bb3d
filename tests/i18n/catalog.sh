#!/bin/bash
# The German catalog covers every message of the code (issue 16):
#  1. every string xgettext extracts (core/i18n/extract.sh: _(), N_(),
#     ts_ntext(), errors, doctor findings) has a German translation in
#     core/i18n/de.po that is neither missing, empty nor fuzzy;
#  2. each translation keeps its English format directives (msgfmt -c);
#  3. tessera-admin prints no words that escape extraction: a string
#     literal handed straight to printf/fprintf/fputs/puts in admin/ that
#     holds a word is a message not marked with _().
# usage: catalog.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: catalog.sh SOURCE_DIR}
cd "$src" || exit 2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
fail=0

bash core/i18n/extract.sh . "$tmp/tessera.pot" || exit 1
msgmerge --quiet --no-fuzzy-matching --no-wrap core/i18n/de.po \
  "$tmp/tessera.pot" -o "$tmp/merged.po" || exit 1
msgattrib --untranslated --no-obsolete --no-wrap "$tmp/merged.po" \
  -o "$tmp/missing.po"
msgattrib --only-fuzzy --no-obsolete --no-wrap "$tmp/merged.po" \
  -o "$tmp/fuzzy.po"
# msgfmt counts entries (a message of several lines starts 'msgid ""')
stats=$(LC_ALL=C msgfmt --statistics -o /dev/null "$tmp/merged.po" 2>&1)
missing=0
for kind in fuzzy untranslated; do
  n=$(echo "$stats" | grep -oE "[0-9]+ $kind" | grep -oE '^[0-9]+')
  missing=$((missing + ${n:-0}))
done
total=$(( $(echo "$stats" | grep -oE '[0-9]+' | paste -sd+) ))
if [ "$missing" -gt 0 ]; then
  echo "FAIL: $missing of $total messages have no German translation:"
  cat "$tmp/missing.po" "$tmp/fuzzy.po" 2>/dev/null | grep -E '^#:|^msgid ' \
    | grep -v '^msgid ""$' | sed -n '1,60p'
  echo "fix: bash core/i18n/extract.sh . /tmp/tessera.pot &&"
  echo "     msgmerge --update --no-fuzzy-matching core/i18n/de.po /tmp/tessera.pot"
  echo "     then translate every entry whose msgstr is empty"
  fail=1
fi
if ! msgfmt -c --statistics -o /dev/null core/i18n/de.po 2>"$tmp/fmt"; then
  echo "FAIL: core/i18n/de.po does not compile:"; cat "$tmp/fmt"; fail=1
elif grep -qE 'fuzzy|untranslated' "$tmp/fmt"; then
  echo "FAIL: core/i18n/de.po: $(cat "$tmp/fmt")"; fail=1
fi

unmarked=$(grep -nE '(\<printf|\<puts|fputs|fprintf\s*\(\s*std(err|out)\s*,)\s*\(?\s*"[^"]*[A-Za-z]{3}' \
             admin/*.c)
if [ -n "$unmarked" ]; then
  echo "FAIL: tessera-admin prints words not marked for translation:"
  echo "$unmarked" | sed -n '1,40p'
  echo "fix: wrap the text in _(\"...\") (core/i18n/ts_i18n.h)"
  fail=1
fi
[ $fail -eq 0 ] && echo "the German catalog covers all $total messages"
exit $fail
