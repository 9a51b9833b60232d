#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The man pages render without a warning (mandoc -T lint, groff -ww),
# and cannot drift from the code: every option in broker/options.c's
# table (names and aliases) and in --help is in nbdbroker(1); every
# section and key of policy/parse-keys.c is in nbdbroker-policy(5); every
# member of struct nbdbroker_plugin (but the reserved _ ones) is in
# nbdbroker-plugin(3).
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires command -v mandoc
man=$abs_top_srcdir/man
d=$(tmpdir)
pages="nbdbroker.1 nbdbroker-plugin.3 nbdbroker-policy.5
    nbdbroker-security.7 nbdbroker-service.7"

for p in $pages; do
	test -f "$man/$p"
	mandoc -T lint -W warning "$man/$p" > "$d/lint" 2>&1 || true
	if [ -s "$d/lint" ]; then cat "$d/lint"; exit 1; fi
	if command -v groff >/dev/null; then
		groff -ww -man -z "$man/$p" 2> "$d/lint"
		if [ -s "$d/lint" ]; then cat "$d/lint"; exit 1; fi
	fi
	# The text, one long line per paragraph, without overstrikes.
	mandoc -T ascii -O width=1000 "$man/$p" | sed 's/.\x08//g' \
	    > "$d/$p.txt"
done

# missing PAGE WORD...: fail naming every WORD not in PAGE's text.
missing() {
	local page=$1 w bad=""
	shift
	for w in "$@"; do
		grep -qF -- "$w" "$d/$page.txt" || bad="$bad $w"
	done
	if [ -n "$bad" ]; then
		echo "$0: $page does not mention:$bad" >&2
		return 1
	fi
}

# Options: the table, and --help.
opts=$(sed -nE 's/.*\.(name|alias) = "([a-z][a-z0-9-]*)".*/--\2/p' \
    "$abs_top_srcdir/broker/options.c" | sort -u)
[ "$(echo "$opts" | wc -l)" -ge 30 ]	# the pattern still finds them
"$NBDBROKER" --help > "$d/help"
help=$(grep -oE -- '--[a-z][a-z0-9-]+' "$d/help" | sort -u)
# shellcheck disable=SC2086 # word lists
missing nbdbroker.1 $opts $help

# Policy: sections and keys from the parser's tables.
keys=$(sed -n '/^static const char \*const keys_[a-z]*\[\]/,/NULL };/p' \
    "$abs_top_srcdir/policy/parse-keys.c" | grep -oE '"[a-z-]+"' | tr -d '"' |
    sort -u)
[ "$(echo "$keys" | wc -l)" -ge 15 ]
sections=$(grep -E '^	"", "syscalls"' "$abs_top_srcdir/policy/parse-keys.c" |
    grep -oE '"[a-z]+"' | tr -d '"' | sed 's/.*/[&]/')
[ "$(echo "$sections" | wc -l)" -ge 5 ]
# shellcheck disable=SC2086
missing nbdbroker-policy.5 $keys $sections

# Plugin: every member of the struct (callbacks and fields).
members=$(sed -n '/^struct nbdbroker_plugin {/,/^};/p' \
    "$abs_top_srcdir/sdk/nbdbroker-plugin.h" |
    sed -nE 's/.*\(\*([a-z][a-z_0-9]*)\)\(.*/\1/p; s/^	(const char|int)[	 *]+([a-z][a-z_]*);.*/\2/p' |
    sort -u)
[ "$(echo "$members" | wc -l)" -ge 40 ]
# shellcheck disable=SC2086
missing nbdbroker-plugin.3 $members THREAD_MODEL pkg-config \
    NBDBROKER_REGISTER_PLUGIN

# Each page names the others it relies on.
missing nbdbroker.1 'nbdbroker-policy(5)' 'nbdbroker-plugin(3)' \
    'nbdbroker-service(7)' 'nbdbroker-security(7)' 'EXIT STATUS' \
    ENVIRONMENT FILES EXAMPLES
