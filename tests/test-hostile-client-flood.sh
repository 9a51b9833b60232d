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
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
start_nbdbroker -U "$d/sock" --request-timeout 2s memory size=256M

/usr/bin/python3 - "$d/sock" "$nbdbroker_pid" <<'PY'
import os, struct, sys, time
import nbd
from abuse import MIB, Broker, connect, flood, innocent
from nbdraw import REQUEST_MAGIC
path, broker = sys.argv[1], Broker(int(sys.argv[2]))

h = nbd.NBD()
h.connect_unix(path)
innocent(h, 1, 0)

rss0, fds0 = broker.rss_kib(), broker.nfds()
bad = struct.pack(">IHHQQI", REQUEST_MAGIC, 0, 42, 0, 0, 0) * 4096
flooders = [(connect(path), bad) for _ in range(20)]
assert flood(flooders, 30) == 0
took = innocent(h, 50, MIB)
time.sleep(1)
rss1, fds1 = broker.rss_kib(), broker.nfds()
per = (rss1 - rss0) / len(flooders)
print("RSS %d -> %d KiB (%.0f KiB a flooder), fds %d -> %d; "
      "innocent: 50 writes and reads in %.2f s" %
      (rss0, rss1, per, fds0, fds1, took))
assert per < 6 * 1024 or os.environ["measure_rss"] == "0", per
assert fds1 - fds0 == len(flooders), (fds0, fds1)
for s, _ in flooders:
    s.close()
broker.wait_nfds(fds0)

h.shutdown()
PY
