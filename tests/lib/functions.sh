# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Shared helpers for tests/test-*.sh.  Each test starts with:
#
#   source "$(dirname "$0")/lib/functions.sh"
#   set -e
#   set -x
#
# then sources the other helpers it needs the same way (for the sake
# of the linter, which follows such paths): lib/nbdkit-functions.sh,
# lib/tls-functions.sh, lib/sandbox.sh.  It exits 0 (pass), 77 (skip:
# a required tool or feature is missing) or 99 (hard error: something
# make check should have built is not there).  Servers started here
# are stopped when the test exits; an interrupted test fails.
#
# Where things are: make check sets abs_top_srcdir, abs_top_builddir
# and NBDBROKER (the server under test; valgrind/nbdbroker under make
# check-valgrind).  By hand, run a test from tests/ in the build tree
# after make check has built the test plugins:
#
#   cd tests && ./test-foo.sh                    (in-tree build)
#   cd build/tests && ../../tests/test-foo.sh    (VPATH build)
#
# abs_top_srcdir is then the tree this file is in, abs_top_builddir
# the parent of the working directory if it was configured there (else
# the source tree), and NBDBROKER its nbdbroker.
#
# The Python helpers (nbdraw.py, abuse.py, ...) are in $testlib, which
# is on PYTHONPATH: "from nbdraw import *" in a test's Python works.

# Debian's python3 has the nbd module; another python3 may come first.
export PATH="/usr/bin:$PATH"
export LIBNBD_DEBUG=${LIBNBD_DEBUG:-0}

testlib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${abs_top_srcdir:=$(cd "$testlib/../.." && pwd)}"
if [ -z "${abs_top_builddir:-}" ]; then
	if [ -f ../config.status ]; then
		abs_top_builddir=$(cd .. && pwd)
	else
		abs_top_builddir=$abs_top_srcdir
	fi
fi
: "${NBDBROKER:=$abs_top_builddir/nbdbroker}"
export NBDBROKER abs_top_builddir abs_top_srcdir testlib
export PYTHONPATH="$testlib${PYTHONPATH:+:$PYTHONPATH}"
# Python helpers are imported from the source tree: no byte code there.
export PYTHONDONTWRITEBYTECODE=1
# Policies for the test plugins (tests/policies), searched before the
# build tree's; plugins without one get default.policy as usual.
export NBDBROKER_POLICY_DIR="$abs_top_srcdir/tests/policies"

_cleanup_fns=()

# cleanup_fn CMD [ARGS...]: run CMD at exit, most recent first.
cleanup_fn() {
	local q
	printf -v q '%q ' "$@"
	_cleanup_fns+=("$q")
}

_skipped_parts=()

