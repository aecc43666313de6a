# SPDX-License-Identifier: ISC
"""protocol = fildes (SPEC §5.1): the file's descriptor is passed to a real
clamd over its Unix socket; whatever cannot go that way (a pipe, a TCP
server, a message beyond max_size) goes with INSTREAM.  Verdicts must be
those of INSTREAM, byte for byte."""

import os
import re
import shutil

import pytest

import support
from eicar import eicar

MIB = support.MIB


def infected_line(name=support.EICAR_NAME):
    return ("Virus-Test: True ; %s\n" % name).encode()


def fildes_config(clamd, *extra_servers, **keys):
    cfg = {"clamd": {"server": list(extra_servers) + [clamd.server("unix")],
                     "protocol": "fildes", "balance": "failover"}}
    for section, values in keys.items():
        cfg[section] = values
    return cfg


def instream_config(clamd):
    return {"clamd": {"server": clamd.server("tcp"),
                      "protocol": "instream"}}


def steps(err):
    """The debug lines (-d 1) without their timestamps."""
    out = []
    for line in err.decode("ascii", "replace").splitlines():
        m = re.fullmatch(r"clamhook: \[\d+\.\d{3}\] (.*)", line)
        if m:
            out.append(m.group(1))
    return out


@pytest.fixture(scope="module")
def messages(tmp_path_factory):
    d = tmp_path_factory.mktemp("fildes")
    made = {}

    def put(name, data):
        path = str(d / name)
        with open(path, "wb") as f:
            f.write(data)
        made[name] = path

    put("clean", support.mail_plain())
    put("eicar", support.mail_eicar_plain())
    put("eicar-zip", support.mail_eicar_zip())
    put("binary", support.mail_binary())
    put("empty", b"")
    made["large-clean"] = support.write_big_message(str(d / "large-clean"),
                                                    20 * MIB)
    put("large-eicar", support.message_at(20 * MIB - 4096, 20 * MIB))
    yield made
    shutil.rmtree(str(d), ignore_errors=True)


CASES = ["clean", "eicar", "eicar-zip", "binary", "empty", "large-clean",
         "large-eicar"]
INFECTED = {"eicar", "eicar-zip", "large-eicar"}


@pytest.mark.parametrize("how", ["file", "stdin"])
@pytest.mark.parametrize("name", CASES)
def test_same_verdict_as_instream(clamhook, clamd, messages, name, how):
    path = messages[name]
    ref = clamhook([path], config=instream_config(clamd), timeout=120)
    assert ref.err == b"", ref
    if name in INFECTED:
        assert ref.status == 1 and ref.out.startswith(b"Virus-Test: True ; ")
    else:
        assert (ref.status, ref.out) == (0, b"\n")

    if how == "file":
        r = clamhook(["-d", "1", path], config=fildes_config(clamd),
                     timeout=120)
    else:
        with open(path, "rb") as f:
            r = clamhook(["-d", "1"], stdin=f, config=fildes_config(clamd),
                         timeout=120)
    assert (r.status, r.out) == (ref.status, ref.out), r
    subject = path if how == "file" else "stdin"
    s = steps(r.err)
    assert "FILDES %s to %s" % (subject, clamd.server("unix")) in s, s
    assert not [x for x in s if x.startswith("INSTREAM")], s


@pytest.mark.parametrize("name", ["clean", "eicar", "empty"])
def test_shell_record(clamhook, clamd, messages, name):
    path = messages[name]
    size = os.path.getsize(path)
    r = clamhook([path], config=fildes_config(
        clamd, verdict={"format": "shell", "mode": "2"}))
    assert r.err == b"", r
    if name == "eicar":
        assert r.status == 1
        support.check_shell(r.out, "infected", virus=support.EICAR_NAME,
                            verdict=infected_line().decode().rstrip("\n"),
                            server=clamd.server("unix"), nbytes=size,
                            sent=size)
    else:
        assert r.status == 0
        support.check_shell(r.out, "clean", verdict="Virus-Test: False",
                            server=clamd.server("unix"), nbytes=size,
                            sent=size)


def test_pipe_falls_back_to_instream(clamhook, clamd):
    msg = support.mail_eicar_plain()
    r = clamhook(["-d", "1"], input=msg, config=fildes_config(clamd))
    assert (r.status, r.out) == (1, infected_line()), r
    s = steps(r.err)
    assert "INSTREAM stdin to %s" % clamd.server("unix") in s, s
    assert not [x for x in s if x.startswith("FILDES")], s


def test_pipe_clean_falls_back(clamhook, clamd):
    r = clamhook([], input=support.mail_plain(), config=fildes_config(clamd))
    assert (r.status, r.out, r.err) == (0, b"\n", b""), r


def test_tcp_server_falls_back_to_instream(clamhook, clamd, messages):
    path = messages["eicar"]
    r = clamhook(["-d", "1", path],
                 config=fildes_config(clamd, clamd.server("tcp")))
    assert (r.status, r.out) == (1, infected_line()), r
    s = steps(r.err)
    assert "INSTREAM %s to %s" % (path, clamd.server("tcp")) in s, s
    assert not [x for x in s if x.startswith("FILDES")], s


