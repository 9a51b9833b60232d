#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit's file plugin (Debian's .so) served by nbdbroker: the bare file
# name goes to its magic key (a relative path means what it meant to
# the user), the file's bytes read back, writes land in the file, -r
# makes it read-only.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-io --version
requires_nbd_python
requires_nbdkit_plugin file

d=$(shared_tmpdir)	# nbdkit's file plugin opens the file while serving
pattern_file $((4 * 1024 * 1024)) "$d/disk.img"
truncate -s 8M "$d/disk.img"		# 4M of pattern, then a hole
chmod 0666 "$d/disk.img"

# Not in a subshell: start_nbdbroker registers the server's cleanup in
# this shell (a subshell once left the server running after the test).
cd "$d"
start_nbdbroker -U "$d/sock" nbdkit:file disk.img
cd - >/dev/null
uri=$(nbd_uri "$d/sock")

test "$(nbdinfo --size "$uri")" -eq $((8 * 1024 * 1024))
nbdcopy "$uri" "$d/copy.img"
cmp "$d/disk.img" "$d/copy.img"

qemu-io -f raw -c "write -P 0x33 5M 64k" -c "write -f -P 0x44 0 4k" \
    -c "write -z 1M 64k" -c "flush" "$uri"
# The writes are in the file itself.
test "$(od -An -tx1 -j $((5 * 1024 * 1024)) -N 2 "$d/disk.img")" = " 33 33"
test "$(od -An -tx1 -N 2 "$d/disk.img")" = " 44 44"
test "$(od -An -tx1 -j $((1024 * 1024)) -N 2 "$d/disk.img")" = " 00 00"
# Untouched pattern bytes are still there: word at 2M holds 2M.
test "$(od -An -tx1 -j $((2 * 1024 * 1024)) -N 8 "$d/disk.img")" = \
    " 00 00 00 00 00 20 00 00"

# Holes depend on the file system; the written areas are data.
check_map "$uri" "sum(e[1] for e in m) == 8388608 and m[0][:1] == [0] and
    m[0][2] == 0 and any(e[0] <= 5242880 < e[0] + e[1] and e[2] == 0
    for e in m)"

# Read-only: writes fail with EPERM/EROFS, the file is unchanged.
start_nbdbroker -U "$d/ro" -r nbdkit:file "$d/disk.img"
cp "$d/disk.img" "$d/before.img"
/usr/bin/python3 - "$(nbd_uri "$d/ro")" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
assert h.is_read_only()
try:
    h.pwrite(b"x", 0)
    raise SystemExit("write to a read-only export succeeded")
except nbd.Error as e:
    assert e.errno in ("EPERM", "EROFS"), e.errno
PY
cmp "$d/disk.img" "$d/before.img"
