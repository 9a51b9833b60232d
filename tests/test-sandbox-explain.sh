#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Denials explain themselves: when the sandbox denies a plugin
# something, the broker's log names the syscall or path, the policy
# file and the setting to change, in one line with a key=value tail.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires_sandbox
requires_enforce

d=$(shared_tmpdir)
default=$policy_dir/default.policy

# A syscall the default denies at start-up, which makes start-up fail
# (nbdkit's sh plugin makes its temporary directory with mkdtemp):
# "mkdtemp: /tmp: Function not implemented" is followed by the reason.
if [ -r "$NBDKIT_PLUGINDIR/nbdkit-sh-plugin.so" ]; then
	printf '#!/bin/sh\nexit 2\n' > "$d/s.sh"
	chmod 0755 "$d/s.sh"
	not timeout $((60 * slow)) "$NBDBROKER" -f -U "$d/sh.sock" \
	    --policy "$default" \
	    nbdkit:sh "$d/s.sh" 2>"$d/sh.log" --run true
	cat "$d/sh.log"
	grep -q "mkdtemp: .*Function not implemented" "$d/sh.log"
	grep -Eq "error: worker [0-9]+ \(plugin nbdkit:sh\): sandbox: startup denied mkdir \(ENOSYS\): add it to \[syscalls\] startup-allow in policy $default, or a group with it: @file-write; syscall=mkdir stage=startup policy=$default key=startup-allow group=@file-write$" \
	    "$d/sh.log"
else
	skip_part "nbdkit's sh plugin is not installed"
fi

# While serving: a syscall the default denies (socket), logged at
# once, before the plugin's own error.
start_nbdbroker -U "$d/tcp.sock" "$hostile_so" attack=tcp-connect port=9
nbd_read "$d/tcp.sock" 0
wait_for_log "$d/tcp.sock.log" "hostile: tcp-connect: blocked"
grep -Eq "warning: worker [0-9]+ \(plugin hostile\): sandbox: serving denied socket \(ENOSYS\): add it to \[syscalls\] allow in policy $default, or a group with it: @network; syscall=socket stage=serving policy=$default key=allow line=[0-9]+ group=@network$" \
    "$d/tcp.sock.log"
# Once per worker.
nbd_read "$d/tcp.sock" 0
[ "$(grep -c "syscall=socket stage=serving" "$d/tcp.sock.log")" = 1 ]
# Under a filter, whose policy is merged into the plugin's, the
# [syscalls] line named is the plugin's own file's, and so is the file.
if [ -r "$NBDKIT_FILTERDIR/nbdkit-cow-filter.so" ]; then
	start_nbdbroker -U "$d/tcpf.sock" --filter=cow "$hostile_so" \
	    attack=tcp-connect port=9
	nbd_read "$d/tcpf.sock" 0
	wait_for_log "$d/tcpf.sock.log" "hostile: tcp-connect: blocked"
	grep -Eq "sandbox: serving denied socket \(ENOSYS\): add it to \[syscalls\] allow in policy $default, or a group with it: @network; syscall=socket stage=serving policy=$default key=allow line=[0-9]+ group=@network$" \
	    "$d/tcpf.sock.log"
fi

# A tripwire: one line, with the same kind of tail.
start_nbdbroker -U "$d/exec.sock" "$hostile_so" attack=exec export=attack
nbd_read "$d/exec.sock" 0 64 attack >/dev/null || true
wait_for_log "$d/exec.sock.log" "sandbox: killed for syscall 59 \(execve\); syscall=execve nr=59 stage=serving policy=$default key=kill line=[0-9]+ group=@exec$"

# An allocation [limits] memory refuses (default.policy: 512M): the
# kernel says only ENOMEM, the broker which limit and setting.
start_nbdbroker -U "$d/alloc.sock" "$hostile_so" attack=alloc count=600
nbd_read "$d/alloc.sock" 0
wait_for_log "$d/alloc.sock.log" "hostile: alloc: blocked: Cannot allocate memory"
grep -Eq "warning: worker [0-9]+ \(plugin hostile\): sandbox: serving mmap of 60[01]M fails \(ENOMEM\): the worker has [0-9]+M of its RLIMIT_(DATA|AS) [0-9]+M, which \[limits\] memory in policy $default sets: raise it; size=[0-9]+ used=[0-9]+ limit=[0-9]+ rlimit=RLIMIT_(DATA|AS) stage=serving policy=$default key=memory line=[0-9]+$" \
    "$d/alloc.sock.log"

# A path call the policy allows only at start-up, made while serving.
start_nbdbroker -U "$d/shadow.sock" "$hostile_so" attack=open-shadow
nbd_read "$d/shadow.sock" 0
wait_for_log "$d/shadow.sock.log" "hostile: open-shadow: blocked"
grep -Eq "sandbox: serving denied openat \(ENOSYS\), which the policy allows only at start-up: .* syscall=openat stage=serving policy=$default key=allow" \
    "$d/shadow.sock.log"

