#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The sandbox holds the whole stack: a hostile filter
# (tests/plugins/nbdkit-hostile-filter.c) that tries to read
# /etc/shadow is stopped as a plugin would be.  While serving under
# the plugin's shipped policy alone, opening a file is not a syscall
# the worker may make; with the filter's own policy, which lets it
# open files in a directory, Landlock keeps /etc/shadow out; at
# start-up, where the loader may open files, Landlock too.  Each time
# the worker survives, says what was blocked, and serves the next
# client.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
source "$(dirname "$0")/lib/filter-functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox
requires_nbdkit_plugin memory
f=$(test_filter hostile)

d=$(tmpdir)
chmod 755 "$d"

# attack_read SOCK REASON: the first read fails, the log says why,
# the same worker serves a fresh client.
attack_read() {
	local sock=$1 reason=$2 pid0 out
	pid0=$(worker_pid)
	out=$(nbd_read "$sock" 0)
	[ "$out" = "ERROR EIO" ]
	wait_for_log "$sock.log" \
	    "\\[worker $pid0 plugin=memory\\] hostile-filter: shadow: blocked: $reason\$" 5
	out=$(nbd_read "$sock" 4096)
	[ "$out" = "DATA " ]
	[ "$(worker_pid)" = "$pid0" ]
	if grep -q "shadow: succeeded" "$sock.log"; then
		return 1
	fi
}

# Only the shipped policies: the filter has none of its own there.
start_nbdbroker -U "$d/a.sock" --policy-dir "$policy_dir" --filter="$f" \
    nbdkit:memory 1M hostile-attack=shadow
grep -q "sandbox policy $policy_dir/nbdkit-memory.policy (enforce)" \
    "$d/a.sock.log"
attack_read "$d/a.sock" "Function not implemented"

# The test policy for the filter (tests/policies) allows opening files
# while serving, in hostile-dir= only: Landlock says no.
mkdir "$d/dir"
start_nbdbroker -U "$d/b.sock" --filter="$f" nbdkit:memory 1M \
    hostile-attack=shadow hostile-dir="$d/dir"
grep -q "nbdkit-memory.policy + .*/nbdkit-hostile-filter.policy" \
    "$d/b.sock.log"
attack_read "$d/b.sock" "Permission denied"

# At start-up, where the loader may open files: Landlock.
for when in config get_ready; do
	start_nbdbroker -U "$d/$when.sock" --filter="$f" nbdkit:memory 1M \
	    hostile-attack=shadow hostile-when=$when
	grep -q "hostile-filter: shadow: blocked: Permission denied$" \
	    "$d/$when.sock.log"
	if grep -q "shadow: succeeded" "$d/$when.sock.log"; then
		exit 1
	fi
	[ "$(nbd_read "$d/$when.sock" 0)" = "DATA " ]
done
