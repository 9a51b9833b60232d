#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Policies and log mode, against a worker that attacks the broker.
# 1. mode = log (nothing denied) comes from a policy file's contents:
#    it is refused unless the command line says --allow-log-mode too.
# 2. Under log mode, a broker run by an ordinary user has workers of
#    the same user: the broker is not dumpable, so its worker cannot
#    read its memory or environment through /proc, nor ptrace it.
# 3. A policy file (and each directory above it) must be owned by root
#    or the server's user and writable by nobody else; a directory
#    writable by others is accepted only with the sticky bit (/tmp),
#    where nobody else can replace what is in it.
# (Log mode used to need nothing but the file, the broker was dumpable,
# and any policy file was read.)
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_nbd_python
hostile_plugins

d=$(shared_tmpdir)
sed 's/^mode = enforce$/mode = log/' "$policy_dir/default.policy" > \
    "$d/learn.policy"
grep -qx "mode = log" "$d/learn.policy"

# 1.
expect_start_failure "$d/nolog.sock" \
    "policy $d/learn.policy says mode = log .* --allow-log-mode" \
    --policy "$d/learn.policy" memory size=1M
start_nbdbroker -U "$d/log.sock" --allow-log-mode --policy "$d/learn.policy" \
    memory size=1M
grep -q "sandbox policy $d/learn.policy (mode = log" "$d/log.sock.log"
# --check-policy only prints: it needs no flag.
"$NBDBROKER" --check-policy "$d/learn.policy" | grep -q "^mode: log"

# 2. As the user nobody (the tests run as root, or skip this part).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups \
    test -x "$abs_top_builddir/broker/nbdbroker" -a -r "$hostile_so"; then
	mkdir "$d/nobody"
	chown 65534:65534 "$d/nobody"
	cat > "$d/as-nobody" <<EOS
#!/bin/sh
exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    "$NBDBROKER" "\$@"
EOS
	chmod 755 "$d/as-nobody"
	real=$NBDBROKER
	NBDBROKER=$d/as-nobody
	start_nbdbroker -U "$d/nobody/environ.sock" --allow-log-mode \
	    --policy "$d/learn.policy" "$hostile_so" attack=broker-environ
	grep -q "^Uid:[[:space:]]*65534" "/proc/$nbdbroker_pid/status"
	pid=$(worker_pid)
	grep -q "^Uid:[[:space:]]*65534" "/proc/$pid/status"
	out=$(nbd_read "$d/nobody/environ.sock" 0)
	echo "broker-environ: $out"
	# EACCES has no NBD error of its own: the client sees EIO.
	[ "${out%% *}" = "ERROR" ]
	wait_for_log "$d/nobody/environ.sock.log" \
	    "hostile: broker-environ: blocked: Permission denied" 5
	start_nbdbroker -U "$d/nobody/ptrace.sock" --allow-log-mode \
	    --policy "$d/learn.policy" "$hostile_so" attack=ptrace
	out=$(nbd_read "$d/nobody/ptrace.sock" 0)
	echo "ptrace: $out"
	[ "$out" = "ERROR EPERM" ]
	wait_for_log "$d/nobody/ptrace.sock.log" \
	    "hostile: ptrace: blocked: Operation not permitted" 5
	# Not traced and not stopped (running or asleep: under valgrind the
	# broker may be busy, e.g. starting the spare worker).
	grep -q "^TracerPid:[[:space:]]*0$" "/proc/$nbdbroker_pid/status"
	not grep -q "^State:[[:space:]]*[tT]" "/proc/$nbdbroker_pid/status"
	NBDBROKER=$real
else
	skip_part "log mode as an ordinary user (needs root and setpriv)"
fi

# 3. Who may change a policy file.
mkdir -m 0755 "$d/p"
cp "$policy_dir/memory.policy" "$d/p/ok.policy"
chmod 0644 "$d/p/ok.policy"
start_nbdbroker -U "$d/ok.sock" --policy "$d/p/ok.policy" memory size=1M

cp "$d/p/ok.policy" "$d/p/group.policy"
chmod 0664 "$d/p/group.policy"
expect_start_failure "$d/group.sock" \
    "unsafe policy file: $d/p/group.policy is writable by its group or others \(mode 0664\)" \
    --policy "$d/p/group.policy" memory size=1M
not "$NBDBROKER" --check-policy "$d/p/group.policy"

mkdir -m 0777 "$d/open"
chmod 0777 "$d/open"
cp "$d/p/ok.policy" "$d/open/memory.policy"
expect_start_failure "$d/open.sock" \
    "unsafe policy file: $d/open is writable by its group or others \(mode 0777\)" \
    --policy "$d/open/memory.policy" memory size=1M
# ... found in a policy directory, or reached through a symbolic link.
expect_start_failure "$d/opendir.sock" "unsafe policy file: $d/open is writable" \
    --policy-dir "$d/open" memory size=1M
ln -s "$d/open/memory.policy" "$d/p/link.policy"
expect_start_failure "$d/link.sock" "unsafe policy file: $d/open is writable" \
    --policy "$d/p/link.policy" memory size=1M

# Sticky, like /tmp: others may write in it, but not replace our file.
mkdir "$d/sticky"
chmod 1777 "$d/sticky"
cp "$d/p/ok.policy" "$d/sticky/memory.policy"
start_nbdbroker -U "$d/sticky.sock" --policy "$d/sticky/memory.policy" \
    memory size=1M

if [ "$(id -u)" -eq 0 ]; then
	cp "$d/p/ok.policy" "$d/p/other.policy"
	chown 65534 "$d/p/other.policy"
	expect_start_failure "$d/other.sock" \
	    "unsafe policy file: $d/p/other.policy is owned by uid 65534, not by root or the server.s user" \
	    --policy "$d/p/other.policy" memory size=1M
else
	skip_part "a policy owned by another user (needs root)"
fi
