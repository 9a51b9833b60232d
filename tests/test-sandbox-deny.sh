#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Under the default policy, a plugin's attempts to reach files, the
# broker, the network or more memory fail; the worker survives and the
# broker logs what the plugin tried.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(tmpdir)
chmod 755 "$d"

# While serving, no file can even be opened (seccomp: openat is a
# start-up-only syscall)...
expect_blocked "$d" "Function not implemented" open-shadow
expect_blocked "$d" "Function not implemented" environ
expect_blocked "$d" "Function not implemented" write path="$d/pwned"
[ ! -e "$d/pwned" ]
# ... no socket created (no @network) ...
expect_blocked "$d" "Function not implemented" tcp-connect port=9
expect_blocked "$d" "Function not implemented" unix-connect \
    path="$d/open-shadow.sock"
# ... and memory beyond [limits] memory = 512M (RLIMIT_DATA) fails.
expect_blocked "$d" "Cannot allocate memory" alloc count=600
# Each denial is logged as a warning naming the policy key...
grep -q "warning: .*sandbox: serving denied openat (ENOSYS).*key=allow" \
    "$d/open-shadow.sock.log"
# ... but for the one open glibc's malloc makes by itself when a
# thread's heap shrinks (/proc/sys/vm/overcommit_memory; it does without
# it): refused as well, and only said at debug level.
broker_opts=(-v)
expect_blocked "$d" "Function not implemented" open \
    path=/proc/sys/vm/overcommit_memory
broker_opts=()
not grep "warning: .*serving denied openat" "$d/open.sock.log"
grep -q "debug: .*serving denied glibc's open of /proc/sys/vm/overcommit_memory" \
    "$d/open.sock.log"

# At start-up, where openat is allowed for the loader, Landlock
# stops what is outside the policy, including files anybody may read
# and the broker's own files.
start_nbdbroker -U "$d/cfg.sock" -P "$d/broker.pid" "$hostile_so" \
    attack=open path=/etc/passwd when=config
grep -q "hostile: open: blocked: Permission denied$" "$d/cfg.sock.log"
start_nbdbroker -U "$d/cfg2.sock" "$hostile_so" attack=broker-environ \
    when=get_ready pid="$(cat "$d/broker.pid")"
grep -q "hostile: broker-environ: blocked: Permission denied$" \
    "$d/cfg2.sock.log"
# While serving, it cannot even ask who its broker is (getppid).
expect_blocked "$d" "No such process" broker-environ
start_nbdbroker -U "$d/cfg3.sock" "$hostile_so" attack=broker-file \
    path="$d/broker.pid" when=config
grep -q "hostile: broker-file: blocked: Permission denied$" \
    "$d/cfg3.sock.log"
grep -qx "[0-9]*" "$d/broker.pid"
start_nbdbroker -U "$d/cfg4.sock" "$hostile_so" attack=write \
    path="$d/pwned" when=config
grep -q "hostile: write: blocked: Permission denied$" "$d/cfg4.sock.log"
[ ! -e "$d/pwned" ]
