#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A worker under a policy with a memory limit joins the memory cgroup
# the broker made for it by itself, before its Hello (the broker hands
# it that cgroup's cgroup.procs or tasks on descriptor 8): its /proc/PID/cgroup
# names it.  A worker that cannot join (a bad descriptor) fails
# start-up, and so does one that did not join (no descriptor): the
# broker checks before it sends Config.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
chmod 755 "$d"

# 1. The worker is in its cgroup, nbdbroker-BROKERPID-worker-N.
start_nbdbroker -v -U "$d/ok.sock" null size=1M
[ "$(nbd_read "$d/ok.sock" 0)" = "DATA " ]
if ! grep -q "worker: memory cgroup .*/nbdbroker-$nbdbroker_pid-worker-" \
    "$d/ok.sock.log"; then
	skip_part "no memory cgroups here: $(grep -m1 "RLIMIT_AS" \
	    "$d/ok.sock.log" || true)"
	exit 0
fi
wpid=$(worker_pid)
grep "nbdbroker-$nbdbroker_pid-worker-" "/proc/$wpid/cgroup"
ok_pid=$nbdbroker_pid

# 2. A bad descriptor (read-only): the worker says so and fails.
cat > "$d/bad-fd.sh" <<SH
#!/bin/sh
exec 8</dev/null
exec "$abs_top_builddir/worker/nbdbroker-worker" "\$@"
SH
# 3. No descriptor: the worker does not join; the broker refuses it.
cat > "$d/no-fd.sh" <<SH
#!/bin/sh
exec 8>&-
exec "$abs_top_builddir/worker/nbdbroker-worker" "\$@"
SH
chmod +x "$d/bad-fd.sh" "$d/no-fd.sh"
NBDBROKER_WORKER=$d/bad-fd.sh start_nbdbroker -v -U "$d/bad.sock" \
    null size=1M || true
wait_for_log "$d/bad.sock.log" \
    "cannot join my memory cgroup \\(descriptor 8\\): Bad file descriptor" \
    $((10 * slow))
not grep -q "ready in worker" "$d/bad.sock.log"
NBDBROKER_WORKER=$d/no-fd.sh start_nbdbroker -v -U "$d/no.sock" \
    null size=1M || true
wait_for_log "$d/no.sock.log" "is not in the memory cgroup made for it" \
    $((10 * slow))
not grep -q "ready in worker" "$d/no.sock.log"
kill -0 "$ok_pid"
