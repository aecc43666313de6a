# SPDX-License-Identifier: ISC
"""Write the seed corpora of the fuzz targets into tests/fuzz/corpus/.

Seeds are written under stable names (seed-*); files the fuzzers found
(crash reproducers once fixed, new coverage) sit beside them under other
names and are left alone.  Run again after changing a seed; the output is
the same every time.

    python3 tests/fuzz/mkcorpus.py [CORPUS_DIR]
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def reply_seeds():
    s = {}
    # the forms clamd(8) writes (clamd/session.c), NUL-terminated z-replies
    s["ok"] = b"stream: OK\0"
    s["found"] = b"stream: Win.Test.EICAR_HDB-1 FOUND\0"
    s["found-unofficial"] = b"stream: Clamhook.Test.UNOFFICIAL FOUND\0"
    s["found-heuristic-maxfilesize"] = (
        b"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND\0")
    s["found-null"] = b"stream: (null) FOUND\0"
    s["found-name-ok"] = b"stream: OK FOUND\0"
    s["found-empty"] = b"stream: FOUND\0"
    s["found-colon"] = b"stream: a: b FOUND\0"
    s["id-ok"] = b"1: stream: OK\0"
    s["id-found"] = b"42: stream: Eicar-Signature FOUND\0"
    s["id-overflow"] = b"184467440737095516160: stream: OK\0"
    s["fd-ok"] = b"fd[5]: OK\0"
    s["fd-found"] = b"fd[12]: Eicar-Signature FOUND\0"
    s["fd-error"] = b"fd[7]: lstat() failed: No such file. ERROR\0"
    s["size-limit"] = b"INSTREAM size limit exceeded. ERROR\0"
    s["size-limit-stream"] = b"stream: INSTREAM size limit exceeded. ERROR\0"
    s["error-alloc"] = b"stream: Can't allocate memory ERROR\0"
    s["error-plain"] = b"Error processing command. ERROR\0"
    s["error-empty"] = b" ERROR\0"
    s["read-timeout"] = b"COMMAND READ TIMED OUT\n"
    s["id-read-timeout"] = b"3: COMMAND READ TIMED OUT\n"
    s["unknown-command"] = b"UNKNOWN COMMAND\n"
    s["pong"] = b"PONG\0"
    s["pong-nl"] = b"PONG\n"
    s["version"] = b"ClamAV 1.0.7/27465/Thu Nov 21 09:33:37 2026\0"
    s["versioncommands"] = (
        b"ClamAV 1.0.7/27465/Thu Nov 21 09:33:37 2026| COMMANDS: SCAN "
        b"QUIT RELOAD PING CONTSCAN VERSIONCOMMANDS VERSION END SHUTDOWN "
        b"MULTISCAN FILDES STATS IDSESSION INSTREAM DETSTATSCLEAR "
        b"DETSTATS ALLMATCHSCAN\0")
    s["stats"] = (b"POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 1  "
                  b"idle 0 max 12 idle-timeout 30\nQUEUE: 0 items\n"
                  b"\tSTATS 0.000028\n\nMEMSTATS: heap N/A mmap N/A\nEND\0")
    s["session"] = (b"1: PONG\0" b"2: stream: OK\0"
                    b"3: stream: Eicar-Signature FOUND\0"
                    b"4: INSTREAM size limit exceeded. ERROR\0")
    s["allmatch"] = b"stream: A FOUND\0stream: B FOUND\0stream: OK\0"
    s["two-replies"] = b"stream: OK\0stream: X FOUND\0"
    # hostile or broken peers
    s["no-terminator"] = b"stream: OK"
    s["empty"] = b""
    s["only-nul"] = b"\0"
    s["only-nl"] = b"\n"
    s["crlf"] = b"stream: OK\r\n"
    s["trailing-space"] = b"stream: OK \0"
    s["upper"] = b"STREAM: ok\0"
    s["http"] = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
    s["smtp"] = b"220 mail.example ESMTP\r\n"
    s["pong-bare"] = b"PONG"
    s["name-esc"] = (b"stream: \x1b[2J\x1b]0;pwn\x07'\"$(reboot)`id`%s%n "
                     b"FOUND\0")
    s["name-high"] = b"stream: \xc3\xa9\xff\xfe\x80 FOUND\0"
    s["name-nl"] = b"stream: Line1\nLine2 FOUND\0"
    s["exact-max"] = b"stream: " + b"A" * (1024 - 14) + b" FOUND\0"
    s["overlong"] = b"stream: " + b"B" * 1100 + b" FOUND\0"
    s["overlong-nul-at-1025"] = b"C" * 1024 + b"\0"
    s["random"] = bytes((i * 131 + 7) & 0xff for i in range(600))
    return s


def socks_seeds():
    # byte 0: bit 0 SOCKS4a, bit 1 user/password, bits 2-3 target by name
    # (0), IPv4 (1), IPv6 (2); then the proxy's bytes, then what clamd
    # would say first (must be left unread)
    name, v4, v6 = 0, 4, 8
    s = {}
    bnd4 = b"\x01\x7f\x00\x00\x01\x0c\xee"
    bnd6 = b"\x04" + b"\x00" * 15 + b"\x01\x0c\xee"
    bndn = b"\x03\x0dclamd.example\x0c\xee"
    tail = b"stream: OK\0"
    s["s5-ok-v4"] = bytes([v4]) + b"\x05\x00" + b"\x05\x00\x00" + bnd4 + tail
    s["s5-ok-v6"] = bytes([v6]) + b"\x05\x00" + b"\x05\x00\x00" + bnd6 + tail
    s["s5-ok-name"] = bytes([name]) + b"\x05\x00" + b"\x05\x00\x00" + bndn
    s["s5-ok-name-empty"] = (bytes([name]) + b"\x05\x00" +
                             b"\x05\x00\x00\x03\x00\x0c\xee" + tail)
    for rep in range(1, 10):
        s["s5-rep-%02x" % rep] = (bytes([v4]) + b"\x05\x00" + b"\x05" +
                                  bytes([rep]) + b"\x00" + bnd4)
    s["s5-rep-ff"] = bytes([v4]) + b"\x05\x00\x05\xff\x00" + bnd4
    s["s5-bad-atyp"] = bytes([v4]) + b"\x05\x00\x05\x00\x00\x05\x00\x00"
    s["s5-bad-version"] = bytes([v4]) + b"\x05\x00\x04\x00\x00" + bnd4
    s["s5-method-refused"] = bytes([v4]) + b"\x05\xff"
    s["s5-method-wrong"] = bytes([v4]) + b"\x05\x01"
    s["s5-method-bad-version"] = bytes([v4]) + b"\x04\x00"
    s["s5-short"] = bytes([v4]) + b"\x05\x00\x05\x00\x00\x01\x7f"
    s["s5-closed"] = bytes([v4]) + b"\x05"
    s["s5-empty"] = bytes([v4])
    s["s5-auth-ok"] = (bytes([v4 | 2]) + b"\x05\x02" + b"\x01\x00" +
                       b"\x05\x00\x00" + bnd4 + tail)
    s["s5-auth-fail"] = bytes([v4 | 2]) + b"\x05\x02" + b"\x01\x01"
    s["s5-auth-bad-version"] = bytes([v4 | 2]) + b"\x05\x02\x05\x00"
    s["s5-auth-not-offered"] = bytes([v4]) + b"\x05\x02\x01\x00"
    s["s5-auth-none-chosen"] = (bytes([v4 | 2]) + b"\x05\x00" +
                                b"\x05\x00\x00" + bnd4)
    s["s4-ok"] = bytes([1 | v4]) + b"\x00\x5a\x0c\xee\x7f\x00\x00\x01" + tail
    s["s4-ok-name"] = bytes([1]) + b"\x00\x5a\x00\x00\x00\x00\x00\x00"
    s["s4-5b"] = bytes([1 | v4]) + b"\x00\x5b\x0c\xee\x7f\x00\x00\x01"
    s["s4-5c"] = bytes([1 | v4]) + b"\x00\x5c\x0c\xee\x7f\x00\x00\x01"
    s["s4-5d"] = bytes([1 | v4]) + b"\x00\x5d\x0c\xee\x7f\x00\x00\x01"
    s["s4-5e"] = bytes([1 | v4]) + b"\x00\x5e\x0c\xee\x7f\x00\x00\x01"
    s["s4-version-4"] = bytes([1 | v4]) + b"\x04\x5a\x0c\xee\x7f\x00\x00\x01"
    s["s4-short"] = bytes([1 | v4]) + b"\x00\x5a\x0c"
    s["s4-http"] = bytes([1 | v4]) + b"HTTP/1.0 400 Bad Request\r\n\r\n"
    s["s4-v6-target"] = bytes([1 | v6]) + b"\x00\x5a" + b"\x00" * 6
    return s


SPEC_INI = b"""[clamd]
server = 127.0.0.1:3310      ; repeatable, or a comma-separated list
port = 3310                  ; port for entries without one
protocol = instream          ; instream | fildes | stream
balance = round-robin        ; round-robin | failover
state_file = /run/clamhook.state
retry_dead_s = 30
connect_timeout_ms = 3000
timeout_ms = 60000
chunk_size = 8192
max_pings = 6
ping_interval_ms = 30000

