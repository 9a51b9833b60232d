#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdinfo --map and qemu-img map show exactly the data and holes the
# plugin reports (base:allocation): on the memory plugin (64 KiB
# chunks) after writing a pattern, and on a sparse file made with
# truncate + dd, where the answer must also be nbdkit's.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdsh --version
requires qemu-img --version
requires_nbd_python

d=$(tmpdir)
K=65536

# Data at [0,64K), [256K,384K) and the last chunk of 1M.
start_nbdbroker -U "$d/mem" memory size=1M
nbdsh -u "$(nbd_uri "$d/mem")" -c '
h.pwrite(b"a" * 65536, 0)
h.pwrite(b"b" * 131072, 262144)
h.pwrite(b"c", 1048575)
'
cat > "$d/mem.expected" <<EOF2
         0       65536    0  data
     65536      196608    3  hole,zero
    262144      131072    0  data
    393216      589824    3  hole,zero
    983040       65536    0  data
EOF2
nbdinfo --map "$(nbd_uri "$d/mem")" > "$d/mem.map"
diff -u "$d/mem.expected" "$d/mem.map"

qemu-img map --output=json -f raw "$(nbd_uri "$d/mem")" > "$d/mem.json"
/usr/bin/python3 - "$d/mem.json" <<'PY'
import json, sys
m = [(e["start"], e["length"], e["data"], e["zero"])
     for e in json.load(open(sys.argv[1]))]
want = [(0, 65536, True, False), (65536, 196608, False, True),
        (262144, 131072, True, False), (393216, 589824, False, True),
        (983040, 65536, True, False)]
assert m == want, m
PY

# Trimming a written chunk makes it a hole again.
nbdsh -u "$(nbd_uri "$d/mem")" -c 'h.trim(131072, 262144)'
nbdinfo --map "$(nbd_uri "$d/mem")" > "$d/mem2.map"
grep -q '^     65536      917504    3  hole,zero$' "$d/mem2.map"

# A sparse file.  Skip if the filesystem under $TMPDIR cannot tell
# (no SEEK_HOLE, or it reports everything as data).
truncate -s 2M "$d/disk"
dd if=/dev/urandom of="$d/disk" bs=$K seek=2 count=3 conv=notrunc
dd if=/dev/urandom of="$d/disk" bs=$K seek=20 count=1 conv=notrunc
if ! /usr/bin/python3 - "$d/disk" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    ok = os.lseek(fd, 0, os.SEEK_DATA) == 131072 and \
        os.lseek(fd, 131072, os.SEEK_HOLE) == 327680
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
then
	skip_part "the sparse file: no usable SEEK_HOLE in ${TMPDIR:-/tmp}"
	exit 0
fi
start_nbdbroker -U "$d/file" file file="$d/disk"
cat > "$d/file.expected" <<EOF2
         0      131072    3  hole,zero
    131072      196608    0  data
    327680      983040    3  hole,zero
   1310720       65536    0  data
   1376256      720896    3  hole,zero
EOF2
nbdinfo --map "$(nbd_uri "$d/file")" > "$d/file.map"
diff -u "$d/file.expected" "$d/file.map"
qemu-img map --output=json -f raw "$(nbd_uri "$d/file")" > "$d/file.json"
/usr/bin/python3 - "$d/file.json" <<'PY'
import json, sys
m = [(e["start"], e["length"], e["data"], e["zero"])
     for e in json.load(open(sys.argv[1]))]
want = [(0, 131072, False, True), (131072, 196608, True, False),
        (327680, 983040, False, True), (1310720, 65536, True, False),
        (1376256, 720896, False, True)]
assert m == want, m
PY

# The same answer as nbdkit's file plugin.
if nbdkit --version >/dev/null 2>&1; then
	nbdkit -U - file "$d/disk" --run 'nbdinfo --map "$uri"' \
	    > "$d/nbdkit.map"
	diff -u "$d/nbdkit.map" "$d/file.map"
else
	skip_part "the same map from nbdkit: nbdkit is not installed"
fi
