#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every fuzz target's seed corpus and every regression input (inputs
# that once crashed the broker or the harness) run clean through the
# real broker code.  Built with any compiler; under --enable-sanitizers
# or valgrind this is where they catch what the fuzzers once found.
set -e
set -x

srcdir=${srcdir:-.}
builddir=${builddir:-.}
for n in handshake transmission worker; do
	dirs=("$srcdir/corpus/$n")
	[ -d "$srcdir/regress/$n" ] && dirs+=("$srcdir/regress/$n")
	"$builddir/fuzz-$n-replay" "${dirs[@]}"
done
