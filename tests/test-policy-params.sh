#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A plugin parameter the policy needs (memory = ${size} + 256M, a path
# ${file}) that the command line lacks is reported as the plugin's
# parameter error, before any worker starts: with the parameter given
# that looks like it (a typo) and the policy line that needs it.  A
# parameter the policy does not need is left to the plugin, which names
# it itself.  Sizes are one grammar everywhere: the command line, the
# policy and the plugin SDK refuse "1GB" with the same reason.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
requires_enforce
requires nbdinfo --version
set -x

d=$(tmpdir)
s=$d/sock
mp="$policy_dir/memory.policy"
fp="$policy_dir/file.policy"
line=$(grep -n '^memory = ${size}' "$mp" | cut -d: -f1)
fline=$(grep -n '^startup-read = ${file}' "$fp" | cut -d: -f1)
[ -n "$line" ] && [ -n "$fline" ]

# no_worker: the last start ran no plugin code at all.
no_worker() {
	if grep -q '\[worker ' "$s.err"; then
		echo "$0: a worker ran" >&2
		exit 1
	fi
}

# A typo: the parameter the plugin was given is named.
expect_start_failure "$s" "^nbdbroker\[[0-9]+\]: error: memory: no parameter size= given, nor a bare word \(did you mean sise=\?\); the policy $mp:$line needs it for \[limits\] memory$" \
	memory sise=1G
no_worker
expect_start_failure "$s" "^nbdbroker\[[0-9]+\]: error: file: no parameter file= given, nor a bare word \(did you mean fiel=\?\); the policy $fp:$fline needs it for the path \\\$\{file\}$" \
	file fiel=/dev/null
no_worker
# Nothing like it given: the parameter, and the policy line.
expect_start_failure "$s" "^nbdbroker\[[0-9]+\]: error: memory: no parameter size= given, nor a bare word; the policy $mp:$line needs it for \[limits\] memory$" \
	memory colour=blue
no_worker
# --check-policy with the plugin's parameters says the same.
status=0
"$NBDBROKER" --check-policy "$mp" memory sise=1G > "$d/check.out" \
    2> "$d/check.err" || status=$?
[ "$status" -eq 1 ]
[ ! -s "$d/check.out" ]
[ "$(cat "$d/check.err")" = "nbdbroker: memory: no parameter size= given, nor a bare word (did you mean sise=?); the policy $mp:$line needs it for [limits] memory" ]

# A parameter the policy does not need: the plugin's own word.
expect_start_failure "$s" "memory: unknown parameter 'sise'" \
	memory size=1M sise=1G

# Sizes: "1GB" is refused with one reason wherever it is written.
why="GB is ambiguous \(10\^9 or 2\^30 bytes\?\): write G or GiB \(powers of 1024\)"
expect_start_failure "$s" "^nbdbroker\[[0-9]+\]: error: memory: parameter size=1GB is not a size: $why; the policy $mp:$line reads it for \[limits\] memory$" \
	memory size=1GB
no_worker
# The plugin SDK (nbdbroker_parse_size), under a policy that does not
# read size=.
expect_start_failure "$s" "could not parse size '1GB': $why" \
	--policy "$abs_top_srcdir/tests/policies/unconfined.policy" \
	memory size=1GB
# The command line.
status=0
"$NBDBROKER" --arena-size 64MB memory 1G 2> "$d/arena.err" || status=$?
[ "$status" -eq 1 ]
grep -Eqx "nbdbroker: --arena-size: cannot parse size '64MB': MB is ambiguous \(10\^6 or 2\^20 bytes\?\): write M or MiB \(powers of 1024\)" \
    "$d/arena.err"
# And the binary forms work in all three.
printf 'format = nbdbroker-policy/1\n[limits]\nmemory = ${size} + 256MiB\n' \
    > "$d/mib.policy"
"$NBDBROKER" --check-policy "$d/mib.policy" memory size=1GiB > "$d/mib.out"
grep -qx "limit memory: 1280M" "$d/mib.out"
start_nbdbroker -U "$s" --arena-size 64MiB memory size=1MiB
[ "$(nbdinfo --size "nbd+unix:///?socket=$s")" -eq 1048576 ]
