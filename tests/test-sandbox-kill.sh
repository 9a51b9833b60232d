#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Tripwires of the default policy: exec, fork, signalling or tracing
# another process.  The broker names the syscall (as the kernel
# reported it), the plugin and the policy, kills the worker, and keeps
# serving: a fresh client gets a new worker, and another server (the
# victim the plugin aims at) never notices.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
chmod 755 "$d"

# The victim: another broker, with data in it.
start_nbdbroker -U "$d/victim.sock" -P "$d/victim.pid" memory size=1M
victim=$nbdbroker_pid
nbdsh -u "$(nbd_uri "$d/victim.sock")" -c 'h.pwrite(b"victim data", 0)'

expect_killed "$d" 59 execve exec
expect_killed "$d" 56 clone fork count=50
expect_killed "$d" 62 kill kill-broker pid="$victim"
expect_killed "$d" 101 ptrace ptrace pid="$victim"

# An x32 syscall is refused by the architecture check, which kills
# with SIGSYS without a notification: the broker says what it can.
start_nbdbroker -U "$d/x32.sock" "$hostile_so" attack=x32 export=attack
pid0=$(worker_pid)
timeout 30 /usr/bin/python3 -c '
import nbd, sys
h = nbd.NBD()
h.connect_uri("nbd+unix:///attack?socket=" + sys.argv[1])
h.pread(64, 0)' "$d/x32.sock" >/dev/null 2>&1 &
cpid=$!
wait_for_log "$d/x32.sock.log" "worker $pid0 killed by signal 31 \(Bad system call\): a sandbox violation the kernel does not name"
kill "$cpid" || true
wait "$cpid" || true
[ "$(nbd_read "$d/x32.sock" 4096)" = "DATA " ]

# The victim is untouched.
kill -0 "$victim"
[ "$(nbd_read "$d/victim.sock" 0)" = "DATA victim data" ]
