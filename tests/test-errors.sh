#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Requests the server must refuse get exactly the right errno, and the
# connection keeps working after each: out of range (ENOSPC for
# writes, EINVAL otherwise), read-only (EPERM), unknown or unadvertised
# flags and commands (EINVAL), zero-length and oversized requests
# (EINVAL; a 33 MiB write's payload is read and dropped first), DF
# without structured replies.  The checks are in errors.py.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
py=$testlib/errors.py
rec=$(test_plugin recorder-v2)

start_nbdbroker -U "$d/rw" memory size=64M
/usr/bin/python3 "$py" rw "$d/rw"
/usr/bin/python3 "$py" df "$d/rw"
/usr/bin/python3 "$py" raw "$d/rw"

start_nbdbroker -U "$d/ro" -r memory size=1M
/usr/bin/python3 "$py" ro "$d/ro"

start_nbdbroker -U "$d/pattern" pattern size=1M
/usr/bin/python3 "$py" pattern "$d/pattern"

start_nbdbroker -U "$d/nocaps" "$rec" size=1M trim=no flush=no fua=none
/usr/bin/python3 "$py" nocaps "$d/nocaps"

# No worker died along the way: every refusal was the broker's.  (Paths
# are cut out first: a build tree may be named after a restart.)
for f in "$d"/*.log; do
	if sed -E 's|/[^ ]*||g' "$f" | grep -E 'died|killed|restart|violation'
	then
		exit 1
	fi
done
