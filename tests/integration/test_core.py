# SPDX-License-Identifier: ISC
"""Core scanning against a real clamd: SPEC §1, §3, §4.1 (mode 1 line
verdicts, the defaults), §5.1, §5.2 (server forms), §5.4, §6."""

import os
import subprocess

import pytest

import support
from eicar import eicar
from support import EICAR_NAME, KIB, MIB

INFECTED = b"Virus-Test: True ; " + EICAR_NAME.encode() + b"\n"
CLEAN = b"\n"


def test_clamd_fixture_detects(clamd):
    """The private clamd itself: PONG, and our signatures as expected."""
    assert clamd.ping() == "PONG"
    assert clamd.scan(eicar()) == "stream: %s FOUND" % EICAR_NAME
    assert clamd.scan(support.mail_plain()) == "stream: OK"
    assert support.clamd_instream(clamd.socket, eicar()) == \
        "stream: %s FOUND" % EICAR_NAME


def test_clean_message(clamhook):
    r = clamhook(input=support.mail_plain())
    assert r.status == 0, r
    assert r.out == CLEAN
    assert r.err == b""


@pytest.mark.parametrize("builder", [
    eicar,
    support.mail_eicar_plain,
    support.mail_eicar_attachment,
    support.mail_eicar_zip,
], ids=["raw", "plain", "base64-attachment", "zip-attachment"])
def test_infected_message(clamhook, builder):
    r = clamhook(input=builder())
    assert r.status == 1, r
    assert r.out == INFECTED
    assert r.err == b""


def test_empty_message(clamhook):
    r = clamhook(input=b"")
    assert r.status == 0, r
    assert r.out == CLEAN
    assert r.err == b""


def test_binary_message_with_nuls(clamhook):
    r = clamhook(input=support.mail_binary())
    assert r.status == 0, r
    assert r.out == CLEAN
    assert r.err == b""


@pytest.mark.parametrize("chunk", [8192, 1024])
def test_signature_straddles_chunk_boundary(clamhook, chunk):
    msg = support.message_straddling(chunk_size=chunk, before=30)
    assert msg.index(eicar()) == chunk - 30
    r = clamhook(input=msg, config={"clamd": {"chunk_size": chunk}})
    assert r.status == 1, r
    assert r.out == INFECTED
    assert r.err == b""


def test_file_argument(clamhook, tmp_path):
    clean = tmp_path / "clean.eml"
    clean.write_bytes(support.mail_plain())
    bad = tmp_path / "bad.eml"
    bad.write_bytes(support.mail_eicar_attachment())
    r = clamhook([str(clean)])
    assert (r.status, r.out, r.err) == (0, CLEAN, b""), r
    r = clamhook([str(bad)])
    assert (r.status, r.out, r.err) == (1, INFECTED, b""), r


def test_dash_is_stdin(clamhook):
    r = clamhook(["-"], input=eicar())
    assert (r.status, r.out, r.err) == (1, INFECTED, b""), r


def test_missing_file_argument(clamhook, tmp_path):
    path = str(tmp_path / "nonexistent.eml")
    r = clamhook([path])
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, path, "No such file or directory")


def test_several_files(clamhook, tmp_path):
    """§5.4: one record per file in argument order, each line prefixed by
    the file name and a TAB; the status is the worst one."""
    a = tmp_path / "a.eml"
    a.write_bytes(support.mail_plain())
    b = tmp_path / "b.eml"
    b.write_bytes(support.mail_eicar_zip())
    r = clamhook([str(a), str(b)])
    assert r.status == 1, r
    assert r.out == (str(a).encode() + b"\t" + CLEAN
                     + str(b).encode() + b"\t" + INFECTED)
    assert r.err == b""


@pytest.mark.parametrize("kind", ["tcp", "unix", "ipv6", "localhost"])
def test_server_forms_give_same_verdicts(clamhook, clamd, kind):
    if kind == "ipv6" and not clamd.ipv6:
        pytest.skip("this host has no ::1 loopback address, so clamd "
                    "cannot listen on it")
    config = {"clamd": {"server": clamd.server(kind)}}
    r = clamhook(input=support.mail_plain(), config=config)
    assert (r.status, r.out, r.err) == (0, CLEAN, b""), r
    r = clamhook(input=support.mail_eicar_attachment(), config=config)
    assert (r.status, r.out, r.err) == (1, INFECTED, b""), r


