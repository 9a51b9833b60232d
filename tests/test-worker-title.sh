#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# In ps, a worker shows which plugin it serves and for which broker:
# "nbdbroker-worker: PLUGIN (broker PID)", for a bundled plugin and an
# nbdkit one, and again after a restart.  Its kernel name (comm) stays
# nbdbroker-worke[r], which the audit and seccomp logs show.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdinfo --version
requires ps --version

d=$(tmpdir)

# check_title PLUGIN: the one worker of $nbdbroker_pid is titled so.
check_title() {
	local w args
	w=$(worker_pids)
	[ "$(echo "$w" | wc -w)" -eq 1 ]
	args=$(tr '\0' ' ' < "/proc/$w/cmdline" | sed 's/ *$//')
	[ "$args" = "nbdbroker-worker: $1 (broker $nbdbroker_pid)" ]
	ps -o args= -p "$w" | grep -qx "nbdbroker-worker: $1 (broker $nbdbroker_pid)"
	grep -qx 'nbdbroker-worke' "/proc/$w/comm"
}

start_nbdbroker -U "$d/mem" memory size=1M
nbdinfo --size "$(nbd_uri "$d/mem")" | grep -qx 1048576
check_title memory

# A restarted worker is titled as well.
old=$(worker_pids)
kill -9 "$old"
for _ in $(seq $((100 * slow))); do
	w=$(worker_pids)
	[ -n "$w" ] && [ "$w" != "$old" ] && break
	sleep 0.1
done
nbdinfo --size "$(nbd_uri "$d/mem")" | grep -qx 1048576
check_title memory

if [ -r "$NBDKIT_PLUGINDIR/nbdkit-pattern-plugin.so" ]; then
	start_nbdbroker -U "$d/nbdkit" nbdkit:pattern size=1M
	nbdinfo --size "$(nbd_uri "$d/nbdkit")" | grep -qx 1048576
	check_title pattern
fi
