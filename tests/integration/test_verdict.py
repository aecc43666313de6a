# SPDX-License-Identifier: ISC
"""Verdicts: SPEC §4.1 modes, §4.2 formats, §4.3 destinations, §7 debug."""

import os
import re
import select
import stat
import threading
import time

import pytest

import support
from eicar import eicar
from support import EICAR_NAME

VERDICT = "HOLD-FOR-REVIEW"


def message(infected):
    if infected:
        return support.mail_eicar_attachment()
    return support.mail_plain()


def expected(clamhook, fmt, mode, infected, field="Virus-Test"):
    virus = EICAR_NAME if infected else None
    if fmt == "line":
        return support.expected_line(mode, virus, field, VERDICT)
    if fmt == "james":
        return support.expected_james(virus)
    if fmt == "milter":
        return support.expected_milter(virus, clamhook.version())
    raise ValueError(fmt)


@pytest.mark.parametrize("infected", [False, True], ids=["clean", "infected"])
@pytest.mark.parametrize("fmt", ["line", "james", "milter", "shell"])
@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_mode_and_format(clamhook, clamd, mode, fmt, infected):
    msg = message(infected)
    r = clamhook(input=msg, config={"verdict": {
        "mode": mode, "format": fmt, "verdict": VERDICT}})
    assert r.status == (1 if infected else 0), r
    assert r.err == b""
    if fmt == "shell":
        virus = EICAR_NAME if infected else None
        support.check_shell(
            r.out, "infected" if infected else "clean",
            virus=virus or "",
            verdict=support.mode_string(mode, virus, verdict=VERDICT),
            server=clamd.server("tcp"), nbytes=len(msg), sent=len(msg))
    else:
        assert r.out == expected(clamhook, fmt, mode, infected)


def test_milter_version_is_clamhooks(clamhook):
    r = clamhook(input=support.mail_plain(),
                 config={"verdict": {"format": "milter"}})
    assert r.status == 0, r
    m = re.fullmatch(rb"X-Virus-Scanned: clamhook (\S+)\nX-Virus-Status: "
                     rb"Clean\n", r.out)
    assert m, r
    v = clamhook(["-V"], config=False)
    assert v.status == 0, v
    assert m.group(1) in v.out, (m.group(1), v.out)


@pytest.mark.parametrize("field,clean,infected", [
    ("X-Virus", "X-Virus: False", "X-Virus: True ; " + EICAR_NAME),
    ("", "False", "True ; " + EICAR_NAME),
], ids=["custom", "empty"])
def test_field(clamhook, field, clean, infected):
    config = {"verdict": {"mode": 2, "field": field}}
    if field == "":
        # "field =" with nothing after it: an empty value
        config = "[clamd]\nserver = %s\n[verdict]\nmode = 2\nfield =\n" % \
            clamhook.base["clamd"]["server"]
    r = clamhook(input=support.mail_plain(), config=config)
    assert (r.status, r.out, r.err) == (0, (clean + "\n").encode(), b""), r
    r = clamhook(input=eicar(), config=config)
    assert (r.status, r.out, r.err) == (1, (infected + "\n").encode(),
                                        b""), r


# --- destinations (§4.3) ----------------------------------------------------

def test_output_file_exact_and_atomic(clamhook, tmp_path):
    vdir = tmp_path / "v"
    vdir.mkdir()
    path = vdir / "verdict"
    path.write_bytes(b"old verdict\n")
    old_inode = os.stat(path).st_ino
    r = clamhook(input=eicar(), config={"verdict": {"output": str(path)}})
    assert (r.status, r.out, r.err) == (1, b"", b""), r
    assert path.read_bytes() == support.expected_line(1, EICAR_NAME)
    # replaced by rename, not rewritten in place; no temporary file left
    assert os.stat(path).st_ino != old_inode
    assert os.listdir(vdir) == ["verdict"]
    assert stat.S_ISREG(os.lstat(path).st_mode)


