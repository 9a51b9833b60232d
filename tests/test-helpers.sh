#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The helpers in tests/lib fail when they should, so that the tests
# built on them can: not, skip_part, the exit trap, test_plugin,
# requires_fake_worker and check_map (on a server without block
# status, with a false expression, and with --no-extents on a plugin
# that has extents).
# Each case runs as a child test (the helpers, set -e, a few lines)
# whose exit status is checked.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdinfo --version
requires_nbd_python

d=$(tmpdir)

# expect_status STATUS NAME [LINE...]: the child test NAME, made of the
# helpers, set -e and LINE..., exits with STATUS.  Its output is in
# $d/NAME.out.
expect_status() {
	local want=$1 name=$2 r=0

	shift 2
	{
		printf 'source %q\n' "$testlib/functions.sh" \
		    "$testlib/nbdkit-functions.sh"
		echo 'set -e'
		printf '%s\n' "$@"
	} > "$d/$name.sh"
	bash "$d/$name.sh" > "$d/$name.out" 2>&1 || r=$?
	cat "$d/$name.out"
	if [ "$r" -ne "$want" ]; then
		echo "$0: $name: exit status $r, want $want" >&2
		return 1
	fi
}

# The pitfall not is for: set -e ignores a command negated with !.
expect_status 0 bang '! true' 'exit 0'
expect_status 1 not-true 'not true' 'exit 0'
grep -F 'should have failed: true' "$d/not-true.out"
expect_status 0 not-false 'not false'

# A test with a part skipped ends skipped if the rest passes, failed if
# it does not.
expect_status 77 skip-part 'skip_part "the part"' 'true'
grep -F 'part skipped: the part' "$d/skip-part.out"
expect_status 1 skip-part-failed 'skip_part "the part"' 'false'

# An interrupted test fails, even if its last command succeeded.
expect_status 143 terminated 'true' 'kill -TERM $$' 'sleep 5'

# A test plugin that was not built is a hard error; one that needs
# <nbdkit-plugin.h> is a skip if configure did not find it.
expect_status 99 no-plugin 'p=$(test_plugin no-such-plugin)' 'exit 0'
grep -F 'test plugin no-such-plugin was not built' "$d/no-plugin.out"
expect_status 77 no-nbdkit-h 'NBDBROKER_NBDKIT_TEST_PLUGINS=no' \
    'p=$(test_plugin nbdkit-no-such-plugin)' 'exit 0'
expect_status 0 plugin 'p=$(test_plugin recorder-v2)' \
    '[ "$p" = "$abs_top_builddir/tests/plugins/.libs/recorder-v2.so" ]'
expect_status 99 no-fake-worker 'fake_worker_bin=/nonexistent' \
    'requires_fake_worker' 'exit 0'

# check_map: data at [0, 64K), the rest a hole.
start_nbdbroker -U "$d/mem" memory size=1M
u=$(nbd_uri "$d/mem")
nbdsh -u "$u" -c 'h.pwrite(b"a" * 65536, 0)'
expect_status 0 map "check_map '$u' 'm == [[0, 65536, 0], [65536, 983040, 3]]'"
expect_status 1 map-false "check_map '$u' 'm == [[0, 1048576, 0]]'"
grep -F "check_map: map [[0, 65536, 0], [65536, 983040, 3]]: not" \
    "$d/map-false.out"
expect_status 1 map-no-extents "check_map --no-extents '$u' 1048576"

# A server that offers no block status: nbdkit without structured
# replies (it then has no meta contexts).
if nbdkit --version >/dev/null 2>&1; then
	nbdkit -f -U "$d/nosr" --no-sr memory 1M 2> "$d/nosr.log" &
	cleanup_fn _stop_server $! "$d/nosr.log"
	wait_for_socket "$d/nosr"
	u=$(nbd_uri "$d/nosr")
	expect_status 1 map-no-block-status "check_map '$u' True"
	grep -F "offers no base:allocation (meta contexts: []): block" \
	    "$d/map-no-block-status.out"
	expect_status 1 map-no-block-status-no-extents \
	    "check_map --no-extents '$u' 1048576"
else
	skip_part "check_map without block status: needs nbdkit (--no-sr)"
fi
