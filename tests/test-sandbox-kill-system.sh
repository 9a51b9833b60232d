#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Tripwires of the default policy for system-changing syscalls: mount,
# loading a module, io_uring (which would bypass seccomp per
# operation), changing identity.  Each kills the worker with a log line
# naming syscall, plugin and policy; the broker goes on serving.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
chmod 755 "$d"

expect_killed "$d" 165 mount mount
expect_killed "$d" 313 finit_module module
expect_killed "$d" 425 io_uring_setup io-uring
expect_killed "$d" 105 setuid setuid
# glibc's setuid() runs the syscall in every thread: one line only.
[ "$(grep -c "sandbox: killed for syscall 105" "$d/setuid.sock.log")" -ge 1 ]
[ "$(grep -c "worker $(grep -o 'worker [0-9]* (plugin hostile' \
    "$d/setuid.sock.log" | head -1 | cut -d' ' -f2) (plugin hostile, policy .*: sandbox: killed" \
    "$d/setuid.sock.log")" -eq 1 ]
