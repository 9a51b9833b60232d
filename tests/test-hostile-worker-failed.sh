#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A worker reports start-up failure (Failed) 100000 times, then Ready.
# Failed is a worker's last word: the broker logs the first and kills
# the worker at the second (it used to log every one, 100000 error
# lines a worker, and then accept the Ready).  The client whose
# request brought down the first worker gets EIO once the request
# timeout has passed with no worker ready; the broker keeps running.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker
d=$(tmpdir)
poison=$((1024 * 1024))
NBDBROKER_WORKER=$(fake_worker "$d" failed-flood --offset=$poison) \
    start_nbdbroker -U "$d/sock" --request-timeout $((2 * slow))s \
    memory size=1M

/usr/bin/python3 - "$(nbd_uri "$d/sock")" <<'PY'
import errno, sys, nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
try:
    h.pread(4096, 1024 * 1024)     # worker 1 exits; later ones fail
    sys.exit("the read should have failed")
except nbd.Error as e:
    assert e.errnum == errno.EIO, e.errnum
print("EIO once no worker got ready")
PY
kill -0 "$nbdbroker_pid"
deaths=$(grep -c '(plugin fake): protocol violation: unexpected Failed in state 1 after Failed' "$d/sock.log")
logged=$(grep -c 'get_ready failed: failed again' "$d/sock.log")
echo "$deaths workers killed for a second Failed; $logged Failed logged"
[ "$deaths" -ge 1 ]
[ "$logged" -eq "$deaths" ]
