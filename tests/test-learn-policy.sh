#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# --learn-policy with the bundled plugins and the hostile test plugin:
# the learned policy serves the same workload under enforce, and what
# the workload did not do (read /etc/shadow, run a shell, connect
# out) is still stopped.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
source "$(dirname "$0")/lib/learn.sh"
set -e
set -x

requires_sandbox

# Reachable by the worker's user (nobody, when the tests run as root).
d=$(shared_tmpdir)
rw='nbdsh -u "$uri" -c "
h.pwrite(b\"x\" * 4096, 65536)
assert h.pread(4096, 65536) == b\"x\" * 4096
h.flush()"'

# memory: nothing beyond the worker's own needs; the learned policy is
# the bundled one, less its comments.
learn_run "$d/memory.policy" "$rw" memory size=16M
not grep -q "^startup-allow =" "$d/memory.policy"
# The one allow line is [network]'s.
[ "$(grep -c "^allow =" "$d/memory.policy")" = 1 ]
grep -qx "allow = none" "$d/memory.policy"
grep -qx "kill = @escape @mount @module @debug @exec @subprocess @io-uring @keyring" \
    "$d/memory.policy"
grep -qx 'memory = ${size} + 256M' "$d/memory.policy"
enforce_run "$d/memory.policy" "$rw" memory size=16M

# file: the image is opened at start-up (get_ready) through ${file}.
truncate -s 16M "$d/disk.img"
learn_run "$d/file.policy" "$rw" file "file=$d/disk.img"
policy_has "$d/file.policy" startup-read '${file}'
policy_has "$d/file.policy" startup-write '${file}'
policy_has "$d/file.policy" allow pwrite64
not grep -q "^read =" "$d/file.policy"
not grep -q "^write =" "$d/file.policy"
enforce_run "$d/file.policy" "$rw" file "file=$d/disk.img"
grep -q "xxxx" "$d/disk.img"
# Restarted workers add to the same record: a worker killed between two
# clients is replaced, and the file says so.
kill_worker='pkill -KILL -P "$PPID" -x nbdbroker-worke'
learn_run "$d/restart.policy" "$rw; $kill_worker; sleep 1; $rw" \
    file "file=$d/disk.img"
grep -q "from 2 workers" "$d/restart.policy"
grep -q "restarting the worker" "$d/restart.policy.learn.log"
policy_has "$d/restart.policy" startup-read '${file}'
enforce_run "$d/restart.policy" "$rw" file "file=$d/disk.img"
# The policy follows ${file}: another image serves too.
truncate -s 16M "$d/other.img"
enforce_run "$d/file.policy" "$rw" file "file=$d/other.img"

# null and pattern: reads only.
ro='nbdsh -u "$uri" -c "h.pread(4096, 0)"'
learn_run "$d/null.policy" "$ro" null size=1M
enforce_run "$d/null.policy" "$ro" null size=1M
learn_run "$d/pattern.policy" "$ro" pattern size=1M
enforce_run "$d/pattern.policy" "$ro" pattern size=1M

# The hostile plugin, learned reading one file while serving.
echo "learned secret" > "$d/allowed.txt"
chmod 644 "$d/allowed.txt"
read1='nbdsh -u "$uri" -c "assert b\"learned secret\" in h.pread(64, 0)"'
learn_run "$d/hostile.policy" "$read1" "$hostile_so" attack=open \
    "path=$d/allowed.txt"
policy_has "$d/hostile.policy" read '${path}'
policy_has "$d/hostile.policy" allow openat
enforce_run "$d/hostile.policy" "$read1" "$hostile_so" attack=open \
    "path=$d/allowed.txt"
# What it did not do while learning stays denied.
broker_opts=(--policy "$d/hostile.policy")
expect_blocked "$d" "Permission denied" open-shadow path="$d/allowed.txt"
expect_blocked "$d" "Function not implemented" tcp-connect port=9 \
    path="$d/allowed.txt"
# Running a shell is a tripwire, as in the bundled policies.
start_nbdbroker -U "$d/exec.sock" --policy "$d/hostile.policy" \
    "$hostile_so" attack=exec path="$d/allowed.txt"
nbd_read "$d/exec.sock" 0 || true
wait_for_log "$d/exec.sock.log" "sandbox: killed for syscall 59 \(execve\)"
not grep -q "pwned" "$d/exec.sock.log"
