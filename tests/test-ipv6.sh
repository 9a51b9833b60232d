#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# TCP over IPv6 loopback (-i ::1 -p 0), driven by --run: the URI has
# the address in brackets, and an IPv6-only listener does not answer on
# IPv4.  Skipped when ::1 is not usable here.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdinfo --version

d=$(tmpdir)
# IPv6 loopback, if this machine has it.
if ! /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
' 2>/dev/null; then
	echo "$0: test skipped: ::1 unavailable" >&2
	exit 77
fi
"$NBDBROKER" -i ::1 -p 0 --run "
	case \"\$uri\" in 'nbd://[::1]:'\"\$port\"/) ;; *) exit 10 ;; esac
	nbdinfo --size \"\$uri\" > '$d/v6.size'
" memory size=6M
grep -qx 6291456 "$d/v6.size"

# An IPv6-only listener does not answer on IPv4.
"$NBDBROKER" -i ::1 -p 0 --run "
	if nbdinfo --size \"nbd://127.0.0.1:\$port\" 2>/dev/null; then
		exit 11
	fi
" memory size=1M

# Without -i, -p 0 puts IPv4 and IPv6 on one port: both answer on $port.
"$NBDBROKER" -p 0 --run "
	nbdinfo --size \"nbd://127.0.0.1:\$port\" > '$d/both.size'
	nbdinfo --size \"nbd://[::1]:\$port\" >> '$d/both.size'
" memory size=2M
printf '2097152\n2097152\n' | diff -u - "$d/both.size"
