#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A request that hangs in the plugin gets its worker killed after the
# request timeout and is replayed on a new worker; the client gets its
# data within the timeout plus a little.  A request that hangs every
# time fails with EIO once past the replay limit.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
plugin=$(test_plugin nbdbroker-crash-plugin)

d=$(tmpdir)
printf 'hello, world' > "$d/disk"
truncate -s 16M "$d/disk"
start_nbdbroker -U "$d/once.sock" --request-timeout 2s \
    "$plugin" file="$d/disk" mode=hang offset=0 once="$d/hung"
start_nbdbroker -U "$d/always.sock" --request-timeout 1s --replays 1 \
    "$plugin" file="$d/disk" mode=hang offset=8192

/usr/bin/python3 - "$(nbd_uri "$d/once.sock")" "$(nbd_uri "$d/always.sock")" <<'PY'
import errno, nbd, os, sys, time
slow = int(os.environ["slow"])
h = nbd.NBD(); h.connect_uri(sys.argv[1])
t = time.monotonic()
assert h.pread(12, 0) == b"hello, world"
el = time.monotonic() - t
print("hung once: %.2f s" % el)
# The slack grows under valgrind, but never to the 30 s default.
assert 1.9 <= el <= min(2 + 3 * slow, 20), el

h = nbd.NBD(); h.connect_uri(sys.argv[2])
t = time.monotonic()
try:
    h.pread(512, 8192)
    raise SystemExit("always-hanging read succeeded")
except nbd.Error as e:
    assert e.errnum == errno.EIO, e.errnum
el = time.monotonic() - t
print("hung always: EIO after %.2f s" % el)
assert el <= min(2 + 6 * slow, 25), el
assert h.pread(5, 0) == b"hello"		# the export stays up
PY
grep "took longer than 2000 ms: killing the worker" "$d/once.sock.log"
