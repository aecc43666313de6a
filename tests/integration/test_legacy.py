# SPDX-License-Identifier: ISC
"""protocol = stream: the legacy STREAM / PORT exchange (SPEC §5.1) against
a scripted clamd of the 0.103 era (tests/peer/legacy_clamd.py), a real
modern clamd (which has no STREAM) and a SOCKS proxy (microsocks)."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

import support
from eicar import eicar

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "peer"))
from legacy_clamd import LegacyClamd, SIGNATURE  # noqa: E402
from socks_peer import SocksPeer  # noqa: E402

FOUND_LINE = ("Virus-Test: True ; %s\n" % SIGNATURE).encode()


@pytest.fixture
def peer():
    started = []

    def make(mode="ok", **kw):
        p = LegacyClamd(mode, max_seconds=60, **kw).start()
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def stream_config(*servers, **clamd):
    keys = {"server": list(servers), "protocol": "stream",
            "balance": "failover"}
    keys.update(clamd)
    return {"clamd": keys}


def addr(p):
    return "127.0.0.1:%d" % p.port


def write(tmp, name, data):
    path = os.path.join(str(tmp), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def one_stream(p):
    """The one STREAM connection the peer saw."""
    conns = p.stop()
    assert len(conns) == 1, conns
    assert conns[0]["command"] == "STREAM", conns
    return conns[0]


def test_clean(clamhook, peer, tmp_path):
    p = peer()
    msg = support.mail_plain()
    status, out, err, _ = clamhook([write(tmp_path, "m", msg)],
                                   config=stream_config(addr(p)))
    assert (status, out, err) == (0, b"\n", b"")
    rec = one_stream(p)
    assert rec["data"] == msg
    assert rec["data_end"] == "eof"
    assert rec["verdict"] == "stream: OK"


def test_eicar_file_and_pipe(clamhook, peer, tmp_path):
    p = peer()
    msg = support.message_at(100000, 300000)
    path = write(tmp_path, "m", msg)
    status, out, err, _ = clamhook([path], config=stream_config(addr(p)))
    assert (status, out, err) == (1, FOUND_LINE, b"")
    status, out, err, _ = clamhook([], input=msg,
                                   config=stream_config(addr(p)))
    assert (status, out, err) == (1, FOUND_LINE, b"")
    conns = p.stop()
    assert [c["data"] == msg for c in conns] == [True, True]
    assert [c["data_end"] for c in conns] == ["eof", "eof"]


def test_shell_record(clamhook, peer, tmp_path):
    p = peer()
    msg = support.mail_plain()
    status, out, err, _ = clamhook(
        [write(tmp_path, "m", msg)],
        config=dict(stream_config(addr(p)), verdict={"format": "shell"}))
    assert status == 0 and err == b"", (out, err)
    support.check_shell(out, "clean", server=addr(p), nbytes=len(msg),
                        sent=len(msg))


def test_refused_data_port(clamhook, peer, tmp_path):
    p = peer("refuse")
    status, out, err, _ = clamhook([write(tmp_path, "m", b"hello\n")],
                                   config=stream_config(addr(p)))
    rec = one_stream(p)
    assert (status, out) == (75, b"")
    assert err == ("clamhook: %s: data connection 127.0.0.1:%d: connect: "
                   "Connection refused\n" % (addr(p), rec["port"])).encode()
    assert rec["cmd_end"] == "eof"


HOSTILE = ["PORT 0", "PORT 70000", "PORT 65536", "PORT abc", "PORT 12 junk",
           "PORT", "PORT ", "PORT -1", "PORT +80", "port 1234", "PORT 123456",
           "PORT 80 ", " PORT 80", "PORT\t80", "stream: OK",
           "stream: Eicar-Test-Signature FOUND", "PONG"]


@pytest.mark.parametrize("line", HOSTILE)
def test_hostile_port_line(clamhook, peer, tmp_path, line):
    p = peer("line", port_line=line)
    status, out, err, _ = clamhook([write(tmp_path, "m", eicar())],
                                   config=stream_config(addr(p)))
    rec = one_stream(p)
    shown = line.replace("\t", "?")
    assert (status, out) == (75, b"")
    assert err == ('clamhook: %s: clamd answered STREAM with "%s"\n'
                   % (addr(p), shown)).encode()
    assert rec["data_end"] is None
    assert rec["cmd_end"] == "eof"


def test_overlong_port_line(clamhook, peer, tmp_path):
    p = peer("line", port_line="PORT " + "1" * 2043)
    status, out, err, _ = clamhook([write(tmp_path, "m", b"x\n")],
                                   config=stream_config(addr(p)))
    assert (status, out) == (75, b"")
    assert err == ("clamhook: %s: reply longer than 1024 bytes\n"
                   % addr(p)).encode()
    assert one_stream(p)["data_end"] is None


def test_unknown_command_from_peer(clamhook, peer, tmp_path):
    p = peer("unknown")
    status, out, err, _ = clamhook([write(tmp_path, "m", b"x\n")],
                                   config=stream_config(addr(p)))
    assert (status, out) == (75, b"")
    assert err == ("clamhook: %s: this clamd has no STREAM (removed in "
                   "0.104); use instream\n" % addr(p)).encode()


def test_modern_clamd_has_no_stream(clamhook, clamd, tmp_path):
    status, out, err, _ = clamhook([write(tmp_path, "m", b"x\n")],
                                   config=stream_config(clamd.server()))
    assert (status, out) == (75, b"")
    assert err == ("clamhook: %s: this clamd has no STREAM (removed in "
                   "0.104); use instream\n" % clamd.server()).encode()


@pytest.mark.parametrize("infected", [False, True])
def test_failover_from_modern_clamd(clamhook, clamd, peer, tmp_path,
                                    infected):
    p = peer()
    msg = support.mail_eicar_plain() if infected else support.mail_plain()
    status, out, err, _ = clamhook(
        [write(tmp_path, "m", msg)],
        config=stream_config(clamd.server(), addr(p)))
    assert (status, out) == ((1, FOUND_LINE) if infected else (0, b"\n"))
    assert support.assert_passed_over(
        err, clamd.server(), "this clamd has no STREAM", addr(p)) == b""
    assert one_stream(p)["data"] == msg


def test_failover_after_refused_data_port(clamhook, peer, tmp_path):
    bad, good = peer("refuse"), peer()
    msg = support.mail_plain()
    status, out, err, _ = clamhook([write(tmp_path, "m", msg)],
                                   config=stream_config(addr(bad), addr(good)))
    assert (status, out) == (0, b"\n")
    assert support.assert_passed_over(
        err, addr(bad), "data connection", addr(good)) == b""
    assert one_stream(good)["data"] == msg


@pytest.mark.parametrize("how", ["file", "pipe"])
def test_max_size_truncates(clamhook, peer, tmp_path, how):
    p = peer()
    msg = support.message_at(3000, 6000)     # EICAR past the limit
    cfg = dict(stream_config(addr(p)), message={"max_size": 1000},
               verdict={"format": "shell"})
    if how == "file":
        r = clamhook([write(tmp_path, "m", msg)], config=cfg)
    else:
        r = clamhook([], input=msg, config=cfg)
    assert r.status == 0 and r.err == b"", r
    support.check_shell(r.out, "partial", server=addr(p), nbytes=len(msg),
                        sent=1000)
    rec = one_stream(p)
    assert rec["data"] == msg[:1000]
    assert rec["data_end"] == "eof"


def test_oversize_reject_pipe_aborts_data(clamhook, peer):
    """A pipe found too long while streaming: the data connection is reset,
    so the old clamd never scans a part as if it were the message."""
    p = peer()
    msg = support.filler(200000)
    r = clamhook([], input=msg, config=dict(
        stream_config(addr(p)),
        message={"max_size": 50000, "on_oversize": "reject",
                 "buffer_size": 8192}))
    assert (r.status, r.out, r.err) == \
        (1, b"Virus-Test: True ; clamhook.Oversize\n", b""), r
    rec = one_stream(p)
    assert rec["data_end"] == "reset"
    assert rec["verdict"] is None


def test_read_error_resets_both_connections(clamhook, peer):
    """A read error on the message (here /proc/self/mem, which fails with
    EIO) must not end the data connection cleanly: STREAM has no end
    marker, so a close would have clamd scan a truncated message."""
    p = peer()
    status, out, err, _ = clamhook(["/proc/self/mem"],
                                   config=stream_config(addr(p)))
    assert (status, out) == (75, b"")
    # strerror(EIO): "I/O error" (musl), "Input/output error" (glibc).
    assert re.fullmatch(r"clamhook: %s: /proc/self/mem: read error: "
                        r"(I/O|Input/output) error\n" % re.escape(addr(p)),
                        err.decode()), err
    rec = one_stream(p)
    assert rec["data_end"] == "reset"
    assert rec["verdict"] is None
    assert rec["cmd_end"] in ("eof", "reset")


def test_stalled_pipe_resets_data(clamhook, peer):
    """The message stops coming before its end and the deadline passes:
    the data connection is reset, not closed."""
    p = peer()
    rfd, wfd = os.pipe()
    os.write(wfd, support.filler(5000))
    try:
        r = clamhook([], stdin=rfd, timeout=20,
                     config=stream_config(addr(p), timeout_ms=1000))
    finally:
        os.close(rfd)
        os.close(wfd)
    assert (r.status, r.out) == (75, b""), r
    support.assert_error_line(r.err, "timed out waiting for the message")
    rec = one_stream(p)
    assert rec["data"] == support.filler(5000)
    assert rec["data_end"] == "reset"
    assert rec["verdict"] is None


def test_early_ok_is_no_verdict(clamhook, peer, tmp_path):
    """An old clamd stops reading at its StreamMaxLength and answers OK for
    what it got: that OK covers a part only, so it is an error."""
    p = peer("early", early_after=10000)
    msg = support.message_at(150000, 400000)
    status, out, err, _ = clamhook([write(tmp_path, "m", msg)],
                                   config=stream_config(addr(p)))
    assert (status, out) == (75, b"")
    # Seen while sending (clamd's early reply) or at the end (the reset
    # of the data connection, which names StreamMaxLength).
    support.assert_error_line(err, addr(p), "before the end of the message")


def test_reset_before_the_end_is_no_verdict(clamhook, peer):
    """clamd resets the data connection after the last byte was written
    but before clamhook ends it: the half-close then finds the socket no
    longer connected, which is the same early end, not a clean scan.  The
    message comes from a pipe held open until the peer has closed."""
    msg = support.message_at(1000, 20000)
    # The peer stops one byte short, so all of the message was written
    # before its reset, and answers OK only after clamhook has finished.
    p = peer("early", early_after=len(msg) - 1, reply_delay=3)
    pipe = support.Pipe()

    def produce(live):
        pipe.close_r()
        os.write(pipe.w, msg)
        assert support.wait_for(
            lambda: p.conns and p.conns[0]["data_closed"], 10)
        time.sleep(0.2)         # the reset reaches clamhook's socket
        pipe.close_w()

    try:
        status, out, err, _ = clamhook(stdin=pipe.r, on_start=produce,
                                       config=stream_config(addr(p)))
    finally:
        pipe.close()
    assert (status, out) == (75, b"")
    support.assert_error_line(err, addr(p), "before the end of the message",
                              "StreamMaxLength")


@pytest.fixture
def microsocks():
    exe = shutil.which("microsocks")
    if exe is None:
        pytest.fail("microsocks not installed (toolchain/deps-debian.sh)",
                    pytrace=False)
    port = support.free_port()
    # -b: the proxy's own connections leave from 127.0.0.3, so a peer can
    # tell them from direct ones.
    proc = subprocess.Popen([exe, "-i", "127.0.0.1", "-p", str(port),
                             "-b", "127.0.0.3"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            if time.monotonic() > end or proc.poll() is not None:
                proc.kill()
                pytest.fail("microsocks did not start", pytrace=False)
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.mark.parametrize("infected", [False, True])
def test_through_socks(clamhook, peer, microsocks, tmp_path, infected):
    p = peer()
    msg = support.mail_eicar_plain() if infected else support.mail_plain()
    cfg = dict(stream_config(addr(p)),
               socks={"server": "127.0.0.1:%d" % microsocks})
    status, out, err, _ = clamhook([write(tmp_path, "m", msg)], config=cfg)
    assert (status, out, err) == ((1, FOUND_LINE, b"") if infected
                                  else (0, b"\n", b""))
    rec = one_stream(p)
    assert rec["cmd_from"] == "127.0.0.3"
    assert rec["data_from"] == "127.0.0.3"
    assert rec["data"] == msg


def test_debug_names_the_exchange(clamhook, peer, tmp_path):
    p = peer()
    r = clamhook(["-d", "2", write(tmp_path, "m", b"hello\n")],
                 config=stream_config(addr(p)))
    assert (r.status, r.out) == (0, b"\n"), r
    text = r.err.decode()
    rec = one_stream(p)
    assert '-> 8 bytes "zSTREAM\\0"' in text
    assert "reply from %s: PORT %d" % (addr(p), rec["port"]) in text
    assert "sent 6 bytes" in text


def test_ipv6_server_has_no_data_connection(clamhook, peer, tmp_path):
    """clamd 0.103 takes STREAM data on IPv4 only (SPEC §5.1): a server
    at an IPv6 address other than ::1 (reached here through a SOCKS relay
    to the peer, which answers PORT) has nowhere to send the data: 75 with
    that reason, and no data connection is tried (the peer waits 1 s for
    one)."""
    p = peer(io_timeout=1)
    relay = SocksPeer({"target": addr(p), "max_seconds": 60})
    relay.start()
    try:
        cfg = dict(stream_config("[2001:db8::10]:3310"),
                   socks={"server": "127.0.0.1:%d" % relay.port})
        r = clamhook([write(tmp_path, "m", b"hello\n")], config=cfg)
    finally:
        relay.stop()
        relay.join(10)
    assert (r.status, r.out) == (75, b""), r
    support.assert_error_line(r.err, "[2001:db8::10]:3310",
                              "STREAM data on IPv4 only")
    rec = one_stream(p)
    assert rec["port"] is not None and rec["data_from"] is None, rec

