#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# TCP connections made by the broker on the worker's behalf
# (broker/connect-behalf.c), to exactly the host and port a plugin's
# parameters name ([network] hosts, tcp-connect ${NAME}): nbdkit's nbd
# plugin under its shipped policy, pointed at nbdkit's memory plugin
# on 127.0.0.1:PORT, serves (a write read back); the same command line
# under a policy whose tcp-connect names another port is refused, and
# the log says which rule; a plugin (nbdkit's sh plugin with a script
# that opens /dev/tcp/HOST/PORT) given hostname=127.0.0.1 cannot reach
# 127.0.0.2, where the same server listens, and can reach 127.0.0.1;
# nbdkit's ssh plugin under its shipped policy is connected to host=
# port= (no SSH server here: it fails at the SSH handshake, as under
# nbdkit).
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires_sandbox
requires_enforce
requires_nbd_python
requires_nbdkit_plugin nbd
requires_nbdkit_plugin sh
requires_nbdkit_plugin memory

d=$(shared_tmpdir)
export NBDBROKER_POLICY_DIR=$abs_top_srcdir/policy

# A free port; the upstream server listens on every address, so that
# 127.0.0.2 would answer if the sandbox let a worker reach it.
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nbdkit -f -p "$port" memory 1M 2>"$d/up.log" &
upid=$!
cleanup_fn kill "$upid"
for _ in $(seq $((50 * slow))); do
	(: < "/dev/tcp/127.0.0.2/$port") 2>/dev/null && break
	sleep 0.1
done
(: < "/dev/tcp/127.0.0.2/$port")

cat > "$d/rw.py" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pwrite(b"connect-behalf" * 32, 4096)
assert h.pread(14 * 32, 4096) == b"connect-behalf" * 32
assert h.get_size() == 1024 * 1024
h.shutdown()
PY

# Under make check-valgrind the broker runs in valgrind 3.19, which
# knows neither pidfd_open nor pidfd_getfd: every connect fails
# closed, and the log says why once.  Check that much, then skip the
# rest.
if [ -n "${NBDBROKER_VALGRIND_LOGS:-}" ]; then
	start_nbdbroker -v -U "$d/nbd.sock" nbdkit:nbd hostname=127.0.0.1 \
	    port="$port"
	not /usr/bin/python3 "$d/rw.py" "$(nbd_uri "$d/nbd.sock")"
	grep -E "cannot connect on the worker's behalf: pidfd_(open|getfd): Function not implemented" \
	    "$d/nbd.sock.log"
	echo "$0: valgrind does not know pidfd_open/pidfd_getfd: skipped the rest" >&2
	exit 77
fi

# 1. The nbd plugin under its shipped policy: serves, and the broker
# made the connection.
start_nbdbroker -v -U "$d/nbd.sock" nbdkit:nbd hostname=127.0.0.1 \
    port="$port"
/usr/bin/python3 "$d/rw.py" "$(nbd_uri "$d/nbd.sock")"
grep "connected descriptor [0-9]* to 127.0.0.1:$port on the worker's behalf" \
    "$d/nbd.sock.log"
kill "$nbdbroker_pid"
wait "$nbdbroker_pid" 2>/dev/null || true

# 2. A policy that names another port: refused, with the rule.
sed 's/^allow = unix tcp-connect .*/allow = unix tcp-connect 10809/' \
    "$abs_top_srcdir/policy/nbdkit-nbd.policy" > "$d/other-port.policy"
grep -x 'allow = unix tcp-connect 10809' "$d/other-port.policy"
start_nbdbroker -U "$d/port.sock" --policy "$d/other-port.policy" \
    nbdkit:nbd hostname=127.0.0.1 port="$port"
not /usr/bin/python3 "$d/rw.py" "$(nbd_uri "$d/port.sock")"
# The nbd plugin connects in its open: while serving.
grep "sandbox: serving connect to 127.0.0.1:$port: refused (.*): not a tcp-connect port; hosts: \${hostname?}=127.0.0.1 (127.0.0.1); stage=serving policy=$d/other-port.policy line=" \
    "$d/port.sock.log"
