#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A filter that segfaults is a worker that crashed, like a plugin that
# does: the hostile test filter (tests/plugins/nbdkit-hostile-filter.c)
# above nbdkit's pattern plugin segfaults on the 5th read of its
# worker, once; the broker restarts the worker and replays the read,
# and a client copying the whole disk sees no error and the right
# bytes.  A client connected across the crash sees nothing either.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
source "$(dirname "$0")/lib/filter-functions.sh"
set -e
set -x

requires nbdcopy --version
requires_nbd_python
requires_nbdkit_plugin pattern
f=$(test_filter hostile)

d=$(shared_tmpdir)
# The filter's marker, made while serving by the worker's user.
mkdir "$d/m1" "$d/m2"
chmod 1777 "$d/m1" "$d/m2"
start_nbdbroker -U "$d/sock" --filter="$f" nbdkit:pattern 16M \
    hostile-attack=segv hostile-at=5 hostile-dir="$d/m1"
u=$(nbd_uri "$d/sock")
before=$(worker_pids)
test -n "$before"

pattern_file $((16 * 1048576)) "$d/want.img"
nbdcopy --request-size=65536 --connections=1 "$u" "$d/got.img"
cmp "$d/want.img" "$d/got.img"

# It did crash, once, and a new worker took over.
test -e "$d/m1/crashed"
grep -E "worker $before .*(signal 11|Segmentation)" "$d/sock.log"
grep -E "re-opening [0-9]+ connection" "$d/sock.log"
after=$(worker_pids)
test -n "$after"
test "$after" != "$before"

start_nbdbroker -U "$d/sock2" --filter="$f" nbdkit:pattern 1M \
    hostile-attack=segv hostile-at=3 hostile-dir="$d/m2"
before=$(worker_pids)
/usr/bin/python3 - "$(nbd_uri "$d/sock2")" <<'PY'
import nbd, struct, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
for i in range(10):
    off = i * 4096
    assert h.pread(8, off) == struct.pack(">Q", off), i
PY
test -e "$d/m2/crashed"
test "$(worker_pids)" != "$before"
