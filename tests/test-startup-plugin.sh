#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A plugin that cannot be found or loaded stops the server at start-up:
# non-zero exit, no listening socket, stderr says what is wrong, and
# nothing hangs.  Covers the foreground and the daemon start-up paths.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

d=$(tmpdir)
s=$d/sock
noopen=$(test_plugin noopen)

expect_start_failure "$s" 'no plugin given'
expect_start_failure "$s" 'plugin /nonexistent/plugin\.so: No such file' \
	/nonexistent/plugin.so
expect_start_failure "$s" "plugin 'nosuchplugin' not found" nosuchplugin
expect_start_failure "$s" "'Bad!' is not a plugin name" 'Bad!'
expect_start_failure "$s" 'plugin noopen: required callback \.open is missing' \
	"$noopen"
# A shared object that is not a plugin at all.
libm=$(/sbin/ldconfig -p | awk '/libm\.so\.6 /{print $NF; exit}')
if [ -n "$libm" ]; then
	expect_start_failure "$s" 'not a plugin \(neither nbdbroker_plugin_register nor' "$libm"
else
	skip_part "a shared object that is not a plugin: ldconfig knows no" \
	    "libm.so.6"
fi
# A file that is not a shared object.
echo 'not ELF' > "$d/junk.so"
expect_start_failure "$s" 'cannot load plugin' "$d/junk.so"

# Without -f the server forks; the parent still reports the failure.
r=0
timeout 20 "$NBDBROKER" -U "$s" "$noopen" 2>"$d/bg.err" || r=$?
cat "$d/bg.err"
test "$r" -ne 0
test "$r" -ne 124
grep -F '.open is missing' "$d/bg.err"
test ! -e "$s"
