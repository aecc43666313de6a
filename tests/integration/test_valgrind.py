# SPDX-License-Identifier: ISC
"""clamhook under valgrind (memcheck): no memory errors, no leaks, no
descriptor left open at exit, and a heap that does not grow with the
message (SPEC §6).

valgrind cannot run the static musl binary usefully (no malloc to
intercept), so a glibc binary is built from the same sources into the
session's temporary directory.  Each run's valgrind report goes to a log
file, so standard error stays clamhook's own.
"""

import os
import re
import shutil
import subprocess
import threading
import time

import pytest

import support
from support import MIB

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

VALGRIND = ["valgrind", "--error-exitcode=99", "--track-fds=yes",
            "--leak-check=full"]
CLEAN = b"Virus-Test: False\n"
INFECTED = ("Virus-Test: True ; %s\n" % support.EICAR_NAME).encode()


@pytest.fixture(scope="session")
def glibc_clamhook(tmp_path_factory):
    """clamhook built with gcc against glibc and the system's libinih, -g
    -O1, no sanitizer."""
    for tool in ("gcc", "valgrind"):
        if shutil.which(tool) is None:
            pytest.fail("%s not installed (toolchain/deps-debian.sh)" % tool,
                        pytrace=False)
    d = tmp_path_factory.mktemp("glibc")
    exe = str(d / "clamhook-glibc")
    src = os.path.join(REPO, "src")
    sources = sorted(os.path.join(src, f) for f in os.listdir(src)
                     if f.endswith(".c"))
    r = subprocess.run(["gcc", "-std=c11", "-D_GNU_SOURCE",
                        "-DCLAMHOOK_CLEAN_UP", "-g", "-O1",
                        "-I" + src] + sources + ["-linih", "-o", exe],
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        pytest.fail("cannot build the glibc binary:\n%s"
                    % r.stderr.decode()[-3000:], pytrace=False)
    return exe


class Report:
    """valgrind's log of one run."""

    def __init__(self, text):
        self.text = text

    def errors(self):
        m = re.search(r"ERROR SUMMARY: (\d+) errors", self.text)
        assert m, self.text[-2000:]
        return int(m.group(1))

    def fds(self, log):
        """The descriptors open at exit besides 0-2 and valgrind's own log
        (which valgrind opens before clamhook starts), as "N: what"."""
        m = re.search(r"FILE DESCRIPTORS: (\d+) open \((\d+) std\) at exit",
                      self.text)
        assert m, self.text[-2000:]
        out = re.findall(r"Open (?:file descriptor|AF_\w+ socket) (\d+): ?"
                         r"(.*)", self.text)
        return ["%s: %s" % (n, what) for n, what in out
                if int(n) > 2 and what != log]

    def allocs(self):
        m = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, "
                      r"([\d,]+) bytes allocated", self.text)
        assert m, self.text[-2000:]
        return tuple(int(g.replace(",", "")) for g in m.groups())


def run_vg(clamhook, exe, args, config, **kw):
    """clamhook (the glibc build) under valgrind; returns (Run, Report)."""
    conf = clamhook.config_file(config)
    log = os.path.join(str(clamhook.tmp), "valgrind.%d.log" % time.time_ns())
    argv = VALGRIND + ["--log-file=" + log, exe, "-c", conf] + \
        [str(a) for a in args]
    kw.setdefault("timeout", 120)
    r = support.run_process(argv, env=clamhook.env(), cwd=str(clamhook.tmp),
                            **kw)
    assert not r.timed_out, r
    with open(log) as f:
        rep = Report(f.read())
    assert r.status != 99, rep.text[-4000:]
    assert rep.errors() == 0, rep.text[-4000:]
    # only 0-2 (subprocess closes every other inherited descriptor)
    assert rep.fds(log) == [], rep.text[-4000:]
    return r, rep


def out_config(path, **sections):
    cfg = {"verdict": {"output": str(path), "mode": 2}}
    for sec, keys in sections.items():
        cfg.setdefault(sec, {}).update(keys)
    return cfg


