#!/bin/sh
# SPDX-License-Identifier: ISC
#
# post_build.sh TARGET_DIR [BOARD_DIR]: Buildroot post-build script (also run
# by `make rootfs`).  Buildroot calls it with TARGET_DIR after copying
# board/common/rootfs_overlay; BOARD_DIR (board/<target>, given through
# BR2_ROOTFS_POST_BUILD_SCRIPT_ARGS, not BR2_ROOTFS_POST_SCRIPT_ARGS, which
# Buildroot passes to every post-build and post-image script) may hold
#   clamhook.fragment.ini  keys that replace those of etc/clamhook.ini (a key
#                          not in it is added to its section, a section not
#                          in it is added at the end)
#   rootfs_overlay/        files copied over TARGET_DIR
# Then the scripts are made executable and what they read readable by
# all.  POSIX sh and awk only.
set -eu

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: post_build.sh TARGET_DIR [BOARD_DIR]" >&2
	exit 1
fi
target=$1
board=${2:-}
ini=$target/etc/clamhook.ini

# merge_ini BASE FRAGMENT: BASE with FRAGMENT's keys, on standard output.
# Keys and section names compare case-insensitively, as clamhook reads them;
# every line of a repeatable key (server) in FRAGMENT replaces all of BASE's.
merge_ini() {
	awk -v frag="$2" '
	function trim(s) {
		sub(/^[ \t]+/, "", s)
		sub(/[ \t]+$/, "", s)
		return s
	}
	function section(s) {
		return tolower(trim(substr(s, 2, index(s, "]") - 2)))
	}
	function key(s) {
		sub(/[ \t]*[=:].*$/, "", s)
		return tolower(s)
	}
	function add_rest(sec,   i) {
		for (i = 1; i <= n; i++)
			if (fsec[i] == sec && !done[i]) {
				print fline[i]
				done[i] = 1
			}
	}
	BEGIN {
		sec = ""
		while ((getline line < frag) > 0) {
			t = trim(line)
			if (t == "" || t ~ /^[;#]/)
				continue
			if (t ~ /^\[/) {
				sec = section(t)
				if (!(sec in known)) {
					known[sec] = 1
					order[++ns] = sec
				}
				continue
			}
			n++
			fsec[n] = sec
			fkey[n] = key(t)
			fline[n] = t
			infrag[sec SUBSEP fkey[n]] = 1
		}
		close(frag)
		sec = ""
		skip = 0
	}
	# Blank and comment lines wait in held until the next key line, so
	# that keys added to a section come before the comments that introduce
	# the next one.
	function release() {
		printf "%s", held
		held = ""
	}
	{
		t = trim($0)
		if (skip && $0 ~ /^[ \t]/ && t != "" && t !~ /^[;#]/)
			next	# the continuation of a replaced value
		skip = 0
		if (t ~ /^\[/) {
			add_rest(sec)
			release()
			sec = section(t)
			seen[sec] = 1
			print
			next
		}
		if (t == "" || t ~ /^[;#]/) {
			held = held $0 "\n"
			next
		}
		release()
		k = key(t)
		if ($0 !~ /^[ \t]/ && (sec SUBSEP k) in infrag) {
			for (i = 1; i <= n; i++)
				if (fsec[i] == sec && fkey[i] == k && !done[i]) {
					print fline[i]
					done[i] = 1
				}
			skip = 1
			next
		}
		print
	}
	END {
		add_rest(sec)
		release()
		for (j = 1; j <= ns; j++)
			if (!(order[j] in seen)) {
				printf "\n[%s]\n", order[j]
				add_rest(order[j])
			}
	}' "$1"
}

if [ -n "$board" ]; then
	if [ -d "$board/rootfs_overlay" ]; then
		cp -R "$board/rootfs_overlay/." "$target/"
	fi
	if [ -f "$board/clamhook.fragment.ini" ] && [ -f "$ini" ]; then
		merge_ini "$ini" "$board/clamhook.fragment.ini" >"$ini.new"
		mv -f "$ini.new" "$ini"
	fi
fi

for f in "$target/etc/init.d/S45clamhook" \
    "$target/usr/libexec/clamhook/mta-hook" \
    "$target/usr/libexec/clamhook/postfix-filter" \
    "$target/usr/libexec/clamhook/smtpd-mda"; do
	[ ! -f "$f" ] || chmod 0755 "$f"
done
# Read, not run: by the hooks, which may run as an unprivileged user.
for f in "$ini" "$target/etc/default/clamhook" \
    "$target/usr/libexec/clamhook/hook-common"; do
	[ ! -f "$f" ] || chmod 0644 "$f"
done
