#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A worker that answers NBD_OPT_LIST with 2,000,000 exports (as many
# as fit in one 4 MiB frame; the real worker stops at 10,000) is
# killed for it, and the broker never queues them: each would have
# become an option reply for the client, ~200 MB held for a client
# that does not read them.  Three such clients: the broker's memory
# stays under 40 MB, and each client gets an error reply once the
# request timeout has passed with no worker to answer.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_fake_worker
d=$(tmpdir)
NBDBROKER_WORKER=$(fake_worker "$d" list-flood) \
    start_nbdbroker -U "$d/sock" --intensity 2/60s \
    --request-timeout $((2 * slow))s memory size=1M

/usr/bin/python3 - "$d/sock" "$nbdbroker_pid" <<'PY'
import os, select, sys
from nbdraw import OPT_LIST, REP_ERR_PLATFORM, Raw
path, pid = sys.argv[1], int(sys.argv[2])
slow = int(os.environ["slow"])

def rss_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

clients = []
for i in range(3):
    c = Raw(path, timeout=None, rcvbuf=4096)
    c.greet()
    c.send_opt(OPT_LIST)
    clients.append(c)
peak = 0
for c in clients:
    r, _, _ = select.select([c.s], [], [], 20 * slow)
    assert r, "no answer to NBD_OPT_LIST"
    opt, rep, data = c.reply()
    assert (opt, rep, data) == (OPT_LIST, REP_ERR_PLATFORM, b""), \
        (opt, hex(rep), data)
    peak = max(peak, rss_kib())
print("3 clients answered NBD_REP_ERR_PLATFORM; broker VmRSS at most "
      "%d KiB" % peak)
assert peak < 40 * 1024 or os.environ["measure_rss"] == "0", peak
PY
grep -F 'protocol violation: bad frame (it would take more memory to decode than any real message)' \
    "$d/sock.log"
