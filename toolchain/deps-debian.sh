#!/bin/sh
# SPDX-License-Identifier: ISC
# Install every Debian 12 package that clamhook's build, demo, cross targets,
# tests and benchmark need.  Idempotent: running it twice changes nothing.
# Usage: toolchain/deps-debian.sh [--host-only]
set -eu

[ "$(id -u)" = 0 ] || { echo "deps-debian.sh: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

host_only=no
[ "${1:-}" = --host-only ] && host_only=yes

# Postfix asks which configuration to install; the tests bring their own.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections

foreign="arm64 armhf mipsel"
if [ "$host_only" = no ]; then
	for a in $foreign; do
		dpkg --print-foreign-architectures | grep -qx "$a" ||
			dpkg --add-architecture "$a"
	done
fi

# A mirror in the middle of a sync can fail one index now and then: try
# again, and if it still fails go on; the install below says what is missing.
i=0
until apt-get update -qq; do
	i=$((i + 1))
	[ "$i" -lt 3 ] || { echo "deps-debian.sh: apt-get update failed, going on" >&2; break; }
	sleep 5
done

pkgs="make gcc pkg-config musl-tools musl-dev libinih-dev check
	python3 python3-pytest clamav-daemon clamdscan dante-server microsocks
	busybox shellcheck cppcheck valgrind strace clang libfuzzer-14-dev
	libclang-rt-14-dev haproxy postfix file binutils zip hyperfine
	iproute2 util-linux"
if [ "$host_only" = no ]; then
	pkgs="$pkgs qemu-user-static gcc-aarch64-linux-gnu
	gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu binutils-aarch64-linux-gnu
	binutils-arm-linux-gnueabihf binutils-mipsel-linux-gnu"
	for a in $foreign; do
		pkgs="$pkgs musl-dev:$a libinih-dev:$a"
	done
fi

# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null ||
	apt-get install -y -q --no-install-recommends $pkgs

# The packaged daemons must not run on their own: the tests start private
# instances.  Without a service manager nothing is running; stop them where
# one is.
for s in clamav-daemon clamav-freshclam danted postfix haproxy; do
	if command -v service >/dev/null 2>&1; then
		service "$s" stop >/dev/null 2>&1 || true
	fi
done
echo "deps-debian.sh: all packages present"
