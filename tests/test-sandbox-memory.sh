#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# [limits] memory counts every page the worker can touch, not only its
# private memory (RLIMIT_DATA).  A plugin that maps shared anonymous
# memory, or fills a memfd, beyond the limit does not get it: the
# worker either limits its whole address space (RLIMIT_AS: the mapping
# fails) or runs in a memory cgroup of its own (the kernel kills it);
# its start-up log line says which.  Either way the broker goes on
# serving.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
chmod 755 "$d"
sed 's/^memory = 512M$/memory = 256M/' "$policy_dir/default.policy" > \
    "$d/small.policy"
grep -qx "memory = 256M" "$d/small.policy"
sed 's/^allow = @basic-io .*/& memfd_create/' "$d/small.policy" > \
    "$d/memfd.policy"
grep -q "^allow = .* memfd_create$" "$d/memfd.policy"

# expect_denied SOCK ATTACK: the read that makes the attack fails or
# kills the worker, which never reports success; a fresh client is
# served.
expect_denied() {
	local sock=$1 attack=$2 pid0 cpid out
	pid0=$(worker_pid)
	case $mechanism in
	RLIMIT_AS)
		out=$(nbd_read "$sock" 0 64 attack)
		[ "$out" = "ERROR ENOMEM" ]
		wait_for_log "$sock.log" \
		    "hostile: $attack: blocked: Cannot allocate memory\$" 5
		[ "$(worker_pid)" = "$pid0" ]
		;;
	cgroup)
		timeout 60 /usr/bin/python3 -c '
import nbd, sys
h = nbd.NBD()
h.connect_uri("nbd+unix:///attack?socket=" + sys.argv[1])
h.pread(64, 0)' "$sock" >/dev/null 2>&1 &
		cpid=$!
		wait_for_log "$sock.log" "worker $pid0 .*killed by signal 9" 60
		kill "$cpid" 2>/dev/null || true
		wait "$cpid" 2>/dev/null || true
		;;
	esac
	not grep -q "hostile: $attack: succeeded" "$sock.log"
	kill -0 "$nbdbroker_pid"
	out=$(nbd_read "$sock" 4096)
	[ "$out" = "DATA " ]
}

# 1. Shared anonymous memory, three times the limit.
start_nbdbroker -v -U "$d/shm.sock" --policy "$d/small.policy" \
    "$hostile_so" attack=shared-alloc count=768 export=attack
wait_for_log "$d/shm.sock.log" \
    "sandbox: start-up stage in force .*memory: (RLIMIT_AS|cgroup)" 10
mechanism=$(grep -Eo "sandbox: start-up stage in force .*memory: (RLIMIT_AS|cgroup)" \
    "$d/shm.sock.log" | head -1 | grep -Eo "(RLIMIT_AS|cgroup)$")
expect_denied "$d/shm.sock" shared-alloc
# Private memory keeps its own limit (RLIMIT_DATA): 300M of malloc.
start_nbdbroker -U "$d/priv.sock" --policy "$d/small.policy" \
    "$hostile_so" attack=alloc count=300
[ "$(nbd_read "$d/priv.sock" 0)" = "ERROR ENOMEM" ]

# 2. A memfd filled with write(), which no address-space limit counts:
# only a memory cgroup can.  Without one, a policy that allows
# memfd_create under a memory limit cannot be enforced, and the worker
# does not start.
if [ "$mechanism" = cgroup ]; then
	start_nbdbroker -v -U "$d/memfd.sock" --policy "$d/memfd.policy" \
	    "$hostile_so" attack=memfd-alloc count=768 export=attack
	expect_denied "$d/memfd.sock" memfd-alloc
else
	expect_start_failure "$d/memfd.sock" \
	    "sandbox failed: .*memfd_create.* memory cgroup" \
	    --policy "$d/memfd.policy" "$hostile_so" attack=memfd-alloc \
	    count=768
fi
