#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What the command line tells an operator: `nbdbroker PLUGIN --help`
# adds the plugin's parameters and the sandbox policy it would run
# under, `PLUGIN --version` the plugin's version (a bundled plugin and
# an nbdkit one); --dump-config has every key an operator looks for;
# a bad option is reported once, by our name, not by a build path.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

d=$(tmpdir)

# Without a plugin: ours alone.
"$NBDBROKER" --help > "$d/help"
grep -q '^Usage: nbdbroker ' "$d/help"
if grep -q '^Plugin ' "$d/help"; then
	echo "$0: --help without a plugin described one" >&2
	exit 1
fi
"$NBDBROKER" --version > "$d/version"
grep -qx 'nbdbroker [0-9.]*' "$d/version"
[ "$(wc -l < "$d/version")" -eq 1 ]

# A bundled plugin: usage, then the plugin's help, then its policy.
"$NBDBROKER" memory --help > "$d/memory"
grep -q '^Usage: nbdbroker ' "$d/memory"
grep -q '^Plugin memory (/.*nbdbroker-memory-plugin\.so):$' "$d/memory"
grep -q '^size=SIZE  (required)' "$d/memory"
grep -qx 'Sandbox policy: /.*/memory\.policy' "$d/memory"
# Options may come first, and --policy is the one it names.
"$NBDBROKER" --policy "$abs_top_srcdir/policy/null.policy" -h memory \
    > "$d/memory2"
grep -qx "Sandbox policy: $abs_top_srcdir/policy/null.policy" "$d/memory2"
# No policy to be found: it says so.
mkdir "$d/nopolicies"
"$NBDBROKER" --policy-dir "$d/nopolicies" memory --help > "$d/memory3"
grep -q "^Sandbox policy: none (looked for $d/nopolicies/memory.policy" \
    "$d/memory3"

"$NBDBROKER" memory --version > "$d/memory-version"
[ "$(sed -n 1p "$d/memory-version")" = "$(cat "$d/version")" ]
sed -n 2p "$d/memory-version" | grep -qx 'memory [0-9.]*'

# An nbdkit plugin: nbdkit's own help text for it.
if [ -r "$NBDKIT_PLUGINDIR/nbdkit-memory-plugin.so" ]; then
	"$NBDBROKER" nbdkit:memory --help > "$d/nbdkit"
	grep -q '^Plugin memory (.*nbdkit-memory-plugin\.so, an nbdkit plugin):$' \
	    "$d/nbdkit"
	grep -q '^size=<SIZE>' "$d/nbdkit"
	grep -qx 'Sandbox policy: /.*/nbdkit-memory\.policy' "$d/nbdkit"
	"$NBDBROKER" nbdkit:memory --version > "$d/nbdkit-version"
	sed -n 2p "$d/nbdkit-version" | grep -qx 'memory [0-9.]*'
else
	echo "$0: no nbdkit memory plugin: that part is skipped" >&2
fi

# A plugin that cannot be found: the usage, then the error, exit 1.
r=0
"$NBDBROKER" no-such-plugin --help > "$d/none" 2> "$d/none.err" || r=$?
[ "$r" -eq 1 ]
grep -q "plugin 'no-such-plugin' not found" "$d/none.err"

# --dump-config: the old keys, and what an operator needs.
"$NBDBROKER" --dump-config > "$d/config"
cat "$d/config"
for k in name version version_major version_minor binary prefix sbindir \
    libdir libexecdir includedir sysconfdir docdir mandir systemdsystemunitdir \
    plugindir policydir worker nbdkit_plugindir host_cpu host_os tls \
    socket_activation sd_notify sandbox exit_with_parent landlock_abi \
    seccomp seccomp_actions seccomp_user_notif seccomp_filters cgroup \
    cgroup_memory cgroup_writable user_namespaces no_new_privs \
    cap_effective uid; do
	grep -q "^$k=" "$d/config" || { echo "$0: no $k=" >&2; exit 1; }
done
grep -Eqx 'sandbox=(enforce|log)' "$d/config"
grep -Eqx 'tls=(yes|no)' "$d/config"
grep -Eqx 'landlock_abi=[0-9]+' "$d/config"
grep -Eqx 'cgroup=(v1|v2|hybrid|none)' "$d/config"
# The directories are the ones this broker uses: the build tree's here.
grep -qx "plugindir=$abs_top_builddir/plugins" "$d/config"
grep -qx "worker=$abs_top_builddir/worker/nbdbroker-worker" "$d/config"
# Options count wherever they are.
"$NBDBROKER" --dump-config --nbdkit-plugin-dir /x --policy-dir /p \
    > "$d/config2"
grep -qx 'nbdkit_plugindir=/x' "$d/config2"
grep -qx 'policydir=/p' "$d/config2"
# The metrics format; the address --metrics would listen on.
grep -qx 'metrics=prometheus' "$d/config"
not grep -q '^metrics_listen=' "$d/config"
"$NBDBROKER" --dump-config --metrics=unix:/run/m.sock > "$d/config3"
grep -qx 'metrics_listen=unix:/run/m.sock' "$d/config3"

# Bad options: one message, ours, naming the option.
check_bad() {
	local want=$1 r=0
	shift
	"$NBDBROKER" "$@" > "$d/bad.out" 2> "$d/bad.err" || r=$?
	cat "$d/bad.err"
	[ "$r" -eq 1 ]
	[ ! -s "$d/bad.out" ]
	[ "$(sed -n 1p "$d/bad.err")" = "nbdbroker: $want" ]
	[ "$(sed -n 2p "$d/bad.err")" = "Try 'nbdbroker --help'." ]
	[ "$(wc -l < "$d/bad.err")" -eq 2 ]
}
check_bad "unknown or ambiguous option --no-such-option" \
    --no-such-option memory
check_bad "unknown option -Z" -Z memory
check_bad "option --port needs an argument" memory --port
check_bad "option -p needs an argument" memory -p
check_bad "option --dump-config takes no argument" --dump-config=yes
