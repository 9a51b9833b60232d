#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# TCP over IPv4 loopback (-i ADDR -p 0: a free port), driven by --run,
# which gets $uri and $port for it.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdsh --version

d=$(tmpdir)

# IPv4.
"$NBDBROKER" -i 127.0.0.1 -p 0 --run "
	set -e
	case \"\$uri\" in nbd://127.0.0.1:\"\$port\"/) ;; *) exit 10 ;; esac
	[ \"\$port\" -gt 0 ]
	[ -z \"\$unixsocket\" ]
	nbdinfo --size \"\$uri\" > '$d/v4.size'
	nbdinfo --size \"nbd://localhost:\$port\" >> '$d/v4.size'
	nbdsh -u \"\$uri\" -c 'h.pwrite(b\"v4\" * 256, 0)' \\
	    -c 'print(bytes(h.pread(4, 0)))' >> '$d/v4.size'
" memory size=5M
printf '5242880\n5242880\nb%sv4v4%s\n' "'" "'" | diff -u - "$d/v4.size"
