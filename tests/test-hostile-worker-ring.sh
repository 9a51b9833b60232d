#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every way a worker can break the shared-memory rings
# (proto/rpc-ring.h; the ring-* modes of tests/lib/fake-worker.c):
# completions with unknown ids or a bad errno, a cq_tail that runs
# ahead or backwards, an sq_head past what was submitted, a frame
# answering a ring request, doorbells without cause, a crash and a
# hang on the ring.  As in test-hostile-worker.sh, a victim sends the
# request that triggers it while a bystander has requests of its own
# in flight (also on the rings): the broker survives, kills and names
# a worker that broke the protocol, fails only the victim's request
# (after the replays) and leaves the bystander untouched.  The modes
# that serve the rings say so in the log; "good" does not advertise
# them, and is served over frames (the fallback).
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker

d=$(tmpdir)
truncate -s 16M "$d/disk"
poison=$((1024 * 1024))

# MODE VICTIM-GETS LOG-LINE ("-": the worker must not be killed)
cases=$(cat <<'EOF2'
good                ok       -
ring-good           ok       -
ring-exit           eio      exited with status 2
ring-unknown-id     eio      protocol violation: ring completion with unknown id
ring-bad-errno      eio      protocol violation: ring completion with errno -5
ring-tail-ahead     eio      protocol violation: ring cq_tail [0-9]+ with head
ring-tail-backwards eio      protocol violation: ring cq_tail [0-9]+ with head
ring-sq-head        eio      protocol violation: ring sq_head [0-9]+ outside
ring-frame-reply    eio      protocol violation: Reply with unknown id [0-9a-f]+ \(sent on the ring\)
ring-doorbell-flood ok       -
ring-hang           eio      NBD_CMD_READ offset=1048576 count=4096 took longer than [0-9]+000 ms: killing the worker
EOF2
)

n=0
while read -r mode expect pattern; do
	sock=$d/$mode.sock
	NBDBROKER_WORKER=$(fake_worker "$d" "$mode" --offset=$poison \
	    --disk="$d/disk") \
	    start_nbdbroker -U "$sock" --replays 1 --intensity 1000/60s \
	    --request-timeout $((2 * slow))s memory size=1M
	/usr/bin/python3 "$testlib/hostile.py" victim \
	    "$(nbd_uri "$sock")" "$poison" read "$expect"
	kill -0 "$nbdbroker_pid"		# the broker is alive
	# Rings where the worker offers them, frames otherwise.
	if [ "$mode" = good ]; then
		not grep -F 'serving the rings' "$sock.log"
	else
		grep -F 'serving the rings' "$sock.log"
	fi
	if [ "$pattern" = - ]; then
		if grep -E 'protocol violation|restarting the worker' \
		    "$sock.log"; then
			echo "$mode: the worker should not have been killed"
			exit 1
		fi
	else
		grep -E -- "$pattern" "$sock.log"
		grep -F 'restarting the worker' "$sock.log"
		# The victim's request alone was failed, after 2 deaths.
		grep -E "conn [0-9]+: NBD_CMD_READ offset=$poison \
count=4096 has brought down 2 workers: failing it with EIO" "$sock.log"
		test "$(grep -c 'has brought down' "$sock.log")" -eq 1
	fi
	n=$((n + 1))
done <<< "$cases"
test "$n" -eq 11
