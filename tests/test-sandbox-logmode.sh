#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# mode = log: the plugin runs; what the policy would deny happens, and
# the kernel logs it (SECCOMP_RET_LOG: "audit: type=1326" in the kernel
# log when no audit daemon runs), so an admin can learn what a plugin
# needs.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
sed 's/^mode = enforce$/mode = log/' "$policy_dir/default.policy" > \
    "$d/learn.policy"
grep -qx "mode = log" "$d/learn.policy"
"$NBDBROKER" --check-policy "$d/learn.policy" > "$d/check.out"
grep -qx "mode: log (nothing is denied; the kernel logs what would be)" \
    "$d/check.out"
grep -Eq "^  openat +allow +log +@loader$" "$d/check.out"
grep -Eq "^  execve +log +log +kill: line [0-9]+: @exec$" "$d/check.out"

start_nbdbroker -U "$d/sock" --allow-log-mode --policy "$d/learn.policy" \
    "$hostile_so" attack=open path=/etc/passwd
grep -q "sandbox policy $d/learn.policy (mode = log: nothing is denied" \
    "$d/sock.log"
grep -q "sandbox: mode = log: \[filesystem\] is not enforced" "$d/sock.log"
pid=$(worker_pid)
# Still confined in what log mode keeps: filters, no_new_privs.
grep -q "^Seccomp:[[:space:]]*2$" "/proc/$pid/status"
grep -q "^NoNewPrivs:[[:space:]]*1$" "/proc/$pid/status"

# Under enforce this read fails (test-sandbox-deny); here it works.
out=$(nbd_read "$d/sock" 0 5)
[ "$out" = "DATA root:" ]
wait_for_log "$d/sock.log" "hostile: open: succeeded: root:" $((5 * slow))
[ "$(worker_pid)" = "$pid" ]
not grep -q "sandbox: killed" "$d/sock.log"

# The kernel log names the syscall (openat is 257 on x86_64).  Without
# an audit daemon these records go through printk's shared rate limit
# (10 per 5 s, with segfault reports and others), so read again until
# one gets through.
if [ "$(uname -m)" = x86_64 ] && dmesg >/dev/null 2>&1; then
	found=no
	for _ in $(seq 15); do
		if dmesg | grep -E "audit: type=1326 .* pid=$pid .*comm=\"nbdbroker-worke\" .* syscall=257 .*code=0x7ffc0000"; then
			found=yes
			break
		fi
		[ "$(nbd_read "$d/sock" 0 5)" = "DATA root:" ]
		sleep 1
	done
	[ "$found" = yes ]
else
	skip_part "the kernel's audit record: needs x86_64 and a readable" \
	    "kernel log (dmesg)"
fi
