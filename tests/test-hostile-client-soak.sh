#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# 10,000 abusive connections, one after another, each closed by the
# broker before the next (SOAK_EVENTS: how many), each doing one of ten
# things: hang up in the middle of the
# greeting or of an option, send unknown client flags, a bad option
# magic, an over-long option, a bad request magic, a payload longer
# than declared, half a payload, unknown commands without reading the
# replies, or 1025 options.  A bystander writes and reads back its own
# data between them and never sees an error.  The broker's private
# memory (RssAnon) and descriptors are sampled every 1000
# connections: the descriptors are back to the baseline every time,
# the memory stays flat (under 1 MiB of growth from the 1000th to the
# last connection).
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
events=${SOAK_EVENTS:-$((10000 / ${NBDBROKER_TEST_SLOW:-1}))}
start_nbdbroker -U "$d/sock" memory size=16M

/usr/bin/python3 - "$d/sock" "$nbdbroker_pid" "$events" <<'PY'
import os, socket, struct, sys, time
import nbd
from nbdraw import OPTS_MAGIC as OPTS, REQUEST_MAGIC
path, pid, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def mem_kib():
    m = {}
    for line in open("/proc/%d/status" % pid):
        k, v = line.split(":", 1)
        if k in ("VmRSS", "RssAnon"):
            m[k] = int(v.split()[0])
    return m["VmRSS"], m["RssAnon"]

def nfds():
    return len(os.listdir("/proc/%d/fd" % pid))

def req(cmd, offset=0, count=0, magic=REQUEST_MAGIC):
    return struct.pack(">IHHQQI", magic, 0, cmd, 1, offset, count)

hs = struct.pack(">I", 3)
go = struct.pack(">QII", OPTS, 1, 0)
abuse = [
    lambda: b"",                                        # greeting only
    lambda: hs + b"IHAVEO",                             # half an option
    lambda: struct.pack(">I", 0xff),                    # client flags
    lambda: hs + struct.pack(">QII", 7, 7, 0),          # option magic
    lambda: hs + struct.pack(">QII", OPTS, 7, 1 << 20), # option length
    lambda: hs + go + req(0, magic=1),                  # request magic
    lambda: hs + go + req(1, 0, 512) + b"p" * 600,      # longer payload
    lambda: hs + go + req(1, 0, 65536) + b"q" * 1000,   # half a payload
    lambda: hs + go + req(42) * 2000,                   # unread replies
    lambda: hs + struct.pack(">QII", OPTS, 8, 0) * 1025,
]

b = nbd.NBD()
b.connect_unix(path)
fds0 = nfds()
samples = []
t0 = time.monotonic()
for n in range(1, events + 1):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.recv(18, socket.MSG_WAITALL)
    s.sendall(abuse[n % len(abuse)]())
    s.close()
    # One abusive connection at a time: what is measured is what each
    # leaves behind, not how many a loaded machine lets pile up (their
    # buffers raise malloc's high-water mark, which is not a leak).
    t = time.monotonic()
    while nfds() != fds0 and time.monotonic() - t < 10:
        time.sleep(0.0002)
    if n % 10 == 0:
        data = bytes([n & 0xff]) * 4096
        b.pwrite(data, (n % 256) * 4096)
        assert b.pread(4096, (n % 256) * 4096) == data
    if n % max(events // 10, 100) == 0:
        t = time.monotonic()
        while nfds() != fds0 and time.monotonic() - t < 10:
            time.sleep(0.01)
        samples.append((n,) + mem_kib() + (nfds(), time.monotonic() - t0))
        print("%6d connections: VmRSS %6d KiB (RssAnon %5d), %3d fds, "
              "%5.1f s" % samples[-1], flush=True)
        assert samples[-1][3] == fds0, (samples[-1], fds0)
growth = samples[-1][2] - samples[0][2]
print("RssAnon growth from %d to %d connections: %d KiB" %
      (samples[0][0], samples[-1][0], growth))
assert growth < 1024 or os.environ["measure_rss"] == "0", growth
PY
