#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Fail closed: a worker that cannot apply a part of its policy does
# not run without it.  Here the file plugin's image disappears while
# the server runs; the first worker keeps serving from its open
# descriptor, but a replacement cannot set up the Landlock rule for
# ${file}, and fails with a message in the broker's log instead of
# starting unconfined.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
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
not grep -q "(instance [0-9]*) ready" "$d/sock.log"

# Threads the plugin starts during start-up would keep the start-up
# Landlock domain (ABI 7 confines the calling thread only).  Harmless
# under a policy that opens no paths while serving...
start_nbdbroker -U "$d/t1.sock" "$hostile_so" threads=2
[ "$(nbd_read "$d/t1.sock" 4096)" = "DATA " ]
# ... refused under one that does.
cat > "$d/paths.policy" <<EOP
format = nbdbroker-policy/1
[syscalls]
allow = @file-read
[filesystem]
startup-read = $d
EOP
set +e
timeout 60 "$NBDBROKER" -f -U "$d/t2.sock" --policy "$d/paths.policy" \
    "$hostile_so" threads=2 2> "$d/t2.log"
status=$?
set -e
cat "$d/t2.log"
[ "$status" -eq 1 ]
grep -q "sandbox failed: the plugin started 2 threads during start-up; Landlock would leave them its start-up paths, and policy $d/paths.policy lets the plugin use paths while serving$" \
    "$d/t2.log"
start_nbdbroker -U "$d/t3.sock" --policy "$d/paths.policy" "$hostile_so"
[ "$(nbd_read "$d/t3.sock" 4096)" = "DATA " ]