def test_stdin_not_at_its_start_uses_instream(clamhook, clamd, tmp_path):
    """clamd scans a passed descriptor from offset 0; a standard input that
    starts further on (a hook that read a first line itself) must be
    scanned from where it stands, as INSTREAM does."""
    path = tmp_path / "m"
    path.write_bytes(eicar() + b"\n" + support.mail_plain())
    with open(str(path), "rb") as f:
        f.seek(len(eicar()) + 1)
        r = clamhook(["-d", "1"], stdin=f, config=fildes_config(clamd))
    assert (r.status, r.out) == (0, b"\n"), r
    assert "INSTREAM stdin to %s" % clamd.server("unix") in steps(r.err)


def test_beyond_max_size_uses_instream(clamhook, clamd, tmp_path):
    """Truncation needs the bytes to pass through clamhook: no FILDES."""
    path = tmp_path / "m"
    msg = support.message_at(3000, 6000)
    path.write_bytes(msg)
    r = clamhook(["-d", "1", str(path)], config=fildes_config(
        clamd, message={"max_size": "1000"}, verdict={"format": "shell"}))
    assert r.status == 0, r
    s = steps(r.err)
    assert "INSTREAM %s to %s" % (path, clamd.server("unix")) in s, s
    assert not [x for x in s if x.startswith("FILDES")], s
    support.check_shell(r.out, "partial", server=clamd.server("unix"),
                        nbytes=len(msg), sent=1000)


# ---------------------------------------------------------------------------
# Descriptors: every file opened is closed, nothing accumulates.

_SYSCALL = re.compile(r"^(?:\[pid\s+\d+\] |\d+ +)?(\w+)\((.*)\)\s+=\s+(-?\d+)")


def _trace(clamhook, args, config, tmp_path):
    if clamhook.runner:
        pytest.skip("strace cannot follow a binary run under %s"
                    % " ".join(clamhook.runner))
    strace = shutil.which("strace")
    if strace is None:
        pytest.fail("strace not installed", pytrace=False)
    log = str(tmp_path / "strace.log")
    cfile = clamhook.config_file(config)
    argv = [strace, "-f", "-qq", "-o", log, "-e",
            "trace=openat,open,socket,close,dup,dup2,dup3,fcntl,accept,"
            "accept4,recvmsg", clamhook.bin, "-c", cfile] + list(args)
    r = support.run_process(argv, timeout=120, env=clamhook.env(),
                            cwd=str(tmp_path))
    with open(log) as f:
        calls = []
        for line in f:
            m = _SYSCALL.match(line)
            if m:
                calls.append((m.group(1), m.group(2), int(m.group(3))))
    return r, calls


def _check_descriptors(calls, files):
    """Each message file is closed before the next is opened, every socket
    is closed, and the highest descriptor stays small."""
    opened = {}
    high = 2
    seen = []
    for name, args, ret in calls:
        if name in ("openat", "open", "socket") and ret >= 0:
            assert ret not in opened, "fd %d reused while open" % ret
            path = re.search(r'"([^"]*)"', args)
            opened[ret] = path.group(1) if path and name != "socket" \
                else "socket"
            if opened[ret] in files:
                assert not [p for p in opened.values()
                            if p in files and p != opened[ret]], opened
                seen.append(opened[ret])
            high = max(high, ret)
        elif name == "close" and ret == 0:
            fd = int(args.split(",")[0])
            opened.pop(fd, None)
        elif name.startswith("dup") or name == "fcntl":
            assert "F_DUPFD" not in args, args
    leaked = {fd: p for fd, p in opened.items()
              if p in files or p == "socket"}
    assert not leaked, "left open: %r" % leaked
    assert seen == list(files), seen
    return high


@pytest.mark.parametrize("protocol", ["fildes", "instream"])
def test_no_descriptor_leak_in_batch(clamhook, clamd, messages, tmp_path,
                                     protocol):
    files = []
    for k in range(40):
        name = ["clean", "eicar", "empty", "binary"][k % 4]
        dst = str(tmp_path / ("m%02d" % k))
        shutil.copyfile(messages[name], dst)
        files.append(dst)
    cfg = fildes_config(clamd)
    cfg["clamd"]["protocol"] = protocol
    r, calls = _trace(clamhook, files, cfg, tmp_path)
    assert r.status == 1 and r.err == b"", r
    high = _check_descriptors(calls, files)
    assert high <= 6, "descriptors up to %d for 40 files" % high


def test_no_descriptor_leak_single(clamhook, clamd, messages, tmp_path):
    path = str(tmp_path / "one")
    shutil.copyfile(messages["eicar"], path)
    r, calls = _trace(clamhook, [path], fildes_config(clamd), tmp_path)
    assert (r.status, r.out, r.err) == (1, infected_line(), b""), r
    _check_descriptors(calls, [path])
