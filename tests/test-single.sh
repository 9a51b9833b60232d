#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# -s: one client on stdin/stdout.  nbdsh runs the server as its
# command; the server exits 0 when that client disconnects, and -s does
# not mix with listening options.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdsh --version
requires_nbd_python

nbdsh -c "h.connect_command(['$NBDBROKER', '-s', 'memory', 'size=1M'])" \
      -c '
assert h.get_size() == 1 << 20
h.pwrite(b"single" * 1000, 4096)
assert h.pread(6000, 4096) == b"single" * 1000
assert h.can_meta_context("base:allocation") is False
'

# Our own socketpair, to see the server's exit status.
/usr/bin/python3 - "$NBDBROKER" <<'PY'
import nbd, socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], "-s", "memory", "size=2M"],
                     stdin=b, stdout=b)
b.close()
h = nbd.NBD()
h.add_meta_context("base:allocation")
h.connect_socket(a.detach())
assert h.get_size() == 2 << 20
assert h.can_meta_context("base:allocation")
h.pwrite(b"q" * 512, 0)
h.shutdown()
assert p.wait(timeout=20) == 0, p.returncode
PY

d=$(tmpdir)
if "$NBDBROKER" -s -U "$d/sock" memory size=1M 2> "$d/err"; then
	echo "-s with -U was accepted" >&2
	exit 1
fi
grep -q 'cannot be combined' "$d/err"
