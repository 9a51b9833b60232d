#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every fuzz target's seed corpus and every regression input (inputs
# that once crashed the broker or tripped the harness) run clean
# through the real broker code: under the sanitizers when the build
# has them, else under valgrind (a use-after-free does not crash a
# plain build), else bare.
set -e
set -x

srcdir=${srcdir:-.}
builddir=${builddir:-.}
run=()
if [ -z "${SANITIZER_CFLAGS:-}" ] && command -v valgrind >/dev/null; then
	run=(valgrind -q --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite,indirect)
fi
for n in handshake transmission worker policy; do
	dirs=("$srcdir/corpus/$n")
	[ -d "$srcdir/regress/$n" ] && dirs+=("$srcdir/regress/$n")
	"${run[@]}" "$builddir/fuzz-$n-replay" "${dirs[@]}"
done
