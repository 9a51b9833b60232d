#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The bundled memory plugin keeps every byte: writes of every length
# from 1 byte to 200 KiB at unaligned offsets (across chunk boundaries,
# and around the sizes where a copy routine may change how it copies:
# 16, 64, 1 KiB, 4 KiB, 64 KiB), mixed with zeroes and trims, read back
# against a copy of the disk kept by the test; and the extents: written
# chunks are data, the rest holes.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=1M
uri=$(nbd_uri "$d/sock")

/usr/bin/python3 - "$uri" <<'PY'
import nbd, random, sys

SIZE, CHUNK = 1 << 20, 65536
rng = random.Random(12)
mirror = bytearray(SIZE)
h = nbd.NBD()
h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
h.connect_uri(sys.argv[1])
lengths = [1, 15, 16, 17, 63, 64, 65, 1023, 1024, 1025, 4095, 4096,
           4097, 65535, 65536, 65537, 200 * 1024]
ops = 0
for i in range(600):
    n = lengths[i % len(lengths)] if i < 3 * len(lengths) else \
        rng.randint(1, 200 * 1024)
    off = rng.randrange(0, SIZE - n)
    what = rng.random()
    if what < 0.8:
        data = bytes(rng.getrandbits(8) for _ in range(min(n, 64)))
        data = (data * (n // len(data) + 1))[:n]
        h.pwrite(data, off)
        mirror[off:off + n] = data
    elif what < 0.9:
        h.zero(n, off)
        mirror[off:off + n] = bytes(n)
    else:
        # A trim may leave the data; the plugin zeroes or frees it.
        h.trim(n, off)
        mirror[off:off + n] = bytes(n)
    ops += 1
    if i % 50 == 0 or i < 3 * len(lengths):
        assert h.pread(SIZE, 0) == mirror, "after op %d" % i
assert h.pread(SIZE, 0) == mirror

# Extents: a chunk never written, or freed whole, is a hole.
h.trim(2 * CHUNK, 4 * CHUNK)
mirror[4 * CHUNK:6 * CHUNK] = bytes(2 * CHUNK)
h.pwrite(b"x", 5 * CHUNK + 7)
mirror[5 * CHUNK + 7] = ord("x")
got = []
def cb(meta, off, ents, err):
    if meta == nbd.CONTEXT_BASE_ALLOCATION:
        got.extend(ents)
h.block_status(2 * CHUNK, 4 * CHUNK, cb)
print("extents:", got)
at, start = {}, 4 * CHUNK
for i in range(0, len(got), 2):
    for c in range(start, start + got[i], CHUNK):
        at[c] = bool(got[i + 1] & nbd.STATE_HOLE)
    start += got[i]
# The chunk at 4 * CHUNK was freed: a hole; the one at 5 * CHUNK is data.
assert at[4 * CHUNK] is True, got
assert at[5 * CHUNK] is False, got
assert h.pread(SIZE, 0) == mirror
h.shutdown()
print("operations:", ops)
PY
