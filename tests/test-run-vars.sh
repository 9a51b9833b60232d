#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# --run: the variables the command gets, beyond the basics of captive
# mode (test-run.sh): $uri with a percent-encoded export name, $port
# unset on Unix sockets, $tls 0/1/2 and an nbds URI when TLS is
# required; -U - makes a private socket that is gone afterwards.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdinfo --version

d=$(tmpdir)
vars='printf "%s\n" "$uri" "$unixsocket" "${port-unset}" "$exportname" "$tls"'

"$NBDBROKER" -U - -e 'my disk' --run "$vars > '$d/a'; nbdinfo --size \"\$uri\" >> '$d/a'" \
    memory size=1M
sock=$(sed -n 2p "$d/a")
case "$sock" in /tmp/nbdbroker*/socket) ;; *) exit 1 ;; esac
printf '%s\n' "nbd+unix:///my%20disk?socket=$sock" "$sock" "unset" \
    "my disk" 0 1048576 | diff -u - "$d/a"
[ ! -e "$sock" ]
[ ! -e "$(dirname "$sock")" ]

"$NBDBROKER" -U "$d/s" --run "$vars > '$d/b'" memory size=1M
printf '%s\n' "nbd+unix:///?socket=$d/s" "$d/s" unset "" 0 | \
    diff -u - "$d/b"
[ ! -e "$d/s" ]

# $tls and the URI's scheme follow --tls.
if "$NBDBROKER" --dump-config | grep -qx tls=yes &&
    psktool --version >/dev/null 2>&1; then
	mkdir -m 0700 "$d/k"
	psktool -u alice -p "$d/k/keys.psk" >/dev/null
	"$NBDBROKER" -U - --tls=on --tls-psk="$d/k/keys.psk" \
	    --run "$vars > '$d/c'" memory size=1M
	[ "$(sed -n 5p "$d/c")" = 1 ]
	sed -n 1p "$d/c" | grep -q '^nbd+unix:///?socket='
	"$NBDBROKER" -U - --tls=require --tls-psk="$d/k/keys.psk" \
	    --run "$vars > '$d/e'
	       nbdinfo --size \"nbds+unix://alice@/?socket=\$unixsocket&tls-psk-file=$d/k/keys.psk\" >> '$d/e'" \
	    memory size=1M
	[ "$(sed -n 5p "$d/e")" = 2 ]
	sed -n 1p "$d/e" | grep -q '^nbds+unix:///?socket='
	[ "$(sed -n 6p "$d/e")" = 1048576 ]
else
	skip_part "\$tls and nbds URIs: needs nbdbroker built with TLS, and" \
	    "psktool"
fi
