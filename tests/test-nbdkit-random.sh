#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit's random and sparse-random plugins (Debian's .so files) served
# by nbdbroker: the same seed gives the same bytes (as under nbdkit,
# when it is installed), writes are checked against the contents, and
# without seed= the broker picks one seed for every worker.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdcopy --version
requires_nbd_python
requires_nbdkit_plugin random sparse-random

d=$(tmpdir)

start_nbdbroker -U "$d/r1" nbdkit:random 4M seed=42
start_nbdbroker -U "$d/r2" nbdkit:random size=4M seed=42
u1=$(nbd_uri "$d/r1")
test "$(nbdinfo --size "$u1")" -eq $((4 * 1048576))
nbdcopy "$u1" "$d/r1.img"
nbdcopy "$(nbd_uri "$d/r2")" "$d/r2.img"
cmp "$d/r1.img" "$d/r2.img"
# Random, not constant.
test "$(od -An -tx1 -N 16 "$d/r1.img" | tr -d ' 0\n')" != ""
if command -v nbdkit >/dev/null; then
	nbdkit -U - random 4M seed=42 \
	    --run "nbdcopy \"\$uri\" '$d/nbdkit.img'"
	cmp "$d/r1.img" "$d/nbdkit.img"
else
	skip_part "random: the same bytes from nbdkit: nbdkit is not installed"
fi

# Writes: the same bytes succeed, other bytes fail with EIO.
/usr/bin/python3 - "$u1" "$d/r1.img" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
disk = open(sys.argv[2], "rb").read()
h.pwrite(disk[8192:12288], 8192)
try:
    h.pwrite(bytes(b ^ 1 for b in disk[0:512]), 0)
    raise SystemExit("a mismatched write succeeded")
except nbd.Error as e:
    assert e.errno == "EIO", e.errno
PY
check_map --no-extents "$u1" 4194304

# No seed: one is chosen for all workers, and logged.
start_nbdbroker -U "$d/r3" nbdkit:random 1M
grep -E "no seed= given; using seed=[0-9]+ for every worker" "$d/r3.log"

start_nbdbroker -U "$d/s1" nbdkit:sparse-random 64M seed=7
start_nbdbroker -U "$d/s2" nbdkit:sparse-random 64M seed=7
us=$(nbd_uri "$d/s1")
nbdcopy "$us" "$d/s1.img"
nbdcopy "$(nbd_uri "$d/s2")" "$d/s2.img"
cmp "$d/s1.img" "$d/s2.img"
# Sparse: about 10% data by default; some of both kinds.
/usr/bin/python3 - "$d/s1.img" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
blocks = [b[i:i + 4096] for i in range(0, len(b), 4096)]
data = sum(1 for x in blocks if any(x))
assert 0 < data < len(blocks) // 2, (data, len(blocks))
PY
# Copying the disk onto itself checks every write.
nbdcopy "$us" "$us"
if command -v nbdkit >/dev/null; then
	nbdkit -U - sparse-random 64M seed=7 \
	    --run "nbdcopy \"\$uri\" '$d/nbdkit-s.img'"
	cmp "$d/s1.img" "$d/nbdkit-s.img"
else
	skip_part "sparse-random: the same bytes from nbdkit: nbdkit is not" \
	    "installed"
fi
check_map "$us" "sum(e[1] for e in m) == 64 * 1048576 and
    {e[2] for e in m} == {0, 3}"
