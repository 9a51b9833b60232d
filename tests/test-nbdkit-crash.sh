#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# An nbdkit plugin (tests/plugins/nbdkit-crash-plugin.c, built against
# nbdkit's header) that segfaults on its 5th pread, once: the broker
# restarts the worker and replays the read, and a client copying the
# whole disk sees no error and the right bytes.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdcopy --version
requires_nbd_python

d=$(tmpdir)
p=$(test_plugin nbdkit-crash-plugin)
start_nbdbroker -U "$d/sock" "$p" size=16M marker="$d/crashed" crash-at=5
u=$(nbd_uri "$d/sock")
before=$(worker_pids)
test -n "$before"

pattern_file $((16 * 1048576)) "$d/want.img"
nbdcopy --request-size=65536 --connections=1 "$u" "$d/got.img"
cmp "$d/want.img" "$d/got.img"

# It did crash, once, and a new worker took over.
test -e "$d/crashed"
grep -E "worker $before .*(signal 11|Segmentation)" "$d/sock.log"
grep -E "re-opening [0-9]+ connection" "$d/sock.log"
after=$(worker_pids)
test -n "$after"
test "$after" != "$before"

# A client that stays connected across the crash sees nothing either.
rm -f "$d/crashed"
start_nbdbroker -U "$d/sock2" "$p" size=1M marker="$d/crashed" crash-at=3
/usr/bin/python3 - "$(nbd_uri "$d/sock2")" <<'PY'
import nbd, struct, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
for i in range(10):
    off = i * 4096
    assert h.pread(8, off) == struct.pack(">Q", off), i
PY
test -e "$d/crashed"
