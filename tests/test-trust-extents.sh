#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What a worker sends cannot make the broker hold much memory.  A worker
# answers every block status request with 65,536 one-byte extents (the
# most a worker may send: valid, but far more than a client can use).
# A client sends 256 such requests (the most in flight) and reads no
# reply.  The broker keeps only what it forwards: at most
# BROKER_MAX_CLIENT_EXTENTS extents a reply (the spec lets a server
# describe less than the range asked), one with REQ_ONE, and fewer
# when the client's queued replies already fill its output budget, so
# its memory stays flat.  (Each reply used to be kept whole, 512 KiB,
# so one connection pinned 128 MiB.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker

d=$(tmpdir)
NBDBROKER_WORKER=$(fake_worker "$d" extents-max --offset=0) \
    start_nbdbroker -U "$d/sock" memory size=16M

/usr/bin/python3 - "$d/sock" "$nbdbroker_pid" "$measure_rss" "$slow" <<'PY'
import struct, sys, time
import nbdraw
from nbdraw import *
sock, broker, measure_rss, slow = sys.argv[1], sys.argv[2], \
    int(sys.argv[3]), int(sys.argv[4])
MAX_CLIENT_EXTENTS = 16384

def rss_kb():
    for line in open("/proc/%s/status" % broker):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def client(rcvbuf=None):
    c = nbdraw.Raw(sock, timeout=60 * slow, rcvbuf=rcvbuf)
    c.greet()
    assert c.opt(OPT_STRUCTURED_REPLY)[-1][0] == REP_ACK
    r = c.opt(OPT_SET_META_CONTEXT, Raw.meta_data(b"", [b"base:allocation"]))
    assert r[-1][0] == REP_ACK and r[0][0] == REP_META_CONTEXT, r
    r = c.go()
    assert r[-1][0] == REP_ACK, r
    return c

def extents(c, cookie):
    ch = c.chunks()
    assert len(ch) == 1, ch
    flags, rtype, ck, payload = ch[0]
    assert ck == cookie and rtype == REPLY_TYPE_BLOCK_STATUS, ch
    return (len(payload) - 4) // 8

# A client that reads: a reply is clipped to MAX_CLIENT_EXTENTS, and
# REQ_ONE gets one extent.
c = client()
c.request(CMD_BLOCK_STATUS, 0, 1 << 20, cookie=1)
n = extents(c, 1)
print("one reply: %d extents" % n)
assert 1 <= n <= MAX_CLIENT_EXTENTS, n
c.request(CMD_BLOCK_STATUS, 0, 1 << 20, flags=FLAG_REQ_ONE, cookie=2)
assert extents(c, 2) == 1
# Clipped at count: 100 bytes asked, at most 100 one-byte extents.
c.request(CMD_BLOCK_STATUS, 0, 100, cookie=3)
assert extents(c, 3) <= 100

# A client that reads nothing, with 256 requests in flight.
before = rss_kb()
s = client(rcvbuf=4096)
for i in range(256):
    s.request(CMD_BLOCK_STATUS, 0, 1 << 20, cookie=100 + i)
time.sleep(3 * slow)
after = rss_kb()
print("broker RSS: %d KiB before, %d KiB after 256 unread replies"
      % (before, after))
if measure_rss:
    assert after - before < 24 * 1024, (before, after)
# Every reply is still there, whole, for a client that reads at last.
total = 0
for i in range(256):
    total += extents(s, 100 + i)
print("256 replies, %d extents in all" % total)
assert 256 <= total <= 256 * MAX_CLIENT_EXTENTS
# The first replies filled the output budget (4 MiB: some 32 replies
# of 16,384 extents); the others were cut down, to one extent at least.
assert total < 256 * MAX_CLIENT_EXTENTS, total
c.request(CMD_READ, 0, 512, cookie=9)
r = c.any_reply()
assert r[0] == "chunk" and r[3] == 9, r
PY
kill -0 "$nbdbroker_pid"
not grep -q "protocol violation" "$d/sock.log"
