#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A plugin cannot stack a seccomp filter of its own: one that answers a
# tripwire with an errno outranks the broker's user notification, so
# the tripwire would stay silent (here: ptrace, which default.policy
# kills).  Every way of installing a filter is a tripwire, at start-up
# and while serving, except the exact call the worker makes for its
# serving filter; a plugin that uses that one anyway is found out
# before the first request, and the worker does not serve.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
chmod 755 "$d"

# At start-up (get_ready): seccomp(2), from the plugin's thread or
# from a thread of its own, and prctl(PR_SET_SECCOMP) where the policy
# allows prctl.
expect_start_failure "$d/s1.sock" \
    "sandbox: killed for syscall 317 \(seccomp\)" \
    "$hostile_so" attack=seccomp-filter when=get_ready
expect_start_failure "$d/s2.sock" \
    "sandbox: killed for syscall 317 \(seccomp\)" \
    "$hostile_so" attack=seccomp-thread when=get_ready
sed 's/^kill = /startup-allow = prctl\n&/' "$policy_dir/default.policy" > \
    "$d/prctl.policy"
grep -qx "startup-allow = prctl" "$d/prctl.policy"
expect_start_failure "$d/s3.sock" \
    "sandbox: killed for syscall 157 \(prctl\)" \
    --policy "$d/prctl.policy" "$hostile_so" attack=prctl-seccomp \
    when=get_ready
for s in s1 s2 s3; do
	not grep -q "hostile: .*: succeeded" "$d/$s.sock.err"
done

# The worker's own form (SECCOMP_FILTER_FLAG_TSYNC): the filter goes
# in, but the worker refuses to serve with it.
expect_start_failure "$d/s4.sock" \
    "sandbox failed: the plugin stacked 1 seccomp filter of its own" \
    "$hostile_so" attack=seccomp-tsync when=get_ready

# While serving, every form is a tripwire or fails.
expect_killed "$d" 317 seccomp seccomp-filter
broker_opts=()
expect_blocked "$d" "Function not implemented" seccomp-tsync
