#!/bin/sh
# SPDX-License-Identifier: ISC
#
# demo.sh [CLAMHOOK [RUNNER]]: clamhook end to end, offline.  Starts a
# private clamd (Debian's clamav-daemon; no freshclam, no internet) in a
# temporary directory with a two-signature database generated here (the MD5
# of the EICAR test file and a body signature on part of it), waits for it
# with `clamhook --ping`, scans a clean and an infected message in the line
# and shell formats, prints verdicts and exit statuses, and stops clamd.
# CLAMHOOK defaults to ./clamhook; RUNNER (e.g. qemu-mipsel-static) runs a
# cross-built one.  Exits 0 when every status is the expected one.
# Environment: CLAMD (default: clamd in PATH, else /usr/sbin/clamd).
# POSIX sh; runs under busybox sh.

set -u

bin=${1:-./clamhook}
runner=${2:-}
clamd=${CLAMD:-$(command -v clamd || echo /usr/sbin/clamd)}
tmp=
pid=
fails=0

say() {
	printf '%s\n' "$*"
}

cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	[ -z "$tmp" ] || rm -rf "$tmp"
}

die() {
	say "demo: $*" >&2
	if [ -n "$tmp" ] && [ -f "$tmp/clamd.log" ]; then
		say "--- clamd.log:" >&2
		cat "$tmp/clamd.log" "$tmp/clamd.out" >&2 2>/dev/null
	fi
	exit 1
}

# The 68-byte EICAR test file, joined from pieces at run time: no file of
# this repository holds it whole.
eicar() {
	# shellcheck disable=SC2016 # the $ signs are part of the file
	printf '%s%s%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$' 'EIC' \
	    'AR-STANDARD-ANTIV' 'IRUS-TEST-FILE!$H+H*'
}

# run EXPECTED ARGS...: show a clamhook command, its output and status.
# With $input set, the command reads that file on standard input.
input=
run() {
	want=$1
	shift
	say "\$ clamhook $*${input:+ <$input}"
	# shellcheck disable=SC2086 # RUNNER is a command and its words
	$runner "$bin" "$@"
	st=$?
	if [ "$st" -eq "$want" ]; then
		say "exit $st"
	else
		say "exit $st   <-- expected $want"
		fails=$((fails + 1))
	fi
	say
}

trap cleanup EXIT
trap 'exit 75' HUP INT TERM

[ -x "$bin" ] || die "$bin: no such program (run make first)"
[ -x "$clamd" ] || die "$clamd: not found (apt-get install clamav-daemon)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clamhook-demo.XXXXXX") ||
	die "cannot create a temporary directory"
mkdir "$tmp/db" || die "cannot create $tmp/db"

# The database: a whole-file MD5 (.hdb, MD5:SIZE:NAME) and a body signature
# (.ndb, NAME:TARGET:OFFSET:HEX) on the middle of the test file.
eicar >"$tmp/eicar.com"
md5=$(md5sum "$tmp/eicar.com" | cut -d ' ' -f 1)
size=$(wc -c <"$tmp/eicar.com" | tr -d ' ')
say "$md5:$size:Demo.Eicar.Hash" >"$tmp/db/demo.hdb"
hex=$(printf '%s%s' 'STANDARD-ANTIV' 'IRUS-TEST-FILE' | od -An -tx1 |
    tr -d ' \n')
say "Demo.Eicar.Body:0:*:$hex" >"$tmp/db/demo.ndb"

cat >"$tmp/clamd.conf" <<EOF
DatabaseDirectory $tmp/db
LocalSocket $tmp/clamd.sock
Foreground yes
LogFile $tmp/clamd.log
PidFile $tmp/clamd.pid
TemporaryDirectory $tmp
Bytecode no
EOF
[ "$(id -u)" != 0 ] || say "User root" >>"$tmp/clamd.conf"

cat >"$tmp/line.ini" <<EOF
# clamhook demo: the private clamd, verdicts as one line
[clamd]
server = unix:$tmp/clamd.sock
state_file =
timeout_ms = 10000
max_pings = 60
ping_interval_ms = 250
[verdict]
mode = 2
format = line
EOF
sed 's/^format = line$/format = shell/; s/as one line/as sh assignments/' \
    "$tmp/line.ini" >"$tmp/shell.ini"

cat >"$tmp/clean.eml" <<EOF
From: Alice <alice@example.org>
To: Bob <bob@example.org>
Subject: lunch

Noon at the usual place?
EOF
{
	cat <<EOF
From: Mallory <mallory@example.org>
To: Bob <bob@example.org>
Subject: invoice

Please run the attached text:
EOF
	eicar
	say
} >"$tmp/infected.eml"

say "== clamd $("$clamd" --version 2>/dev/null | cut -d / -f 1 |
    sed 's/^ClamAV //'), private, in $tmp"
say "   database: demo.hdb (MD5 $md5, $size bytes), demo.ndb (body)"
"$clamd" -c "$tmp/clamd.conf" >"$tmp/clamd.out" 2>&1 &
pid=$!

say
say "== waiting for clamd (--ping: up to 60 tries, 250 ms apart)"
run 0 --ping -c "$tmp/line.ini"
[ "$fails" -eq 0 ] || die "clamd did not answer"

say "== [verdict] format = line, mode = 2"
run 0 -c "$tmp/line.ini" "$tmp/clean.eml"
run 1 -c "$tmp/line.ini" "$tmp/infected.eml"
say "== [verdict] format = shell (for sh's \`.'), from standard input"
input=$tmp/clean.eml
run 0 -c "$tmp/shell.ini" - <"$input"
input=$tmp/infected.eml
run 1 -c "$tmp/shell.ini" - <"$input"
input=
say "== --self-test (EICAR assembled in memory by clamhook)"
run 0 --self-test -c "$tmp/line.ini"

kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
say "== clamd stopped"
if [ "$fails" -ne 0 ]; then
	say "demo: $fails unexpected exit status(es)"
	exit 1
fi
say "demo: every exit status as expected (0 clean, 1 infected)"
