#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Stage 1 is in force before the plugin is loaded: a plugin whose
# constructor (run by dlopen, before any callback) opens /etc/shadow,
# creates an IPv4 socket and mounts is stopped at each step; the mount
# is a tripwire, so the worker never becomes ready, and the broker
# says why and exits with an error instead of serving.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
set +e
timeout 60 "$NBDBROKER" -f -U "$d/sock" "$hostile_ctor_so" 2> "$d/log"
status=$?
set -e
cat "$d/log"
[ "$status" -eq 1 ]
[ ! -S "$d/sock" ]
grep -q "hostile-ctor: constructor: open /etc/shadow: Permission denied$" \
    "$d/log"
grep -q "hostile-ctor: constructor: socket AF_INET: Function not implemented$" \
    "$d/log"
grep -Eq "worker [0-9]+ \(plugin $hostile_ctor_so, policy $policy_dir/default.policy\): sandbox: killed for syscall 165 \(mount\); syscall=mount nr=165 stage=startup policy=$policy_dir/default.policy key=kill line=[0-9]+ group=@mount$" \
    "$d/log"
grep -Eq "killed by its sandbox: syscall 165 \(mount\) is forbidden by policy $policy_dir/default.policy" \
    "$d/log"
not grep -q "mount: succeeded" "$d/log"
not grep -q "ready in worker" "$d/log"