[socks]
server =
version = 5
username =
password =
remote_dns = yes

[message]
buffer_size = 65536
max_size = 26214400
on_oversize = truncate

[verdict]
mode = 1
field = Virus-Test
verdict =
format = line
output = -
on_error = tempfail

[log]
debug = 0
syslog = no
ident = clamhook
"""

SUN = b"""! Sun Java System Messaging Server ClamAV option file
HOST=127.0.0.1
PORT=3310
DEBUG=0
FIELD=Virus-Test
MAXMESSAGESIZE=1048576
MODE=1
VERDICT=
"""


def conf_seeds():
    s = {}
    srv = b"[clamd]\nserver = 127.0.0.1:3310\n"
    s["spec"] = SPEC_INI
    s["minimal"] = srv
    s["sun"] = SUN
    s["sun-socks"] = (b"host=clamd.example\nport=3310\nmode=3\n"
                      b"verdict=Infected\nsocks_host=127.0.0.1\n"
                      b"socks_port=1080\n")
    s["sun-mode2"] = b"HOST=10.0.0.5\nMODE=2\nFIELD=X-Virus\nDEBUG=1\n"
    s["sun-no-host"] = b"PORT=3310\nMODE=1\n"
    s["sun-unknown"] = b"HOST=127.0.0.1\nBOGUS=1\n"
    s["sun-crlf"] = b"HOST=127.0.0.1\r\nPORT=3310\r\n"
    # found by fuzzing: printed as "server=NAME:PORT", over a line's length
    s["sun-host-193"] = b"HOST=" + b"h" * 193 + b"\nPORT=3310\n"
    s["server-empty-then-continued"] = b"[clamd]\nserver =\n\th:1\n"
    # found by fuzzing: printed as "unix:1080", which reads as a socket
    s["socks-named-unix"] = srv + b"[socks]\nserver = unix\n"
    s["servers-list"] = (b"[clamd]\nserver = 127.0.0.1:3310, [::1]:3310, "
                         b"unix:/run/clamav/clamd.ctl, clamd.example\n"
                         b"balance = failover\n")
    s["servers-repeat"] = (b"[clamd]\nserver = 127.0.0.1\n"
                           b"server = 127.0.0.2:3311\nport = 3312\n")
    s["unix"] = b"[clamd]\nserver = unix:/run/clamav/clamd.ctl\n" \
        b"protocol = fildes\n"
    s["fildes-tcp"] = srv + b"protocol = fildes\n"
    s["stream"] = srv + b"protocol = stream\n"
    s["unix-long"] = b"[clamd]\nserver = unix:/" + b"a" * 120 + b"\n"
    s["socks5"] = (srv + b"[socks]\nserver = 127.0.0.1:1080\nversion = 5\n"
                   b"username = user\npassword = pass word\n"
                   b"remote_dns = no\n")
    s["socks4a"] = (b"[clamd]\nserver = clamd.example:3310\n[socks]\n"
                    b"server = proxy.example:1080\nversion = 4a\n")
    s["socks-unix"] = (b"[clamd]\nserver = unix:/tmp/c.sock\n[socks]\n"
                       b"server = 127.0.0.1:1080\n")
    s["socks-long-user"] = (srv + b"[socks]\nserver = 127.0.0.1:1080\n"
                            b"username = " + b"u" * 180 + b"\n")
    s["verdict-shell"] = (srv + b"[verdict]\nmode = 2\nfield =\n"
                          b"format = shell\noutput = fd:3\n"
                          b"on_error = accept\n")
    s["verdict-milter"] = (srv + b"[verdict]\nformat = milter\n"
                           b"output = /var/spool/clamhook/verdict\n")
    s["verdict-james"] = srv + b"[verdict]\nformat = james\nmode = 0\n" \
        b"verdict = REJECT\n"
    s["oversize"] = (srv + b"[message]\nbuffer_size = 4096\nmax_size = 0\n"
                     b"on_oversize = reject\n")
    s["limits-low"] = (srv + b"chunk_size = 1024\ntimeout_ms = 1\n"
                       b"connect_timeout_ms = 1\n[message]\n"
                       b"buffer_size = 4096\n")
    s["limits-high"] = (srv + b"chunk_size = 1048576\n[message]\n"
                        b"buffer_size = 16777216\nmax_size = "
                        b"18446744073709551615\n")
    s["out-of-range"] = srv + b"chunk_size = 1023\n"
    s["trailing-junk"] = srv + b"timeout_ms = 100x\n"
    s["negative"] = srv + b"timeout_ms = -1\n"
    s["hex"] = srv + b"timeout_ms = 0x10\n"
    s["repeated-key"] = srv + b"timeout_ms = 1000\ntimeout_ms = 2000\n"
    s["unknown-key"] = srv + b"tiemout_ms = 1000\n"
    s["unknown-section"] = srv + b"[clamav]\nfoo = bar\n"
    s["empty-unknown-section"] = srv + b"[nothing]\n"
    s["case"] = b"[CLAMD]\nSERVER = 127.0.0.1\nTimeout_MS = 5000\n"
    s["comments"] = (b"; comment\n# comment\n[clamd]\n"
                     b"server = 127.0.0.1 ; inline\n"
                     b"port = 3310;not a comment\n")
    s["continuation"] = (b"[clamd]\nserver = 127.0.0.1:3310,\n"
                         b"  127.0.0.2:3310\n")
    s["long-line"] = srv + b"[verdict]\nfield = " + b"F" * 250 + b"\n"
    s["long-value"] = srv + b"[verdict]\nverdict = " + b"V" * 190 + b"\n"
    s["bom-crlf"] = b"\xef\xbb\xbf[clamd]\r\nserver = 127.0.0.1\r\n"
    s["ipv6-bad"] = b"[clamd]\nserver = [::1\n"
    s["port-zero"] = b"[clamd]\nserver = 127.0.0.1:0\n"
    s["port-big"] = b"[clamd]\nserver = 127.0.0.1:65536\n"
    s["too-many-servers"] = (b"[clamd]\nserver = " +
                             b",".join(b"127.0.0.%d" % i
                                       for i in range(1, 20)) + b"\n")
    s["no-server"] = b"[clamd]\nport = 3310\n"
    s["empty"] = b""
    s["nul"] = b"[clamd]\nserver = 127.0.0.1\0:3310\n"
    s["ctrl"] = srv + b"[verdict]\nfield = X\x1b[2J\n"
    s["log"] = srv + b"[log]\ndebug = 2\nsyslog = yes\nident = clamhook-x\n"
    return s


def verdict_input(result, virus=b"", error=b"", file=None, field=b"",
                  verdict=b"", server=b"127.0.0.1:3310", small=0,
                  nbytes=1234, sent=1234, ms=56):
    flags = result | (0x80 if file is not None else 0)
    out = bytes([flags, small]) + struct.pack(">QQq", nbytes, sent, ms)
    for f in (virus, error, file or b"", field, verdict, server):
        out += struct.pack(">H", len(f)) + f
    return out


def verdict_seeds():
    CLEAN, INFECTED, PARTIAL, SKIPPED, ERROR = range(5)
    vt = b"Virus-Test"
    hostile = (b"Evil\nX-Injected: yes\r\n'\"$(reboot)`id`;\x1b[2J%s%n"
               b"\x00after-nul\x7f\xff") * 60
    s = {}
    s["clean"] = verdict_input(CLEAN, field=vt)
    s["infected"] = verdict_input(INFECTED, b"Eicar-Signature", field=vt)
    s["infected-mode-verdict"] = verdict_input(
        INFECTED, b"Eicar-Signature", field=vt, verdict=b"REJECT")
    s["partial"] = verdict_input(PARTIAL, field=vt, nbytes=10 ** 9,
                                 sent=1048576)
    s["skipped"] = verdict_input(SKIPPED, field=vt, sent=0)
    s["error"] = verdict_input(ERROR, error=b"connect: Connection refused")
    s["error-size-limit"] = verdict_input(
        ERROR, error=b"clamd: INSTREAM size limit exceeded (StreamMaxLength"
        b"); keep [message] max_size at or below it")
    s["hostile-4k"] = verdict_input(INFECTED, hostile[:4096], field=vt)
    s["hostile-error"] = verdict_input(ERROR, error=hostile[:4096])
    s["hostile-file"] = verdict_input(INFECTED, b"Eicar", file=b"a\tb\nc'd",
                                      field=vt)
    s["quotes"] = verdict_input(INFECTED, b"'''" * 100, field=b"F'x",
                                verdict=b"it's")
    s["null-name"] = verdict_input(INFECTED, b"(null)", field=vt)
    s["heuristic"] = verdict_input(
        INFECTED, b"Heuristics.Limits.Exceeded.MaxFileSize", field=vt)
    s["name-255"] = verdict_input(INFECTED, b"N" * 255, field=vt)
    s["name-256"] = verdict_input(INFECTED, b"N" * 256, field=vt)
    s["empty-field"] = verdict_input(INFECTED, b"Eicar", field=b"")
    s["file-clean"] = verdict_input(CLEAN, file=b"msg-1.eml", field=vt)
    s["file-error"] = verdict_input(ERROR, error=b"timeout",
                                    file=b"msg-2.eml")
    s["small-buffer"] = verdict_input(INFECTED, b"Eicar-Signature",
                                      field=vt, small=40)
    s["tiny-buffer"] = verdict_input(CLEAN, field=vt, small=1)
    s["utf8"] = verdict_input(INFECTED, "Vírus.Teste".encode(), field=vt)
    s["server-hostile"] = verdict_input(CLEAN, server=b"h'\n\x1b" * 80)
    s["negative-ms"] = verdict_input(CLEAN, ms=-1, nbytes=2 ** 64 - 1,
                                     sent=2 ** 64 - 1)
    return s


def write(root, name, seeds):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    for k, v in seeds.items():
        with open(os.path.join(d, "seed-" + k), "wb") as f:
            f.write(v)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    write(root, "reply", reply_seeds())
    write(root, "socks", socks_seeds())
    write(root, "conf", conf_seeds())
    write(root, "verdict", verdict_seeds())


if __name__ == "__main__":
    main()
