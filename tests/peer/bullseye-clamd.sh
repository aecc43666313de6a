#!/bin/sh
# SPDX-License-Identifier: ISC
# Build a Debian 11 (bullseye) chroot with clamd 0.103, the last clamd that
# speaks the legacy STREAM protocol, into DIR (default
# /var/cache/clamhook/bullseye-clamd).  Built once and reused: a DIR that
# holds a finished chroot is left alone.  Needs root, debootstrap and the
# Debian archive; a few minutes on a fresh machine.
# Usage: tests/peer/bullseye-clamd.sh [DIR]
set -eu

dir=${1:-/var/cache/clamhook/bullseye-clamd}
mirror=${CLAMHOOK_DEBIAN_MIRROR:-http://deb.debian.org/debian}

[ -x "$dir/usr/sbin/clamd" ] && exit 0
[ "$(id -u)" = 0 ] || { echo "bullseye-clamd.sh: run as root" >&2; exit 1; }
command -v debootstrap >/dev/null || {
	echo "bullseye-clamd.sh: debootstrap missing (toolchain/deps-debian.sh)" >&2
	exit 1
}

# Built beside DIR and renamed into place when complete: a run killed
# midway leaves no half chroot that looks finished.
tmp="$dir.build.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$dir")"
rm -rf "$dir".build.*
debootstrap --variant=minbase bullseye "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
	tail -n 20 "$tmp.log" >&2
	rm -f "$tmp.log"
	exit 1
}
rm -f "$tmp.log"
# No daemon starts inside the chroot on its own.
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 755 "$tmp/usr/sbin/policy-rc.d"
chroot "$tmp" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends clamav-daemon clamdscan \
	>/dev/null
chroot "$tmp" apt-get clean
chroot "$tmp" /usr/sbin/clamd --version
mv "$tmp" "$dir"
trap - EXIT
