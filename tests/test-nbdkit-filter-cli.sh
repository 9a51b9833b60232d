#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit filters on nbdbroker's command line, as in nbdkit's:
# --filter=NAME and --filter=PATH, parameters for the filters among the
# plugin's, -D NAME.FLAG for a filter's debug flag, --dump-plugin
# through the filters (their thread model shows, their .config checks
# parameters); clear errors for a missing filter, a plugin given as a
# filter and a filter given as the plugin; and --check-policy shows
# the plugin's policy merged with the filters' (policy/merge.c).
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
source "$(dirname "$0")/lib/filter-functions.sh"
set -e
set -x

requires nbdinfo --version
requires_nbdkit_plugin memory
requires_nbdkit_filter offset noparallel cow tar

d=$(tmpdir)
policy_dir=$abs_top_srcdir/policy

# By name and by path, with their parameters among the plugin's; the
# first is outermost: offset skips 4096 of what truncate made 10000.
start_nbdbroker -U "$d/a.sock" --filter=offset \
    --filter="$NBDKIT_FILTERDIR/nbdkit-truncate-filter.so" \
    nbdkit:memory 1M offset=4096 truncate=10000
test "$(nbdinfo --size "$(nbd_uri "$d/a.sock")")" -eq 5904

# --dump-plugin: the plugin's keys, the model the filters left.
"$NBDBROKER" --filter=noparallel --dump-plugin nbdkit:memory 1M \
    serialize=connections > "$d/dump"
grep -qx "name=memory" "$d/dump"
grep -qx "max_thread_model=parallel" "$d/dump"
grep -qx "thread_model=serialize_connections" "$d/dump"
if nbdkit --version >/dev/null 2>&1; then
	nbdkit --filter=noparallel --dump-plugin memory 1M \
	    serialize=connections > "$d/dump.nbdkit"
	for k in name max_thread_model thread_model magic_config_key; do
		diff <(grep "^$k=" "$d/dump.nbdkit") <(grep "^$k=" "$d/dump")
	done
fi
# A filter that stores data in the worker: what survives is volatile.
"$NBDBROKER" --filter=cow --dump-plugin nbdkit:file /dev/null \
    | grep -qx "durability=volatile"
"$NBDBROKER" --dump-plugin nbdkit:file /dev/null \
    | grep -qx "durability=persistent"
# The filter's .config sees its parameters, also for --dump-plugin.
if "$NBDBROKER" --filter=cow --dump-plugin nbdkit:memory 1M \
    cow-block-size=foo 2> "$d/dump.err"; then
	exit 1
fi
grep -q "could not parse size string (foo)" "$d/dump.err"

# -D for a filter's flag reaches the filter, not the plugin.
start_nbdbroker -U "$d/b.sock" -v -D cow.verbose=1 --filter=cow \
    nbdkit:memory 1M
grep -q "debug flag cow_debug_verbose = 1" "$d/b.sock.log"
if grep -q "the plugin is called" "$d/b.sock.log"; then exit 1; fi

# Errors.
expect_start_failure "$d/c.sock" "nbdkit filter 'nosuch' not found" \
    --filter=nosuch nbdkit:memory 1M
expect_start_failure "$d/c.sock" "is a plugin, not a filter" \
    --filter="$NBDKIT_PLUGINDIR/nbdkit-memory-plugin.so" nbdkit:memory 1M
expect_start_failure "$d/c.sock" "this is an nbdkit filter, not a plugin" \
    "$NBDKIT_FILTERDIR/nbdkit-offset-filter.so"
expect_start_failure "$d/c.sock" "filter offset is given twice" \
    --filter=offset --filter=offset nbdkit:memory 1M

# --check-policy merges the filters' policies, and says where each
# right comes from.
"$NBDBROKER" --check-policy "$policy_dir/nbdkit-memory.policy" \
    --filter=cow nbdkit:memory 1G > "$d/cow.out"
grep -qx "policy: $policy_dir/nbdkit-memory.policy + $policy_dir/nbdkit-cow-filter.policy (nbdbroker-policy/1)" \
    "$d/cow.out"
grep -qx "durability: volatile" "$d/cow.out"
grep -Eq "^  pwrite64 +allow +allow +nbdkit-cow-filter.policy line [0-9]+: @file-io$" \
    "$d/cow.out"
grep -Eq "^  execve +kill +kill +kill: nbdkit-memory.policy line [0-9]+: @exec$" \
    "$d/cow.out"
grep -Eq "^  path read\+write /var/tmp +start-up only nbdkit-cow-filter.policy line [0-9]+$" \
    "$d/cow.out"
grep -Eq "^  path read +$NBDKIT_FILTERDIR/nbdkit-cow-filter.so +start-up only a filter$" \
    "$d/cow.out"
# 1G + 256M (the plugin's) + 64M (cow's).
grep -qx "limit memory: 1344M" "$d/cow.out"
grep -qx "limit open-files: 48 (RLIMIT_NOFILE)" "$d/cow.out"
# Without filters, the plugin's policy as it is.
"$NBDBROKER" --check-policy "$policy_dir/nbdkit-memory.policy" \
    nbdkit:memory 1G > "$d/plain.out"
grep -qx "policy: $policy_dir/nbdkit-memory.policy (nbdbroker-policy/1)" \
    "$d/plain.out"
# pwrite64 is not listed: (any other), errno ENOSYS.
if grep -Eq "^  pwrite64 " "$d/plain.out"; then exit 1; fi
# tar runs programs: its policy lifts the plugin's exec tripwires for
# the whole worker, keeps Landlock with the right to run sh and tar,
# and --check-policy says so.
"$NBDBROKER" --check-policy "$policy_dir/nbdkit-memory.policy" \
    --filter=tar nbdkit:memory 1G > "$d/tar.out"
grep -qx "filesystem: Landlock required" "$d/tar.out"
grep -Eq "^  path exec +/usr/bin/tar +always +nbdkit-tar-filter.policy line [0-9]+$" \
    "$d/tar.out"
grep -Eq "^  execve +allow +allow " "$d/tar.out"
grep -Eq "^  ptrace +kill +kill " "$d/tar.out"
grep -Eq "^syscalls: architecture .*, default allow," "$d/tar.out"
# A filter's policy may not change who the worker runs as.
mkdir "$d/pol"
cp "$policy_dir/nbdkit-memory.policy" "$d/pol/"
printf 'format = nbdbroker-policy/1\nuser = keep\n' \
    > "$d/pol/nbdkit-offset-filter.policy"
expect_start_failure "$d/c.sock" \
    "nbdkit-offset-filter.policy: user = keep, but .*nbdkit-memory.policy runs the worker as nobody" \
    --policy-dir "$d/pol" --filter=offset nbdkit:memory 1M