def test_port_key_for_entries_without_port(clamhook, clamd):
    config = {"clamd": {"server": "127.0.0.1", "port": clamd.port}}
    r = clamhook(input=eicar(), config=config)
    assert (r.status, r.out, r.err) == (1, INFECTED, b""), r


def test_clamd_not_running(clamhook, tmp_path):
    port = support.closed_port()
    vdir = tmp_path / "verdicts"
    vdir.mkdir()
    out = vdir / "verdict"
    r = clamhook(input=support.mail_plain(), config={
        "clamd": {"server": "127.0.0.1:%d" % port, "timeout_ms": 5000},
        "verdict": {"output": str(out)}}, timeout=20)
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, "127.0.0.1", str(port),
                              "Connection refused")
    assert os.listdir(vdir) == []
    assert r.elapsed < 10


def test_failover_to_a_live_server(clamhook, clamd):
    """§5.2: a connect failure moves on to the next server."""
    port = support.closed_port()
    r = clamhook(input=eicar(), config={"clamd": {
        "server": ["127.0.0.1:%d" % port, clamd.server("tcp")],
        "balance": "failover"}})
    assert r.status == 1, r
    assert r.out == INFECTED
    # A warning about the dead server is allowed; nothing else.
    for line in support.stderr_lines(r.err):
        assert line.startswith("clamhook: "), r


def test_big_piped_message_bounded_memory(clamhook, tmp_path):
    """§6: a 100 MiB message through a pipe is scanned with the same peak
    memory as a small one (boundedness, not speed).  Peak RSS is the
    process's own VmHWM (conftest rss_launcher).  The ring is touched
    whole at start-up, so the peaks are the same within 10%."""
    config = {"message": {"max_size": 0}}
    small = clamhook(input=support.filler(KIB), config=config,
                     measure_rss=True)
    assert (small.status, small.out, small.err) == (0, CLEAN, b""), small
    medium = clamhook(input=support.filler(MIB), config=config,
                      measure_rss=True)
    assert (medium.status, medium.out, medium.err) == (0, CLEAN, b""), medium

    path = support.write_big_message(str(tmp_path / "big.eml"), 100 * MIB)
    cat = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
    try:
        big = clamhook(stdin=cat.stdout, config=config, timeout=120,
                       measure_rss=True)
    finally:
        cat.stdout.close()
        cat.wait(30)
    os.unlink(path)
    assert cat.returncode == 0
    assert (big.status, big.out, big.err) == (0, CLEAN, b""), big
    assert small.maxrss_kib and big.maxrss_kib and medium.maxrss_kib
    print("peak RSS KiB: 1 KiB %d, 1 MiB %d, 100 MiB %d; 100 MiB took %.1f s"
          % (small.maxrss_kib, medium.maxrss_kib, big.maxrss_kib,
             big.elapsed))
    assert big.maxrss_kib <= small.maxrss_kib * 1.10, \
        (small.maxrss_kib, big.maxrss_kib)
    assert big.maxrss_kib <= medium.maxrss_kib * 1.10, \
        (medium.maxrss_kib, big.maxrss_kib)


def test_clamd_stream_max_length(clamhook, make_clamd):
    """§6: clamd's 'INSTREAM size limit exceeded' names StreamMaxLength and
    max_size, status 75."""
    small = make_clamd(StreamMaxLength="100K")
    r = clamhook(input=support.filler(200 * KIB), config={
        "clamd": {"server": small.server("tcp")},
        "message": {"max_size": 0}}, timeout=30)
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, "StreamMaxLength", "max_size")
    assert "Broken pipe" not in r.err.decode()


def test_clamd_stream_max_length_on_error_accept(clamhook, make_clamd):
    small = make_clamd(StreamMaxLength="100K")
    r = clamhook(input=support.filler(200 * KIB), config={
        "clamd": {"server": small.server("tcp")},
        "message": {"max_size": 0},
        "verdict": {"on_error": "accept"}}, timeout=30)
    assert r.status == 0, r
    assert r.out == b""     # a failed scan writes no line verdict (§4.3)
    support.assert_error_line(r.err, "StreamMaxLength", "max_size")
