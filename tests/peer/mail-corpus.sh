#!/bin/sh
# SPDX-License-Identifier: ISC
# Fetch the real messages that Debian packages ship as test data, and
# unpack them (not install them) into DIR/root (default
# /var/cache/clamhook/mail-corpus).  Fetched once and reused; nothing of
# them is kept in clamhook's tree.  Needs apt and the Debian archive.
# Usage: tests/peer/mail-corpus.sh [DIR]
set -eu

dir=${1:-/var/cache/clamhook/mail-corpus}
pkgs="libpython3.11-testsuite golang-github-jhillyerd-enmime-dev
	python3-django-hyperkitty mailman3 python3-dkim spamassassin
	clamav-testfiles"

[ -f "$dir/root/.complete" ] && exit 0

tmp="$dir.build.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$dir")"
rm -rf "$dir".build.*
mkdir -p "$tmp/debs" "$tmp/root"
cd "$tmp/debs"
# apt-get download writes as _apt where it can; this directory is root's.
chmod 777 .
# shellcheck disable=SC2086
if ! apt-get download -q $pkgs >/dev/null 2>&1; then
	# Package lists older than the archive: refresh them once.
	apt-get update -qq || true
	# shellcheck disable=SC2086
	apt-get download -q $pkgs >/dev/null
fi
for deb in ./*.deb; do
	dpkg-deb -x "$deb" "$tmp/root"
done
ls -- *.deb >"$tmp/root/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
