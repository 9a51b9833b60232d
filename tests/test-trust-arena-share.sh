#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Two clients that ask for 32 MiB of reads each and never read the
# replies hold the whole 64 MiB READ arena.  With the default request
# timeout (30 s), another client that wants arena space must not wait
# that long: a client that holds space without making progress (not
# reading its replies, not sending its payload) is cut off after a few
# seconds once others wait.  (The stalled clients used to keep it for
# the whole request timeout, and could do it again at once.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=256M

/usr/bin/python3 - "$d/sock" <<'PY'
import os, sys, time
import nbd
import nbdraw
from nbdraw import CMD_READ, OPT_EXPORT_NAME
slow = int(os.environ["slow"])
path = sys.argv[1]
MIB = 1024 * 1024

def closed(c):
    c.s.setblocking(False)
    try:
        while True:
            if not c.s.recv(1 << 20):
                return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True

stallers = [nbdraw.connect(path, opt=OPT_EXPORT_NAME, timeout=None,
                           rcvbuf=4096) for _ in range(2)]
for i, c in enumerate(stallers):
    for k in range(4):   # 4 x 8 MiB each: their whole 32 MiB
        c.request(CMD_READ, (i * 4 + k) * 8 * MIB, 8 * MIB, cookie=k)
time.sleep(1)

h = nbd.NBD()
h.connect_unix(path)
buf = nbd.Buffer(1 * MIB)
t = time.monotonic()
cookie = h.aio_pread(buf, 200 * MIB)
while not h.aio_command_completed(cookie):
    if time.monotonic() - t > 25 * slow:
        sys.exit("the innocent read waited more than 25 s")
    h.poll(100)
took = time.monotonic() - t
print("innocent read took %.1f s" % took)
assert took < 10 * slow, took
time.sleep(0.5)
print("stallers closed: %s" % [closed(c) for c in stallers])
assert any(closed(c) for c in stallers)
for i in range(20):
    h.pread(1 * MIB, i * MIB)
h.shutdown()
PY
grep -E "replies have not been read for [0-9]+ ms; others are waiting" \
    "$d/sock.log"

# Trickling is stalling too: two clients take the whole arena and
# read their replies at 4 KiB a second (less than CONN_STALL_MIN_BYTES,
# 64 KiB, in 5 s); once another client waits, one of them is cut off
# all the same.  (A fresh server: the arena's first fit starts over.)
start_nbdbroker -U "$d/sock2" memory size=256M
/usr/bin/python3 - "$d/sock2" <<'PY'
import os, sys, threading, time
import nbd
import nbdraw
from nbdraw import CMD_READ, OPT_EXPORT_NAME
slow = int(os.environ["slow"])
path = sys.argv[1]
MIB = 1024 * 1024
stop = False

def trickle(c):
    while not stop:
        try:
            if not c.s.recv(2048):
                return
        except OSError:
            return
        time.sleep(0.5)

tricklers = [nbdraw.connect(path, opt=OPT_EXPORT_NAME, timeout=None,
                            rcvbuf=4096) for _ in range(2)]
for i, c in enumerate(tricklers):
    for k in range(4):
        c.request(CMD_READ, (i * 4 + k) * 8 * MIB, 8 * MIB, cookie=k)
ts = [threading.Thread(target=trickle, args=(c,)) for c in tricklers]
for th in ts:
    th.start()
time.sleep(1)
h = nbd.NBD()
h.connect_unix(path)
buf = nbd.Buffer(1 * MIB)
t = time.monotonic()
cookie = h.aio_pread(buf, 200 * MIB)
while not h.aio_command_completed(cookie):
    if time.monotonic() - t > 25 * slow:
        sys.exit("the innocent read waited more than 25 s for tricklers")
    h.poll(100)
took = time.monotonic() - t
print("innocent read next to tricklers took %.1f s" % took)
assert 3 < took < 10 * slow, took
stop = True
for th in ts:
    th.join()
h.shutdown()
PY
grep -E "holding [0-9]+ KiB of shared payload space, (replies have not been read for|only [0-9]+ bytes of replies read in) [0-9]+ ms; others are waiting" \
    "$d/sock2.log"
