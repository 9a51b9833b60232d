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
# It crashes once, and a new worker takes over.
copy_through_crash "$d" "$d/crashed"

# A client that stays connected across the crash sees nothing either.
rm -f "$d/crashed"
start_nbdbroker -U "$d/sock2" "$p" size=1M marker="$d/crashed" crash-at=3
pattern_reads "$(nbd_uri "$d/sock2")"
test -e "$d/crashed"
