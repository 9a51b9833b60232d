#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Threads a plugin starts during start-up keep what their thread had
# then: capabilities and the Landlock domain are per thread.  The
# worker therefore refuses to serve when such threads exist and would
# keep more than the serving stage grants, and counts them in a way
# the plugin cannot fool.
#
# 1. (root) A root broker's worker keeps CAP_DAC_OVERRIDE and
#    CAP_DAC_READ_SEARCH until start-up ends, for its startup-read
#    paths.  A thread started in get_ready would keep them while
#    serving; under mode = log (no Landlock) it could then read any
#    root-only file.
# 2. Under a policy that lets the plugin use paths while serving, a
#    thread started in get_ready keeps the start-up Landlock domain.
#    The plugin puts a file saying "Threads: 1" on the descriptor the
#    worker counts its threads with.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(shared_tmpdir)
chmod 755 "$d"
mkdir "$d/pub" "$d/startup-only"
echo "public" > "$d/pub/file.txt"
echo "for start-up only" > "$d/startup-only/file.txt"
chmod 644 "$d/pub/file.txt" "$d/startup-only/file.txt"

if [ "$(id -u)" -eq 0 ]; then
	mkdir -m 700 "$d/private"
	echo "root only" > "$d/private/secret.txt"
	chmod 600 "$d/private/secret.txt"
	cat > "$d/learn.policy" <<EOP
format = nbdbroker-policy/1
mode = log
[syscalls]
allow = @basic-io @memory @threads @time @signals @file-read
[filesystem]
startup-read = $d/startup-only/file.txt
EOP
	# The worker's own threads, which start after start-up, have no
	# capabilities left: the user nobody cannot read the file.
	start_nbdbroker -U "$d/main.sock" --allow-log-mode \
	    --policy "$d/learn.policy" "$hostile_so" attack=open \
	    path="$d/private/secret.txt"
	[ "$(nbd_read "$d/main.sock" 0 | cut -d' ' -f1)" = "ERROR" ]
	wait_for_log "$d/main.sock.log" \
	    "hostile: open: blocked: Permission denied\$" 5
	# A thread of the plugin's, started in get_ready: refused.
	expect_start_failure "$d/t1.sock" \
	    "sandbox failed: the plugin started 1 thread during start-up; .*capabilit" \
	    --allow-log-mode --policy "$d/learn.policy" "$hostile_so" \
	    in=thread attack=open path="$d/private/secret.txt"
	not grep -q "hostile: open: succeeded" "$d/t1.sock.err"
else
	echo "$0: not root: part 1 (capabilities) not checked" >&2
fi

cat > "$d/paths.policy" <<EOP
format = nbdbroker-policy/1
[syscalls]
allow = @file-read
startup-allow = memfd_create dup2 dup3
[filesystem]
read = $d/pub
startup-read = $d/startup-only
EOP
# Without threads of its own, the plugin reads only what serving grants.
start_nbdbroker -U "$d/p.sock" --policy "$d/paths.policy" "$hostile_so" \
    attack=open path="$d/startup-only/file.txt"
[ "$(nbd_read "$d/p.sock" 0 | cut -d' ' -f1)" = "ERROR" ]
wait_for_log "$d/p.sock.log" "hostile: open: blocked: Permission denied\$" 5
# The plugin hides its thread from the count: refused all the same.
expect_start_failure "$d/t2.sock" "sandbox failed: .*thread" \
    --policy "$d/paths.policy" "$hostile_so" in=thread fake-status=1 \
    attack=open path="$d/startup-only/file.txt"
grep -q "hostile: fake-status: succeeded" "$d/t2.sock.err"
not grep -q "hostile: open: succeeded" "$d/t2.sock.err"
