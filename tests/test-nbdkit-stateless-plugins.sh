#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit's null, pattern, zero and full plugins (Debian's .so files)
# served by nbdbroker: sizes, contents, which writes succeed and with
# what error the others fail.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
requires_enforce
set -x

requires nbdinfo --version
requires nbdcopy --version
requires_nbd_python
requires_nbdkit_plugin null pattern zero full

d=$(tmpdir)
M=1048576

# null: reads zeroes, accepts and discards writes.
start_nbdbroker -U "$d/null" nbdkit:null 1M
u=$(nbd_uri "$d/null")
test "$(nbdinfo --size "$u")" -eq $M
/usr/bin/python3 - "$u" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
assert not h.is_read_only()
h.pwrite(b"\xff" * 4096, 0)
h.zero(4096, 8192)
h.trim(4096, 16384)
h.flush()
assert h.pread(65536, 0) == bytes(65536)
PY
check_map "$u" "m == [[0, 1048576, 3]]"

# pattern: read-only; each 8-byte word is its offset, big-endian.
start_nbdbroker -U "$d/pattern" nbdkit:pattern size=1M
u=$(nbd_uri "$d/pattern")
test "$(nbdinfo --size "$u")" -eq $M
nbdinfo --json "$u" | grep '"is_read_only": true'
pattern_file $M "$d/want.img"
nbdcopy "$u" "$d/got.img"
cmp "$d/want.img" "$d/got.img"
check_map --no-extents "$u" 1048576

# zero: an empty, read-only disk.
start_nbdbroker -U "$d/zero" nbdkit:zero
u=$(nbd_uri "$d/zero")
test "$(nbdinfo --size "$u")" -eq 0
nbdinfo --json "$u" | grep '"is_read_only": true'

# full: reads zeroes; every write, zero and trim fails with ENOSPC.
start_nbdbroker -U "$d/full" nbdkit:full 1M
u=$(nbd_uri "$d/full")
test "$(nbdinfo --size "$u")" -eq $M
/usr/bin/python3 - "$u" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
assert h.pread(4096, 0) == bytes(4096)
for what, op in (("pwrite", lambda: h.pwrite(b"x", 0)),
                 ("zero", lambda: h.zero(512, 0)),
                 ("trim", lambda: h.trim(512, 0))):
    try:
        op()
        raise SystemExit("full: %s succeeded" % what)
    except nbd.Error as e:
        assert e.errno == "ENOSPC", (what, e.errno)
PY
check_map "$u" "m == [[0, 1048576, 3]]"