@pytest.mark.parametrize("kind", ["file", "pipe"])
@pytest.mark.parametrize("infected", [False, True], ids=["clean", "eicar"])
def test_valgrind_scan(clamhook, glibc_clamhook, tmp_path, kind, infected):
    path = tmp_path / "verdict"
    data = support.mail_eicar_attachment() if infected \
        else support.mail_plain()
    msg = tmp_path / "message.eml"
    msg.write_bytes(data)
    args = [msg] if kind == "file" else []
    feed = {"input": data} if kind == "pipe" else {}
    r, _ = run_vg(clamhook, glibc_clamhook, args, out_config(path), **feed)
    assert r.status == (1 if infected else 0), r
    assert r.err == b""
    assert path.read_bytes() == (INFECTED if infected else CLEAN)


@pytest.mark.parametrize("fmt", ["line", "shell"])
def test_valgrind_clamd_down(clamhook, glibc_clamhook, tmp_path, fmt):
    path = tmp_path / "verdict"
    path.write_bytes(CLEAN)
    port = support.closed_port()
    r, _ = run_vg(clamhook, glibc_clamhook, [], out_config(
        path, clamd={"server": "127.0.0.1:%d" % port},
        verdict={"format": fmt}), input=support.mail_plain())
    assert r.status == 75, r
    support.assert_error_line(r.err, "Connection refused")
    if fmt == "line":
        assert not path.exists()
    else:
        support.check_shell(path.read_bytes(), "error",
                            error="Connection refused")


@pytest.mark.parametrize("policy,status,result", [
    ("truncate", 0, "partial"), ("accept", 0, "skipped"),
    ("reject", 1, "infected"), ("tempfail", 75, "error")])
def test_valgrind_oversize(clamhook, glibc_clamhook, tmp_path, policy,
                           status, result):
    path = tmp_path / "verdict"
    data = support.filler(300 * 1024)
    r, _ = run_vg(clamhook, glibc_clamhook, [], out_config(
        path, message={"max_size": "100K", "on_oversize": policy},
        verdict={"format": "shell"}), input=data)
    assert r.status == status, r
    d = support.parse_shell(path.read_bytes())
    assert dict(d)["CLAMHOOK_RESULT"] == result, d
    assert dict(d)["CLAMHOOK_BYTES"] == str(len(data)), d


def test_valgrind_fifo(clamhook, glibc_clamhook, tmp_path):
    fifo = tmp_path / "verdict.fifo"
    os.mkfifo(str(fifo))
    got = []

    def reader():
        fd = os.open(str(fifo), os.O_RDONLY)
        try:
            buf = b""
            while True:
                b = os.read(fd, 4096)
                if not b:
                    break
                buf += b
            got.append(buf)
        finally:
            os.close(fd)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        r, _ = run_vg(clamhook, glibc_clamhook, [], out_config(fifo),
                      input=support.mail_eicar_plain())
    finally:
        if t.is_alive():
            # unblock the reader's open if clamhook never opened the FIFO
            try:
                os.close(os.open(str(fifo), os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        t.join(10)
    assert r.status == 1, r
    assert got == [INFECTED]


def test_valgrind_heap_does_not_grow(clamhook, glibc_clamhook, tmp_path):
    """§6: the same allocations for a 1 KiB and a 100 MiB piped message."""
    cfg = out_config(tmp_path / "verdict", message={"max_size": "0"},
                     verdict={"format": "shell"})
    small = support.filler(1024)
    big = tmp_path / "big.eml"
    support.write_big_message(str(big), 100 * MIB)
    r1, rep1 = run_vg(clamhook, glibc_clamhook, [], cfg, input=small)
    assert r1.status == 0, r1
    t0 = time.monotonic()
    with open(big, "rb") as f:
        # a pipe, not the file: the ring is all there is
        p = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
        try:
            r2, rep2 = run_vg(clamhook, glibc_clamhook, [], cfg,
                              stdin=p.stdout)
        finally:
            p.stdout.close()
            p.kill()
            p.wait(10)
    elapsed = time.monotonic() - t0
    assert r2.status == 0, r2
    d = support.check_shell((tmp_path / "verdict").read_bytes(), "clean",
                            verdict="Virus-Test: False",
                            nbytes=100 * MIB, sent=100 * MIB)
    assert rep1.allocs() == rep2.allocs(), (rep1.allocs(), rep2.allocs())
    print("100 MiB under valgrind: %.1f s, heap %r, %s ms in clamhook"
          % (elapsed, rep2.allocs(), d["CLAMHOOK_MS"]))
