#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# How a short name picks a plugin: our bundled plugin wins (memory is
# ours), nbdkit:NAME always means nbdkit's, a name we do not bundle
# (data) falls back to nbdkit's, and --nbdkit-plugin-dir says where
# nbdkit's plugins are.  --dump-plugin tells which one was loaded.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires_nbdkit_plugin memory data

d=$(tmpdir)

"$NBDBROKER" --dump-plugin memory > "$d/ours"
grep -x "nbdkit_plugin=0" "$d/ours"
grep -x "path=$abs_top_builddir/plugins/memory/.libs/nbdbroker-memory-plugin.so" "$d/ours"

"$NBDBROKER" --dump-plugin nbdkit:memory > "$d/theirs"
grep -x "nbdkit_plugin=1" "$d/theirs"
grep -x "path=$(realpath "$NBDKIT_PLUGINDIR/nbdkit-memory-plugin.so")" "$d/theirs"
grep -x "struct_size=384" "$d/theirs"
grep -x "durability=volatile" "$d/theirs"

"$NBDBROKER" --dump-plugin data > "$d/data"
grep -x "nbdkit_plugin=1" "$d/data"
grep -x "name=data" "$d/data"

# A directory of our choosing.
mkdir "$d/dir"
ln -s "$NBDKIT_PLUGINDIR/nbdkit-memory-plugin.so" "$d/dir/nbdkit-mine-plugin.so"
"$NBDBROKER" --nbdkit-plugin-dir "$d/dir" --dump-plugin mine > "$d/mine"
grep -x "name=memory" "$d/mine"
if "$NBDBROKER" --nbdkit-plugin-dir "$d/dir" --dump-plugin nbdkit:data \
    2> "$d/nodata"; then
	echo "$0: nbdkit:data was found outside --nbdkit-plugin-dir" >&2
	exit 1
fi
grep -F "nbdkit plugin 'data' not found (looked for $d/dir/nbdkit-data-plugin.so" "$d/nodata"

# Serving: the log says which kind of plugin it is.
start_nbdbroker -U "$d/a" nbdkit:memory 1M
grep -F "plugin memory ready" "$d/a.log" | grep -F "(nbdkit plugin,"
start_nbdbroker -U "$d/b" memory 1M
grep -F "plugin memory ready" "$d/b.log"
not grep -F "(nbdkit plugin," "$d/b.log"

# nbdkit's KEY=VALUE rule: text before '=' that is not a key is a bare
# word for the magic key (here a file name containing '=').
# (nbdkit's file plugin opens the file while serving, as user nobody:
# the directory must be reachable.)
f=$(shared_tmpdir)
echo -n "0123456789" > "$f/a=b.img"
chmod 0666 "$f/a=b.img"
start_nbdbroker -U "$d/c" nbdkit:file "$f/a=b.img"
test "$(nbdinfo --size "$(nbd_uri "$d/c")")" -eq 10

# Options may follow the plugin and its parameters, as with nbdkit.
test "$("$NBDBROKER" -U - nbdkit:memory 1M --run 'nbdinfo --size "$uri"' \
    2>/dev/null)" = 1048576
