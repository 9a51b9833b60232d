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
import errno, os, select, socket, struct, sys, time
import nbd
slow = int(os.environ["slow"])
path, pid = sys.argv[1], int(sys.argv[2])
OPTS = 0x49484156454F5054
MAGIC = 0x25609513

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

def connect(cflags=3):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    assert len(s.recv(18, socket.MSG_WAITALL)) == 18
    s.sendall(struct.pack(">I", cflags))
    return s

def go(s):
    s.sendall(struct.pack(">QII", OPTS, 1, 0))          # EXPORT_NAME ""
    assert len(s.recv(10, socket.MSG_WAITALL)) == 10

def request(s, cmd, offset=0, count=0, cookie=7, magic=MAGIC, flags=0):
    s.sendall(struct.pack(">IHHQQI", magic, flags, cmd, cookie, offset,
                          count))

def reply(s):
    d = s.recv(16, socket.MSG_WAITALL)
    assert len(d) == 16, d
    m, err, cookie = struct.unpack(">IIQ", d)
    assert m == 0x67446698, hex(m)
    return err, cookie

def disconnected(s, what):
    r, _, _ = select.select([s], [], [], 5)
    assert r, what + ": not disconnected"
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
    except ConnectionResetError:
        pass
    s.close()
    bystander()
    print(what + ": disconnected")

s = connect()
go(s)
for cmd in (42, 8, 0xffff):
    request(s, cmd, 0, 512, cookie=cmd)
    assert reply(s) == (errno.EINVAL, cmd)
request(s, 0, 0, 512, cookie=1)
assert reply(s) == (0, 1) and s.recv(512, socket.MSG_WAITALL) == \
    b"\x44" * 512
bystander()
print("unknown commands: EINVAL, connection kept")
request(s, 1, 8192, 512, cookie=2)
s.sendall(b"z" * 600)                  # 88 bytes more than declared
disconnected(s, "payload longer than declared")

s = connect(); go(s)
request(s, 0, 0, 512, magic=0x12345678)
disconnected(s, "bad request magic")

s = connect(); go(s)
request(s, 1, 0, 65536)
s.sendall(b"w" * 1000)
s.close()
bystander()
print("half a payload, then a hang-up")

s = connect(0xffffffff)
disconnected(s, "unknown client flags")
s = connect()
s.sendall(struct.pack(">QII", 0x1122334455667788, 7, 0))
disconnected(s, "bad option magic")
s = connect()
s.sendall(struct.pack(">QII", OPTS, 7, 40000))
disconnected(s, "option of 40000 bytes")
s = connect()
s.sendall(struct.pack(">QII", OPTS, 8, 0) * 1025)
disconnected(s, "1025 options")
s = connect()
s.sendall(struct.pack(">QII", OPTS, 1, 3) + b"a\0b")
disconnected(s, "export name with a NUL")
s = connect(0)                         # not fixed newstyle
s.sendall(struct.pack(">QII", OPTS, 7, 6) + b"\0\0\0\0\0\0")
disconnected(s, "GO from a client without fixed newstyle")

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
