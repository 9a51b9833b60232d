#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Clients that send requests faster than they read the replies:
# twenty send unknown commands (each answered with a 16-byte error)
# and read nothing.  The broker stops reading from each once its
# queued output costs 4 MiB, so its memory grows by less than 6 MiB a
# client (VmRSS), its descriptors by one a client; none is dropped
# (they hold nothing shared), another client's writes and reads go
# through, and once they hang up the descriptors are back where they
# were.  (The 16-byte replies used to cost 6 times their size beyond
# the limit: ~16 MiB a client.)
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

rss0, fds0 = rss_kib(), nfds()
bad = struct.pack(">IHHQQI", 0x25609513, 0, 42, 0, 0, 0) * 4096
flooders = [(connect(), bad) for _ in range(20)]
assert flood(flooders, 30) == 0
took = innocent(h, 50, MIB)
time.sleep(1)
rss1, fds1 = rss_kib(), nfds()
per = (rss1 - rss0) / len(flooders)
print("RSS %d -> %d KiB (%.0f KiB a flooder), fds %d -> %d; "
      "innocent: 50 writes and reads in %.2f s" %
      (rss0, rss1, per, fds0, fds1, took))
assert per < 6 * 1024 or os.environ["measure_rss"] == "0", per
assert fds1 - fds0 == len(flooders), (fds0, fds1)
for s, _ in flooders:
    s.close()
t = time.monotonic()
while nfds() != fds0 and time.monotonic() - t < 10:
    time.sleep(0.1)
assert nfds() == fds0, (nfds(), fds0)

h.shutdown()
PY
