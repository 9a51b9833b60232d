#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Reload latency: send SIGHUP N times (default 100), one after the
# other, while a client reads and writes 4 KiB blocks (a light load:
# one request at a time, 1 ms apart) against the file plugin, and
# print the median and worst switch time from the broker's log (from
# stopping sending to the old worker to the new one taking requests:
# drain, FLUSH, spawn, Ready, re-open), and the client's worst request
# latency over the run.  Not part of `make check`.
#
# Usage: tests/bench/reload-latency.sh [-n RELOADS] [PLUGIN ARGS...]
#   default plugin: file file=<a 64M temporary file>

set -euo pipefail
export PATH=/usr/bin:$PATH

n=100
if [ "${1:-}" = "-n" ]; then n=$2; shift 2; fi

top=$(cd "$(dirname "$0")/../.." && pwd)
nbdbroker=${NBDBROKER:-$top/nbdbroker}
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
truncate -s 64M "$tmp/disk"
[ $# -gt 0 ] || set -- file file="$tmp/disk"

"$nbdbroker" -f -U "$tmp/sock" "$@" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/sock" ] && break; sleep 0.1; done

/usr/bin/python3 - "$tmp/sock" "$pid" "$n" "$tmp/log" <<'PY'
import nbd, os, signal, sys, threading, time
sock, broker, n, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4]
stop = False
worst = [0.0, 0]

def client():
    h = nbd.NBD()
    h.connect_uri("nbd+unix:///?socket=" + sock)
    i = 0
    while not stop:
        off = (i % 4096) * 4096
        t = time.perf_counter()
        if i % 2:
            h.pwrite(bytes([i % 256]) * 4096, off)
        else:
            h.pread(4096, off)
        worst[0] = max(worst[0], (time.perf_counter() - t) * 1000)
        worst[1] += 1
        i += 1
        time.sleep(0.001)
    h.shutdown()

def done():
    with open(log, errors="replace") as f:
        return sum(1 for l in f if "reload: done:" in l or
                   "reload: refused" in l)

th = threading.Thread(target=client)
th.start()
time.sleep(0.5)
for i in range(n):
    k = done()
    os.kill(broker, signal.SIGHUP)
    while done() == k:
        time.sleep(0.002)
stop = True
th.join()
print("client: %d requests, worst %.2f ms during %d reloads"
      % (worst[1], worst[0], n))
PY
grep -o 'switched: .* switch [0-9.]* ms' "$tmp/log" |
    sed 's/.* switch \([0-9.]*\) ms/\1/' | sort -n | awk '
	{ v[NR] = $1 }
	END { if (NR) printf "broker: switch time: median %.2f ms, worst %.2f ms (%d switches)\n", v[int((NR + 1) / 2)], v[NR], NR }'
echo "refused: $(grep -c -e 'refused, worker' -e 'reload: refused' "$tmp/log" || true)"
