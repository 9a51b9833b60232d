#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdbroker --check-policy: the bundled policies are valid and print
# what they resolve to; a broken policy is refused with file:line, both
# by --check-policy (exit 1) and at start-up (no server); the policy
# is found by plugin name, else default.policy, and without any the
# server refuses to start.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
requires_enforce
"$NBDBROKER" --dump-config | grep -qx sandbox=enforce
set -x

hostile_plugins
d=$(tmpdir)

for p in default memory null pattern file nbdkit-data nbdkit-file nbdkit-full \
    nbdkit-memory nbdkit-null nbdkit-pattern nbdkit-random \
    nbdkit-sparse-random nbdkit-zero; do
	"$NBDBROKER" --check-policy "$policy_dir/$p.policy" > "$d/$p.out"
	grep -qx "policy: $policy_dir/$p.policy (nbdbroker-policy/1)" \
	    "$d/$p.out"
	grep -qx "mode: enforce" "$d/$p.out"
	grep -qx "network: none (private network namespace, no socket family)" \
	    "$d/$p.out"
	grep -Eq "^  execve +kill +kill +kill: line [0-9]+: @exec$" \
	    "$d/$p.out"
	grep -Eq "^  clone3 +errno ENOSYS +errno ENOSYS +libc falls back on ENOSYS$" \
	    "$d/$p.out"
	# Opening paths: only at start-up, except for the file plugins
	# (ours opens at start-up by its own rule; nbdkit's opens its file
	# for every connection, so it may open while serving).
	grep -Eq "^  openat +allow +errno ENOSYS +@loader$" "$d/$p.out" ||
	    [ "$p" = file ] || [ "$p" = nbdkit-file ]
done
grep -Eq "^  openat +allow +allow +" "$d/nbdkit-file.out"
# memory = counts private memory (RLIMIT_DATA) and, with the worker's
# own needs on top, every page it can touch (a cgroup or RLIMIT_AS).
grep -qx "limit memory: 512M" "$d/default.out"
grep -qx "  private memory: RLIMIT_DATA, the limit itself" "$d/default.out"
grep -Eq "^  all memory \(shared mappings, memfd too\): .*(cgroup|RLIMIT_AS)" \
    "$d/default.out"
# A plugin never stacks a seccomp filter of its own.
grep -Eq "^  seccomp +allow \(the worker's own filter\); others: kill +errno ENOSYS \(the worker's own filter\); others: kill +@worker-startup; kill: @worker-startup$" \
    "$d/default.out"
grep -qx "limit open-files: 64 (RLIMIT_NOFILE)" "$d/default.out"
grep -qx "limit cpu-seconds: unlimited" "$d/default.out"
grep -Eq "^  read +allow +allow +line [0-9]+: @basic-io$" "$d/default.out"
# The policy's own lines, groups as written, before what they expand to.
grep -Eqx "  line [0-9]+: allow = @basic-io @descriptors @io-event @memory @threads @time @signals" \
    "$d/default.out"
grep -Eqx "  line [0-9]+: kill = @escape @mount @module @debug @exec @subprocess @io-uring @keyring" \
    "$d/default.out"
grep -qx "  built in: @worker @worker-startup @loader @enosys ('nbdbroker --list-syscall-groups' shows every group)" \
    "$d/default.out"
grep -Eqx "  line [0-9]+: startup-allow = @file-read" "$d/file.out"
grep -Eq "^  mmap +allow +allow \(no PROT_EXEC\); others: errno ENOSYS +line" \
    "$d/default.out"
grep -qx "limit memory: \${size} + 256M" "$d/memory.out"
grep -Eq "^  path read\+write \\$\{file\} +start-up only line [0-9]+: \\$\{file\}$" \
    "$d/file.out"
grep -Eq "^  openat +allow +errno ENOSYS +line [0-9]+: @file-read$" \
    "$d/file.out"
grep -Eq "^  pread64 +allow +allow +line [0-9]+: @file-io$" "$d/file.out"

# With the plugin's parameters, ${...} resolve.
truncate -s 1M "$d/disk.img"
"$NBDBROKER" --check-policy "$policy_dir/file.policy" file "$d/disk.img" \
    > "$d/file2.out"