def test_output_file_reader_never_sees_a_part(clamhook, tmp_path):
    """A reader polling the path sees the old record or the new one, whole."""
    vdir = tmp_path / "v"
    vdir.mkdir()
    path = vdir / "verdict"
    records = {support.expected_line(2, None),
               support.expected_line(2, EICAR_NAME)}
    path.write_bytes(support.expected_line(2, None))
    seen, bad, stop = [0], [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                bad.append(b"<missing>")
                continue
            seen[0] += 1
            if data not in records:
                bad.append(data)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        for i in range(10):
            r = clamhook(input=eicar() if i % 2 else support.mail_plain(),
                         config={"verdict": {"mode": 2,
                                             "output": str(path)}})
            assert r.status == i % 2, r
            assert r.err == b""
    finally:
        stop.set()
        t.join(10)
    assert bad == []
    assert seen[0] > 0
    assert os.listdir(vdir) == ["verdict"]


def test_output_symlink_is_replaced_not_followed(clamhook, tmp_path):
    vdir = tmp_path / "v"
    vdir.mkdir()
    target = tmp_path / "precious.txt"
    target.write_bytes(b"precious\n")
    path = vdir / "verdict"
    os.symlink(str(target), str(path))
    dangling = vdir / "verdict2"
    os.symlink(str(tmp_path / "created-elsewhere"), str(dangling))

    r = clamhook(input=eicar(), config={"verdict": {"output": str(path)}})
    assert (r.status, r.out, r.err) == (1, b"", b""), r
    assert target.read_bytes() == b"precious\n"
    assert stat.S_ISREG(os.lstat(path).st_mode)
    assert path.read_bytes() == support.expected_line(1, EICAR_NAME)

    r = clamhook(input=eicar(), config={"verdict": {"output": str(dangling)}})
    assert (r.status, r.out, r.err) == (1, b"", b""), r
    assert not os.path.lexists(tmp_path / "created-elsewhere")
    assert stat.S_ISREG(os.lstat(dangling).st_mode)
    assert dangling.read_bytes() == support.expected_line(1, EICAR_NAME)
    assert sorted(os.listdir(vdir)) == ["verdict", "verdict2"]


class FifoReader(threading.Thread):
    """Reads a FIFO until its writer closes, bounded by timeout.  Opened
    non-blocking before clamhook starts, so clamhook finds a reader."""

    def __init__(self, path, timeout=20):
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.timeout = timeout
        self.data = b""
        self.reads = 0
        self.eof = False

    def run(self):
        end = time.monotonic() + self.timeout
        try:
            while time.monotonic() < end:
                ready, _, _ = select.select([self.fd], [], [],
                                            max(0, end - time.monotonic()))
                if not ready:
                    continue
                try:
                    b = os.read(self.fd, 65536)
                except BlockingIOError:
                    continue
                if not b:
                    if self.reads:
                        self.eof = True
                        return
                    # Linux reports EOF before any writer only if one came
                    # and went; wait a little and look again.
                    time.sleep(0.01)
                    continue
                self.reads += 1
                self.data += b
        finally:
            os.close(self.fd)


def test_output_fifo_with_reader(clamhook, tmp_path):
    fifo = str(tmp_path / "verdict.fifo")
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    reader.start()
    r = clamhook(input=eicar(), config={"verdict": {"output": fifo,
                                                    "format": "milter"}})
    reader.join(25)
    assert (r.status, r.out, r.err) == (1, b"", b""), r
    assert reader.data == support.expected_milter(EICAR_NAME,
                                                  clamhook.version())
    assert reader.reads == 1    # one write(2): one read gets it all
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_fifo_without_reader_times_out(clamhook, tmp_path):
    fifo = str(tmp_path / "verdict.fifo")
    os.mkfifo(fifo)
    r = clamhook(input=support.mail_plain(), config={
        "clamd": {"timeout_ms": 1500}, "verdict": {"output": fifo}},
        timeout=20)
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, fifo)
    assert 1.0 <= r.elapsed <= 5.0, r.elapsed
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_fd(clamhook, tmp_path):
    path = tmp_path / "fd-output"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        r = clamhook(input=eicar(), pass_fds=(fd,),
                     config={"verdict": {"output": "fd:%d" % fd,
                                         "format": "james"}})
    finally:
        os.close(fd)
    assert (r.status, r.out, r.err) == (1, b"", b""), r
    assert path.read_bytes() == b"X-MessageIsInfected: true\n"


def test_output_fd_not_open(clamhook):
    fd = 57     # not passed: closed in clamhook
    r = clamhook(input=support.mail_plain(),
                 config={"verdict": {"output": "fd:%d" % fd}})
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err)


def test_output_stdout_explicit(clamhook):
    r = clamhook(input=support.mail_plain(),
                 config={"verdict": {"output": "-", "mode": 2}})
    assert (r.status, r.out, r.err) == (0, b"Virus-Test: False\n", b""), r


def test_output_directory_missing(clamhook, tmp_path):
    path = str(tmp_path / "no-such-dir" / "verdict")
    r = clamhook(input=support.mail_plain(),
                 config={"verdict": {"output": path}})
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err)
    assert not os.path.exists(tmp_path / "no-such-dir")


# --- failed scans (§4.3) ----------------------------------------------------

@pytest.mark.parametrize("fmt", ["line", "james", "milter"])
def test_failed_scan_removes_stale_verdict(clamhook, tmp_path, fmt):
    vdir = tmp_path / "v"
    vdir.mkdir()
    path = vdir / "verdict"
    config = {"verdict": {"format": fmt, "mode": 2, "output": str(path)}}
    r = clamhook(input=support.mail_plain(), config=config)
    assert r.status == 0, r
    assert path.exists()
    stale = path.read_bytes()
    assert stale != b""
    port = support.closed_port()
    config["clamd"] = {"server": "127.0.0.1:%d" % port, "timeout_ms": 5000}
    r = clamhook(input=support.mail_plain(), config=config)
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, "Connection refused")
    assert os.listdir(vdir) == []


