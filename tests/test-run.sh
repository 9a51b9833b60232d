#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Captive mode: --run CMD starts CMD once the server listens, with
# $uri, $unixsocket and $exportname set, stops the server when CMD
# exits and exits with CMD's status.  As with nbdkit, options may come
# before or after the plugin and its parameters (the --help example
# puts --run last).
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires qemu-img --version

d=$(tmpdir)

# Options after the plugin, exactly as in nbdbroker --help.
timeout 60 "$NBDBROKER" -U - memory size=64M \
	--run 'qemu-img info --output=json "$uri"' > "$d/info.json"
cat "$d/info.json"
grep -E '"virtual-size": 67108864' "$d/info.json"

# Options before the plugin; the variables the command sees.
timeout 60 "$NBDBROKER" -U "$d/sock" -e '' --run \
	'echo "uri=$uri"; echo "unixsocket=$unixsocket"; echo "port=${port-unset}"' \
	null size=1M > "$d/vars"
cat "$d/vars"
grep -Fx "uri=nbd+unix:///?socket=$d/sock" "$d/vars"
grep -Fx "unixsocket=$d/sock" "$d/vars"
grep -Fx "port=unset" "$d/vars"
# The server is gone with the command, and took its socket along.
test ! -e "$d/sock"

# The command's exit status becomes the server's.
r=0
timeout 60 "$NBDBROKER" -U - null size=1M --run 'exit 3' || r=$?
test "$r" -eq 3

# A plugin parameter may follow an option that follows the plugin.
timeout 60 "$NBDBROKER" -U - memory --run \
	'qemu-img info --output=json "$uri"' size=1M > "$d/info2.json"
grep -E '"virtual-size": 1048576' "$d/info2.json"
