#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdbroker --list-syscall-groups lists the syscall groups a policy can
# name the way systemd-analyze syscall-filter lists systemd's: @NAME, a
# comment, the members this architecture has (with their argument
# restriction), a blank line between groups.  --list-syscall-groups=@NAME
# (or @NAME, or NAME, as the next word) lists one.  An unknown group is
# an error with the close names; a renamed one names the new name.
# Every group a shipped or test policy names is listed.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

d=$(tmpdir)

"$NBDBROKER" --list-syscall-groups > "$d/all"
"$NBDBROKER" --help | grep -q -- '--list-syscall-groups\[=@NAME\]'

# The layout: each @NAME line is followed by a "    # " comment, then
# members indented by four blanks; groups are separated by one blank.
awk '
	/^@/ { if (NR > 1 && prev != "") bad = "no blank line before " $0
	       group = $0; need_comment = 1; n++; prev = $0; next }
	need_comment { if ($0 !~ /^    # [^ ]/) bad = group ": no comment"
	       need_comment = 0; prev = $0; next }
	/^$/ { if (prev ~ /^@/ || prev ~ /^    # /) bad = group ": no members"
	       prev = $0; next }
	!/^    [a-z_0-9]+( \([^()]+\))?$/ && !/^    # / {
	       bad = group ": bad line \"" $0 "\"" }
	{ prev = $0 }
	END { if (bad != "") { print bad; exit 1 }
	      if (n < 20) { print "only " n " groups"; exit 1 } }
' "$d/all"

# no_line LINE FILE: fail if FILE has LINE (a bare "! grep" cannot
# fail under set -e).
no_line() {
	if grep -qx -- "$1" "$2"; then
		echo "$0: $2 has the line '$1'" >&2
		exit 1
	fi
}

# group NAME: that group's part of the full list.
group() {
	awk -v g="$1" '$0 == g { on = 1 } on && /^$/ { exit } on' "$d/all"
}
for g in @basic-io @block-ioctl @debug @descriptors @escape @exec \
    @exec-memory @file-io @file-read @file-write @io-event @io-uring \
    @keyring @memory @module @mount @network @process-info @signals \
    @subprocess @threads @time @worker @worker-startup @loader @enosys; do
	[ "$(grep -cx -- "$g" "$d/all")" -eq 1 ]
	# One group alone, three ways: the same text as in the full list.
	group "$g" > "$d/expected"
	"$NBDBROKER" --list-syscall-groups="$g" > "$d/one"
	cmp "$d/expected" "$d/one"
	"$NBDBROKER" --list-syscall-groups "$g" > "$d/one"
	cmp "$d/expected" "$d/one"
	"$NBDBROKER" --list-syscall-groups="${g#@}" > "$d/one"
	cmp "$d/expected" "$d/one"
done
# Names systemd uses for other sets are not ours.
no_line @process "$d/all"
no_line @privileged "$d/all"

# Members, with their argument restrictions.
group @threads > "$d/threads"
grep -qx '    # Threads (clone with CLONE_THREAD only)' "$d/threads"
grep -qx '    clone (threads only)' "$d/threads"
grep -qx '    tgkill (own process only)' "$d/threads"
grep -qx '    futex' "$d/threads"
group @network > "$d/network"
grep -qx '    socket (families per \[network\])' "$d/network"
# systemd's @basic-io: positional I/O too, but no fcntl or poll.
group @basic-io > "$d/basic"
grep -qx '    pread64' "$d/basic"
no_line '    fcntl' "$d/basic"
no_line '    poll' "$d/basic"
group @subprocess > "$d/sub"
grep -qx '    fork' "$d/sub"
grep -qx '    clone' "$d/sub"
group @exec > "$d/exec"
grep -qx '    execve' "$d/exec"

# Every group the shipped and the test policies name is listed.
used=$(grep -ho '@[a-z][a-z-]*' "$abs_top_srcdir"/policy/*.policy \
    "$abs_top_srcdir"/tests/policies/*.policy | sort -u)
[ -n "$used" ]
for g in $used; do
	grep -qx -- "$g" "$d/all"
done

# Unknown groups: exit 1, nothing on stdout, what to write instead.
check_bad() {
	local want=$1 status=0
	shift
	"$NBDBROKER" "$@" > "$d/bad.out" 2> "$d/bad.err" || status=$?
	[ "$status" -eq 1 ]
	[ ! -s "$d/bad.out" ]
	[ "$(cat "$d/bad.err")" = "nbdbroker: --list-syscall-groups: $want" ]
}
check_bad "unknown syscall group '@file-raed' (did you mean '@file-read'? 'nbdbroker --list-syscall-groups' lists them all)" \
    --list-syscall-groups=@file-raed
check_bad "unknown syscall group '@system-service' (a systemd group, not one of nbdbroker's; 'nbdbroker --list-syscall-groups' lists them all)" \
    --list-syscall-groups @system-service
check_bad "syscall group '@process' was renamed '@subprocess' (fork, clone, wait, kill): systemd's @process is a different set, with execveat, unshare, setns and prctl" \
    --list-syscall-groups=@process
check_bad "syscall group '@privileged' was renamed '@escape' (identity, namespaces, system state, other processes' memory): systemd's @privileged is a different set, without setgid or unshare" \
    --list-syscall-groups=@privileged
