#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A worker that answers Hello with another protocol major (99) is
# refused: the broker exits non-zero at start-up, names both versions
# in its log, and does not hang.  A worker that dies before saying
# anything fails start-up the same way.  (tests/lib/fake-worker.c)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_fake_worker
d=$(tmpdir)

NBDBROKER_WORKER=$(fake_worker "$d" bad-version) \
	expect_start_failure "$d/sock" 'worker speaks protocol 99\.0, broker speaks 1\.[0-9]+' \
	memory size=1M
# The fake worker really did get the broker's Hello (logged via stderr).
grep -E 'broker speaks protocol 1\.[0-9]+' "$d/sock.err"
grep -F 'the worker stopped before it was ready' "$d/sock.err"

NBDBROKER_WORKER=$(fake_worker "$d" exit-at-start) \
	expect_start_failure "$d/sock" 'the worker stopped before it was ready' \
	memory size=1M

# A worker that never answers (it takes the Hello and goes quiet) must
# not hang start-up: it is killed after the start-up timeout (10 s, or
# the request timeout if longer).
start=$SECONDS
NBDBROKER_WORKER=$(fake_worker "$d" silent) \
	expect_start_failure "$d/sock" \
	'the worker stopped before it was ready: not ready after 10 s' \
	--request-timeout 1s memory size=1M
took=$((SECONDS - start))
echo "silent worker refused after $took s"
[ "$took" -ge 9 ]
[ "$took" -le 20 ]
