#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A plugin that is slow because it waits (nbdkit's delay filter, 200 ms
# per read) still gets a thread per request in flight: the worker's
# pool limits the threads serving at once only for plugins that keep
# the CPU (worker/rpc-server.c, run_limit).  One read teaches the pool
# that reads are slow, a first round of 16 reads at once lets it
# measure that they wait; a second round must then take about one
# delay, not sixteen (3.2 s in series).
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
source "$(dirname "$0")/lib/filter-functions.sh"
set -e
set -x

requires_nbd_python
requires_nbdkit_plugin memory
requires_nbdkit_filter delay

d=$(tmpdir)
start_nbdbroker -U "$d/sock" --filter=delay nbdkit:memory size=16M \
    rdelay=200ms

cat > "$d/rounds.py" <<'PY'
import sys
import time
import nbd

h = nbd.NBD()
h.connect_unix(sys.argv[1])
h.pread(4096, 0)                        # the pool learns: slow

def round_ms():
    t0 = time.monotonic()
    cookies = [h.aio_pread(nbd.Buffer(4096), i * 65536)
               for i in range(16)]
    while h.aio_in_flight() > 0:
        h.poll(-1)
    for c in cookies:
        assert h.aio_command_completed(c)
    return (time.monotonic() - t0) * 1000

first = round_ms()                      # measured: it waits
second = round_ms()
print("round 1: %.0f ms, round 2: %.0f ms" % (first, second))
print(int(second))
PY
out=$(/usr/bin/python3 "$d/rounds.py" "$d/sock")
echo "$out"
ms=$(echo "$out" | tail -1)
# 16 reads of 200 ms: about 200 ms in parallel, 3200 ms in series; the
# bound leaves room for a loaded machine but not for half of them
# served one after another.
[ "$ms" -lt $((1400 * slow)) ]
