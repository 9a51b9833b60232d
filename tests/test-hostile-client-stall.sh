#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Clients that stop in the middle of a request while holding the
# shared payload arena: two send the header of a 32 MiB WRITE and one
# byte of its payload, two ask for a 32 MiB READ and never read the
# reply.  Between them they hold both 64 MiB arenas.  While nobody
# else needs the space they are left alone; once another client waits
# for it, they are disconnected after the request timeout (2 s here),
# as far as needed for the other client's writes and reads to go
# through: one writer (its half of the WRITE arena is plenty), one
# reader; the other writer holds WRITE space, which the READ does not
# need, so it stays.  (They used to hold the arenas forever, and every
# other client's WRITE and READ waited forever.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
start_nbdbroker -U "$d/sock" --request-timeout 2s memory size=256M

/usr/bin/python3 - "$d/sock" <<'PY'
import os, select, sys, time
import nbd
from nbdraw import CMD_READ, CMD_WRITE, OPT_EXPORT_NAME
import nbdraw
slow = int(os.environ["slow"])
path = sys.argv[1]
MIB = 1024 * 1024

def connect():
    return nbdraw.connect(path, opt=OPT_EXPORT_NAME, timeout=None,
                          rcvbuf=4096)

def closed(c):
    """True if the broker has closed c.  Reads nothing: a reader that
    drained its socket here could take its whole reply (the broker
    refills a large send buffer as fast as it is drained) and so free
    the space it is meant to hold."""
    p = select.poll()
    p.register(c.s, select.POLLIN | select.POLLRDHUP)
    return any(ev & (select.POLLHUP | select.POLLRDHUP | select.POLLERR)
               for _, ev in p.poll(0))

writers = [connect() for _ in range(2)]
readers = [connect() for _ in range(2)]
for i, c in enumerate(writers):
    c.request(CMD_WRITE, i * 32 * MIB, 32 * MIB, cookie=i)   # one byte of it
    c.send(b"x")
for i, c in enumerate(readers):
    c.request(CMD_READ, i * 32 * MIB, 32 * MIB, cookie=i)    # never read
time.sleep(3)
# Nobody else wanted the space: nobody was disconnected.
assert not any(closed(c) for c in writers + readers)

def wait(h, cookie, what):
    t = time.monotonic()
    while not h.aio_command_completed(cookie):
        if time.monotonic() - t > 10 * slow:
            sys.exit("the innocent client's %s is stuck" % what)
        h.poll(100)
    return time.monotonic() - t

h = nbd.NBD()
h.connect_unix(path)
took_w = wait(h, h.aio_pwrite(b"\x11" * 4096, 100 * MIB), "write")
buf = nbd.Buffer(4096)
took_r = wait(h, h.aio_pread(buf, 100 * MIB), "read")
assert buf.to_bytearray() == b"\x11" * 4096
print("innocent write took %.1f s, read %.1f s" % (took_w, took_r))
assert took_w < 6 and took_r < 6, (took_w, took_r)
# The attackers in the way are gone; the innocent client now has full
# service.
time.sleep(0.5)
assert [closed(c) for c in writers].count(True) == 1
assert [closed(c) for c in readers].count(True) == 1
t = time.monotonic()
for i in range(100):
    h.pwrite(bytes([i]) * 65536, i * 65536)
    assert h.pread(65536, i * 65536) == bytes([i]) * 65536
print("100 writes and reads in %.2f s" % (time.monotonic() - t))
h.shutdown()
PY
test "$(grep -c 'the rest of a WRITE payload has not come in 2000 ms; others are waiting' "$d/sock.log")" -eq 1
test "$(grep -c 'replies have not been read for 2000 ms; others are waiting' "$d/sock.log")" -eq 1
