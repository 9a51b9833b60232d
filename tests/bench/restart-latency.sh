#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Restart latency: kill -9 the worker N times (default 100) while a
# client is connected, and measure (a) how long the broker took from
# noticing the death to the replacement being ready (from its log) and
# (b) how long the client's next read took, end to end, from just
# before the kill.  Prints the median and worst of each.  Not part of
# `make check`.
#
# Usage: tests/bench/restart-latency.sh [-n KILLS] [PLUGIN ARGS...]
#   default plugin: null size=1G (stateless, so restarts are invisible)

set -euo pipefail
export PATH=/usr/bin:$PATH

n=100
if [ "${1:-}" = "-n" ]; then n=$2; shift 2; fi
[ $# -gt 0 ] || set -- null size=1G

top=$(cd "$(dirname "$0")/../.." && pwd)
nbdbroker=${NBDBROKER:-$top/nbdbroker}
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

# Deaths must not trigger the crash-loop backoff we are not measuring.
"$nbdbroker" -f -U "$tmp/sock" --intensity 100000/60s "$@" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/sock" ] && break; sleep 0.1; done

/usr/bin/python3 - "$tmp/sock" "$pid" "$n" <<'PY'
import nbd, os, signal, subprocess, sys, time
sock, broker, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = nbd.NBD()
h.connect_uri("nbd+unix:///?socket=" + sock)
h.pread(4096, 0)
lat = []
for i in range(n):
    w = subprocess.run(["pgrep", "-P", broker, "-f", "nbdbroker-worker"],
                       capture_output=True, text=True).stdout.split()
    # The clock starts before the kill: the kill may wake the broker
    # and the spare, which may run (and finish the restart) before
    # this process is scheduled again.
    t = time.perf_counter()
    os.kill(int(w[0]), signal.SIGKILL)
    h.pread(4096, 0)
    lat.append((time.perf_counter() - t) * 1000)
    time.sleep(0.02)
lat.sort()
print("client read after kill -9: median %.2f ms, worst %.2f ms (%d kills)"
      % (lat[len(lat) // 2], lat[-1], n))
PY
grep -o 'ready [0-9]* ms after the last one died' "$tmp/log" |
    awk '{print $2}' | sort -n | awk '
	{ v[NR] = $1 }
	END { if (NR) printf "broker: death to replacement ready: median %d ms, worst %d ms (%d restarts)\n", v[int((NR + 1) / 2)], v[NR], NR }'
