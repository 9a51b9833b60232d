#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A worker that dies and comes back with a different export, and a
# client that hangs up while its handle is being re-opened.
#
# 1. The replacement worker reports a disk 4096 bytes bigger: every
#    connection open to the old one is told EIO and disconnected (the
#    data it saw may not be there any more), new clients see the new
#    size, and the broker keeps serving.
# 2. A client sends NBD_CMD_DISC while the replacement worker is still
#    re-opening its handle (it takes 2 s): the broker closes the
#    connection as soon as the re-open is done.  (It used to keep such
#    a connection forever: paused, never reading, never closed.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker
d=$(tmpdir)
poison=$((1024 * 1024))

# 1.
NBDBROKER_WORKER=$(fake_worker "$d" open-size-changes --offset=$poison \
    --instances=1 --size=16777216) \
    start_nbdbroker -U "$d/a.sock" memory size=1M
/usr/bin/python3 - "$(nbd_uri "$d/a.sock")" "$poison" <<'PY'
import errno, sys, time, nbd
uri, poison = sys.argv[1], int(sys.argv[2])
a = nbd.NBD(); a.connect_uri(uri)
b = nbd.NBD(); b.connect_uri(uri)
assert a.get_size() == b.get_size() == 16 * 1024 * 1024
try:
    a.pread(4096, poison)          # worker 1 exits; worker 2 is bigger
    raise SystemExit("the read should have failed")
except nbd.Error as e:
    assert e.errnum == errno.EIO, e.errnum
for h in (a, b):                   # both were disconnected
    try:
        h.pread(512, 0)
        raise SystemExit("a stale connection still works")
    except nbd.Error:
        pass
c = nbd.NBD(); c.connect_uri(uri)
assert c.get_size() == 16 * 1024 * 1024 + 4096, c.get_size()
assert c.pread(4096, poison) == bytes(4096)
print("stale connections dropped; new ones see the new size")
PY
grep -E "conn 1: export '' changed across a worker restart \(size 16777216 -> 16781312" "$d/a.sock.log"
grep -E "conn 2: export '' changed across a worker restart" "$d/a.sock.log"
kill -0 "$nbdbroker_pid"

# 2.
NBDBROKER_WORKER=$(fake_worker "$d" exit --offset=$poison --instances=1 \
    --open-delay=2000) \
    start_nbdbroker -U "$d/b.sock" memory size=1M
/usr/bin/python3 - "$d/b.sock" "$poison" <<'PY'
import os, select, sys, time
from nbdraw import CMD_DISC, CMD_READ, OPT_EXPORT_NAME, connect
slow = int(os.environ["slow"])
path, poison = sys.argv[1], int(sys.argv[2])

victim, idle = [connect(path, opt=OPT_EXPORT_NAME, timeout=None)
                for _ in range(2)]
victim.request(CMD_READ, poison, 4096)   # worker 1 exits
time.sleep(0.5)                    # worker 2 is re-opening (2 s)
idle.request(CMD_DISC)
t = time.monotonic()
r, _, _ = select.select([idle.s], [], [], 10)
assert r, "the broker did not close the connection after NBD_CMD_DISC"
assert idle.s.recv(1) == b"", \
    "the broker sent something after NBD_CMD_DISC"
took = time.monotonic() - t
print("closed %.1f s after NBD_CMD_DISC" % took)
assert took < 2 + 3 * slow, took
PY
kill -0 "$nbdbroker_pid"