def test_failed_scan_shell_record(clamhook, tmp_path):
    vdir = tmp_path / "v"
    vdir.mkdir()
    path = vdir / "verdict"
    port = support.closed_port()
    r = clamhook(input=support.mail_plain(), config={
        "clamd": {"server": "127.0.0.1:%d" % port, "timeout_ms": 5000},
        "verdict": {"format": "shell", "output": str(path)}})
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, "Connection refused")
    assert os.listdir(vdir) == ["verdict"]
    support.check_shell(path.read_bytes(), "error",
                        error="Connection refused")


def test_failed_scan_on_error_accept(clamhook, tmp_path):
    port = support.closed_port()
    r = clamhook(input=support.mail_plain(), config={
        "clamd": {"server": "127.0.0.1:%d" % port, "timeout_ms": 5000},
        "verdict": {"format": "shell", "on_error": "accept"}})
    assert r.status == 0, r
    support.check_shell(r.out, "error", error="Connection refused")
    support.assert_error_line(r.err, "Connection refused")


# --- command line overrides and logging (§1, §7) ---------------------------

def test_dash_o_overrides_output(clamhook, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    config = {"verdict": {"output": str(a), "mode": 2}}
    r = clamhook(["-o", str(b)], input=eicar(), config=config)
    assert (r.status, r.out, r.err) == (1, b"", b""), r
    assert b.read_bytes() == support.expected_line(2, EICAR_NAME)
    assert not a.exists()
    r = clamhook(["--output", "-"], input=eicar(), config=config)
    assert (r.status, r.out, r.err) == \
        (1, support.expected_line(2, EICAR_NAME), b""), r
    assert not a.exists()


def test_dash_f_overrides_format(clamhook, clamd):
    config = {"verdict": {"format": "line", "mode": 2}}
    r = clamhook(["-f", "milter"], input=eicar(), config=config)
    assert (r.status, r.out, r.err) == \
        (1, support.expected_milter(EICAR_NAME, clamhook.version()), b""), r
    r = clamhook(["--format=james"], input=support.mail_plain(),
                 config=config)
    assert (r.status, r.out, r.err) == \
        (0, support.expected_james(None), b""), r
    r = clamhook(["-fshell"], input=eicar(), config=config)
    assert r.status == 1, r
    support.check_shell(r.out, "infected", virus=EICAR_NAME,
                        verdict=support.result_string(EICAR_NAME))
    r = clamhook(["-t", "-f", "shell"], config=config)
    assert r.status == 0, r
    assert b"\nformat = shell\n" in r.out, r.out


@pytest.mark.parametrize("action, status", [([], 75), (["-t"], 78)])
def test_dash_f_bad_format(clamhook, tmp_path, action, status):
    out = tmp_path / "verdict"
    out.write_bytes(b"Virus-Test: False\n")
    r = clamhook(action + ["-f", "xml", "-o", str(out)],
                 input=support.mail_plain())
    assert (r.status, r.out) == (status, b""), r
    assert r.err == b"clamhook: -f: format: 'xml' is not one of line, " \
        b"james, milter, shell\n"
    assert out.exists() == bool(action)     # a scan drops a stale verdict


TIMESTAMP = re.compile(r"\b\d+\.\d{1,6}\b")


@pytest.mark.parametrize("how", ["-d", "--debug", "config"])
def test_debug_1_prints_timestamped_steps(clamhook, clamd, how):
    config = {"verdict": {"mode": 2}}
    args = []
    if how == "config":
        config["log"] = {"debug": 1}
    else:
        args = [how, "1"]
    r = clamhook(args, input=support.mail_plain(), config=config)
    assert r.status == 0, r
    assert r.out == b"Virus-Test: False\n"     # stdout holds only the verdict
    lines = support.stderr_lines(r.err)
    assert len(lines) >= 5, r.err
    for line in lines:
        assert TIMESTAMP.search(line), "no timestamp in %r" % line
    text = r.err.decode()
    assert "127.0.0.1" in text and str(clamd.port) in text, text
    assert "OK" in text, text     # the reply line


def test_debug_2_shows_traffic_not_message(clamhook):
    secret = b"A-LINE-OF-THE-MESSAGE-BODY-THAT-MUST-NOT-BE-LOGGED"
    r = clamhook(["-d", "2"], input=support.mail_plain(body=secret + b"\n"))
    assert r.status == 0, r
    assert r.out == b"\n"
    assert b"INSTREAM" in r.err
    assert secret not in r.err


def test_debug_0_overrides_config(clamhook):
    r = clamhook(["-d", "0"], input=support.mail_plain(),
                 config={"log": {"debug": 2}})
    assert (r.status, r.out, r.err) == (0, b"\n", b""), r
