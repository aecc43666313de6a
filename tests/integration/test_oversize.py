# SPDX-License-Identifier: ISC
"""max_size and on_oversize (SPEC §6), for piped and file input, and the
rule that clamhook always reads its input to the end."""

import os
import threading

import pytest

import support
from support import EICAR_NAME, KIB, MIB

MAX = 4 * KIB
SIZE = 16 * KIB


def run(clamhook, tmp_path, msg, policy, via, fmt="shell", extra=None):
    config = {"message": {"max_size": MAX, "on_oversize": policy},
              "verdict": {"format": fmt}}
    config.update(extra or {})
    if via == "file":
        path = tmp_path / "msg.eml"
        path.write_bytes(msg)
        return clamhook([str(path)], config=config)
    return clamhook(input=msg, config=config)


VIA = pytest.mark.parametrize("via", ["pipe", "file"])


def only_error_lines(err):
    """§6: a truncated scan may be logged; anything on stderr is then one
    or more 'clamhook: ' lines."""
    for line in support.stderr_lines(err):
        assert line.startswith("clamhook: "), err


@VIA
def test_truncate_eicar_beyond_max_size(clamhook, clamd, tmp_path, via):
    msg = support.message_at(8 * KIB, SIZE)
    r = run(clamhook, tmp_path, msg, "truncate", via)
    assert r.status == 0, r
    support.check_shell(r.out, "partial", server=clamd.server("tcp"),
                        nbytes=len(msg), sent=MAX)
    only_error_lines(r.err)


@VIA
def test_truncate_line_verdict_is_clean(clamhook, tmp_path, via):
    msg = support.message_at(8 * KIB, SIZE)
    r = run(clamhook, tmp_path, msg, "truncate", via, fmt="line")
    assert r.status == 0, r
    assert r.out == b"\n"
    only_error_lines(r.err)


@VIA
def test_truncate_eicar_within_max_size(clamhook, clamd, tmp_path, via):
    msg = support.message_at(KIB, SIZE)
    r = run(clamhook, tmp_path, msg, "truncate", via)
    assert r.status == 1, r
    support.check_shell(r.out, "infected", virus=EICAR_NAME,
                        verdict="Virus-Test: True ; " + EICAR_NAME,
                        server=clamd.server("tcp"), nbytes=len(msg),
                        sent=MAX)
    assert r.err == b""


@VIA
def test_exactly_max_size_is_not_oversize(clamhook, clamd, tmp_path, via):
    msg = support.message_at(KIB, MAX)
    r = run(clamhook, tmp_path, msg, "tempfail", via)
    assert r.status == 1, r
    support.check_shell(r.out, "infected", virus=EICAR_NAME,
                        verdict="Virus-Test: True ; " + EICAR_NAME,
                        server=clamd.server("tcp"), nbytes=MAX, sent=MAX)
    assert r.err == b""


@VIA
def test_accept(clamhook, tmp_path, via):
    msg = support.message_at(KIB, SIZE)     # infected, but never sent
    r = run(clamhook, tmp_path, msg, "accept", via)
    assert r.status == 0, r
    support.check_shell(r.out, "skipped", nbytes=len(msg), sent=0)
    only_error_lines(r.err)


@VIA
def test_reject(clamhook, tmp_path, via):
    msg = support.filler(SIZE)
    r = run(clamhook, tmp_path, msg, "reject", via, fmt="line")
    assert r.status == 1, r
    assert r.out == b"Virus-Test: True ; clamhook.Oversize\n"
    only_error_lines(r.err)


@VIA
def test_reject_shell(clamhook, tmp_path, via):
    msg = support.filler(SIZE)
    r = run(clamhook, tmp_path, msg, "reject", via)
    assert r.status == 1, r
    support.check_shell(r.out, "infected", virus="clamhook.Oversize",
                        verdict="Virus-Test: True ; clamhook.Oversize",
                        nbytes=len(msg), sent=0)
    only_error_lines(r.err)


@VIA
def test_tempfail(clamhook, tmp_path, via):
    msg = support.filler(SIZE)
    r = run(clamhook, tmp_path, msg, "tempfail", via, fmt="line")
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, "max_size")


def test_sun_default_max_size_truncates(clamhook, clamd):
    """§2.1: a Sun option file has max_size 1,048,576 and truncate."""
    msg = support.message_at(MIB + 4 * KIB, MIB + 64 * KIB)
    config = "HOST=127.0.0.1\nPORT=%d\nMODE=2\n" % clamd.port
    r = clamhook(input=msg, config=config)
    assert r.status == 0, r
    assert r.out == b"Virus-Test: False\n"
    only_error_lines(r.err)
    msg = support.message_at(MIB - 4 * KIB, MIB + 64 * KIB)
    r = clamhook(input=msg, config=config)
    assert r.status == 1, r
    assert r.out == b"Virus-Test: True ; %s\n" % EICAR_NAME.encode()


class Producer(threading.Thread):
    """Writes total bytes into a pipe's write end, recording how many went
    through and any error (EPIPE shows as BrokenPipeError: Python ignores
    SIGPIPE)."""

    def __init__(self, fd, total, block=MIB):
        super().__init__(daemon=True)
        self.fd, self.total, self.block = fd, total, block
        self.written = 0
        self.error = None

    def run(self):
        data = support.filler(self.block)
        try:
            while self.written < self.total:
                n = os.write(self.fd, data[:min(self.block,
                                                self.total - self.written)])
                self.written += n
        except OSError as e:
            self.error = e
        finally:
            os.close(self.fd)


@pytest.mark.parametrize("policy,status", [
    ("truncate", 0), ("accept", 0), ("reject", 1), ("tempfail", 75)])
def test_input_always_drained(clamhook, policy, status):
    """A 50 MiB producer never sees a broken pipe, whatever clamhook does
    with the message past max_size."""
    total = 50 * MIB
    rfd, wfd = os.pipe()
    producer = Producer(wfd, total)

    def start(live):
        os.close(rfd)
        producer.start()

    try:
        r = clamhook(stdin=rfd, on_start=start, timeout=60, config={
            "message": {"max_size": MIB, "on_oversize": policy}})
    finally:
        if producer.ident is None:      # clamhook never started
            os.close(rfd)
            os.close(wfd)
        else:
            producer.join(30)
    assert r.status == status, r
    assert producer.error is None, producer.error
    assert producer.written == total
    if status == 75:
        support.assert_error_line(r.err, "max_size")
    else:
        only_error_lines(r.err)
