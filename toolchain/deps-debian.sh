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

pkgs="make gcc pkg-config musl-tools musl-dev libinih-dev check
	python3 python3-pytest clamav-daemon clamdscan dante-server microsocks
	busybox shellcheck cppcheck valgrind strace clang libfuzzer-14-dev
	libclang-rt-14-dev haproxy postfix file binutils zip hyperfine
	iproute2 util-linux debootstrap mandoc python3-magic python3-flake8"
if [ "$host_only" = no ]; then
	pkgs="$pkgs qemu-user-static gcc-aarch64-linux-gnu
	gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu binutils-aarch64-linux-gnu
	binutils-arm-linux-gnueabihf binutils-mipsel-linux-gnu"
	for a in $foreign; do
		pkgs="$pkgs musl-dev:$a libinih-dev:$a"
	done
fi

# Everything already there (a second run): touch nothing, not even the
# package lists.
# shellcheck disable=SC2086
have=$(dpkg-query -W -f '${db:Status-Abbrev}\n' $pkgs 2>/dev/null |
	grep -c '^ii')
# shellcheck disable=SC2086
if [ "$have" -eq "$(echo $pkgs | wc -w)" ]; then
	missing=no
else
	missing=yes
fi

# A mirror in the middle of a sync can fail one index now and then: each
# round updates the lists (a failed index is reported and left as it was)
# and installs; three rounds, then the install's own error stands.
round=0
while [ "$missing" = yes ]; do
	round=$((round + 1))
	apt-get update -qq ||
		echo "deps-debian.sh: apt-get update failed in part, going on" >&2
	# shellcheck disable=SC2086
	if apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; then
		break
	fi
	if [ "$round" -ge 3 ]; then
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $pkgs
		exit 1
	fi
	echo "deps-debian.sh: install failed (round $round), trying again" >&2
	sleep 10
done

# The packaged daemons must not run on their own: the tests start private
# instances.  Without a service manager nothing is running; stop them where
# one is.
for s in clamav-daemon clamav-freshclam danted postfix haproxy; do
	if command -v service >/dev/null 2>&1; then
		service "$s" stop >/dev/null 2>&1 || true
	fi
done
# What the build and the tests call, by name.
cmds="make gcc musl-gcc pkg-config clang clamd busybox shellcheck
	cppcheck file python3 microsocks danted haproxy postfix"
if [ "$host_only" = no ]; then
	cmds="$cmds aarch64-linux-musl-gcc arm-linux-musleabihf-gcc
	mipsel-linux-musl-gcc qemu-aarch64-static qemu-arm-static
	qemu-mipsel-static"
fi
absent=
for c in $cmds; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] ||
		absent="$absent $c"
done
if [ -n "$absent" ]; then
	echo "deps-debian.sh: still missing:$absent" >&2
	exit 1
fi
echo "deps-debian.sh: all packages present"
