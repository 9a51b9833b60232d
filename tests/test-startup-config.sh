#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A plugin whose configuration fails (a bad value, a missing file, an
# unknown key, a failing config_complete or get_ready) stops the server
# at start-up: non-zero exit, no listening socket, the plugin's reason
# on stderr, and nothing hangs.
source "$(dirname "$0")/lib/functions.sh"
set -e
requires_enforce
set -x

d=$(tmpdir)
s=$d/sock
fc=$(test_plugin failconfig)

# Bundled plugins.
# memory.policy sizes the worker's memory limit from size=, so the
# broker finds the bad size first; with a policy that does not look at
# size=, the plugin's own message comes back.
expect_start_failure "$s" "memory: parameter size=banana is not a size: expected a number; the policy .*/memory.policy:[0-9]+ reads it for \[limits\] memory" \
	memory size=banana
expect_start_failure "$s" "could not parse size 'banana'" \
	--policy "$abs_top_srcdir/tests/policies/unconfined.policy" \
	memory size=banana
expect_start_failure "$s" 'memory: no parameter size= given, nor a bare word; the policy .*/memory.policy:[0-9]+ needs it for \[limits\] memory' memory
expect_start_failure "$s" "memory: unknown parameter 'colour'" \
	memory size=1M colour=blue
expect_start_failure "$s" "/nonexistent/disk\.img'?: No such file" \
	file file=/nonexistent/disk.img
mkdir "$d/adir"
expect_start_failure "$s" 'is not a regular file or a block device' \
	file file="$d/adir"
expect_start_failure "$s" 'pattern: size=SIZE is required' pattern

# A test plugin failing at each start-up step, with and without saying
# why; the broker names the step either way.
# The plugin's message is printed once, then the step that failed.
expect_start_failure "$s" 'failconfig: failing in config as asked' \
	"$fc" fail-at=config
grep -E 'failconfig\.so: config failed$' "$s.err"
expect_start_failure "$s" 'failconfig: failing in config_complete' "$fc"
grep -E 'config_complete failed$' "$s.err"
[ "$(grep -c 'failing in config_complete' "$s.err")" -eq 1 ]
expect_start_failure "$s" 'failconfig: failing in get_ready' \
	"$fc" fail-at=get_ready
grep -E 'get_ready failed$' "$s.err"
expect_start_failure "$s" 'plugin failconfig: configuration is incomplete' \
	"$fc" quiet=1
grep -E 'config_complete failed$' "$s.err"
expect_start_failure "$s" 'get_ready failed' "$fc" quiet=1 fail-at=get_ready
expect_start_failure "$s" "failconfig: unknown parameter 'nokey'" \
	"$fc" nokey=1
expect_start_failure "$s" "'bareword' is not KEY=VALUE" "$fc" bareword
