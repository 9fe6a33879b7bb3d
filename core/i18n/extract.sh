#!/bin/bash
# Every message of Tessera's code into a template, with xgettext: the
# strings marked with _() / N_() / ts_ntext(), and the formats of the
# functions that make messages for people (errors, doctor findings).
# usage: extract.sh SOURCE_DIR OUT.pot
# To take new messages into the German catalog:
#   bash core/i18n/extract.sh . /tmp/tessera.pot
#   msgmerge --update --no-fuzzy-matching core/i18n/de.po /tmp/tessera.pot
# then translate the entries with an empty msgstr.
set -euo pipefail
src=${1:?usage: extract.sh SOURCE_DIR OUT.pot}
out=${2:?usage: extract.sh SOURCE_DIR OUT.pot}
cd "$src"
# function:argument that is a message, and whether it is a printf format
keywords=(_ N_ ts_ntext:1,2 ts_error_createf:2 ts_error_aprf:2
          ts_error_wrapf:2 TS_ERR_W:2 ts_doctor_add:6 admin_usage_error:2
          ts_error_wrap_codef:3)
formats=(ts_error_createf:2 ts_error_aprf:2 ts_error_wrapf:2 TS_ERR_W:2
         ts_error_wrap_codef:3
         ts_doctor_add:6 admin_usage_error:2 apr_psprintf:2
         apr_snprintf:3 printf:1 fprintf:2)
args=(--language=C --from-code=UTF-8 --sort-by-file --add-location=file
      --package-name=tessera --msgid-bugs-address=tessera@localhost
      --no-wrap)
for k in "${keywords[@]}"; do args+=("--keyword=$k"); done
for f in "${formats[@]}"; do args+=("--flag=$f:c-format"); done
args+=(--flag=_:1:pass-c-format --flag=N_:1:pass-c-format)
find core admin server platform -name '*.c' | LC_ALL=C sort \
  | xgettext "${args[@]}" --files-from=- --output="$out"
