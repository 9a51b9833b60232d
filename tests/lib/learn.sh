# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# shellcheck disable=SC2154 # functions.sh sets NBDBROKER, ...
#
# Helpers for the --learn-policy tests (test-learn-*.sh).  Source after
# functions.sh and sandbox.sh.

# learn_run POLICY SCRIPT PLUGIN [ARGS...]: serve PLUGIN while
# learning, run the shell command SCRIPT against it ($uri is the
# export's URI), stop, and check that POLICY was written and is a
# policy --check-policy accepts for the same plugin and parameters.
learn_run() {
	local policy=$1 script=$2 sock
	shift 2
	sock=$(dirname "$policy")/learn.sock
	rm -f "$policy" "$sock"
	timeout $((120 * slow)) "$NBDBROKER" -f -U "$sock" \
	    --learn-policy="$policy" "$@" \
	    --run "uri=\"nbd+unix:///?socket=\$unixsocket\"; $script" \
	    2>"$policy.learn.log" || {
		cat "$policy.learn.log" >&2
		return 1
	}
	cat "$policy.learn.log" >&2
	grep -q "info: --learn-policy: $policy written" "$policy.learn.log"
	echo "--- learned $policy ---" >&2
	cat "$policy" >&2
	grep -qx "format = nbdbroker-policy/1" "$policy"
	"$NBDBROKER" --check-policy "$policy" "$@" >"$policy.check"
}

# enforce_run POLICY SCRIPT PLUGIN [ARGS...]: the same workload served
# under POLICY (enforced), which must succeed.
enforce_run() {
	local policy=$1 script=$2 sock
	shift 2
	sock=$(dirname "$policy")/enforce.sock
	rm -f "$sock"
	timeout $((120 * slow)) "$NBDBROKER" -f -U "$sock" \
	    --policy="$policy" "$@" \
	    --run "uri=\"nbd+unix:///?socket=\$unixsocket\"; $script" \
	    2>"$policy.enforce.log" || {
		cat "$policy.enforce.log" >&2
		return 1
	}
	cat "$policy.enforce.log" >&2
	grep -q "sandbox policy $policy (enforce)" "$policy.enforce.log"
}

# policy_has FILE KEY WORD: FILE has a line "KEY = ..." with WORD among
# its values (a path, a syscall, a group; taken literally).
policy_has() {
	awk -v key="$2" -v word="$3" '
	$1 == key && $2 == "=" {
		for (i = 3; i <= NF; i++)
			if ($i == word)
				found = 1
	}
	END { exit !found }' "$1"
}
