#!/bin/sh
# SPDX-License-Identifier: ISC
# Build a Debian 12 (bookworm) chroot holding one real MTA, for the MTAs
# that cannot be installed beside the host's Postfix (each would remove it):
#   exim       exim4-daemon-heavy (Exim 4.96 with content scanning)
#   opensmtpd  opensmtpd (6.8.0p2)
# each with swaks and busybox, into DIR (default
# /var/cache/clamhook/bookworm-MTA).  No daemon starts inside the chroot on
# its own.  Built once and reused: a DIR that holds a finished chroot is
# left alone.  The bare Debian 12 they start from is kept beside DIR
# (bookworm-base), so the second MTA costs only its packages.  Needs root,
# debootstrap and the Debian archive.
# Usage: tests/peer/bookworm-mta.sh exim|opensmtpd [DIR]
set -eu

mta=${1:?usage: bookworm-mta.sh exim|opensmtpd [DIR]}
dir=${2:-/var/cache/clamhook/bookworm-$mta}
mirror=${CLAMHOOK_DEBIAN_MIRROR:-http://deb.debian.org/debian}

case $mta in
exim) pkgs=exim4-daemon-heavy; bin=usr/sbin/exim4 ;;
opensmtpd) pkgs=opensmtpd; bin=usr/sbin/smtpd ;;
*) echo "bookworm-mta.sh: no such MTA: $mta" >&2; exit 2 ;;
esac

[ -x "$dir/$bin" ] && [ -f "$dir/.complete" ] && exit 0
[ "$(id -u)" = 0 ] || { echo "bookworm-mta.sh: run as root" >&2; exit 1; }
command -v debootstrap >/dev/null || {
	echo "bookworm-mta.sh: debootstrap missing (toolchain/deps-debian.sh)" >&2
	exit 1
}

# Each is built beside its place and renamed into it when complete: a run
# killed midway leaves nothing that looks finished.
base="$(dirname "$dir")/bookworm-base"
mkdir -p "$(dirname "$dir")"
if [ ! -f "$base/.complete" ]; then
	rm -rf "$base" "$base".build.*
	tmp="$base.build.$$"
	trap 'rm -rf "$tmp" "$tmp.log"' EXIT
	debootstrap --variant=minbase bookworm "$tmp" "$mirror" \
	    >"$tmp.log" 2>&1 || {
		tail -n 20 "$tmp.log" >&2
		exit 1
	}
	# No daemon starts inside the chroot on its own.
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	chroot "$tmp" apt-get clean
	touch "$tmp/.complete"
	mv "$tmp" "$base"
	rm -f "$tmp.log"
fi

tmp="$dir.build.$$"
trap 'rm -rf "$tmp" "$tmp.log"' EXIT
rm -rf "$dir" "$dir".build.*
cp -a "$base" "$tmp"
rm "$tmp/.complete"
# shellcheck disable=SC2086
chroot "$tmp" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends $pkgs swaks busybox \
	>"$tmp.log" 2>&1 || {
	tail -n 20 "$tmp.log" >&2
	exit 1
}
chroot "$tmp" apt-get clean
[ -x "$tmp/$bin" ]
touch "$tmp/.complete"
mv "$tmp" "$dir"
trap - EXIT
rm -f "$tmp.log"
