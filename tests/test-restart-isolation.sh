#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# --isolation connection gives each client its own worker: killing one
# client's worker (memory plugin, so its data dies with it) leaves the
# other clients' data and service untouched, and workers go away with
# their connections.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
start_nbdbroker -U "$d/sock" --isolation connection memory size=16M

/usr/bin/python3 - "$(nbd_uri "$d/sock")" "$nbdbroker_pid" <<'PY'
import errno, nbd, os, signal, subprocess, sys, time
uri, broker = sys.argv[1], sys.argv[2]

def workers():
    return subprocess.run(["pgrep", "-P", broker, "-f", "nbdbroker-worker"],
                          capture_output=True, text=True).stdout.split()

time.sleep(0.5)			# the start-up probe worker has left
assert workers() == [], workers()
hs = []
for i in range(3):
    h = nbd.NBD(); h.connect_uri(uri)
    # Connections share nothing, so multi-conn must not be offered.
    assert not h.can_multi_conn()
    h.pwrite(bytes([65 + i]) * 4096, 0)
    hs.append(h)
ws = workers()
assert len(ws) == 3, ws
# Each client sees only its own disk.
for i, h in enumerate(hs):
    assert h.pread(1, 0) == bytes([65 + i])
# Find client 0's worker: the one whose death breaks client 0.
for w in ws:
    os.kill(int(w), signal.SIGKILL)
    time.sleep(0.3)
    broken = []
    for i, h in enumerate(hs):
        try:
            h.pread(1, 0)
        except nbd.Error as e:
            assert e.errnum == errno.EIO
            broken.append(i)
    assert len(broken) == 1, broken
    break
survivors = [h for i, h in enumerate(hs) if i not in broken]
for h in survivors:
    b = h.pread(1, 0)
    assert b in (b"A", b"B", b"C"), b
for h in hs:
    h.shutdown()
time.sleep(1)
assert workers() == [], workers()
print("isolated")
PY
