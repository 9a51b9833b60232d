#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The memory plugin keeps its data in the worker.  When a worker that
# accepted writes dies, connections open to it get EIO from then on,
# never zeroes; a new connection gets a fresh (empty) disk; the log says
# what was lost.  A worker that accepted no writes restarts invisibly.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=16M

/usr/bin/python3 - "$(nbd_uri "$d/sock")" "$nbdbroker_pid" <<'PY'
import errno, nbd, os, signal, subprocess, sys, time
uri, broker = sys.argv[1], sys.argv[2]

def kill_worker():
    w = subprocess.run(["pgrep", "-P", broker, "-f", "nbdbroker-worker"],
                       capture_output=True, text=True).stdout.split()
    assert len(w) == 1, w
    os.kill(int(w[0]), signal.SIGKILL)
    time.sleep(0.3)

# No writes yet: the restart is invisible.
r = nbd.NBD(); r.connect_uri(uri)
assert r.pread(4, 0) == b"\0" * 4
kill_worker()
assert r.pread(4, 0) == b"\0" * 4

w = nbd.NBD(); w.connect_uri(uri)
w.pwrite(b"data" * 1024, 0)
assert r.pread(4, 0) == b"data"
kill_worker()
for h in (w, r):
    for op in (lambda: h.pread(4, 0), lambda: h.pwrite(b"x" * 512, 0),
               lambda: h.flush()):
        try:
            op()
            raise SystemExit("request after data loss succeeded")
        except nbd.Error as e:
            assert e.errnum == errno.EIO, e.errnum
n = nbd.NBD(); n.connect_uri(uri)
assert n.pread(4096, 0) == b"\0" * 4096		# a fresh disk
n.pwrite(b"new!", 0)
assert n.pread(4, 0) == b"new!"
print("honest durability")
PY
grep "data written to the volatile plugin was lost" "$d/sock.log"
grep "gets errors from now on" "$d/sock.log"