# A path outside the [filesystem] grants while serving (openat is
# allowed then): Landlock denies it, the broker says which setting.
echo ok > "$d/granted.txt"
chmod 0644 "$d/granted.txt"
cat > "$d/read.policy" <<P
format = nbdbroker-policy/1
[syscalls]
default = errno ENOSYS
allow = @file-read
[filesystem]
landlock = required
read = $d/granted.txt
P
start_nbdbroker -U "$d/outside.sock" --policy "$d/read.policy" \
    "$hostile_so" attack=open path=/etc/passwd
nbd_read "$d/outside.sock" 0
wait_for_log "$d/outside.sock.log" "hostile: open: blocked: Permission denied"
grep -Eq "warning: worker [0-9]+ \(plugin hostile\): sandbox: serving openat /etc/passwd \(read\) is outside policy $d/read.policy's \[filesystem\] grants: Landlock denies it; add it to \[filesystem\] read; path=/etc/passwd access=read stage=serving policy=$d/read.policy key=read line=7$" \
    "$d/outside.sock.log"
# Under a filter (its policy merged into the plugin's), the setting
# to change is the plugin's own policy's: the line names that file and
# a line in it, not the merged pair (no line was named at all before).
if [ -r "$NBDKIT_FILTERDIR/nbdkit-cow-filter.so" ]; then
	start_nbdbroker -U "$d/merged.sock" --policy "$d/read.policy" \
	    --filter=cow "$hostile_so" attack=open path=/etc/passwd
	nbd_read "$d/merged.sock" 0
	wait_for_log "$d/merged.sock.log" "hostile: open: blocked: Permission denied"
	grep -Eq "warning: worker [0-9]+ \(plugin hostile\): sandbox: serving openat /etc/passwd \(read\) is outside policy $d/read.policy \+ [^ ]*/nbdkit-cow-filter.policy's \[filesystem\] grants: Landlock denies it; add it to \[filesystem\] read in $d/read.policy; path=/etc/passwd access=read stage=serving policy=$d/read.policy key=read line=7$" \
	    "$d/merged.sock.log"
fi
# The granted one is read, and explained by nothing.
start_nbdbroker -U "$d/inside.sock" --policy "$d/read.policy" \
    "$hostile_so" attack=open path="$d/granted.txt"
[ "$(nbd_read "$d/inside.sock" 0)" = "DATA ok" ]
not grep -q "sandbox: serving" "$d/inside.sock.log"

# A policy that lets the file plugin read its image at start-up but
# not write it: the export is read-only, and the log says why.
truncate -s 1M "$d/disk.img"
cat > "$d/ro.policy" <<'P'
format = nbdbroker-policy/1
magic-config-key = file
[syscalls]
default = errno ENOSYS
allow = @file-io @block-ioctl
startup-allow = @file-read
[filesystem]
landlock = required
startup-read = ${file}
P
start_nbdbroker -U "$d/ro.sock" --policy "$d/ro.policy" file "$d/disk.img"
/usr/bin/python3 -c '
import nbd, sys
h = nbd.NBD()
h.connect_uri("nbd+unix:///?socket=" + sys.argv[1])
assert h.is_read_only()' "$d/ro.sock"
grep -Eq "warning: worker [0-9]+ \(plugin file\): sandbox: startup openat $d/disk.img \(write\) is outside policy $d/ro.policy's \[filesystem\] grants: Landlock denies it; add it to \[filesystem\] startup-write \(a plugin that then opens it read-only serves a read-only export\); path=$d/disk.img access=write stage=startup policy=$d/ro.policy key=startup-write$" \
    "$d/ro.sock.log"

# The user switch: a root broker's worker runs as nobody, which a file
# only root may open refuses; a granted one the broker opens on the
# worker's behalf (test-sandbox-open-behalf.sh), and says so.
if [ "$(id -u)" -eq 0 ] &&
    [ -r "$NBDKIT_PLUGINDIR/nbdkit-file-plugin.so" ]; then
	truncate -s 1M "$d/root.img"
	chmod 0600 "$d/root.img"
	start_nbdbroker -U "$d/user.sock" nbdkit:file "$d/root.img"
	[ "$(nbd_read "$d/user.sock" 0)" = "DATA " ]
	fp=$policy_dir/nbdkit-file.policy
	wait_for_log "$d/user.sock.log" "sandbox: opened $d/root.img \(read\+write\) on the worker's behalf: user nobody cannot reach it; path=$d/root.img access=read\+write policy=$fp line=[0-9]+$"
else
	skip_part "the user switch (needs root and nbdkit's file plugin)"
fi
