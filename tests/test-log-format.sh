#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Log lines an operator greps: a worker's own line is re-logged with
# one prefix (the broker's "[worker PID plugin=NAME]", not also the
# worker's "nbdbroker-worker[PID]: LEVEL:"), at the level the worker
# gave it; a worker's death is one line at info or above, and the
# death, restart and ready lines end in a stable key=value tail
# (plugin=, worker=, cause=, policy=).
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)

# The crash plugin under a policy with user = keep: the worker warns
# about it on its stderr, before its RPC socket is up.
crash=$(test_plugin nbdbroker-crash-plugin)
touch "$d/disk"
start_nbdbroker -U "$d/crash.sock" \
    --policy "$abs_top_srcdir/tests/policies/crash.policy" "$crash" \
    file="$d/disk"
for _ in $(seq $((50 * slow))); do
	grep -q 'user = keep' "$d/crash.sock.log" && break
	sleep 0.1
done
grep -Eq '^nbdbroker\[[0-9]+\]: warning: \[worker [0-9]+ plugin=[^]]+\] sandbox: policy [^ ]+: user = keep' \
    "$d/crash.sock.log"
not grep -F 'nbdbroker-worker[' "$d/crash.sock.log"

# A worker killed with SIGKILL: one line says it died, with its tail;
# the restart and ready lines carry theirs.
policy=$abs_top_srcdir/policy/memory.policy
start_nbdbroker -U "$d/sock" memory size=1M
pid0=$(pgrep -P "$nbdbroker_pid" -f nbdbroker-worker)
kill -9 "$pid0"
for _ in $(seq $((100 * slow))); do
	grep -q ' ready .* after the last one died' "$d/sock.log" && break
	sleep 0.1
done
pid1=$(pgrep -P "$nbdbroker_pid" -f nbdbroker-worker)
log=$d/sock.log
grep -Eq "^nbdbroker\[[0-9]+\]: info: worker $pid0 killed by signal 9 \(Killed\) plugin=memory worker=$pid0 cause=signal policy=$policy\$" \
    "$log"
grep -Eq "^nbdbroker\[[0-9]+\]: info: plugin memory: restarting the worker \(.*\) plugin=memory policy=$policy\$" \
    "$log"
grep -Eq "^nbdbroker\[[0-9]+\]: info: worker $pid1 \(instance 2\) ready .* plugin=memory worker=$pid1 policy=$policy\$" \
    "$log"
# One line about the dead worker by pid (debug lines, and the start-up
# line that named it, aside).
[ "$(grep -v -e ': debug: ' -e "ready in worker $pid0 " "$log" |
    grep -c "worker $pid0 ")" = 1 ]
# Still serving.
nbdsh -u "$(nbd_uri "$d/sock")" -c 'assert h.get_size() == 1048576'
