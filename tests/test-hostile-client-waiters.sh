#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Many connections waiting for arena space at once: ten clients
# pipeline 64 KiB READs and read nothing; they fill the shared READ
# arena and most of them wait for more.  Another client's writes and
# reads go through (the non-readers in its way are dropped after the
# request timeout), the broker does not spin while they wait, and once
# they hang up its descriptors are back where they were.  (It used to
# loop forever as soon as two connections waited for arena space that
# was freed but not enough for both.)
source "${srcdir:-.}/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
start_nbdbroker -U "$d/sock" --request-timeout 2s memory size=256M

/usr/bin/python3 - "$d/sock" "$nbdbroker_pid" <<'PY'
import os, socket, struct, sys, time
import nbd
path, pid = sys.argv[1], int(sys.argv[2])
MIB = 1024 * 1024

def rss_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def nfds():
    return len(os.listdir("/proc/%d/fd" % pid))

def cpu_s():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def connect():
    s = socket.socket(socket.AF_UNIX)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(path)
    assert len(s.recv(18, socket.MSG_WAITALL)) == 18
    s.sendall(struct.pack(">I", 3))
    s.sendall(struct.pack(">QII", 0x49484156454F5054, 1, 0))
    assert len(s.recv(10, socket.MSG_WAITALL)) == 10
    s.setblocking(False)
    return s

def flood(clients, seconds):
    """Send whole requests until the broker reads no more from any;
    return how many it disconnected."""
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
    t = time.monotonic()
    for i in range(n):
        c = h.aio_pwrite(bytes([i]) * 65536, base + i * 65536)
        while not h.aio_command_completed(c):
            if time.monotonic() - t > 20:
                sys.exit("the innocent client is stuck")
            h.poll(100)
        buf = nbd.Buffer(65536)
        c = h.aio_pread(buf, base + i * 65536)
        while not h.aio_command_completed(c):
            if time.monotonic() - t > 20:
                sys.exit("the innocent client is stuck")
            h.poll(100)
        assert buf.to_bytearray() == bytes([i]) * 65536
    return time.monotonic() - t

h = nbd.NBD()
h.connect_unix(path)
innocent(h, 1, 0)
fds0 = nfds()

reads = b"".join(struct.pack(">IHHQQI", 0x25609513, 0, 0, i, i * 65536,
                             65536) for i in range(256))
flooders = [(connect(), reads) for _ in range(10)]
flood(flooders, 5)
took = innocent(h, 20, 2 * MIB)
cpu0 = cpu_s()
time.sleep(2)
busy = cpu_s() - cpu0
print("innocent: 20 writes and reads in %.2f s; broker CPU over 2 s "
      "of waiting: %.2f s" % (took, busy))
assert busy < 0.5, busy
for s, _ in flooders:
    s.close()
t = time.monotonic()
while nfds() != fds0 and time.monotonic() - t < 10:
    time.sleep(0.1)
print("after they hang up: RSS %d KiB, fds %d" % (rss_kib(), nfds()))
assert nfds() == fds0, (nfds(), fds0)
innocent(h, 5, 3 * MIB)
h.shutdown()
PY
