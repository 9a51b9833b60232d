#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Connection storms: 1000 connections at once, three times over,
# against --max-connections 100.  The first 99 (one slot is taken by a
# working client) get the greeting; the rest are refused at once
# (closed, no greeting), and the refusals are logged once.  Of the 99,
# a third stop in the middle of the handshake, a third after their
# options, the rest say nothing: all are dropped at the handshake
# timeout (2 s).  The working client keeps full service throughout;
# the broker's descriptors go up by exactly 99 and come back down,
# and its memory is the same after the third storm as after the first
# (VmRSS, within 1 MiB); new clients can connect again afterwards.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
start_nbdbroker -U "$d/sock" --max-connections 100 \
    --handshake-timeout $((2 * slow))s memory size=64M

/usr/bin/python3 - "$d/sock" "$nbdbroker_pid" <<'PY'
import os, select, socket, struct, sys, time
import nbd
from nbdraw import OPT_STRUCTURED_REPLY, OPTS_MAGIC
path, pid = sys.argv[1], int(sys.argv[2])
slow = int(os.environ["slow"])

def rss_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def nfds():
    return len(os.listdir("/proc/%d/fd" % pid))

def wait_for(cond, seconds, what):
    t = time.monotonic()
    while not cond():
        if time.monotonic() - t > seconds:
            sys.exit("timed out waiting for " + what)
        time.sleep(0.05)

def greeted(s):
    """True if s got the 18-byte greeting, False if it was closed."""
    r, _, _ = select.select([s], [], [], 5)
    if not r:
        sys.exit("neither greeted nor refused in 5 s")
    try:
        d = s.recv(18, socket.MSG_WAITALL)
    except ConnectionResetError:
        return False
    if d == b"":
        return False
    assert len(d) == 18 and d[:8] == b"NBDMAGIC", d
    return True

def closed(s):
    s.setblocking(False)
    try:
        while True:
            if not s.recv(65536):
                return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True

a = nbd.NBD()
a.connect_unix(path)
a.pwrite(b"\x33" * 4096, 0)
fds0 = nfds()
rss = []
for storm in range(3):
    socks = []
    for i in range(1000):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        socks.append(s)
    ok = [s for s in socks if greeted(s)]
    refused = len(socks) - len(ok)
    print("storm %d: %d greeted, %d refused" % (storm, len(ok), refused))
    assert len(ok) == 99, len(ok)
    for i, s in enumerate(ok):
        if i % 3 == 0:                 # flags, then half an option
            s.sendall(struct.pack(">I", 3) + b"IHAV")
        elif i % 3 == 1:               # a whole option, then nothing
            s.sendall(struct.pack(">IQII", 3, OPTS_MAGIC,
                                  OPT_STRUCTURED_REPLY, 0))
    wait_for(lambda: nfds() == fds0 + 99, 5 * slow, "99 more descriptors")
    assert a.pread(4096, 0) == b"\x33" * 4096
    wait_for(lambda: all(closed(s) for s in ok), 10 * slow,
             "the handshake timeout")
    for s in socks:
        s.close()
    wait_for(lambda: nfds() == fds0, 5 * slow,
             "the descriptors to come back")
    assert a.pread(4096, 0) == b"\x33" * 4096
    rss.append(rss_kib())
    print("storm %d: fds back to %d, RSS %d KiB" % (storm, nfds(), rss[-1]))
assert rss[2] - rss[0] < 1024 or os.environ["measure_rss"] == "0", rss
b = nbd.NBD()
b.connect_unix(path)
assert b.pread(4096, 0) == b"\x33" * 4096
print("a new client is served")
PY
test "$(grep -c 'refusing connection: 100 connections already open' "$d/sock.log")" -eq 3
grep -E 'closing: handshake not finished in time' "$d/sock.log"
