# SPDX-License-Identifier: BSD-3-Clause
"""What the hostile-client tests share: a look at the broker process
(memory, descriptors, CPU), raw clients past the handshake, a flood of
requests from clients that never read, and an innocent libnbd client
that must keep full service meanwhile.  Imported by
test-hostile-client-*.sh (functions.sh puts tests/lib on PYTHONPATH)."""

import os
import sys
import time

import nbd

import nbdraw

MIB = 1024 * 1024
# Time limits are multiplied by this (functions.sh: 10 under valgrind).
SLOW = int(os.environ.get("slow", "1"))


class Broker:
    """The broker process, seen through /proc."""

    def __init__(self, pid):
        self.pid = pid

    def rss_kib(self):
        for line in open("/proc/%d/status" % self.pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS for %d" % self.pid)

    def nfds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def cpu_s(self):
        f = open("/proc/%d/stat" % self.pid).read().rsplit(")", 1)[1]
        f = f.split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def wait_nfds(self, n, seconds=10):
        """Wait until the broker holds n descriptors again."""
        seconds *= SLOW
        t = time.monotonic()
        while self.nfds() != n and time.monotonic() - t < seconds:
            time.sleep(0.1)
        assert self.nfds() == n, (self.nfds(), n)


def connect(path):
    """A raw client on the unix socket path, past a fixed-newstyle
    handshake (NBD_OPT_EXPORT_NAME, no zeroes), non-blocking, with a
    small receive buffer so that it stops reading early."""
    c = nbdraw.connect(path, opt=nbdraw.OPT_EXPORT_NAME, timeout=None,
                       rcvbuf=4096)
    c.s.setblocking(False)
    return c.s


def flood(clients, seconds):
    """clients: (socket, data) pairs.  Send whole copies of data until
    the broker reads no more from any; return how many it
    disconnected."""
    blocked, gone = set(), set()
    left = [b""] * len(clients)
    t = time.monotonic()
    while len(blocked | gone) < len(clients) and \
            time.monotonic() - t < seconds:
        for i, (s, data) in enumerate(clients):
            if i in gone:
                continue
            try:
                left[i] = left[i] or data
                left[i] = left[i][s.send(left[i]):]
                blocked.discard(i)
            except BlockingIOError:
                blocked.add(i)
            except (BrokenPipeError, ConnectionResetError):
                gone.add(i)
        time.sleep(0.01)
    return len(gone)


def innocent(h, n, base):
    """n 64 KiB writes from base, each read back and compared, on the
    libnbd handle h; fails the test if they take over 20 s (times
    SLOW).  Returns the seconds taken."""
    t = time.monotonic()

    def wait(c):
        while not h.aio_command_completed(c):
            if time.monotonic() - t > 20 * SLOW:
                sys.exit("the innocent client is stuck")
            h.poll(100)

    for i in range(n):
        wait(h.aio_pwrite(bytes([i]) * 65536, base + i * 65536))
        buf = nbd.Buffer(65536)
        wait(h.aio_pread(buf, base + i * 65536))
        assert buf.to_bytearray() == bytes([i]) * 65536
    return time.monotonic() - t
