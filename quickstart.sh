#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Quick start on a fresh Debian 12 machine, from a clone of this
# repository.  Both commands install what is needed (apt-get, through
# sudo unless run as root), then build in place:
#
#   ./quickstart.sh serve   start a server with the bundled memory
#                           plugin (default policy) on a Unix socket,
#                           and print how to connect to it
#   ./quickstart.sh test    run every test (make check)
#
# The list of Debian packages lives here and nowhere else (README.md
# and .ci/run refer to it).  Environment: CONFIGURE_FLAGS (default
# --enable-werror --with-gnutls), NBDBROKER_SOCKET, NBDBROKER_SIZE (serve, default
# 1G), SKIP_APT=1 (do not install packages).

set -euo pipefail

# Debian 12 packages needed to build nbdbroker and run its tests
# (systemd: for systemd-analyze, which checks the units we install;
# curl: scrapes --metrics; mandoc: checks the man pages).
PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libprotobuf-c-dev protobuf-c-compiler libevent-dev libseccomp-dev
	check
	qemu-utils libnbd-bin python3-libnbd fio nbdkit nbdkit-plugin-dev
	nbdkit-plugin-python nbdkit-plugin-perl nbdkit-plugin-ruby
	nbdkit-plugin-lua nbdkit-plugin-tcl e2fsprogs xorriso
	libgnutls28-dev gnutls-bin valgrind procps
	clang libclang-rt-dev
	systemd
	curl mandoc
)

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"

usage() {
	sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

say() {
	printf '\n==> %s\n' "$*"
}

# Run a command as root: directly if we are root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "$0: need root to install packages; install sudo or run" \
		    "as root (or set SKIP_APT=1 if they are installed)" >&2
		exit 1
	fi
}

install_packages() {
	if [ "${SKIP_APT:-0}" = 1 ]; then
		say "Skipping package installation (SKIP_APT=1)"
		return
	fi
	say "Installing packages: ${PACKAGES[*]}"
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    --no-install-recommends "${PACKAGES[@]}"
}

build() {
	local flags=${CONFIGURE_FLAGS-"--enable-werror --with-gnutls"}

	if [ ! -x configure ] || [ ! -f Makefile ]; then
		say "Configuring"
		autoreconf -fi
		# shellcheck disable=SC2086
		./configure $flags
	fi
	say "Building"
	make -j"$(nproc)"
}

cmd_test() {
	install_packages
	build
	say "Running every test (make check)"
	if ! make check; then
		echo "$0: tests failed; see tests/test-suite.log" >&2
		exit 1
	fi
	say "All tests passed"
}

cmd_serve() {
	local sock=${NBDBROKER_SOCKET:-/tmp/nbdbroker-quickstart.sock}
	local pidfile=${sock%.sock}.pid
	local log=${sock%.sock}.log
	local size=${NBDBROKER_SIZE:-1G}
	local uri="nbd+unix:///?socket=$sock"
	local old

	install_packages
	build
	old=$(cat "$pidfile" 2>/dev/null || true)
	if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
		say "Stopping the server started earlier (pid $old)"
		kill "$old"
		for _ in $(seq 50); do
			kill -0 "$old" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$sock"
	say "Starting nbdbroker: memory plugin, $size, default policy"
	# Without -f the server goes to the background once it serves,
	# and exits non-zero (saying why) if the plugin cannot start.
	if ! ./nbdbroker --log stderr -U "$sock" -P "$pidfile" \
	    memory size="$size" 2>>"$log"; then
		tail -20 "$log" >&2
		echo "$0: the server did not start (log: $log)" >&2
		exit 1
	fi
	say "Checking the server answers"
	/usr/bin/nbdinfo "$uri"

	cat <<EOF

nbdbroker is serving a $size RAM disk (pid $(cat "$pidfile")).
The plugin runs in a separate worker process.  Server log: $log

Connect with any NBD client, e.g.:
  nbdinfo '$uri'
  qemu-img info '$uri'
  qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M' '$uri'
  nbdsh -u '$uri' -c 'print(h.get_size())'
  nbdcopy /path/to/image.raw '$uri'

Stop it with:
  kill \$(cat $pidfile)
EOF
}

case "${1:-}" in
serve)	cmd_serve ;;
test)	cmd_test ;;
-h|--help|help) usage 0 ;;
*)	usage 2 ;;
esac
