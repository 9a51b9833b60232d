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
# It crashes once, and a new worker takes over.
copy_through_crash "$d" "$d/m1/crashed"

start_nbdbroker -U "$d/sock2" --filter="$f" nbdkit:pattern 1M \
    hostile-attack=segv hostile-at=3 hostile-dir="$d/m2"
before=$(worker_pids)
pattern_reads "$(nbd_uri "$d/sock2")"
test -e "$d/m2/crashed"
test "$(worker_pids)" != "$before"
