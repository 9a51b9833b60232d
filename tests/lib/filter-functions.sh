# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Helpers for tests/test-nbdkit-filter*.sh, the tests of nbdkit filters
# stacked by nbdbroker.  Sourced after functions.sh and
# nbdkit-functions.sh.

# Where Debian's nbdkit package puts its filters (set by make check
# from configure; this default is for running a test by hand).
: "${NBDKIT_FILTERDIR:=/usr/lib/x86_64-linux-gnu/nbdkit/filters}"
export NBDKIT_FILTERDIR

# requires_nbdkit_filter NAME...: skip unless nbdkit's filters are here.
requires_nbdkit_filter() {
	local n
	for n in "$@"; do
		if [ ! -r "$NBDKIT_FILTERDIR/nbdkit-$n-filter.so" ]; then
			echo "$0: test skipped: nbdkit's $n filter is not" \
			    "installed in $NBDKIT_FILTERDIR" >&2
			exit 77
		fi
	done
}

# test_filter NAME: path of tests/plugins' nbdkit-NAME-filter.so (built
# against nbdkit's header, only if configure found it), or skip.
test_filter() {
	test_plugin "nbdkit-$1-filter"
}
