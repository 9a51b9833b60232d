#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Fail closed: a worker that cannot apply a part of its policy does
# not run without it.  Here the file plugin's image disappears while
# the server runs; the first worker keeps serving from its open
# descriptor, but a replacement cannot set up the Landlock rule for
# ${file}, and fails with a message in the broker's log instead of
# starting unconfined.
source "${srcdir:-.}/functions.sh"
source "${srcdir:-.}/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
echo "still here" > "$d/disk.img"
truncate -s 1M "$d/disk.img"
start_nbdbroker -U "$d/sock" file "$d/disk.img"
pid0=$(worker_pid)
rm "$d/disk.img"
[ "$(nbd_read "$d/sock" 0 10)" = "DATA still here" ]

kill -9 "$pid0"
wait_for_log "$d/sock.log" "plugin file: sandbox failed: landlock: $d/disk.img: No such file or directory$"
kill -0 "$nbdbroker_pid"
# No replacement ever became ready.
! grep -q "(instance [0-9]*) ready" "$d/sock.log"
