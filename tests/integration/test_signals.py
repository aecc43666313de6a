# SPDX-License-Identifier: ISC
"""Signals during a scan (SPEC §3): SIGTERM, SIGINT and SIGHUP end in 75,
with no temporary file and no clean verdict left behind."""

import fcntl
import os
import signal
import termios
import time

import pytest

import support

SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


def pipe_pending(fd):
    """Bytes waiting in the pipe fd belongs to (FIONREAD works on either
    end of a Linux pipe)."""
    buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    return int.from_bytes(buf, "little")


def scan_interrupted(clamhook, tmp_path, sig, prepare=None, fmt="line"):
    """Run clamhook on a pipe that a slow producer keeps open, wait until
    clamhook has read the first part (it is scanning then), send sig, and
    return (run, verdict dir, verdict path)."""
    vdir = tmp_path / "v"
    vdir.mkdir()
    path = vdir / "verdict"
    if prepare:
        prepare(path)
    rfd, wfd = os.pipe()
    sent = {}

    def start(live):
        os.close(rfd)
        os.write(wfd, support.mail_plain()[:200])
        # clamhook has taken the bytes: past the config, into the scan
        ok = support.wait_for(lambda: pipe_pending(wfd) == 0, 10)
        assert ok, "clamhook did not read its input within 10 s"
        os.write(wfd, support.filler(1024))
        time.sleep(0.2)
        assert live.proc.poll() is None, "clamhook ended before the signal"
        sent["t"] = time.monotonic()
        support.send_signal(live.pid, sig)

    try:
        r = clamhook(stdin=rfd, on_start=start, timeout=30, config={
            "clamd": {"timeout_ms": 60000},
            "verdict": {"output": str(path), "format": fmt}})
    finally:
        try:
            os.close(wfd)
        except OSError:
            pass
        if "t" not in sent:
            try:
                os.close(rfd)
            except OSError:
                pass
    return r, vdir, path


@pytest.mark.parametrize("sig", SIGNALS, ids=[s.name for s in SIGNALS])
def test_signal_during_scan(clamhook, tmp_path, sig):
    r, vdir, path = scan_interrupted(clamhook, tmp_path, sig)
    assert not r.timed_out, r
    assert r.status == 75, r     # not killed by the signal: handled
    assert r.out == b""
    assert os.listdir(vdir) == []
    # §3: every 75 comes with one line saying which failure it was
    support.assert_error_line(r.err)


@pytest.mark.parametrize("fmt", ["line", "shell"])
def test_signal_leaves_no_stale_clean_verdict(clamhook, tmp_path, fmt):
    """A clean verdict from an earlier run at the path does not survive an
    interrupted scan (fail closed, §3 and §4.3)."""
    def stale(path):
        path.write_bytes(b"Virus-Test: False\n")

    r, vdir, path = scan_interrupted(clamhook, tmp_path, signal.SIGTERM,
                                     prepare=stale, fmt=fmt)
    assert r.status == 75, r
    left = os.listdir(vdir)
    assert left in ([], ["verdict"]), left
    if left:
        data = path.read_bytes()
        assert data != b"Virus-Test: False\n", data
        assert b"clean" not in data, data
    support.assert_error_line(r.err)
