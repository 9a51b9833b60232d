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
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
start_nbdbroker -U "$d/sock" --request-timeout 2s memory size=256M

/usr/bin/python3 - "$d/sock" "$nbdbroker_pid" <<'PY'
import struct, sys, time
import nbd
from abuse import MIB, Broker, connect, flood, innocent
from nbdraw import CMD_READ, REQUEST_MAGIC
path, broker = sys.argv[1], Broker(int(sys.argv[2]))

h = nbd.NBD()
h.connect_unix(path)
innocent(h, 1, 0)
fds0 = broker.nfds()

reads = b"".join(struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_READ, i,
                             i * 65536, 65536) for i in range(256))
flooders = [(connect(path), reads) for _ in range(10)]
flood(flooders, 5)
took = innocent(h, 20, 2 * MIB)
cpu0 = broker.cpu_s()
time.sleep(2)
busy = broker.cpu_s() - cpu0
print("innocent: 20 writes and reads in %.2f s; broker CPU over 2 s "
      "of waiting: %.2f s" % (took, busy))
assert busy < 0.5, busy
for s, _ in flooders:
    s.close()
broker.wait_nfds(fds0)
print("after they hang up: RSS %d KiB, fds %d" %
      (broker.rss_kib(), broker.nfds()))
innocent(h, 5, 3 * MIB)
h.shutdown()
PY
