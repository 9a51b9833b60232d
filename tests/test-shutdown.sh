#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Graceful shutdown: SIGTERM while a client has hundreds of reads in
# flight.  Those already under way finish, later ones get ESHUTDOWN,
# none is left hanging; the server exits 0 and removes its pidfile and
# socket.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
/usr/bin/python3 - "$NBDBROKER" "$d" <<'PY'
import nbd, os, signal, subprocess, sys, time
broker, d = sys.argv[1:]
sock, pidfile = d + "/sock", d + "/pid"
log = open(d + "/log", "w")
p = subprocess.Popen([broker, "-f", "-U", sock, "-P", pidfile,
                      "memory", "size=1G"], stderr=log)
for _ in range(300):
    if os.path.exists(pidfile):
        break
    time.sleep(0.1)
assert int(open(pidfile).read()) == p.pid

idle = nbd.NBD()
idle.connect_unix(sock)
h = nbd.NBD()
h.connect_unix(sock)
buf = nbd.Buffer(4 << 20)
N = 400
cookies = [h.aio_pread(buf, (i % 256) << 22) for i in range(N)]

def state(c):
    try:
        return "ok" if h.aio_command_completed(c) else None
    except nbd.Error as e:
        return e.errno or str(e)

# Once the first read is back, the server is busy with the others.
while state(cookies[0]) is None:
    h.poll(-1)
os.kill(p.pid, signal.SIGTERM)
t0 = time.time()
results = {cookies[0]: "ok"}
while len(results) < N and time.time() - t0 < 30:
    for c in cookies:
        if c not in results:
            s = state(c)
            if s is not None:
                results[c] = s
    if len(results) < N:
        try:
            h.poll(1000)
        except nbd.Error:
            pass            # the server closed: the rest fail
assert len(results) == N, "%d requests left hanging" % (N - len(results))
counts = {}
for s in results.values():
    counts[s] = counts.get(s, 0) + 1
print(counts)
assert counts.get("ESHUTDOWN", 0) > 0, counts
# The rest were never read by the server: it hung up after finishing
# what it had started.
assert set(counts) <= {"ok", "ESHUTDOWN", "ENOTCONN", "ECONNRESET"}, counts
assert p.wait(timeout=20) == 0, p.returncode
assert not os.path.exists(pidfile)
assert not os.path.exists(sock)
try:
    idle.pread(512, 0)
    raise AssertionError("the idle connection survived the shutdown")
except nbd.Error:
    pass
PY
cat "$d/log"
grep -q 'shutting down: Terminated' "$d/log"
