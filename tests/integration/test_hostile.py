# SPDX-License-Identifier: ISC
"""clamhook against a scripted hostile peer (tests/peer/hostile.py): what no
real clamd does on purpose.  SPEC §3 (fail closed), §4.3 (no stale clean
verdict survives a failure), §5.1 (replies), §6 (size limit), STYLE (one
deadline per message, a dripping peer cannot extend it).

Every test writes a stale clean verdict at the file destination first; a
failed scan must remove it, so no clean verdict is left for the mail agent.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

import support
from support import KIB, MIB

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "peer"))
from hostile import Peer  # noqa: E402

STALE = b"Virus-Test: False\n"      # mode 2: what a clean scan writes
# seconds allowed past a deadline, with what a runner adds at start
SLACK = 1.2 + support.start_cost()
BUSYBOX = shutil.which("busybox")


class Outcome:
    """One run of clamhook against its peers."""

    def __init__(self, run, peers, verdict_path):
        self.run = run
        self.status, self.out, self.err, self.elapsed = run
        self.peers = peers
        self.peer = peers[0]
        self.conns = peers[0]["conns"]
        self.verdict_path = verdict_path

    @property
    def verdict(self):
        """The verdict file's bytes, None when there is none."""
        try:
            with open(self.verdict_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def __repr__(self):
        return "%r\npeers: %r" % (self.run, [{
            "conns": [{k: v for k, v in c.items() if k != "head"}
                      for c in p["conns"]], "error": p["error"]}
            for p in self.peers])


def scan(clamhook, scenario, message=None, timeout_ms=3000,
         connect_timeout_ms=1000, unix=False, rcvbuf=None, fmt="line",
         repeat=False, run_timeout=40, args=(), config=None,
         on_start=None):
    """Start a peer playing scenario (a list: one peer each, tried in that
    order), run clamhook on message with the peers as its servers and a
    stale clean verdict at its file destination, stop the peers, return
    an Outcome.  on_start(live, peers) is called once clamhook runs."""
    tmp = str(clamhook.tmp)
    verdict = os.path.join(tmp, "verdict")
    with open(verdict, "wb") as f:
        f.write(STALE)
    stale_ino = os.stat(verdict).st_ino
    scenarios = [scenario] if isinstance(scenario, str) else scenario
    sockdir = tempfile.mkdtemp(prefix="chh", dir="/tmp") if unix else None
    peers = []
    try:
        for i, sc in enumerate(scenarios):
            peers.append(Peer(sc, unix=os.path.join(sockdir, "c%d.sock" % i)
                              if unix else None,
                              log=os.path.join(tmp, "peer%d.json" % i),
                              max_seconds=run_timeout, rcvbuf=rcvbuf,
                              repeat=repeat))
        for p in peers:
            p.start()
        clamhook.base = {"clamd": {"server": [p.address for p in peers]}}
        conf = {"clamd": {"timeout_ms": timeout_ms,
                          "connect_timeout_ms": connect_timeout_ms,
                          "balance": "failover",
                          "state_file": os.path.join(tmp, "state")},
                "verdict": {"mode": 2, "format": fmt, "output": verdict}}
        for sec, keys in (config or {}).items():
            conf.setdefault(sec, {}).update(keys)
        run = clamhook(args=args, input=None if args and message is None
                       else support.mail_plain() if message is None
                       else message,
                       timeout=run_timeout, config=conf,
                       on_start=on_start and (lambda live:
                                              on_start(live, peers)))
    finally:
        for p in peers:
            p.stop()
        for p in peers:
            p.join(10)
        if sockdir:
            shutil.rmtree(sockdir, ignore_errors=True)
    assert not run.timed_out, run
    o = Outcome(run, [p.result() for p in peers], verdict)
    try:
        o.rewritten = os.stat(verdict).st_ino != stale_ino
    except FileNotFoundError:
        o.rewritten = False
    return o


def assert_failed(o, reason, deadline=None, within=None):
    """Status 75, no verdict left (the stale one removed), one error line
    matching reason (a regex, case-insensitive), and the time: about the
    deadline (s) when given, else under `within` seconds."""
    assert o.status == 75, o
    assert o.out == b"", o
    assert o.verdict is None, "a verdict is left: %r\n%r" % (o.verdict, o)
    # besides the warnings of servers passed over (§7)
    text = support.assert_error_line(support.warnings_and_rest(o.err)[1])
    assert len(text.splitlines()) == 1, o
    assert re.search(reason, text, re.I), \
        "stderr %r does not match %r" % (text, reason)
    if deadline is not None:
        assert deadline - 0.1 <= o.elapsed <= deadline + SLACK, \
            "elapsed %.2f s, deadline %.2f s\n%r" % (o.elapsed, deadline, o)
    if within is not None:
        assert o.elapsed <= within, \
            "elapsed %.2f s, expected under %.2f s\n%r" % (o.elapsed,
                                                          within, o)


def passed_over(o):
    """The warnings of servers passed over (§7), with nothing else on
    stderr but the other warnings."""
    warned, rest = support.warnings_and_rest(o.err)
    assert rest == b"", o
    return [w for w in warned if "; trying " in w]


def assert_infected(o, name, over=0):
    assert o.status == 1, o
    assert len(passed_over(o)) == over, o
    assert o.out == b"", o
    assert o.verdict == b"Virus-Test: True ; " + name + b"\n", o


def instream_of(o, i=0):
    assert len(o.conns) > i, o
    st = o.conns[i]["instream"]
    assert st is not None, o
    return st


# -- the peer itself (no clamhook needed) --------------------------------

def test_peer_parses_instream_framing():
    """The hostile peer counts INSTREAM chunks and the end chunk right, so
    what the tests assert about the client is true."""
    import socket
    import struct

    with Peer(r"accept; command; instream; send 'stream: OK\0'; close",
              max_seconds=10) as p:
        with socket.create_connection(("127.0.0.1", p.port), 5) as s:
            s.sendall(b"zINSTREAM\0" + struct.pack(">I", 3) + b"abc"
                      + struct.pack(">I", 70000) + b"x" * 70000
                      + struct.pack(">I", 0))
            s.settimeout(5)
            assert s.recv(100) == b"stream: OK\0"
        r = p.wait(5)
    c = r["conns"][0]
    assert c["commands"] == ["zINSTREAM\0"], r
    assert c["instream"]["bytes"] == 70003, r
    assert c["instream"]["chunks"] == 2 and c["instream"]["end"], r
    assert c["instream"]["max_chunk"] == 70000, r
    assert r["error"] is None, r


# -- the connection itself -------------------------------------------------

def test_connect_hangs(clamhook):
    """The listen queue is full: the SYN is dropped, connect never ends.
    connect_timeout_ms bounds it."""
    o = scan(clamhook, "fill; sleep 30000", connect_timeout_ms=1000,
             timeout_ms=10000)
    assert_failed(o, r"connect.*(tim|deadline)|(tim|deadline).*connect",
                  deadline=1.0)
    assert o.conns == [], o


def test_never_reads_big_message(clamhook):
    """Accepts, then reads nothing while 20 MiB wait to be sent: the
    writes block until the deadline."""
    o = scan(clamhook, "accept; hold", message=support.filler(20 * MIB),
             timeout_ms=2000, rcvbuf=65536, run_timeout=40)
    assert_failed(o, r"tim|deadline", deadline=2.0)
    assert not o.conns[0]["client_closed"] or \
        o.conns[0]["closed_at"] >= 1.8, o


def test_slow_reader_cannot_extend_deadline(clamhook):
    """The peer reads 4 KiB every 50 ms: progress all the time, but the
    message would take 40 s; the deadline (2 s) ends it."""
    o = scan(clamhook, "accept; command; trickle 4096 50",
             message=support.filler(8 * MIB), timeout_ms=2000,
             rcvbuf=16384)
    assert_failed(o, r"tim|deadline", deadline=2.0)


def test_connect_timeout_capped_by_deadline(clamhook):
    """connect_timeout_ms (5 s) longer than the whole timeout_ms (1.5 s):
    the deadline wins."""
    o = scan(clamhook, "fill; sleep 30000", connect_timeout_ms=5000,
             timeout_ms=1500)
    assert_failed(o, r"tim|deadline", deadline=1.5)


def test_reads_all_never_answers(clamhook):
    msg = support.mail_plain()
    o = scan(clamhook, "accept; command; instream; hold", message=msg,
             timeout_ms=2000)
    assert_failed(o, r"tim|deadline", deadline=2.0)
    assert o.conns[0]["commands"] == ["zINSTREAM\0"], o
    st = instream_of(o)
    assert st["end"] and st["bytes"] == len(msg), o
    assert 0 < st["max_chunk"] <= 8192, o       # chunk_size


def test_drip_reply_is_bounded_by_deadline(clamhook):
    """One byte a second of a clean reply: the deadline (2.5 s) ends the
    wait, not an idle timer restarted by each byte (the reply needs 10 s)."""
    o = scan(clamhook, r"accept; command; instream; drip 1000 'stream: OK\0'",
             timeout_ms=2500)
    assert_failed(o, r"tim|deadline", deadline=2.5)


def test_reset_mid_stream(clamhook):
    msg = support.filler(4 * MIB)
    o = scan(clamhook, "accept; command; expect 65536; reset", message=msg,
             timeout_ms=10000, repeat=True)
    assert_failed(o, r"reset|closed|broken|connection", within=5)


def test_close_mid_stream_without_reply(clamhook):
    msg = support.filler(4 * MIB)
    o = scan(clamhook, "accept; command; expect 65536; close", message=msg,
             timeout_ms=10000, repeat=True)
    assert_failed(o, r"reset|closed|broken|connection|end of file|eof",
                  within=5)


# -- replies that are not a verdict ------------------------------------------

@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_ok_without_terminator_then_close(clamhook, unix):
    """"stream: OK" and then the connection closes: never clean."""
    o = scan(clamhook, "accept; command; instream; send 'stream: OK'; close",
             unix=unix, timeout_ms=10000)
    assert_failed(o, r"clos|terminat|incomplete|end|eof|short|truncat",
                  within=5)
    assert instream_of(o)["end"], o


@pytest.mark.parametrize("reply", [
    r"stream: OK\r\n",
    r"stream: OK \0",
    r"stream: OK\x01",
    r"stream:OK\0",
    r"stream: OK\t\0",
], ids=["crlf", "trailing-space", "ctrl-byte", "no-space", "tab"])
def test_wrong_terminator(clamhook, reply):
    o = scan(clamhook, "accept; command; instream; send '%s'; close" % reply,
             timeout_ms=10000)
    assert_failed(o, r"reply|protocol|unexpected|unparsable|understood|"
                  r"clos|terminat|invalid|unknown", within=5)


def test_empty_reply(clamhook):
    """The peer closes right after the end chunk, saying nothing."""
    o = scan(clamhook, "accept; command; instream; close", timeout_ms=10000)
    assert_failed(o, r"clos|empty|no reply|eof|end of file|reset", within=5)
    assert instream_of(o)["end"], o


def test_empty_line_reply(clamhook):
    o = scan(clamhook, r"accept; command; instream; send '\0'; close",
             timeout_ms=10000)
    assert_failed(o, r"reply|protocol|unexpected|empty|unparsable|"
                  r"understood|invalid", within=5)


def test_reply_of_1mib_without_terminator(clamhook):
    o = scan(clamhook, "accept; command; instream; sendn A 1048576; hold",
             timeout_ms=10000)
    assert_failed(o, r"long|1024|1 KiB|size|reply|protocol|exceed",
                  within=5)


@pytest.mark.parametrize("reply", [
    "random 700 7",
    r"send 'PONG\0'",
    r"send 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'",
    r"send 'stream: FOUND\0'",
    r"send 'STREAM: ok\0'",
    r"send 'UNKNOWN COMMAND\n'",
    r"send 'ClamAV 1.0.7/27465/Thu Nov 21 09:33:37 2026\0'",
], ids=["random", "pong", "http", "found-no-name", "upper-case",
        "unknown-command", "version"])
def test_not_a_verdict(clamhook, reply):
    o = scan(clamhook, "accept; command; instream; %s; close" % reply,
             timeout_ms=10000)
    assert_failed(o, r"reply|protocol|unexpected|unparsable|understood|"
                  r"invalid|unknown|long|clos", within=5)


def test_command_read_timed_out(clamhook):
    """clamd gave up waiting for the client (CommandReadTimeout)."""
    o = scan(clamhook, r"accept; command; expect 100; "
             r"send 'COMMAND READ TIMED OUT\n'; close",
             message=support.filler(4 * MIB), timeout_ms=10000)
    assert_failed(o, r"COMMAND READ TIMED OUT|read tim", within=5)


def test_error_reply(clamhook):
    o = scan(clamhook, r"accept; command; instream; "
             "send \"stream: Can't allocate memory ERROR\\0\"; close",
             timeout_ms=10000)
    assert_failed(o, r"Can't allocate memory", within=5)


# -- size limit answered early -----------------------------------------------

@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_size_limit_early_reply(clamhook, unix):
    """clamd stops reading at StreamMaxLength, answers and closes while
    the client still sends: the error names the size limit, never a bare
    broken pipe, and no end chunk was sent after it."""
    o = scan(clamhook, r"accept; command; instream 102400; "
             r"send 'INSTREAM size limit exceeded. ERROR\0'; close",
             message=support.filler(20 * MIB), unix=unix, timeout_ms=10000)
    assert_failed(o, r"size limit", within=6)
    assert b"Broken pipe" not in o.err and b"broken pipe" not in o.err, o
    assert re.search(rb"StreamMaxLength|max_size", o.err), o
    st = instream_of(o)
    assert st["over_limit"] and not st["end"], o


# -- verdicts from hostile names -------------------------------------------

def test_found_named_ok(clamhook):
    """"stream: OK FOUND" is an infection named OK, not a clean scan."""
    o = scan(clamhook, r"accept; command; instream; "
             r"send 'stream: OK FOUND\0'; close", timeout_ms=10000)
    assert_infected(o, b"OK")


@pytest.mark.parametrize("name", [
    b"(null)",
    b"Heuristics.Limits.Exceeded.MaxFileSize",
], ids=["null", "heuristics-maxfilesize"])
def test_found_special_names(clamhook, name):
    o = scan(clamhook, "accept; command; instream; sendhex %s; close"
             % (b"stream: " + name + b" FOUND\0").hex(), timeout_ms=10000)
    assert_infected(o, name)


def hostile_name(n):
    """n bytes of a name meant to break lines, headers and shell quotes
    (no NUL, no newline: those end a reply)."""
    piece = (b"Evil'\"; touch PWNED; '$(touch PWNED2)`touch PWNED3`"
             b"\x1b[2J\x1b]0;x\x07%s%n%x\r\t\x7f\xff\xc3\xa9\\")
    return (piece * (n // len(piece) + 1))[:n]


def sanitized(name):
    return bytes(c if 0x20 <= c <= 0x7e else 0x3f for c in name)[:255]


def test_hostile_name_shell_verdict(clamhook):
    """A 1000-byte name full of quotes, ESC, %s and CR (a reply is at most
    1 KiB): infected, and the shell record, sourced by busybox sh, gives
    the sanitised name of at most 255 bytes and runs nothing."""
    name = hostile_name(1000)
    reply = b"stream: " + name + b" FOUND\0"
    assert len(reply) <= 1024
    o = scan(clamhook, "accept; command; instream; sendhex %s; close"
             % reply.hex(), fmt="shell", timeout_ms=10000)
    assert o.status == 1, o
    assert o.err == b"", o
    rec = o.verdict
    assert rec is not None, o
    want = sanitized(name).decode()
    d = support.check_shell(rec, "infected", virus=want,
                            verdict="Virus-Test: True ; " + want)
    assert len(d["CLAMHOOK_VIRUS"]) <= 255
    if BUSYBOX is None:
        pytest.fail("busybox is needed (toolchain/deps-debian.sh)")
    cwd = str(clamhook.tmp)
    p = subprocess.run([BUSYBOX, "sh", "-c",
                        '. "$1" && printf %s "$CLAMHOOK_VIRUS"', "sh",
                        o.verdict_path], cwd=cwd, capture_output=True,
                       timeout=10)
    assert p.returncode == 0, p
    assert p.stdout == sanitized(name), p
    assert p.stderr == b"", p
    for f in ("PWNED", "PWNED2", "PWNED3"):
        assert not os.path.exists(os.path.join(cwd, f)), f


def test_hostile_name_line_verdict(clamhook):
    name = hostile_name(1000)
    o = scan(clamhook, "accept; command; instream; sendhex %s; close"
             % (b"stream: " + name + b" FOUND\0").hex(), timeout_ms=10000)
    assert_infected(o, sanitized(name))


def test_hostile_name_4k_with_newlines(clamhook):
    """A 4 KiB name with newlines: a newline ends a reply, so the first
    line ("stream: Evil...") is no verdict, and the rest is garbage; the
    whole is longer than a reply may be.  Never clean, never infected
    with a broken name: a temporary failure."""
    name = (hostile_name(200) + b"\n") * 20
    reply = b"stream: " + name + b" FOUND\0"
    o = scan(clamhook, "accept; command; instream; sendhex %s; close"
             % reply.hex(), fmt="line", timeout_ms=10000)
    assert_failed(o, r".", within=5)
    for line in o.err.splitlines():
        assert all(0x20 <= c <= 0x7e for c in line), o


def test_hostile_name_4k_without_newline(clamhook):
    """4 KiB of name on one line: longer than a reply may be (1 KiB)."""
    name = hostile_name(4096)
    o = scan(clamhook, "accept; command; instream; sendhex %s; close"
             % (b"stream: " + name + b" FOUND\0").hex(), timeout_ms=10000)
    assert_failed(o, r"long|1024|1 KiB|size|reply|protocol|exceed",
                  within=5)
    for line in o.err.splitlines():
        assert all(0x20 <= c <= 0x7e for c in line), o


def test_debug_traffic_of_hostile_name_is_escaped(clamhook):
    """-d 2 logs the reply: escaped, nothing of it reaches the terminal
    raw (ESC, CR, BEL)."""
    name = hostile_name(1000)
    o = scan(clamhook, "accept; command; instream; sendhex %s; close"
             % (b"stream: " + name + b" FOUND\0").hex(), args=["-d", "2"],
             timeout_ms=10000)
    assert o.status == 1, o
    assert o.err != b"", o
    for line in o.err.split(b"\n")[:-1]:
        assert all(0x20 <= c <= 0x7e or c == 0x09 for c in line), \
            "raw byte in stderr line %r" % line
    assert o.err.endswith(b"\n"), o


# -- a clean answer that cannot be for the whole message -------------------

@pytest.mark.parametrize("scenario", [
    r"accept; command; expect 65536; send 'stream: OK\0'; drain",
    r"accept; command; expect 65536; send 'stream: OK\0'; hold",
    r"accept; send 'stream: OK\0'; drain",
    r"accept; command; expect 65536; send 'stream: OK\0'; close",
], ids=["then-reads-on", "then-stops-reading", "before-command",
        "then-closes"])
def test_early_ok_is_never_clean(clamhook, scenario):
    """A peer says OK before the message was sent: that OK is not for the
    whole message (SPEC §3: never clean unless clamd said OK for the
    whole message)."""
    o = scan(clamhook, scenario, message=support.filler(4 * MIB),
             timeout_ms=3000)
    assert_failed(o, r".", within=3 + SLACK)


# -- one deadline for every try -------------------------------------------

def test_deadline_spans_failover(clamhook):
    """The first server's connect hangs (1.5 s of connect_timeout_ms), the
    second never answers: the scan ends at timeout_ms (2.5 s) from the
    start, not 2.5 s after the second connect."""
    o = scan(clamhook, ["fill; sleep 30000",
                        "accept; command; instream; hold"],
             connect_timeout_ms=1500, timeout_ms=2500)
    assert_failed(o, r"tim|deadline", deadline=2.5)
    assert len(o.peers[1]["conns"]) == 1, o


def test_failover_after_reset_resends_whole_message(clamhook):
    """The first server resets mid-stream; the message (in the ring) is
    sent again from its first byte to the second, whose OK is final."""
    msg = support.filler(512 * KIB)
    o = scan(clamhook, ["accept; command; expect 65536; reset",
                        r"accept; command; instream; "
                        r"send 'stream: OK\0'; close"],
             message=msg, timeout_ms=10000,
             config={"message": {"buffer_size": 1 * MIB}})
    assert o.status == 0, o
    [over] = passed_over(o)
    assert re.search(r"reset|broken pipe|closed the connection", over, re.I), o
    assert o.verdict == b"Virus-Test: False\n", o
    st = o.peers[1]["conns"][0]["instream"]
    assert st["end"] and st["bytes"] == len(msg), o


def test_failover_after_error_reply(clamhook):
    msg = support.filler(40 * KIB)      # fits the default 64 KiB ring
    o = scan(clamhook, [r"accept; command; instream; "
                        r"send 'stream: Can not allocate memory ERROR\0'; "
                        r"close",
                        r"accept; command; instream; "
                        r"send 'stream: Second.Opinion FOUND\0'; close"],
             message=msg, timeout_ms=10000)
    assert_infected(o, b"Second.Opinion", over=1)
    assert "clamd error: Can not allocate memory; trying " in \
        passed_over(o)[0], o
    st = o.peers[1]["conns"][0]["instream"]
    assert st["end"] and st["bytes"] == len(msg), o


def test_failover_pipe_longer_than_ring(clamhook):
    """A piped message longer than the ring cannot be sent again: 75, and
    the second server never gets an end chunk after a partial message."""
    msg = support.filler(2 * MIB)
    o = scan(clamhook, ["accept; command; expect 600000; reset",
                        r"accept; command; instream; "
                        r"send 'stream: OK\0'; close"],
             message=msg, timeout_ms=10000,
             config={"message": {"buffer_size": 64 * KIB}})
    assert_failed(o, r".", within=5)
    for c in o.peers[1]["conns"]:
        st = c["instream"]
        assert st is None or not st["end"] or st["bytes"] == len(msg), o


# -- signals and the shell record ------------------------------------------

def test_sigterm_while_waiting(clamhook):
    """An MTA's timeout kills the scan while clamd says nothing: 75, the
    stale verdict removed."""
    import signal

    def term(live, peers):
        # signalled once the peer has the whole stream, so clamhook is
        # waiting for the reply (not still starting, as under valgrind)
        assert support.wait_for(lambda: any(
            e["ev"] == "instream" for e in list(peers[0].events)), 15), \
            "clamhook never sent the stream"
        assert live.proc.poll() is None, "clamhook ended before the signal"
        support.send_signal(live.pid, signal.SIGTERM)

    o = scan(clamhook, "accept; command; instream; hold", timeout_ms=20000,
             on_start=term)
    assert_failed(o, r"signal|term|interrupt|killed", within=10)


def test_shell_record_on_timeout(clamhook):
    """shell format: a failed scan writes CLAMHOOK_RESULT='error' with the
    reason, over the stale record."""
    o = scan(clamhook, r"accept; command; instream; drip 1000 'stream: OK\0'",
             fmt="shell", timeout_ms=2000)
    assert o.status == 75, o
    assert 1.9 <= o.elapsed <= 2 + SLACK, o
    support.assert_error_line(o.err)
    rec = o.verdict
    assert rec is not None, o
    d = support.check_shell(rec, "error")
    assert re.search(r"tim|deadline", d["CLAMHOOK_ERROR"], re.I), d


# -- what a clamd may do that must still work ------------------------------

def test_reply_split_across_reads(clamhook):
    o = scan(clamhook, r"accept; command; instream; send 'stream: O'; "
             r"sleep 300; send 'K'; sleep 300; send '\0'; close",
             timeout_ms=5000)
    assert o.status == 0, o
    assert o.err == b"", o
    assert o.verdict == b"Virus-Test: False\n" and o.rewritten, o


def test_drip_reply_within_deadline(clamhook):
    """A slow but timely clamd: 11 bytes 100 ms apart, 5 s deadline."""
    o = scan(clamhook, r"accept; command; instream; "
             r"drip 100 'stream: OK\0'; close", timeout_ms=5000)
    assert o.status == 0, o
    assert o.verdict == b"Virus-Test: False\n" and o.rewritten, o
    assert 0.9 <= o.elapsed <= 2 + SLACK, o


def test_unix_listen_queue_full(clamhook):
    """A Unix socket with a full queue refuses at once (EAGAIN): 75
    quickly, not a hang."""
    o = scan(clamhook, "fill; sleep 30000", unix=True, timeout_ms=10000,
             connect_timeout_ms=3000)
    assert_failed(o, r"connect|unavailable|again|refused|tim", within=4)


def test_accept_then_close_at_once(clamhook):
    o = scan(clamhook, "accept; close", message=support.filler(1 * MIB),
             timeout_ms=10000)
    assert_failed(o, r"clos|reset|broken|connection", within=5)


def test_session_reply_sent_ahead_is_never_clean(clamhook):
    """Several files (IDSESSION): the peer answers request 2 together with
    request 1, before file 2 was sent.  File 2 was never scanned: it must
    not be reported clean."""
    tmp = str(clamhook.tmp)
    a = os.path.join(tmp, "a.eml")
    b = os.path.join(tmp, "b.eml")
    with open(a, "wb") as f:
        f.write(support.mail_plain())
    with open(b, "wb") as f:
        f.write(support.filler(4 * MIB))
    o = scan(clamhook, r"accept; command; command; instream; "
             r"send '1: stream: OK\0002: stream: OK\0'; drain",
             args=[a, b], timeout_ms=4000,
             config={"message": {"buffer_size": 1 * MIB}})
    assert o.conns and o.conns[0]["commands"][:2] == \
        ["zIDSESSION\0", "zINSTREAM\0"], o
    assert o.status == 75, o
    rec = o.verdict or b""
    assert (b.encode() + b"\tVirus-Test: False\n") not in rec, o


# -- --ping against peers that are not quite clamd ---------------------------

def ping(clamhook, scenario, max_pings=1, timeout_ms=2000):
    return scan(clamhook, scenario, args=["--ping"], timeout_ms=timeout_ms,
                config={"clamd": {"max_pings": max_pings,
                                  "ping_interval_ms": 100}})


def test_ping_pong_without_terminator(clamhook):
    o = ping(clamhook, "accept; command; send PONG; close")
    assert o.status == 75, o
    support.assert_error_line(o.err)
    assert o.out == b"" or b"PONG" not in o.out, o


def test_ping_dripped_pong_bounded(clamhook):
    o = ping(clamhook, r"accept; command; drip 1000 'PONG\0'",
             timeout_ms=1500)
    assert o.status == 75, o
    support.assert_error_line(o.err)
    assert o.elapsed <= 1.5 + SLACK, o


def test_ping_hostile_version_is_sanitised(clamhook):
    """What VERSION answers is printed: never a raw control byte."""
    o = ping(clamhook, r"accept; command; send 'PONG\0'; close; "
             r"accept; command; "
             r"send 'ClamAV 1.0\x1b[2J\x1b]0;pwn\x07\r\xff/1/x\0'; close")
    assert o.status == 0, o
    assert o.out.endswith(b"\n") and o.out.count(b"\n") == 1, o
    assert all(0x20 <= c <= 0x7e for c in o.out[:-1]), o
    assert b"ClamAV 1.0" in o.out, o


def test_session_early_ok_is_never_clean(clamhook):
    """Several files: request 2 answered OK after 64 KiB of a 4 MiB file."""
    tmp = str(clamhook.tmp)
    a = os.path.join(tmp, "a.eml")
    b = os.path.join(tmp, "b.eml")
    with open(a, "wb") as f:
        f.write(support.mail_plain())
    with open(b, "wb") as f:
        f.write(support.filler(4 * MIB))
    o = scan(clamhook, r"accept; command; command; instream; "
             r"send '1: stream: OK\0'; command; expect 65536; "
             r"send '2: stream: OK\0'; drain",
             args=[a, b], timeout_ms=4000)
    assert o.conns and o.conns[0]["commands"] == \
        ["zIDSESSION\0", "zINSTREAM\0", "zINSTREAM\0"], o
    assert o.status == 75, o
    rec = o.verdict or b""
    assert (b.encode() + b"\tVirus-Test: False\n") not in rec, o
    assert re.search(rb"before the end|protocol", o.err), o


# -- One request, one reply, about what was asked (SPEC §5.1) ----------------

@pytest.mark.parametrize("reply,reason", [
    # A second reply after the first, in the same segment or after it.
    (r"send 'stream: OK\0stream: Evil FOUND\0'; close", r"after the reply"),
    (r"send 'stream: OK\0'; sleep 100; send 'stream: Evil FOUND\0'; close",
     r"after the reply, before the close"),
    (r"send 'stream: OK\0junk'; close", r"after the reply"),
    # A subject that is not the request's.
    (r"send 'fd[4]: OK\0'; close", r"not about the stream"),
    (r"send 'fd[4]: Evil FOUND\0'; close", r"not about the stream"),
    # A session number outside a session.
    (r"send '1: stream: OK\0'; close", r"session number outside a session"),
])
def test_reply_strict_never_clean(clamhook, reply, reason):
    o = scan(clamhook, "accept; command; instream; " + reply)
    assert_failed(o, reason, within=5)


def test_reply_then_silence_is_final_within_grace(clamhook):
    """A peer that answers OK and then keeps the connection open: clamhook
    waits at most a second for the close, then the OK stands."""
    o = scan(clamhook, r"accept; command; instream; send 'stream: OK\0'; "
             r"hold 5000")
    assert o.status == 0, o
    assert o.verdict == b"Virus-Test: False\n", o
    assert 0.9 <= o.elapsed <= 1.0 + SLACK, o