kill "$nbdbroker_pid"
wait "$nbdbroker_pid" 2>/dev/null || true
# Under a filter (its policy merged): the plugin's own file and line,
# where the port goes, not the merged pair.
if [ -r "$NBDKIT_FILTERDIR/nbdkit-cow-filter.so" ]; then
	start_nbdbroker -U "$d/portf.sock" --policy "$d/other-port.policy" \
	    --filter=cow nbdkit:nbd hostname=127.0.0.1 port="$port"
	not /usr/bin/python3 "$d/rw.py" "$(nbd_uri "$d/portf.sock")"
	grep -E "sandbox: serving connect to 127.0.0.1:$port: refused \(.*\): not a tcp-connect port; .* stage=serving policy=$d/other-port.policy line=[0-9]+\$" \
	    "$d/portf.sock.log"
	kill "$nbdbroker_pid"
	wait "$nbdbroker_pid" 2>/dev/null || true
fi

# 3. A plugin that connects where it likes: only the host given.
cat > "$d/connect.policy" <<'POL'
format = nbdbroker-policy/1
user = keep
[syscalls]
default = allow
allow = @network
kill = @escape @mount @module @debug @io-uring @keyring
[filesystem]
landlock = off
[network]
allow = tcp-connect ${port}
hosts = ${hostname}
POL
# target HOST: a script whose open connects to HOST:$port.
script() {
	cat > "$d/to-$1.sh" <<SH
#!/bin/bash
case "\$1" in
config|can_write) exit 0 ;;
open) exec 3<>/dev/tcp/$1/$port || exit 1; echo handle ;;
get_size) echo 1048576 ;;
pread) head -c "\$3" /dev/zero ;;
*) exit 2 ;;
esac
SH
	chmod +x "$d/to-$1.sh"
}
script 127.0.0.1
script 127.0.0.2
start_nbdbroker -U "$d/ok.sock" --policy "$d/connect.policy" \
    nbdkit:sh "$d/to-127.0.0.1.sh" hostname=127.0.0.1 port="$port"
test "$(nbdinfo --size "$(nbd_uri "$d/ok.sock")")" -eq 1048576
kill "$nbdbroker_pid"
wait "$nbdbroker_pid" 2>/dev/null || true

start_nbdbroker -U "$d/bad.sock" --policy "$d/connect.policy" \
    nbdkit:sh "$d/to-127.0.0.2.sh" hostname=127.0.0.1 port="$port"
not nbdinfo --size "$(nbd_uri "$d/bad.sock")"
# The script connects in open, while serving: so says the log, under a
# policy whose default is allow too (the start-up filter hands the
# broker the end of start-up whatever the default).
grep "sandbox: serving connect to 127.0.0.2:$port: refused (Permission denied): not an address of a host the parameters name; hosts: \${hostname}=127.0.0.1 (127.0.0.1); stage=serving policy=$d/connect.policy line=" \
    "$d/bad.sock.log"
kill "$nbdbroker_pid"
wait "$nbdbroker_pid" 2>/dev/null || true

# 4. ssh: the broker connects it to host=:port=; the NBD server there
# is no SSH server, so the handshake fails, after the connection.
if [ -r "$NBDKIT_PLUGINDIR/nbdkit-ssh-plugin.so" ]; then
	start_nbdbroker -v -U "$d/ssh.sock" nbdkit:ssh host=127.0.0.1 \
	    port="$port" /disk verify-remote-host=false password=x \
	    timeout=$((5 * slow))
	not nbdinfo --size "$(nbd_uri "$d/ssh.sock")"
	grep "connected descriptor [0-9]* to 127.0.0.1:$port on the worker's behalf" \
	    "$d/ssh.sock.log"
	grep "failed to connect to remote host" "$d/ssh.sock.log"
else
	skip_part "ssh: nbdkit-ssh-plugin.so is not installed"
fi
