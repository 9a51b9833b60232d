#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# With isolation = connection, a worker is started for a client only
# once it asks for something the plugin must answer (an export, the
# export list), after TLS when TLS is required: 20 clients that connect
# and send nothing, or only what the broker answers itself, start no
# worker.  And only --max-starting workers start at once: the other
# clients wait their turn, and are all served.  (A worker used to start
# at accept(), for anybody who could connect.)
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/tls-functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker

d=$(tmpdir)

# idle_clients SOCKET N: N clients connect; half send nothing, half
# greet and ask what the broker answers alone (structured replies,
# meta contexts); none asks for an export.  Prints the number of
# workers while they are all connected.
idle_clients() {
	/usr/bin/python3 - "$1" "$2" "$nbdbroker_pid" <<'PY'
import os, subprocess, sys, time
import nbdraw
from nbdraw import *
sock, n, broker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns = []
for i in range(n):
    c = nbdraw.Raw(sock)
    if i % 2:
        c.greet()
        assert c.opt(OPT_STRUCTURED_REPLY)[-1][0] == REP_ACK
        c.opt(OPT_LIST_META_CONTEXT,
              Raw.meta_data(b"", [b"base:allocation"]))
    conns.append(c)
time.sleep(2)
out = subprocess.run(["pgrep", "-P", broker, "-f", "worker"],
                     capture_output=True, text=True).stdout.split()
print(len(out))
for c in conns:
    c.s.close()
PY
}

start_nbdbroker -U "$d/iso.sock" --isolation connection memory size=1M
n=$(idle_clients "$d/iso.sock" 20)
echo "workers for 20 idle clients: $n"
test "$n" -eq 0
# A client that asks for an export gets its own worker.
nbdsh -u "$(nbd_uri "$d/iso.sock")" -c '
import subprocess
assert h.pread(512, 0) == bytes(512)
'
/usr/bin/python3 - "$d/iso.sock" <<'PY'
import sys
import nbdraw
from nbdraw import *
# NBD_OPT_LIST needs the plugin too: a worker, then the list.
c = nbdraw.Raw(sys.argv[1])
c.greet()
r = c.opt(OPT_LIST)
assert r[-1][0] == REP_ACK, r
PY

# TLS required: clients that do not start TLS start no worker, even if
# they ask for an export (refused: TLS first).
if "$NBDBROKER" --dump-config | grep -qx 'tls=yes' &&
    command -v certtool >/dev/null; then
	make_certs "$d/pki"
	start_nbdbroker -U "$d/tls.sock" --isolation connection \
	    --tls=require --tls-certificates="$d/pki" memory size=1M
	/usr/bin/python3 - "$d/tls.sock" "$nbdbroker_pid" <<'PY'
import subprocess, sys, time
import nbdraw
from nbdraw import *
conns = []
for i in range(10):
    c = nbdraw.Raw(sys.argv[1])
    c.greet()
    assert c.go()[-1][0] == REP_ERR_TLS_REQD
    conns.append(c)
time.sleep(2)
out = subprocess.run(["pgrep", "-P", sys.argv[2], "-f", "worker"],
                     capture_output=True, text=True).stdout.split()
print("workers for 10 clients without TLS: %d" % len(out))
assert len(out) == 0
PY
else
	skip_part "TLS (no GnuTLS or certtool)"
fi

# Starts are bounded: workers that take 2 s to get ready, 6 clients at
# once, at most 2 starting at a time.  The last two wait 3 starts, which
# counts against their handshake timeout: scaled like the delay.
NBDBROKER_WORKER=$(fake_worker "$d" good --ready-delay=$((2000 * slow))) \
    start_nbdbroker -U "$d/slow.sock" --isolation connection \
    --max-starting 2 --handshake-timeout "$((60 * slow))s" memory size=1M
/usr/bin/python3 - "$d/slow.sock" "$nbdbroker_pid" "$slow" <<'PY'
import subprocess, sys, threading, time
import nbd
sock, broker, slow = sys.argv[1], sys.argv[2], int(sys.argv[3])
done = []
# Each client stays connected (its worker alive) until all are served.
served = threading.Barrier(6)
def client(i):
    h = nbd.NBD()
    h.connect_uri("nbd+unix:///?socket=" + sock)
    h.pread(512, 0)
    done.append(i)
    try:
        served.wait(60 * slow)
    except threading.BrokenBarrierError:
        pass
    h.shutdown()
ts = [threading.Thread(target=client, args=(i,)) for i in range(6)]
for t in ts:
    t.start()
most = 0
t0 = time.monotonic()
while time.monotonic() - t0 < 1.5 * slow:
    n = len(subprocess.run(["pgrep", "-P", broker, "-f", "worker"],
                           capture_output=True, text=True).stdout.split())
    most = max(most, n)
    time.sleep(0.05)
print("most workers in the first 1.5 s: %d" % most)
assert most == 2, most
for t in ts:
    t.join(60 * slow)
assert sorted(done) == list(range(6)), done
print("all 6 clients served")
PY
grep -E "conn [0-9]+: waiting for a worker start \(2 starting\)" \
    "$d/slow.sock.log"
