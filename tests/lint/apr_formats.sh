#!/bin/bash
# Product code formats through APR (apr_psprintf, apr_snprintf, ts_log,
# ts_error_createf), whose printf does not know C99's length modifiers:
# "%llu" comes out as the text "%lu" (issue 16: the RELOADING datagram).
# GCC's -Wformat checks these calls as if they were libc's printf, so it
# cannot see it. This check fails on any %ll, %z, %j, %t, %hh, %L or %q
# conversion in a string of core/, admin/, server/ or platform/; use a
# cast to long, or APR_INT64_T_FMT / APR_UINT64_T_FMT / APR_SIZE_T_FMT.
# Scanning (sscanf) is libc's own and may use them.
# usage: apr_formats.sh SOURCE_DIR
set -u
src=${1:?usage: apr_formats.sh SOURCE_DIR}
cd "$src" || exit 2
hits=$(grep -rnE --include='*.c' --include='*.h' \
         '"[^"]*%[-+ #0]*([0-9]+|\*)?(\.([0-9]+|\*))?(ll|hh|[zjtLq])[a-zA-Z]' \
         core admin server platform | grep -vE 'sscanf|fscanf|swscanf')
if [ -n "$hits" ]; then
  echo "C99 length modifiers in strings that APR's printf formats:"
  echo "$hits"
  echo "fix: cast to long / unsigned long and use %ld / %lu, or use"
  echo "     APR_INT64_T_FMT, APR_UINT64_T_FMT, APR_SIZE_T_FMT"
  exit 1
fi
echo "no C99 length modifiers in product format strings"
