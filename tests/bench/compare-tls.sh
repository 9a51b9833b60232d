#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# TLS throughput of nbdbroker against nbdkit --tls: nbdcopy writes a
# file of random data into a memory export and reads it back to null:,
# over a Unix socket, in clear, with PSK and with X.509, one server
# after the other on the same machine.  Not part of `make check`:
# timings on a shared machine are noisy; compare within one run.
#
# Usage: tests/bench/compare-tls.sh [-s SIZE_MIB] [-r ROUNDS]
# Run from the build tree (it uses ./nbdbroker).

set -euo pipefail
export PATH=/usr/bin:$PATH

mib=512
rounds=2
while getopts "s:r:" o; do
	case "$o" in
	s) mib=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) echo "usage: $0 [-s SIZE_MIB] [-r ROUNDS]" >&2; exit 2 ;;
	esac
done

top=$(cd "$(dirname "$0")/../.." && pwd)
nbdbroker=${NBDBROKER:-$top/nbdbroker}
[ -x "$nbdbroker" ] || { echo "$0: build first" >&2; exit 2; }
for t in nbdkit nbdcopy psktool certtool; do
	command -v $t >/dev/null || { echo "$0: $t is required" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../lib/tls-functions.sh
. "$top/tests/lib/tls-functions.sh"
make_certs "$tmp/pki"
mkdir -m 0700 "$tmp/keys"
psktool -u alice -p "$tmp/keys/keys.psk" >/dev/null
head -c "${mib}M" /dev/urandom > "$tmp/data"

# run SERVER MODE: prints "write MiB/s read MiB/s".
run() {
	local server=$1 mode=$2 opts=() uri
	case $mode in
	plain)	uri='nbd+unix:///?socket=$unixsocket' ;;
	psk)	opts=(--tls=require "--tls-psk=$tmp/keys/keys.psk")
		uri="nbds+unix://alice@/?socket=\$unixsocket&tls-psk-file=$tmp/keys/keys.psk" ;;
	x509)	opts=(--tls=require "--tls-certificates=$tmp/pki")
		uri="nbds+unix:///?socket=\$unixsocket&tls-certificates=$tmp/pki" ;;
	esac
	local cmd="
		a=\$(date +%s%N); nbdcopy '$tmp/data' \"$uri\"
		b=\$(date +%s%N); nbdcopy \"$uri\" null:
		c=\$(date +%s%N)
		echo \$(( $mib * 1000000000 / (b - a) )) \$(( $mib * 1000000000 / (c - b) ))"
	if [ "$server" = nbdkit ]; then
		nbdkit -U - "${opts[@]}" --run "$cmd" memory "${mib}M"
	else
		"$nbdbroker" -U - "${opts[@]}" --run "$cmd" memory "size=${mib}M" \
		    2>/dev/null
	fi
}

printf '%-6s %-10s %12s %12s\n' mode server 'write MiB/s' 'read MiB/s'
for mode in plain psk x509; do
	for ((i = 0; i < rounds; i++)); do
		for server in nbdkit nbdbroker; do
			read -r w r < <(run $server $mode)
			printf '%-6s %-10s %12s %12s\n' $mode $server "$w" "$r"
		done
	done
done
