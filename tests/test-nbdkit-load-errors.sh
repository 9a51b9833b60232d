#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What nbdkit users may try that nbdbroker cannot do fails at start-up
# with a message saying what and why: a plugin importing an nbdkit
# function we lack (named), an nbdkit filter given as the plugin (it
# goes with --filter), an unknown filter, a scripted plugin by name,
# an unknown nbdkit: name.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

d=$(tmpdir)

# expect_failure LOGFILE ARGS...: the server must exit non-zero at once.
expect_failure() {
	local log=$1
	shift
	if timeout 20 "$NBDBROKER" -f -U "$d/sock" "$@" 2> "$log"; then
		echo "$0: nbdbroker $* started" >&2
		exit 1
	fi
	cat "$log"
	test ! -S "$d/sock"
}

p=$(test_plugin nbdkit-undefined-plugin)
expect_failure "$d/undef.log" "$p"
grep -F "load failed: $p: the plugin needs nbdkit_from_the_future, an nbdkit function nbdbroker-worker does not provide" "$d/undef.log"

for name in offset cow; do
	f=$NBDKIT_PLUGINDIR/../filters/nbdkit-$name-filter.so
	if ! [ -r "$f" ]; then
		skip_part "a filter given as a plugin: nbdkit's $name filter" \
		    "is not installed"
		continue
	fi
	f=$(realpath "$f")
	expect_failure "$d/filter-$name.log" "$f"
	grep -F "$f: this is an nbdkit filter, not a plugin; give it with --filter=$f above a plugin" \
	    "$d/filter-$name.log"
done

expect_failure "$d/opt.log" --filter=no-such-filter memory 1M
grep -F "nbdkit filter 'no-such-filter' not found" "$d/opt.log"

expect_failure "$d/name.log" nbdkit:no-such-plugin
grep -F "nbdkit plugin 'no-such-plugin' not found (looked for $NBDKIT_PLUGINDIR/nbdkit-no-such-plugin-plugin.so" "$d/name.log"

# A scripted plugin (#!/usr/sbin/nbdkit sh) found by name.
mkdir "$d/dir"
printf '#!/usr/sbin/nbdkit sh\nexit 2\n' > "$d/dir/nbdkit-myscript-plugin"
chmod +x "$d/dir/nbdkit-myscript-plugin"
expect_failure "$d/script.log" --nbdkit-plugin-dir "$d/dir" nbdkit:myscript
grep -F "is a script for nbdkit's language plugins, which nbdbroker cannot run by name; run the language plugin with the script instead: nbdkit:sh $d/dir/nbdkit-myscript-plugin" \
    "$d/script.log"
# The hint names the language the #! line names (Debian's S3 plugin is
# a python script).
printf '#!/usr/bin/nbdkit python\nimport nbdkit\n' > "$d/dir/nbdkit-mypy-plugin"
chmod +x "$d/dir/nbdkit-mypy-plugin"
expect_failure "$d/py.log" --nbdkit-plugin-dir "$d/dir" nbdkit:mypy
grep -F "run the language plugin with the script instead: nbdkit:python $d/dir/nbdkit-mypy-plugin" \
    "$d/py.log"

# Not a plugin at all.
requires test -r /lib/x86_64-linux-gnu/libz.so.1
expect_failure "$d/lib.log" /lib/x86_64-linux-gnu/libz.so.1
grep -F "not a plugin (neither nbdbroker_plugin_register nor nbdkit's plugin_init is defined)" "$d/lib.log"
