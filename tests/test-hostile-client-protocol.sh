#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Clients that break the NBD protocol, one at a time, while another
# client works:
# - libnbd with strict mode off sends unknown flags, flags that do not
#   fit the command, zero-length and out-of-range requests, block
#   status without a meta context: each is answered with the NBD error
#   a client expects (EINVAL; ENOSPC for a write past the end, after
#   its payload has been read) and the connection keeps working;
# - raw sockets send unknown commands (EINVAL, connection kept), a
#   WRITE payload longer than declared (the excess is taken for a
#   request header: bad magic, disconnected at once), a
#   bad request magic, half a payload then a hang-up, and handshake
#   abuse: unknown client flags, a bad option magic, an option longer
#   than 32 KiB, 1025 options, an export name with a NUL, an option
#   from a client without fixed newstyle (each: disconnected).
# The other client never sees an error; afterwards the broker's
# descriptors are back where they were.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=1M

/usr/bin/python3 - "$d/sock" "$nbdbroker_pid" <<'PY'
import errno, os, select, struct, sys, time
import nbd
from nbdraw import (CMD_READ, CMD_WRITE, OPT_EXPORT_NAME, OPT_GO,
                    OPT_STRUCTURED_REPLY, OPTS_MAGIC, Raw, connect)
slow = int(os.environ["slow"])
path, pid = sys.argv[1], int(sys.argv[2])

def nfds():
    return len(os.listdir("/proc/%d/fd" % pid))

good = nbd.NBD()
good.connect_unix(path)
good.pwrite(b"\x44" * 4096, 0)
fds0 = nfds()

def bystander():
    assert good.pread(4096, 0) == b"\x44" * 4096

# libnbd, strict mode off.
h = nbd.NBD()
h.set_strict_mode(0)
h.connect_unix(path)
cases = [
    ("unknown flag 0x40", lambda: h.pread(512, 0, flags=0x40), errno.EINVAL),
    ("flag 0x8000", lambda: h.pread(512, 0, flags=0x8000), errno.EINVAL),
    ("FAST_ZERO on a read",
     lambda: h.pread(512, 0, flags=nbd.CMD_FLAG_FAST_ZERO), errno.EINVAL),
    ("NO_HOLE on a write",
     lambda: h.pwrite(b"x" * 512, 0, flags=nbd.CMD_FLAG_NO_HOLE),
     errno.EINVAL),
    ("REQ_ONE on a write",
     lambda: h.pwrite(b"x" * 512, 0, flags=nbd.CMD_FLAG_REQ_ONE),
     errno.EINVAL),
    ("zero-length read", lambda: h.pread(0, 0), errno.EINVAL),
    ("read past the end", lambda: h.pread(512, 1024 * 1024), errno.EINVAL),
    ("write past the end", lambda: h.pwrite(b"y" * 65536, 1024 * 1024 - 512),
     errno.ENOSPC),
    ("block status without a context",
     lambda: h.block_status(512, 0, lambda *a: 0), errno.EINVAL),
]
for what, f, want in cases:
    try:
        f()
        sys.exit("%s: succeeded" % what)
    except nbd.Error as e:
        assert e.errnum == want, (what, e.errnum)
    assert h.pread(4096, 0) == b"\x44" * 4096, what
    bystander()
print("libnbd: %d bad requests answered, connection kept" % len(cases))
h.shutdown()

def greeted(cflags=3):
    c = Raw(path, timeout=None)
    c.greet(cflags)
    return c

def entered():
    return connect(path, opt=OPT_EXPORT_NAME, timeout=None)

def disconnected(c, what):
    r, _, _ = select.select([c.s], [], [], 5)
    assert r, what + ": not disconnected"
    try:
        while True:
            d = c.s.recv(65536)
            if not d:
                break
    except ConnectionResetError:
        pass
    c.s.close()
    bystander()
    print(what + ": disconnected")

c = entered()
for cmd in (42, 8, 0xffff):
    c.request(cmd, 0, 512, cookie=cmd)
    assert c.simple_reply() == (errno.EINVAL, cmd, b"")
c.request(CMD_READ, 0, 512, cookie=1)
assert c.simple_reply(512) == (0, 1, b"\x44" * 512)
bystander()
print("unknown commands: EINVAL, connection kept")
c.request(CMD_WRITE, 8192, 512, cookie=2)
c.send(b"z" * 600)                     # 88 bytes more than declared
disconnected(c, "payload longer than declared")

c = entered()
c.send(struct.pack(">IHHQQI", 0x12345678, 0, CMD_READ, 7, 0, 512))
disconnected(c, "bad request magic")

c = entered()
c.request(CMD_WRITE, 0, 65536, cookie=7)
c.send(b"w" * 1000)
c.s.close()
bystander()
print("half a payload, then a hang-up")

c = greeted(0xffffffff)
disconnected(c, "unknown client flags")
c = greeted()
c.send(struct.pack(">QII", 0x1122334455667788, OPT_GO, 0))
disconnected(c, "bad option magic")
c = greeted()
c.send_opt(OPT_GO, length=40000)
disconnected(c, "option of 40000 bytes")
c = greeted()
c.send(struct.pack(">QII", OPTS_MAGIC, OPT_STRUCTURED_REPLY, 0) * 1025)
disconnected(c, "1025 options")
c = greeted()
c.send_opt(OPT_EXPORT_NAME, b"a\0b")
disconnected(c, "export name with a NUL")
c = greeted(0)                         # not fixed newstyle
c.send_opt(OPT_GO, b"\0" * 6)
disconnected(c, "GO from a client without fixed newstyle")

t = time.monotonic()
while nfds() != fds0 and time.monotonic() - t < 5 * slow:
    time.sleep(0.05)
assert nfds() == fds0, (nfds(), fds0)
bystander()
print("descriptors back to %d" % fds0)
PY
grep -F 'bad request magic 0x7a7a7a7a' "$d/sock.log"
grep -F 'client closed the connection in the middle of a message' "$d/sock.log"
grep -F 'more than 1024 options: disconnecting' "$d/sock.log"
