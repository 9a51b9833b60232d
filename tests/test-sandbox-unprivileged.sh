#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A broker run by an ordinary user sandboxes its workers too: the
# private network namespace comes inside a new user namespace, there
# is no user switch, and tripwires are still reported and killed.
# Run as root, this test becomes the user nobody to check that.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: test skipped: needs root to become nobody" >&2
	exit 77
fi
requires setpriv --version
requires setpriv --reuid=65534 --regid=65534 --clear-groups \
    test -x "$abs_top_builddir/broker/nbdbroker" -a -r "$hostile_so"
if [ "$(cat /proc/sys/user/max_user_namespaces)" -eq 0 ]; then
	echo "$0: test skipped: user namespaces are disabled" >&2
	exit 77
fi

d=$(shared_tmpdir)
chmod 777 "$d"
cat > "$d/as-nobody" <<EOS
#!/bin/sh
exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    "$NBDBROKER" "\$@"
EOS
chmod 755 "$d/as-nobody"
real=$NBDBROKER
NBDBROKER=$d/as-nobody

start_nbdbroker -U "$d/mem.sock" memory size=16M
grep -q "^Uid:[[:space:]]*65534" "/proc/$nbdbroker_pid/status"
pid=$(worker_pid)
cat "/proc/$pid/status"
grep -q "^Uid:[[:space:]]*65534[[:space:]]*65534" "/proc/$pid/status"
grep -q "^Seccomp:[[:space:]]*2$" "/proc/$pid/status"
grep -q "^CapEff:[[:space:]]*0000000000000000$" "/proc/$pid/status"
[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ]
[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
nbdsh -u "$(nbd_uri "$d/mem.sock")" -c '
h.pwrite(b"unprivileged", 4096)
assert h.pread(12, 4096) == b"unprivileged"'

expect_killed "$d" 165 mount mount
NBDBROKER=$real
