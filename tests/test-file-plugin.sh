#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The file plugin serves a real file, live: a change made to the file
# from outside is seen by the next read; a client's writes, zeroes and
# trims change the file itself; and the file's size is the export's
# size, re-read for each new connection.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
f=$d/disk.img
head -c 4M /dev/urandom > "$f"

# Can this filesystem punch holes?  (Only then is a trim visible.)
head -c 1M /dev/urandom > "$d/probe"
punch=no
if fallocate -p -o 0 -l 512K "$d/probe" 2>/dev/null; then
	punch=yes
fi

if [ "$punch" = no ]; then
	skip_part "trim: the file system under ${TMPDIR:-/tmp} cannot punch" \
	    "holes"
fi

start_nbdbroker -U "$d/sock" file file="$f"

/usr/bin/python3 - "$d/sock" "$f" "$punch" <<'PY'
import os
import sys
import nbd

KiB, MiB = 1024, 1024 * 1024
sock, path, punch = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"

def file_bytes(off, n):
    with open(path, "rb") as fp:
        fp.seek(off)
        return fp.read(n)

h = nbd.NBD()
h.connect_unix(sock)
assert h.get_size() == 4 * MiB, h.get_size()
assert h.can_fua() and h.can_trim() and h.can_zero() and h.can_flush()
assert h.pread(4 * MiB, 0) == file_bytes(0, 4 * MiB)

# Changed from outside: the same connection reads the new bytes.
with open(path, "r+b") as fp:
    fp.seek(1 * MiB)
    fp.write(b"\xab" * (64 * KiB))
assert h.pread(64 * KiB, 1 * MiB) == b"\xab" * (64 * KiB)

# A client write (FUA, and a plain one then flush) lands in the file.
h.pwrite(b"\xcd" * (64 * KiB), 2 * MiB, nbd.CMD_FLAG_FUA)
assert file_bytes(2 * MiB, 64 * KiB) == b"\xcd" * (64 * KiB)
h.pwrite(b"\xce" * 4096, 2 * MiB + 64 * KiB)
h.flush()
assert file_bytes(2 * MiB + 64 * KiB, 4096) == b"\xce" * 4096
assert file_bytes(2 * MiB + 64 * KiB + 4096, 1) != b""      # no shrink

# Zeroes, with and without permission to punch holes.
h.zero(64 * KiB, 3 * MiB)
h.zero(64 * KiB, 3 * MiB + 64 * KiB, nbd.CMD_FLAG_NO_HOLE)
assert file_bytes(3 * MiB, 128 * KiB) == bytes(128 * KiB)
assert h.pread(128 * KiB, 3 * MiB) == bytes(128 * KiB)

# Trim punches a hole: the bytes read as zero, the blocks are freed.
if punch:
    h.pwrite(b"\x11" * MiB, 0)
    h.flush()
    before = os.stat(path).st_blocks
    h.trim(512 * KiB, 256 * KiB)
    h.flush()
    after = os.stat(path).st_blocks
    assert after < before, (before, after)
    assert file_bytes(256 * KiB, 512 * KiB) == bytes(512 * KiB)
    assert h.pread(256 * KiB, 0) == b"\x11" * (256 * KiB)
    print("trim freed %d blocks" % (before - after))

# The file's size is the export's size.
assert os.path.getsize(path) == 4 * MiB
h.shutdown()
os.truncate(path, 6 * MiB)
h = nbd.NBD()
h.connect_unix(sock)
assert h.get_size() == 6 * MiB, h.get_size()
assert h.pread(MiB, 5 * MiB) == bytes(MiB)
h.pwrite(b"\xee" * 4096, 6 * MiB - 4096)
assert file_bytes(6 * MiB - 4096, 4096) == b"\xee" * 4096
try:
    h.pwrite(b"\xee" * 4096, 6 * MiB)
    sys.exit("write past the end of the file succeeded")
except nbd.Error as e:
    pass
assert os.path.getsize(path) == 6 * MiB
h.shutdown()
print("ok")
PY

