#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every nbdkit_* function that an installed nbdkit plugin imports is
# exported by nbdbroker-worker, so each can be dlopened with RTLD_NOW.
# Lists the plugins and the symbols missing if any are.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e

requires nm --version
requires_nbdkit_plugin memory

w=$abs_top_builddir/worker/nbdbroker-worker
d=$(tmpdir)
nm -D --defined-only "$w" | awk '$2 == "T" { print $3 }' | sort > "$d/provided"
grep -q '^nbdkit_error$' "$d/provided"
bad=0
for p in "$NBDKIT_PLUGINDIR"/nbdkit-*-plugin.so; do
	nm -D --undefined-only "$p" | awk '{ print $2 }' |
	    grep '^nbdkit_' | sort > "$d/wanted"
	missing=$(comm -23 "$d/wanted" "$d/provided" | tr '\n' ' ')
	if [ -n "$missing" ]; then
		echo "$(basename "$p"): missing $missing" >&2
		bad=1
	else
		echo "$(basename "$p"): all $(wc -l < "$d/wanted") found"
	fi
done
exit $bad