_run_cleanups() {
	local status=$?
	local i
	set +e
	for ((i = ${#_cleanup_fns[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_fns[i]}"
	done
	if [ "$status" -eq 0 ] && [ "${#_skipped_parts[@]}" -gt 0 ]; then
		echo "$0: test skipped: the rest passed, but these parts" \
		    "could not run here:" >&2
		printf '  %s\n' "${_skipped_parts[@]}" >&2
		status=77
	fi
	exit $status
}
trap _run_cleanups EXIT
# Interrupted is failed, whatever the last command returned.
trap 'exit 130' INT
trap 'exit 143' TERM

# Assertions.  Under set -e a failing command ends the test, with
# exceptions that make a check silently pass:
# - "! CMD" as a statement (set -e ignores it; use not CMD);
# - every command but the last in "A && B" (write two lines);
# - anything inside a function called from if, while, && or ||.

# not CMD [ARGS...]: succeed if CMD fails, fail (saying so) if it
# succeeds.  For "this must not be in the log": not grep -q X "$log".
not() {
	if "$@"; then
		echo "$0: should have failed: $*" >&2
		return 1
	fi
	return 0
}

# skip_part WHAT: part of the test (WHAT) cannot run here because a tool
# or a feature is missing.  The test goes on with the rest, but if
# that passes it ends as skipped (77), not passed: a test passes only
# if it checked everything it says it checks.
skip_part() {
	echo "$0: part skipped: $*" >&2
	_skipped_parts+=("$*")
}

# requires CMD [ARGS...]: skip the test unless CMD runs successfully.
requires() {
	if ! "$@" >/dev/null 2>&1; then
		echo "$0: test skipped: '$*' failed" >&2
		exit 77
	fi
}

# requires_enforce: skip in a build whose policies only log
# (--with-sandbox=log, for sanitizer builds), for tests that expect
# what an enforcing sandbox prints.
requires_enforce() {
	if "$NBDBROKER" --dump-config | grep -qx sandbox=log; then
		echo "$0: test skipped: built --with-sandbox=log" >&2
		exit 77
	fi
}

requires_nbd_python() {
	requires /usr/bin/python3 -c 'import nbd'
}

# Everything a test creates lives under one directory, made here and
# removed at exit.  (tmpdir is called as d=$(tmpdir): from that
# subshell, a cleanup_fn of its own would never reach the exit trap.)
_test_tmp=$(mktemp -d "${TMPDIR:-/tmp}/nbdbroker-test.XXXXXX")
cleanup_fn rm -rf "$_test_tmp"

# A fresh temporary directory, removed at exit.
tmpdir() {
	mktemp -d "$_test_tmp/d.XXXXXX"
}

# A temporary directory that a sandboxed worker running as another user
# (nobody, when the tests run as root) can reach: for plugins whose
# policy grants a path while serving.  Files made in it should be
# world-readable (and writable if the plugin writes them).
shared_tmpdir() {
	local d
	d=$(tmpdir)
	chmod 0755 "$_test_tmp" "$d"
	echo "$d"
}

# wait_for_socket PATH [SECONDS [PID]]: wait until PATH is a socket;
# give up early when process PID (the server that should make it) has
# exited.
wait_for_socket() {
	local i
	for ((i = 0; i < ${2:-30} * 10; i++)); do
		[ -S "$1" ] && return 0
		if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
			echo "$0: socket $1 did not appear: process $3" \
			    "exited" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "$0: socket $1 did not appear" >&2
	return 1
}

# start_nbdbroker -U SOCKET [-P PIDFILE] ARGS...: run the built server in
# the foreground, in the background of this test, log to $SOCKET.log,
# wait until it listens, and stop it at exit.  The pid is in
# $nbdbroker_pid.
start_nbdbroker() {
	local sock="" prev="" a
	for a in "$@"; do
		[ "$prev" = "-U" ] && sock=$a
		prev=$a
	done
	if [ -z "$sock" ]; then
		echo "start_nbdbroker: -U SOCKET is required" >&2
		return 99
	fi
	rm -f "$sock"
	"$NBDBROKER" -f "$@" 2>"$sock.log" &
	nbdbroker_pid=$!
	cleanup_fn _stop_server "$nbdbroker_pid" "$sock.log"
	if ! wait_for_socket "$sock" $((30 * slow)) "$nbdbroker_pid"; then
		cat "$sock.log" >&2
		return 1
	fi
}

_stop_server() {
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	echo "--- server log ($2) ---" >&2
	cat "$2" >&2 2>/dev/null || true
}

# nbd_uri SOCKET [EXPORT]
nbd_uri() {
	echo "nbd+unix:///${2:-}?socket=$1"
}

# worker_pids: pids of the nbdbroker-worker children of $nbdbroker_pid.
worker_pids() {
	pgrep -P "$nbdbroker_pid" -f nbdbroker-worker || true
}

# expect_start_failure SOCKET PATTERN ARGS...: run "nbdbroker -f -U SOCKET
# ARGS..." and check that it gives up within 20 s (times $slow) with a non-zero exit
# status, without listening on SOCKET, with a line matching PATTERN
# (grep -E) on stderr, and without leaving a worker behind.
expect_start_failure() {
	local sock=$1 pattern=$2 err r=0 bpid
	shift 2
	err=$sock.err
	rm -f "$sock"
	timeout $((20 * slow)) "$NBDBROKER" -f -U "$sock" "$@" 2>"$err" || r=$?
	cat "$err" >&2
	if [ "$r" -eq 0 ]; then
		echo "$0: nbdbroker $*: started, but should have failed" >&2
		return 1
	fi
	if [ "$r" -eq 124 ]; then
		echo "$0: nbdbroker $*: still running after $((20 * slow)) s" >&2
		return 1
	fi
	if [ -e "$sock" ]; then
		echo "$0: nbdbroker $*: created $sock before failing" >&2
		return 1
	fi
	if ! grep -E -- "$pattern" "$err" >/dev/null; then
		echo "$0: nbdbroker $*: stderr does not match '$pattern'" >&2
		return 1
	fi
	bpid=$(sed -n 's/^nbdbroker\[\([0-9]*\)\].*/\1/p' "$err" | head -1)
	# A worker shows "(broker PID)" once it has loaded the plugin.
	if [ -n "$bpid" ] && pgrep -f -- \
	    "(--broker-pid $bpid|\\(broker $bpid\\))\$" >/dev/null; then
		echo "$0: nbdbroker $*: left worker(s) of $bpid running" >&2
		return 1
	fi
	return 0
}

# test_plugin NAME: print the path of the test plugin NAME (built from
# tests/plugins by make check as tests/plugins/.libs/NAME.so).  Call it
# as p=$(test_plugin NAME) after set -e: if the plugin is missing, the
# test ends there, skipped (77) for a plugin built against nbdkit's
# <nbdkit-plugin.h> where configure found none, otherwise with a hard
# error (99), since make check should have built it.
test_plugin() {
	local p="$abs_top_builddir/tests/plugins/.libs/$1.so"

	if [ -r "$p" ]; then
		echo "$p"
		return 0
	fi
	case $1 in
	nbdkit-*-plugin)
		if [ "${NBDBROKER_NBDKIT_TEST_PLUGINS:-}" = no ]; then
			echo "$0: test skipped: $1 needs <nbdkit-plugin.h>," \
			    "which configure did not find" >&2
			exit 77
		fi
		;;
	nbdkit-*-filter)
		if [ "${NBDBROKER_NBDKIT_TEST_FILTERS:-}" = no ]; then
			echo "$0: test skipped: $1 needs <nbdkit-filter.h>," \
			    "which configure did not find" >&2
			exit 77
		fi
		;;
	esac
	echo "$0: test plugin $1 was not built: $p is missing" \
	    "(make check builds it; by hand: make -C tests plugins/$1.la)" >&2
	exit 99
}

# The fake worker (lib/fake-worker.c), built by make check.
fake_worker_bin=$abs_top_builddir/tests/lib/fake-worker

# requires_fake_worker: a hard error (99) unless it was built.
requires_fake_worker() {
	if [ ! -x "$fake_worker_bin" ]; then
		echo "$0: $fake_worker_bin was not built (make check builds" \
		    "it; by hand: make -C tests lib/fake-worker)" >&2
		exit 99
	fi
}

# fake_worker DIR MODE [OPTIONS...]: write DIR/worker-MODE, a wrapper
# for NBDBROKER_WORKER that runs the fake worker in MODE with OPTIONS
# (see fake-worker --help), and print its path.  (The broker runs its
# worker with a fixed argument list: the wrapper adds the mode.)
# Tests call requires_fake_worker first: from NBDBROKER_WORKER=$(...)
# a failure here cannot end the test.
fake_worker() {
	local dir=$1 mode=$2 w
	shift 2
	w=$dir/worker-$mode
	{
		printf '#!/bin/sh\nexec %q --mode=%q' "$fake_worker_bin" "$mode"
		printf ' %q' "$@"
		printf ' "$@"\n'
	} > "$w"
	chmod +x "$w"
	echo "$w"
}

# requires_fio_nbd: skip unless fio with its nbd engine is installed.
requires_fio_nbd() {
	requires fio --version
	if ! fio --enghelp 2>/dev/null | grep -qw nbd; then
		echo "$0: test skipped: fio has no nbd engine" >&2
		exit 77
	fi
}

# run_fio DIR ARGS...: fio ARGS with DIR (the test's temporary
# directory) as its working directory and no verify state: a verify job
# that ends or is interrupted writes local-JOB-N-verify.state into the
# working directory, which for a test is tests/ in the build tree.
run_fio() {
	local dir=$1
	shift
	(cd "$dir" && fio --verify_state_save=0 "$@")
}

# fio_verify_storm DIR SOCK: 32 s of 4k random writes from 4 jobs at
# depth 8 to the server at SOCK, each block read back and checked
# (crc32c) soon after it is written, while the test disturbs the server
# (kills workers, reloads).  Fails unless fio saw no error and no short
# or dropped I/O, with over 1000 writes and 1000 verifying reads.
fio_verify_storm() {
	local d=$1 sock=$2
	run_fio "$d" --name=verify --ioengine=nbd --uri="$(nbd_uri "$sock")" \
	    --rw=randwrite --bs=4k --iodepth=8 --numjobs=4 \
	    --size=32M --offset_increment=64M \
	    --verify=crc32c --verify_backlog=256 --verify_fatal=1 \
	    --runtime=32 --time_based --group_reporting \
	    --output-format=json --output="$d/fio.json"
	/usr/bin/python3 - "$d/fio.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
job = j["jobs"][0]
assert job["error"] == 0, job["error"]
w, r = job["write"], job["read"]
print("writes", w["total_ios"], "verify reads", r["total_ios"])
assert w["total_ios"] > 1000, w["total_ios"]
assert r["total_ios"] > 1000, r["total_ios"]
for k in ("short_ios", "drop_ios"):
    assert w[k] == 0 and r[k] == 0, k
PY
}

# fd_count PID: how many descriptors PID has open.
fd_count() {
	local fds=("/proc/$1/fd/"*)
	echo "${#fds[@]}"
}

# rss_kb PID: resident memory of PID in KiB (VmRSS).
rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}

# Time limits in tests are multiplied by $slow; `make check-valgrind`
# sets NBDBROKER_TEST_SLOW (the broker runs 10 times slower there).
# $measure_rss is 0 under valgrind and in sanitizer builds: the
# broker's memory, as /proc shows it, is then mostly the tool's, so
# tests do not assert on it.
slow=${NBDBROKER_TEST_SLOW:-1}
measure_rss=1
if [ -n "${NBDBROKER_VALGRIND_LOGS:-}" ] ||
    [ -n "${NBDBROKER_SANITIZERS:-}" ]; then
	measure_rss=0
fi
export slow measure_rss
