#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Clients that do not speak fixed newstyle can only use
# NBD_OPT_EXPORT_NAME (old nbd-client, some embedded clients).  They
# must get a working export too: size, reads and writes up to the
# 32 MiB limit, EINVAL above it; with and without the 124 zero bytes.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=64M

/usr/bin/python3 - "$d/sock" <<'PY'
import errno
import sys
import nbd

MiB = 1024 * 1024
for hflags in (0, nbd.HANDSHAKE_FLAG_NO_ZEROES):
    h = nbd.NBD()
    h.set_strict_mode(0)
    h.set_handshake_flags(hflags)
    h.connect_unix(sys.argv[1])
    assert h.get_protocol() == "newstyle", h.get_protocol()
    assert h.get_size() == 64 * MiB, h.get_size()
    assert not h.is_read_only() and h.can_flush()
    data = bytes(range(256)) * 2048
    h.pwrite(data, 3 * MiB)
    assert h.pread(len(data), 3 * MiB) == data
    big = b"\x61" * (32 * MiB)
    h.pwrite(big, 32 * MiB)
    assert h.pread(32 * MiB, 32 * MiB) == big
    try:
        h.pread(33 * MiB, 0)
        sys.exit("a 33 MiB read succeeded")
    except nbd.Error as e:
        assert e.errnum == errno.EINVAL, e
    try:
        h.pwrite(b"\x62" * (33 * MiB), 0)
        sys.exit("a 33 MiB write succeeded")
    except nbd.Error as e:
        assert e.errnum == errno.EINVAL, e
    assert h.pread(len(data), 3 * MiB) == data
    h.flush()
    h.shutdown()
    print("handshake flags %d: ok" % hflags)
PY