grep -Eq "^  path read\+write $d/disk.img +start-up only line [0-9]+: \\$\{file\}$" \
    "$d/file2.out"
"$NBDBROKER" --check-policy "$policy_dir/memory.policy" memory size=1G \
    > "$d/memory2.out"
grep -qx "limit memory: 1280M" "$d/memory2.out"

# Broken policies: exit 1 and file:line.
printf 'format = nbdbroker-policy/1\n[syscalls]\nallow = @basic-io opne\n' \
    > "$d/bad.policy"
set +e
"$NBDBROKER" --check-policy "$d/bad.policy" > "$d/bad.out" 2> "$d/bad.err"
status=$?
set -e
[ "$status" -eq 1 ]
[ ! -s "$d/bad.out" ]
[ "$(cat "$d/bad.err")" = \
    "nbdbroker: $d/bad.policy:3: unknown syscall 'opne' (did you mean 'open'?)" ]
set +e
"$NBDBROKER" --check-policy "$policy_dir/file.policy" file \
    "$d/nonexistent.img" 2> "$d/bad2.err"
status=$?
set -e
[ "$status" -eq 1 ]
grep -Eq "file.policy:[0-9]+: \\$\{file\} = '$d/nonexistent.img': No such file or directory$" \
    "$d/bad2.err"

# The server refuses to start on a broken policy, before any worker.
set +e
timeout 60 "$NBDBROKER" -f -U "$d/sock" --policy "$d/bad.policy" \
    memory size=1M \
    2> "$d/start.err"
status=$?
set -e
[ "$status" -eq 1 ]
grep -qx "nbdbroker\[[0-9]*\]: error: sandbox policy: $d/bad.policy:3: unknown syscall 'opne' (did you mean 'open'?)" \
    "$d/start.err"
[ ! -S "$d/sock" ]

# Lookup: PLUGIN.policy, then default.policy, in --policy-dir.
mkdir "$d/dir"
cp "$policy_dir/default.policy" "$d/dir/default.policy"
sed 's/^memory = .*/memory = 300M/' "$policy_dir/memory.policy" \
    > "$d/dir/memory.policy"
start_nbdbroker -U "$d/m.sock" --policy-dir "$d/dir" memory size=1M
grep -q "plugin memory: sandbox policy $d/dir/memory.policy (enforce)" \
    "$d/m.sock.log"
start_nbdbroker -U "$d/n.sock" --policy-dir "$d/dir" null size=1M
grep -q "plugin null: sandbox policy $d/dir/default.policy (enforce)" \
    "$d/n.sock.log"
start_nbdbroker -U "$d/h.sock" --policy-dir "$d/dir" "$hostile_so"
grep -q "sandbox policy $d/dir/default.policy (enforce)" "$d/h.sock.log"
# The build tree's own policies are found by plugin name.
start_nbdbroker -U "$d/f.sock" file "$d/disk.img"
grep -q "plugin file: sandbox policy $policy_dir/file.policy (enforce)" \
    "$d/f.sock.log"

# No policy at all: no server.
mkdir "$d/empty"
set +e
timeout 60 "$NBDBROKER" -f -U "$d/e.sock" --policy-dir "$d/empty" \
    memory size=1M \
    2> "$d/empty.err"
status=$?
set -e
[ "$status" -eq 1 ]
grep -q "no sandbox policy for plugin memory (looked for $d/empty/memory.policy, $d/empty/default.policy); give one with --policy FILE" \
    "$d/empty.err"
[ ! -S "$d/e.sock" ]

# The unconfined policy (for benchmarks) loads no filter at all.
start_nbdbroker -U "$d/u.sock" \
    --policy "$abs_top_srcdir/tests/policies/unconfined.policy" \
    memory size=1M
pid=$(worker_pid)
grep -q "^Seccomp:[[:space:]]*0$" "/proc/$pid/status"
[ "$(readlink "/proc/$pid/ns/net")" = "$(readlink /proc/self/ns/net)" ]
grep -q "allows every syscall: no seccomp filter" "$d/u.sock.log"
[ "$(nbd_read "$d/u.sock" 0)" = "DATA " ]
