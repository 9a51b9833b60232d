# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# shellcheck disable=SC2154 # functions.sh sets abs_top_*, nbdbroker_pid...
#
# Helpers for the sandbox tests (test-sandbox-*.sh, test-policy-*.sh).
# Source after functions.sh.

policy_dir=$abs_top_srcdir/policy
broker_opts=()

# hostile_plugins: set $hostile_so and $hostile_ctor_so, the hostile
# test plugins (plugins/hostile.c), or end the test (test_plugin).
hostile_plugins() {
	hostile_so=$(test_plugin nbdbroker-hostile-plugin)
	# shellcheck disable=SC2034 # for test-sandbox-ctor.sh
	hostile_ctor_so=$(test_plugin nbdbroker-hostile-ctor-plugin)
}

# requires_sandbox: skip unless this kernel has what the bundled
# policies require (seccomp user notification, Landlock); then
# hostile_plugins.
requires_sandbox() {
	requires_nbd_python
	if grep -q "define SANDBOX_FORCE_LOG 1" "$abs_top_builddir/config.h"
	then
		echo "$0: test skipped: built --with-sandbox=log" >&2
		exit 77
	fi
	if ! grep -q user_notif /proc/sys/kernel/seccomp/actions_avail; then
		echo "$0: test skipped: no seccomp user notification" >&2
		exit 77
	fi
	if ! /usr/bin/python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
sys.exit(0 if libc.syscall(444, None, 0, 1) >= 1 else 1)'; then
		echo "$0: test skipped: no Landlock" >&2
		exit 77
	fi
	hostile_plugins
}

# wait_for_log FILE REGEX [SECONDS]: wait until FILE has a line
# matching the extended regex.
wait_for_log() {
	local i
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$0: '$2' did not appear in $1" >&2
	cat "$1" >&2
	return 1
}

# nbd_read SOCKET OFFSET [COUNT [EXPORT]]: read with libnbd; prints
# "DATA <text without trailing NULs>" or "ERROR <errno name>" (nothing
# if it takes more than 30 s).
nbd_read() {
	timeout 30 /usr/bin/python3 - "$1" "$2" "${3:-64}" "${4:-}" <<'PY'
import errno, nbd, sys
h = nbd.NBD()
h.connect_uri("nbd+unix:///" + sys.argv[4] + "?socket=" + sys.argv[1])
try:
    d = h.pread(int(sys.argv[3]), int(sys.argv[2]))
    print("DATA", d.rstrip(b"\0").decode(errors="replace").strip())
except nbd.Error as e:
    print("ERROR", errno.errorcode.get(e.errnum, e.errnum))
PY
}

# worker_pid: the current worker of $nbdbroker_pid.
worker_pid() {
	local p
	for _ in $(seq 50); do
		p=$(pgrep -P "$nbdbroker_pid" -f nbdbroker-worker | head -1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
	done
	return 1
}

# expect_blocked SOCKDIR REASON ATTACK [KEY=VALUE...]: start the hostile
# plugin (under the default policy, or with the broker options in the
# array broker_opts) with attack=ATTACK, read offset 0: the read must fail and
# the log say "blocked: REASON" (strerror); then the same worker must
# serve a fresh client.
expect_blocked() {
	local d=$1 reason=$2 attack=$3
	shift 3
	start_nbdbroker -U "$d/$attack.sock" "${broker_opts[@]}" \
	    "$hostile_so" "attack=$attack" "$@"
	local pid0 out
	pid0=$(worker_pid)
	out=$(nbd_read "$d/$attack.sock" 0)
	case "$out" in
	"ERROR "*) ;;
	*) echo "$attack: got '$out', expected an error" >&2; return 1 ;;
	esac
	wait_for_log "$d/$attack.sock.log" \
	    "\\[worker $pid0 plugin=hostile\\] hostile: $attack: blocked: $reason\$" 5
	out=$(nbd_read "$d/$attack.sock" 4096)
	[ "$out" = "DATA " ]
	# Blocked, not killed: the same worker served both clients.
	[ "$(worker_pid)" = "$pid0" ]
	kill -0 "$nbdbroker_pid"
}

# expect_killed SOCKDIR NR NAME ATTACK [KEY=VALUE...]: the attack must be
# a tripwire: the broker logs which syscall, plugin and policy, kills
# the worker, keeps running, and a fresh client is served by a new
# worker.  The attack is made through export "attack" only: the broker
# replays the deadly read to each new worker while its client waits,
# and (XXX) may even send it after the client is gone, with a handle
# id the new worker has given to another connection.
expect_killed() {
	local d=$1 nr=$2 name=$3 attack=$4
	shift 4
	local sock=$d/$attack.sock pid0 cpid out
	start_nbdbroker -U "$sock" "$hostile_so" "attack=$attack" \
	    export=attack "$@"
	pid0=$(worker_pid)
	# Start-up went through the sandbox: it is the worker's own.
	grep -q "^Seccomp:[[:space:]]*2" "/proc/$pid0/status"
	timeout 30 /usr/bin/python3 -c '
import nbd, sys
h = nbd.NBD()
h.connect_uri("nbd+unix:///attack?socket=" + sys.argv[1])
h.pread(64, 0)' "$sock" >/dev/null 2>&1 &
	cpid=$!
	wait_for_log "$sock.log" "worker $pid0 \(plugin hostile, policy $policy_dir/default.policy\): sandbox: killed for syscall $nr \($name\)"
	# The client would wait for replays of its deadly read: hang up.
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	wait_for_log "$sock.log" "worker $pid0 killed by its sandbox: syscall $nr \($name\) is forbidden by policy $policy_dir/default.policy"
	not grep -q "hostile: $attack: succeeded" "$sock.log"
	kill -0 "$nbdbroker_pid"
	out=$(nbd_read "$sock" 4096)
	[ "$out" = "DATA " ]
	[ "$(worker_pid)" != "$pid0" ]
}
