#!/usr/bin/env bash
# A real network file system on loopback: sshd on 127.0.0.1 with a test
# key, a directory mounted with sshfs (fuse.sshfs), a symlink into it and a
# bind mount of it; then the file-system test program checks that all three
# are reported as network and tmpfs and the local disk are not, and
# tesserad warns (Linux does not refuse) about INOPRJ on the mount.
# Needs root. Usage: test_netfs.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/../.." && pwd)
bash "$here/installer/deps-debian.sh" openssh-server sshfs >&2

work=$(mktemp -d /var/tmp/tessera-netfs-XXXXXX)
mnt=$work/mnt bind=$work/bind tmpfs=$work/tmpfs
mkdir -p "$work/remote/projects" "$mnt" "$bind" "$tmpfs" "$work/ssh"
sshd_pid=
cleanup() {
  umount "$bind" 2>/dev/null || true
  fusermount -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  umount "$tmpfs" 2>/dev/null || true
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/client_key"
cp "$work/ssh/client_key.pub" "$work/ssh/authorized_keys"
port=$(python3 "$here/tests/free_ports.py")
cat >"$work/ssh/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $work/ssh/host_key
AuthorizedKeysFile $work/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
PidFile $work/ssh/sshd.pid
Subsystem sftp internal-sftp
CONF
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$work/ssh/sshd_config" 2>"$work/ssh/sshd.log" &
sshd_pid=$!
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.1
done
sshfs -p "$port" -o IdentityFile="$work/ssh/client_key" \
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  -o BatchMode=yes "root@127.0.0.1:$work/remote" "$mnt" \
  || { cat "$work/ssh/sshd.log"; echo "Bail out! sshfs mount failed"; exit 1; }
ln -s "$mnt/projects" "$work/link"
mount --bind "$mnt" "$bind"
mount -t tmpfs tmpfs "$tmpfs"

export TESSERA_TEST_NETFS_MOUNT=$mnt TESSERA_TEST_NETFS_LINK=$work/link
export TESSERA_TEST_NETFS_BIND=$bind TESSERA_TEST_TMPFS=$tmpfs
export TESSERA_TEST_LOCAL=$work
"$build/tests/test_fs_info" --verbose=0 -j1

# tesserad reports INOPRJ on the network mount (warning, still starts)
lic=$work/lic
lport=$(python3 "$here/tests/free_ports.py" 1)
chmod 711 "$work"   # as root the bus broker runs as tessera or nobody
INOHOST="127.0.0.1.$lport" INOLIC="$lic" INOPRJ="$mnt/projects" HOME="$work" \
  INODIR="$work/params" ASAN_OPTIONS=detect_leaks=0 timeout 20 \
  "$build/server/tesserad" license \
  >"$work/tesserad.out" 2>&1 &
pid=$!
for _ in $(seq 50); do
  grep -q 'serving on port' "$work/tesserad.out" 2>/dev/null && break
  sleep 0.1
done
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pass=0 fail=0
if grep -q "warn .*INOPRJ $mnt/projects is on a network file system (fuse.sshfs" \
     "$work/tesserad.out" && grep -q 'serving on port' "$work/tesserad.out"; then
  pass=$((pass + 1)); echo "ok   - tesserad warns about INOPRJ on sshfs and serves"
else
  fail=$((fail + 1)); cat "$work/tesserad.out"; echo "FAIL - tesserad warning"
fi

# doctor reports INOPRJ and a repository reached through a symlink
mkdir -p "$work/localprj"
INOPRJ="$mnt/projects" INOLIC="$lic" HOME="$work" ASAN_OPTIONS=detect_leaks=0 \
  "$build/admin/tessera-admin" doctor --json >"$work/doctor.json" || true
if python3 - "$work/doctor.json" "$mnt/projects" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
hits = [f for f in d["findings"] if f["check"] == "network-drive"
        and f["subject"] == sys.argv[2] and "fuse.sshfs" in f["message"]
        and f["fix"]]
sys.exit(0 if hits and hits[0]["severity"] == "warning" else 1)
PY
then pass=$((pass + 1)); echo "ok   - doctor: INOPRJ on sshfs is a warning with a fix"
else fail=$((fail + 1)); cat "$work/doctor.json"; echo "FAIL - doctor network finding"
fi
ln -s "$mnt/projects" "$work/localprj/repo1"
INOPRJ="$work/localprj" INOLIC="$lic" HOME="$work" ASAN_OPTIONS=detect_leaks=0 \
  "$build/admin/tessera-admin" doctor >"$work/doctor.txt" || true
if grep -q "repository repo1 $work/localprj/repo1 is on a network file system (fuse.sshfs" \
     "$work/doctor.txt"; then
  pass=$((pass + 1)); echo "ok   - doctor: a repository symlinked onto sshfs is reported"
else fail=$((fail + 1)); cat "$work/doctor.txt"; echo "FAIL - doctor repository finding"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
