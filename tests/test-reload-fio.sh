#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live upgrade (issue 16): fio writes and verifies (crc32c) with
# several jobs against a plugin over a file while the test installs a
# new build of the plugin (by rename over the path the broker loads)
# and a new policy, alternately, and sends SIGHUP every second for
# 30 s.  fio must see no error, the log must show every switch, and the
# version serving at the end must be the last one installed (the
# export's description carries it, as nbdinfo shows).
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_fio_nbd
requires nbdinfo --version
v1=$(test_plugin reload-v1)
v2=$(test_plugin reload-v2)

d=$(tmpdir)
truncate -s 256M "$d/disk"
install -m 0755 "$v1" "$d/reload.so"
# Two policies: the test's, and the same with other limits.
cp "$abs_top_srcdir/tests/policies/reload.policy" "$d/policy-a"
{ cat "$d/policy-a"; printf '[limits]\nopen-files = 512\n'; } > "$d/policy-b"
cp "$d/policy-a" "$d/reload.policy"
start_nbdbroker -U "$d/sock" -P "$d/pid" --policy "$d/reload.policy" \
    "$d/reload.so" file="$d/disk"

# install SRC DST: replace DST by rename, as a package manager does.
put() {
	cp "$1" "$2.new"
	mv -f "$2.new" "$2"
}

reloader() {
	local end=$((SECONDS + 30)) n=0
	while [ $SECONDS -lt $end ]; do
		sleep 1
		if [ $((n % 2)) -eq 0 ]; then
			put "$v2" "$d/reload.so"
			put "$d/policy-b" "$d/reload.policy"
			echo 2.0 > "$d/last"
		else
			put "$v1" "$d/reload.so"
			put "$d/policy-a" "$d/reload.policy"
			echo 1.0 > "$d/last"
		fi
		kill -HUP "$nbdbroker_pid"
		n=$((n + 1))
	done
	echo "$n" > "$d/reloads"
}
reloader &
rpid=$!
cleanup_fn kill "$rpid"

fio_verify_storm "$d" "$d/sock"
wait "$rpid"

reloads=$(cat "$d/reloads")
echo "reloads sent: $reloads"
[ "$reloads" -ge 25 ]
# Let the last one finish, then count: every SIGHUP was a switch (two
# signals close together make two reloads, one after the other).
for _ in $(seq $((10 * slow))); do
	[ "$(grep -c 'reload: done:' "$d/sock.log")" -ge "$reloads" ] && break
	sleep 1
done
grep 'reload: plugin reload: switched' "$d/sock.log" | tail -3
[ "$(grep -c 'reload: plugin reload: switched: worker [0-9]* -> [0-9]*, version [12]\.0, switch [0-9.]* ms' "$d/sock.log")" -eq "$reloads" ]
not grep -E 'refused,|reload: refused|changed across|re-open after' \
    "$d/sock.log"
# Both builds served, in turn; the last one installed serves now.
grep -q 'version 1\.0' "$d/sock.log"
grep -q 'version 2\.0' "$d/sock.log"
last=$(cat "$d/last")
grep 'reload: plugin reload: switched' "$d/sock.log" | tail -1 |
    grep -F "version $last,"
nbdinfo "$(nbd_uri "$d/sock")" | tee "$d/info"
grep -F "description: reload $last" "$d/info"
