#!/bin/sh
# Bootstrap the build: ./autogen.sh [--deps]
#   --deps  first install (as root, with apt-get) every Debian package that
#           the build and the tests need; safe to run again.
set -e
cd "$(dirname "$0")"

DEPS="build-essential autoconf automake pkg-config
libevent-dev libsqlite3-dev libyajl-dev libcmocka-dev libssl-dev
python3 python3-pytest sqlite3 procps util-linux clang libclang-rt-14-dev
magic-wormhole python3-magic-wormhole-mailbox-server
magic-wormhole-transit-relay munin-node python3-websockets python3-autobahn
systemd daemontools strace haproxy prometheus"

if [ "${1:-}" = "--deps" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "autogen.sh: --deps needs root (it runs apt-get)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $DEPS
elif [ -n "${1:-}" ]; then
	echo "usage: ./autogen.sh [--deps]" >&2
	exit 2
fi
autoreconf -fi
