#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): the doctor's permission scan
# of INOPRJ as another account against `find <dir> -type f ! -perm -u=rw`
# on the same tree, in the same run.
#   tests/bench/doctor_scan.sh [BUILD_DIR] [FILES]   (default build/release,
#   100000 files;
#   the issue's figure is 1000000). Needs root (the scan becomes 'nobody').
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(bash "$here/tests/bench/build_dir.sh" "${1:-}")
files=${2:-100000}
admin=$build/admin/tessera-admin
work=$(mktemp -d /var/tmp/tessera-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
prj=$work/prj
mkdir -p "$prj"
HOME=$work INOPRJ=$prj "$admin" project init >/dev/null

echo "building $files files in $prj ..." >&2
python3 - "$prj" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per_dir = 1000
for d in range((n + per_dir - 1) // per_dir):
    repo = os.path.join(root, f"repo{d // 100}", f"dir{d % 100}")
    os.makedirs(repo, exist_ok=True)
    for i in range(min(per_dir, n - d * per_dir)):
        open(os.path.join(repo, f"f{i}"), "w").close()
PY
chmod -R a+rwX "$prj"
sync

now() { date +%s.%N; }
best_find=999999 best_scan=999999
for round in 1 2 3; do
  t0=$(now); find "$prj" -type f ! -perm -u=rw >/dev/null; t1=$(now)
  HOME=$work INOPRJ=$prj INOLIC=$work/lic ASAN_OPTIONS=detect_leaks=0 \
    "$admin" doctor --account nobody >"$work/doctor.out" || true
  t2=$(now)
  f=$(echo "$t1 - $t0" | bc -l); s=$(echo "$t2 - $t1" | bc -l)
  best_find=$(echo "if ($f < $best_find) $f else $best_find" | bc -l)
  best_scan=$(echo "if ($s < $best_scan) $s else $best_scan" | bc -l)
  printf 'round %d: find %.3f s, doctor scan %.3f s\n' "$round" "$f" "$s"
done
grep -o 'can read and write all [0-9]* entries' "$work/doctor.out" || \
  grep permissions "$work/doctor.out"
printf 'files: %d\nfind (best of 3): %.3f s\ndoctor (best of 3): %.3f s\nratio doctor/find: %.2f (target <= 1.2)\n' \
  "$files" "$best_find" "$best_scan" "$(echo "$best_scan / $best_find" | bc -l)"
