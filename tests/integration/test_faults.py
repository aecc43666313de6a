# SPDX-License-Identifier: ISC
"""The fault matrix: what clamhook does when its input, its output, its
process or its configuration goes wrong (SPEC §2, §3, §4.3, §6).

Every case asserts the exit status, what is left at the verdict
destination (a file destination starts with a stale clean verdict from an
"earlier run", which must be gone after a failure), the reason on standard
error and the elapsed time against the deadline.

Faults are real where they can be (a full tmpfs in a private mount
namespace, an unprivileged user, closed descriptors, rlimits, a scripted
peer with a tiny receive buffer for short writes) and injected with
strace(1) where they cannot (EIO in the middle of a file, EINTR on every
few calls, a delayed write).  strace cases need the host binary: they are
skipped under $CLAMHOOK_RUNNER (qemu would be traced instead).

Findings this file documents (see the README for the rules they follow):
- an empty message is clean: clamd said OK for all of its 0 bytes;
- a producer pausing longer than clamd's ReadTimeout gets clamd's
  "COMMAND READ TIMED OUT", so 75, never a clean verdict for a part;
- a directory clamhook cannot write to keeps whatever is in it (clamhook
  cannot remove a stale verdict there either): 75 and the reason;
- a configuration that cannot be read still removes a stale verdict at a
  -o path; with the destination only in the unreadable file, the stale
  verdict stays (clamhook does not know where it is);
- a message read from a standard input the parent closed is a failure,
  not an empty clean message;
- a shell record that could not be written whole is never renamed into
  place (a reader would see a part);
- EINTR injected where no kernel returns it (fstat, lseek, socket,
  getsockopt, rename, fsync, open of a regular file) ends in 75: fail
  closed, not covered here.
"""

import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest

import support
from eicar import eicar
from support import KIB, MIB

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "peer"))
from hostile import Peer  # noqa: E402

STALE = b"Virus-Test: False\n"          # a clean verdict (mode 2)
CLEAN = b"Virus-Test: False\n"
INFECTED = ("Virus-Test: True ; %s\n" % support.EICAR_NAME).encode()
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


# -- helpers -----------------------------------------------------------------

def need_host_binary(clamhook):
    """strace and rlimit cases count and limit clamhook's own calls: they
    need the static host binary, not qemu or a dynamic (sanitizer) build,
    whose loader makes calls of its own."""
    if clamhook.runner:
        pytest.skip("strace and rlimit cases trace the host binary, not "
                    "%s" % " ".join(clamhook.runner))
    if support.has_interpreter(clamhook.bin):
        pytest.skip("strace and rlimit cases need the static binary "
                    "(%s is dynamically linked)" % clamhook.bin)


def need(tool):
    path = shutil.which(tool)
    if path is None:
        pytest.fail("%s not installed (toolchain/deps-debian.sh)" % tool,
                    pytrace=False)
    return path


def verdict_dir(tmp_path, stale=True, name="verdict"):
    """A directory holding a stale clean verdict at NAME; returns (dir,
    path)."""
    d = tmp_path / "out"
    d.mkdir()
    p = d / name
    if stale:
        p.write_bytes(STALE)
    return d, p


def leftovers(d, name="verdict"):
    """Temporary verdict files (".NAME.XXXXXX") left in d."""
    return [f for f in os.listdir(d) if f.startswith("." + name + ".")]


def assert_failed(r, vdir, path, *reasons, within=10.0):
    """75, no verdict and no temporary file at the destination, one
    'clamhook: ' line at least naming each reason, within the time."""
    assert not r.timed_out, r
    assert r.status == 75, r
    assert not os.path.lexists(path), (r, os.listdir(vdir))
    assert leftovers(vdir, os.path.basename(path)) == [], os.listdir(vdir)
    support.assert_error_line(r.err, *reasons)
    assert r.elapsed < within, r


def assert_verdict(r, path, status, data, within=10.0):
    assert not r.timed_out, r
    assert r.status == status, r
    assert r.err == b"", r
    assert path.read_bytes() == data, r
    assert leftovers(path.parent, path.name) == [], os.listdir(path.parent)
    assert r.elapsed < within, r


def run_argv(clamhook, prefix, args, config=None, timeout=30, **kw):
    """Run clamhook -c CONF ARGS under the command prefix (strace, setpriv,
    sh ...); returns a support.Run."""
    conf = clamhook.config_file(config)
    argv = list(prefix) + clamhook.argv(["-c", conf] + [str(a) for a in args])
    return support.run_process(argv, timeout=timeout, env=clamhook.env(),
                               cwd=str(clamhook.tmp), **kw)


def out_config(path, **sections):
    """A config: mode 2 verdicts to path, plus sections."""
    cfg = {"verdict": {"output": str(path), "mode": 2}}
    for sec, keys in sections.items():
        cfg.setdefault(sec, {}).update(keys)
    return cfg


@pytest.fixture
def shared_dir():
    """A directory outside pytest's private (0700) tree, so that the user
    nobody can reach it; removed at the end."""
    d = tempfile.mkdtemp(prefix="clamhook-faults-")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def nobody_config(clamhook, d, path, **sections):
    """Write a config readable by nobody into d (no state file: nobody
    could not write one)."""
    cfg = support.merge_config(clamhook.base, out_config(path, **sections))
    cfg["clamd"]["state_file"] = ""
    conf = os.path.join(d, "clamhook.ini")
    with open(conf, "w") as f:
        f.write(support.ini_text(cfg))
    os.chmod(conf, 0o644)
    return conf


# -- input ---------------------------------------------------------------------

def test_input_empty_is_clean(clamhook, tmp_path):
    """An empty message: clamd answers OK for its 0 bytes, so clean."""
    vdir, path = verdict_dir(tmp_path)
    r = clamhook(input=b"", config=out_config(path,
                                              verdict={"format": "shell"}))
    assert r.status == 0, r
    assert r.err == b""
    support.check_shell(path.read_bytes(), "clean", nbytes=0, sent=0,
                        verdict="Virus-Test: False",
                        server=clamhook.base["clamd"]["server"])
    assert r.elapsed < 5, r


@pytest.mark.parametrize("fmt", ["line", "shell"])
def test_input_missing_file(clamhook, tmp_path, fmt):
    vdir, path = verdict_dir(tmp_path)
    missing = tmp_path / "no-such-message.eml"
    r = clamhook([missing], config=out_config(path,
                                              verdict={"format": fmt}))
    if fmt == "line":
        assert_failed(r, vdir, path, str(missing),
                      "No such file or directory", within=5)
        return
    # shell: a record saying why (§4.3)
    assert r.status == 75, r
    support.check_shell(path.read_bytes(), "error",
                        error="No such file or directory")
    support.assert_error_line(r.err, "No such file or directory")


def test_input_directory(clamhook, tmp_path):
    vdir, path = verdict_dir(tmp_path)
    msgdir = tmp_path / "maildir"
    msgdir.mkdir()
    r = clamhook([msgdir], config=out_config(path))
    assert_failed(r, vdir, path, "is a directory", within=5)


def test_input_directory_as_stdin(clamhook, tmp_path):
    vdir, path = verdict_dir(tmp_path)
    fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = clamhook(stdin=fd, config=out_config(path))
    finally:
        os.close(fd)
    assert_failed(r, vdir, path, "stdin", "is a directory", within=5)


@pytest.mark.parametrize("where", ["mode000", "unsearchable_dir"])
def test_input_unreadable_as_nobody(clamhook, shared_dir, where):
    """A message the user cannot read (as nobody: root reads anything)."""
    msgdir = os.path.join(shared_dir, "msg")
    os.mkdir(msgdir)
    msg = os.path.join(msgdir, "message.eml")
    with open(msg, "wb") as f:
        f.write(support.mail_plain())
    if where == "mode000":
        os.chmod(msgdir, 0o755)
        os.chmod(msg, 0o000)
    else:
        os.chmod(msg, 0o644)
        os.chmod(msgdir, 0o700)       # root's: nobody cannot search it
    vdir = os.path.join(shared_dir, "out")
    os.mkdir(vdir)
    os.chmod(vdir, 0o777)
    path = os.path.join(vdir, "verdict")
    with open(path, "wb") as f:
        f.write(STALE)
    os.chmod(path, 0o666)
    conf = nobody_config(clamhook, shared_dir, path)
    r = support.run_process(NOBODY + clamhook.argv(["-c", conf, msg]),
                            timeout=20, cwd=shared_dir)
    assert_failed(r, vdir, path, "message.eml", "Permission denied",
                  within=5)


def _trace_reads(trace, msg_path):
    """Indexes (1-based, over every read(2) of the process) of the reads
    on the message (fd 0 when msg_path is None)."""
    fds = {0} if msg_path is None else set()
    idx, out = 0, []
    for line in trace.splitlines():
        m = re.match(r'^\d+\s+open(?:at)?\((?:AT_FDCWD, )?"([^"]*)".*= (\d+)',
                     line)
        if m and msg_path is not None and m.group(1) == msg_path:
            fds.add(int(m.group(2)))
            continue
        m = re.match(r"^\d+\s+read\((\d+),", line)
        if m:
            idx += 1
            if int(m.group(1)) in fds:
                out.append(idx)
    return out


@pytest.mark.parametrize("kind", ["file", "pipe"])
def test_input_read_error_midway(clamhook, tmp_path, kind):
    """EIO on the third read of a 1 MiB message: 75, and clamd never got
    the zero-length chunk that would make the part a whole message."""
    need_host_binary(clamhook)
    need("strace")
    vdir, path = verdict_dir(tmp_path)
    data = support.message_at(MIB - 100, MIB)
    msg = tmp_path / "message.eml"
    msg.write_bytes(data)
    steps = "accept 20000; command; instream; send 'stream: OK\\0'; close"
    with Peer(steps, repeat=True, max_seconds=40) as peer:
        cfg = out_config(path, clamd={"server": peer.address,
                                      "timeout_ms": 20000})
        args = [msg] if kind == "file" else []
        feed = {"input": data} if kind == "pipe" else {}
        # a dry run counts the reads before the message's
        trace = tmp_path / "trace"
        r0 = run_argv(clamhook, ["strace", "-f", "-o", str(trace),
                                 "-e", "trace=open,openat,read"],
                      args, config=cfg, **feed)
        assert r0.status == 0, r0
        reads = _trace_reads(trace.read_text(),
                             str(msg) if kind == "file" else None)
        assert len(reads) >= 4, reads
        path.write_bytes(STALE)
        r = run_argv(clamhook, ["strace", "-f", "-o", "/dev/null", "-e",
                                "inject=read:error=EIO:when=%d" % reads[2]],
                     args, config=cfg, **feed)
        peer.stop()
    res = peer.wait(5)
    # musl says "I/O error", glibc "Input/output error"
    assert_failed(r, vdir, path, "read error", "I", within=10)
    assert re.search(r"read error: (I/O|Input/output) error",
                     r.err.decode()), r
    conns = res["conns"]
    assert len(conns) == 2, res
    assert conns[0]["instream"]["end"] is True
    assert conns[0]["instream"]["bytes"] == len(data)
    st = conns[1]["instream"]
    # whatever was sent, the end-of-stream chunk never was
    assert st is None or st["end"] is False, st
    assert st is None or st["bytes"] < len(data), st


def test_input_producer_slower_than_read_timeout(clamhook, make_clamd,
                                                 tmp_path):
    """The producer stops for 3 s in the middle; clamd (ReadTimeout 2)
    gives up on the stream.  What happens: clamd answers COMMAND READ TIMED
    OUT and clamhook says 75.  Never clean: the virus comes after the
    pause."""
    c = make_clamd(ReadTimeout="2")
    vdir, path = verdict_dir(tmp_path)
    first = support.filler(200 * KIB)     # more than the 64 KiB ring
    second = support.filler(1000) + eicar() + b"\n"
    pipe = support.Pipe()

    def produce(live):
        pipe.close_r()
        os.write(pipe.w, first)
        time.sleep(3)
        try:
            os.write(pipe.w, second)
        except BrokenPipeError:
            pass
        pipe.close_w()

    try:
        r = clamhook(stdin=pipe.r, on_start=produce, timeout=30,
                     config=out_config(path, clamd={
                         "server": c.server("tcp"), "timeout_ms": 20000},
                         verdict={"format": "shell"}))
    finally:
        pipe.close()
    assert not r.timed_out, r
    assert r.status in (75, 1), r          # never 0: that is the bug
    if r.status == 1:
        support.check_shell(path.read_bytes(), "infected",
                            virus=support.EICAR_NAME)
    else:
        d = support.check_shell(path.read_bytes(), "error",
                                error="COMMAND READ TIMED OUT")
        assert int(d["CLAMHOOK_BYTES"]) == len(first) + len(second), d
        support.assert_error_line(r.err, "COMMAND READ TIMED OUT")
    assert 2.5 < r.elapsed < 20, r


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_input_sparse_4gib_truncated(clamhook, tmp_path, how):
    """4 GiB + 100 bytes (sparse), EICAR in the last bytes, max_size 1M,
    truncate: the first MiB is sent, the result is partial (never clean),
    CLAMHOOK_BYTES is exact (no 32-bit wrap), and it is quick."""
    size = 4 * 1024 * MIB + 100
    msg = tmp_path / "huge.eml"
    with open(msg, "wb") as f:
        f.write(support.mail_plain())
        f.truncate(size - len(eicar()) - 1)
        f.seek(size - len(eicar()) - 1)
        f.write(eicar() + b"\n")
    assert os.path.getsize(msg) == size
    vdir, path = verdict_dir(tmp_path)
    cfg = out_config(path, message={"max_size": "1M",
                                    "on_oversize": "truncate"},
                     verdict={"format": "shell"})
    if how == "file":
        r = clamhook([msg], config=cfg, timeout=60)
    else:
        with open(msg, "rb") as f:
            r = clamhook(stdin=f, config=cfg, timeout=60)
    assert not r.timed_out, r
    assert r.status == 0, r
    support.check_shell(path.read_bytes(), "partial", nbytes=size,
                        sent=MIB, verdict="Virus-Test: False",
                        server=clamhook.base["clamd"]["server"])
    assert r.elapsed < 10, r


# -- output --------------------------------------------------------------------

def test_output_directory_not_writable(clamhook, shared_dir):
    """As nobody, into a root-owned 0755 directory: no temporary file can
    be made, 75 before the scan.  The stale verdict there cannot be removed
    by nobody either (the hook must go by the status)."""
    vdir = os.path.join(shared_dir, "out")
    os.mkdir(vdir)
    path = os.path.join(vdir, "verdict")
    with open(path, "wb") as f:
        f.write(STALE)
    conf = nobody_config(clamhook, shared_dir, path)
    msg = os.path.join(shared_dir, "message.eml")
    with open(msg, "wb") as f:
        f.write(support.mail_plain())
    os.chmod(msg, 0o644)
    r = support.run_process(NOBODY + clamhook.argv(["-c", conf, msg]),
                            timeout=20, cwd=shared_dir)
    assert not r.timed_out, r
    assert r.status == 75, r
    support.assert_error_line(r.err, "cannot create temporary file",
                              "Permission denied")
    assert os.listdir(vdir) == ["verdict"]
    with open(path, "rb") as f:
        assert f.read() == STALE
    assert r.elapsed < 5, r


@pytest.mark.parametrize("fmt", ["line", "shell"])
def test_output_disk_full(clamhook, tmp_path, fmt):
    """A full 8 KiB tmpfs in a private mount namespace: the record cannot
    be written: 75, no temporary file, and the stale verdict is gone."""
    need_host_binary(clamhook)
    need("unshare")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    listing = tmp_path / "listing"
    path = mnt / "verdict"
    conf = clamhook.config_file(out_config(path, verdict={"format": fmt}))
    msg = tmp_path / "message.eml"
    msg.write_bytes(support.mail_plain())
    script = ('mount -t tmpfs -o size=8k tmpfs "$MNT" || exit 90; '
              'printf "Virus-Test: False\\n" >"$MNT/verdict" || exit 91; '
              'dd if=/dev/zero of="$MNT/fill" bs=1k count=64 2>/dev/null; '
              '[ -s "$MNT/fill" ] || exit 92; '
              '"$@"; st=$?; ls -A "$MNT" >"$LISTING" 2>&1; exit $st')
    argv = ["unshare", "-m", "sh", "-c", script, "sh"] + \
        clamhook.argv(["-c", conf, msg])
    r = support.run_process(argv, timeout=30, cwd=str(tmp_path),
                            env=clamhook.env({"LISTING": str(listing),
                                              "MNT": str(mnt)}))
    assert r.status not in (90, 91, 92), r
    assert r.status == 75, r
    support.assert_error_line(r.err, "No space left on device")
    assert listing.read_text().split() == ["fill"], listing.read_text()
    assert r.elapsed < 10, r


@pytest.mark.parametrize("fail", [False, True], ids=["clean", "failed"])
def test_output_symlink_at_verdict_path(clamhook, tmp_path, fail):
    """A symlink at the path is replaced (clean) or removed (failed), never
    followed: its target keeps its bytes."""
    vdir, path = verdict_dir(tmp_path, stale=False)
    target = tmp_path / "precious"
    target.write_bytes(b"not a verdict\n")
    os.symlink(str(target), str(path))
    extra = {"clamd": {"server": "127.0.0.1:%d" % support.closed_port()}} \
        if fail else {}
    r = clamhook([], input=support.mail_plain(),
                 config=out_config(path, **extra))
    assert target.read_bytes() == b"not a verdict\n"
    if fail:
        assert_failed(r, vdir, path, "Connection refused", within=5)
    else:
        assert not os.path.islink(path)
        assert_verdict(r, path, 0, CLEAN, within=5)


@pytest.mark.parametrize("fail", [False, True], ids=["clean", "failed"])
def test_output_hard_link_at_verdict_path(clamhook, tmp_path, fail):
    vdir, path = verdict_dir(tmp_path)
    other = tmp_path / "other-link"
    os.link(str(path), str(other))
    extra = {"clamd": {"server": "127.0.0.1:%d" % support.closed_port()}} \
        if fail else {}
    r = clamhook([], input=support.mail_eicar_plain(),
                 config=out_config(path, **extra))
    assert other.read_bytes() == STALE       # the other name: untouched
    if fail:
        assert_failed(r, vdir, path, "Connection refused", within=5)
    else:
        assert_verdict(r, path, 1, INFECTED, within=5)
        assert os.stat(path).st_ino != os.stat(other).st_ino


def test_output_symlinks_at_temporary_names(clamhook, tmp_path):
    """Symlinks (live and dangling) at 300 plausible temporary names:
    nothing is written through them, they all survive, the verdict is
    right."""
    vdir, path = verdict_dir(tmp_path)
    target = tmp_path / "precious"
    target.write_bytes(b"keep\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    rnd = random.Random(7)
    names = {".verdict.XXXXXX", ".verdict.tmp", ".verdict.000000",
             ".verdict.AAAAAA", ".verdict.aaaaaa", ".verdict.%d" % os.getpid()}
    while len(names) < 300:
        names.add(".verdict." + "".join(rnd.choice(chars) for _ in range(6)))
    dangling = []
    for i, n in enumerate(sorted(names)):
        if i % 2:
            os.symlink(str(target), str(vdir / n))
        else:
            d = elsewhere / ("d%d" % i)
            dangling.append(d)
            os.symlink(str(d), str(vdir / n))
    r = clamhook([], input=support.mail_eicar_plain(), config=out_config(path))
    assert r.status == 1, r
    assert path.read_bytes() == INFECTED
    assert target.read_bytes() == b"keep\n"
    assert os.listdir(elsewhere) == []
    assert not any(os.path.exists(d) for d in dangling)
    left = set(os.listdir(vdir)) - {"verdict"}
    assert left == names                     # every link still there
    assert all(os.path.islink(vdir / n) for n in left)


@pytest.mark.parametrize("fmt", ["line", "james", "milter", "shell"])
def test_output_stale_verdict_removed_on_failure(clamhook, tmp_path, fmt):
    vdir, path = verdict_dir(tmp_path)
    port = support.closed_port()
    r = clamhook([], input=support.mail_plain(), config=out_config(
        path, clamd={"server": "127.0.0.1:%d" % port},
        verdict={"format": fmt}))
    if fmt != "shell":
        assert_failed(r, vdir, path, "Connection refused", within=5)
        return
    assert r.status == 75, r
    support.check_shell(path.read_bytes(), "error",
                        error="Connection refused")
    assert leftovers(vdir) == []
    assert r.elapsed < 5, r


def test_output_stale_verdict_removed_when_server_unresolvable(clamhook,
                                                               tmp_path):
    """The failure comes before the verdict is opened (no server could be
    resolved): the stale clean verdict still goes."""
    vdir, path = verdict_dir(tmp_path)
    r = clamhook([], input=support.mail_plain(), config=out_config(
        path, clamd={"server": "no-such-host.invalid:3310"}))
    assert_failed(r, vdir, path, "no-such-host.invalid", within=15)


def test_output_stale_verdict_removed_on_bad_config_with_o(clamhook,
                                                           tmp_path):
    vdir, path = verdict_dir(tmp_path)
    conf = clamhook.config_file("[clamd]\nserver = %s\nno_such_key = 1\n"
                                % clamhook.base["clamd"]["server"])
    r = clamhook(["-c", conf, "-o", path], input=support.mail_plain(),
                 config=False)
    assert_failed(r, vdir, path, "%s:3: " % conf, within=5)


def test_output_fifo_without_reader(clamhook, tmp_path):
    """No reader: 75 once timeout_ms (2 s) has passed, the FIFO stays."""
    fifo = tmp_path / "verdict.fifo"
    os.mkfifo(str(fifo))
    r = clamhook([], input=support.mail_plain(), config=out_config(
        fifo, clamd={"timeout_ms": 2000}))
    assert not r.timed_out, r
    assert r.status == 75, r
    support.assert_error_line(r.err, "no reader on the FIFO after 2000 ms")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert 1.9 < r.elapsed < 6, r


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _has_open(pid, path):
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path:
                return True
        except OSError:
            pass
    return False


def test_output_fifo_reader_exits_mid_write(clamhook, tmp_path):
    """The reader is there when clamhook opens the FIFO and gone when it
    writes (the write is held back by strace): EPIPE, 75."""
    need_host_binary(clamhook)
    need("strace")
    fifo = tmp_path / "verdict.fifo"
    os.mkfifo(str(fifo))
    msg = tmp_path / "message.eml"
    msg.write_bytes(support.mail_eicar_plain())
    reader = os.open(str(fifo), os.O_RDONLY | os.O_NONBLOCK)
    closed = []

    def watch(live):
        def opened():
            return any(_has_open(c, str(fifo)) for c in _children(live.pid))
        ok = support.wait_for(opened, 10)
        os.close(reader)
        closed.append(ok)

    try:
        # write #1 is zINSTREAM, #2 the record: hold #2 for 1.5 s
        r = run_argv(clamhook, ["strace", "-f", "-o", "/dev/null", "-e",
                                "inject=write:delay_enter=1500000:when=2"],
                     [msg], config=out_config(fifo), on_start=watch)
    finally:
        if not closed:
            os.close(reader)
    assert closed == [True], "clamhook never opened the FIFO"
    assert not r.timed_out, r
    assert r.status == 75, r
    support.assert_error_line(r.err, "the reader closed the FIFO")
    assert r.elapsed < 10, r


def _run_raw(argv, stdin=None, stderr=None, timeout=30, env=None):
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=stdin or subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=stderr,
                       timeout=timeout, env=env)
    return p, time.monotonic() - t0


@pytest.mark.parametrize("case", ["clean", "infected", "failed",
                                  "clean_debug2", "failed_debug2"])
def test_output_stderr_is_dev_full(clamhook, tmp_path, case):
    """2>/dev/full: every message to stderr fails; the verdict and the
    status do not change, and nothing hangs."""
    vdir, path = verdict_dir(tmp_path)
    extra = {}
    if case.startswith("failed"):
        extra["clamd"] = {"server": "127.0.0.1:%d" % support.closed_port()}
    if case.endswith("debug2"):
        extra["log"] = {"debug": 2}
    conf = clamhook.config_file(out_config(path, **extra))
    msg = tmp_path / "message.eml"
    msg.write_bytes(support.mail_eicar_plain() if case == "infected"
                    else support.mail_plain())
    with open("/dev/full", "wb") as full:
        p, elapsed = _run_raw(clamhook.argv(["-c", conf, msg]),
                              stderr=full, env=clamhook.env())
    assert p.stdout == b""
    if case.startswith("failed"):
        assert p.returncode == 75, p
        assert not os.path.lexists(path)
    else:
        assert p.returncode == (1 if case == "infected" else 0), p
        assert path.read_bytes() == (INFECTED if case == "infected"
                                     else CLEAN)
    assert leftovers(vdir) == []
    assert elapsed < 10


# -- process -------------------------------------------------------------------

# What clamhook calls on the message path (strace -c of a scan): read,
# write, writev, poll, connect.  It never uses recvfrom or sendto.
EINTR_CALLS = "read,write,writev,poll,connect"


@pytest.mark.parametrize("kind", ["file", "pipe"])
@pytest.mark.parametrize("infected", [False, True],
                         ids=["clean", "infected"])
@pytest.mark.parametrize("when", ["1", "2+3"])
def test_process_eintr(clamhook, tmp_path, kind, infected, when):
    """EINTR on the first, or on every third call from the second on, of
    each call clamhook makes: the verdict does not change."""
    need_host_binary(clamhook)
    need("strace")
    vdir, path = verdict_dir(tmp_path)
    data = (support.message_at(300 * KIB, 400 * KIB) if infected
            else support.filler(400 * KIB))
    msg = tmp_path / "message.eml"
    msg.write_bytes(data)
    args = [msg] if kind == "file" else []
    feed = {"input": data} if kind == "pipe" else {}
    r = run_argv(clamhook, ["strace", "-f", "-o", "/dev/null", "-e",
                            "inject=%s:error=EINTR:when=%s"
                            % (EINTR_CALLS, when)],
                 args, config=out_config(path), **feed)
    assert_verdict(r, path, 1 if infected else 0,
                   INFECTED if infected else CLEAN, within=20)


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_process_eintr_and_short_writes(clamhook, tmp_path, transport):
    """1 MiB chunks to a peer that pauses before reading come out in short
    writes (a Unix socket's send buffer is about 200 KiB; over TCP they
    happen when the window is small), with EINTR on top: the stream arrives
    whole and framed."""
    need_host_binary(clamhook)
    need("strace")
    vdir, path = verdict_dir(tmp_path)
    data = support.filler(8 * MIB)
    trace = tmp_path / "trace"
    steps = ("accept 20000; command; sleep 300; instream; "
             "send 'stream: OK\\0'; close")
    sockdir = tempfile.mkdtemp(prefix="chf", dir="/tmp")   # short sun_path
    try:
        unix = os.path.join(sockdir, "s") if transport == "unix" else None
        with Peer(steps, unix=unix, rcvbuf=4096, max_seconds=40) as peer:
            r = run_argv(clamhook, [
                "strace", "-f", "-o", str(trace), "-e", "trace=writev", "-e",
                "inject=%s:error=EINTR:when=2+3" % EINTR_CALLS], [],
                input=data, config=out_config(path, clamd={
                    "server": peer.address, "chunk_size": "1M"},
                    message={"buffer_size": "4M"}))
        res = peer.wait(5)
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)
    assert_verdict(r, path, 0, CLEAN, within=30)
    st = res["conns"][0]["instream"]
    assert st["end"] is True and st["bytes"] == len(data), st
    assert st["max_chunk"] == MIB and st["chunks"] == 8, st
    short = [line for line in trace.read_text().splitlines()
             if re.search(r"writev\(.*\) = \d+$", line)
             and not re.search(r"= (4|1048580)$", line)]
    if transport == "unix":
        assert short, trace.read_text()[-3000:]


def _signal_when(live, ready, timeout=10):
    """Wait until ready(live) (clamhook at the stage), then SIGTERM it."""
    assert support.wait_for(lambda: ready(live), timeout), \
        "stage not reached"
    time.sleep(0.3)
    assert live.proc.poll() is None, "clamhook ended before the signal"
    support.send_signal(live.pid, signal.SIGTERM)


def _connecting(live):
    """clamhook has a TCP socket in SYN_SENT: it waits in connect (its
    handlers are set by then, however slowly it started)."""
    pid = live.pid
    try:
        mine = {os.readlink("/proc/%d/fd/%s" % (pid, fd))
                for fd in os.listdir("/proc/%d/fd" % pid)}
        with open("/proc/%d/net/tcp" % pid) as f:
            rows = [line.split() for line in f.readlines()[1:]]
    except OSError:
        return False
    return any(r[3] == "02" and "socket:[%s]" % r[9] in mine for r in rows)


def _events(peer, ev):
    return [e for e in list(peer.events) if e["ev"] == ev]


@pytest.mark.parametrize("stage", ["connect", "sending", "reply"])
def test_process_sigterm_at_stage(clamhook, tmp_path, stage):
    """SIGTERM while connecting (a full listen queue), while sending (a
    peer that reads nothing) and while waiting for the reply: 75, no
    temporary file, no verdict."""
    vdir, path = verdict_dir(tmp_path)
    steps = {"connect": "fill; sleep 30000",
             "sending": "accept 20000; command; hold 30000",
             "reply": "accept 20000; command; instream; sleep 30000"}[stage]
    msg = tmp_path / "message.eml"
    msg.write_bytes(support.filler(8 * MIB) if stage == "sending"
                    else support.mail_plain())
    with Peer(steps, rcvbuf=4096, max_seconds=40) as peer:
        if stage == "connect":
            ready = _connecting
        elif stage == "sending":
            ready = lambda live: _events(peer, "command")   # noqa: E731
        else:
            ready = lambda live: _events(peer, "instream")  # noqa: E731
        r = clamhook([msg], timeout=30,
                     on_start=lambda live: _signal_when(live, ready),
                     config=out_config(path, clamd={
                         "server": peer.address, "timeout_ms": 25000,
                         "connect_timeout_ms": 25000}))
        peer.stop()
    res = peer.wait(5)
    assert_failed(r, vdir, path, "interrupted by a signal", within=10)
    if stage == "connect":
        assert res["conns"] == [], res
    if stage == "reply":
        assert res["conns"][0]["instream"]["end"] is True, res


def test_process_sigterm_waiting_for_fifo_reader(clamhook, tmp_path):
    fifo = tmp_path / "verdict.fifo"
    os.mkfifo(str(fifo))

    def napping(live):
        # the scan is done and clamhook naps between opens of the FIFO
        # (nanosleep: nothing else in clamhook sleeps)
        try:
            with open("/proc/%d/wchan" % live.pid) as f:
                return "sleep" in f.read()
        except OSError:
            return False

    r = clamhook([], input=support.mail_plain(), timeout=30,
                 on_start=lambda live: _signal_when(live, napping),
                 config=out_config(fifo, clamd={"timeout_ms": 25000}))
    assert not r.timed_out, r
    assert r.status == 75, r
    support.assert_error_line(r.err, "interrupted by a signal")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [f for f in os.listdir(tmp_path) if f.startswith(".")] == []
    assert r.elapsed < 10, r


@pytest.mark.parametrize("case", ["clean", "infected", "failed", "stdin"])
def test_process_standard_descriptors_closed(clamhook, tmp_path, case):
    """clamhook <&- >&- 2>&-: descriptors 0-2 are not taken by the verdict
    or the socket; the status is right.  A message read from the closed
    standard input is a failure, not an empty clean message."""
    vdir, path = verdict_dir(tmp_path)
    extra = {}
    if case == "failed":
        extra["clamd"] = {"server": "127.0.0.1:%d" % support.closed_port()}
    conf = clamhook.config_file(out_config(path, **extra))
    msg = tmp_path / "message.eml"
    msg.write_bytes(support.mail_eicar_plain() if case == "infected"
                    else support.mail_plain())
    args = ["-c", conf] + ([] if case == "stdin" else [str(msg)])
    argv = ["sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh"] + clamhook.argv(args)
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30, env=clamhook.env())
    elapsed = time.monotonic() - t0
    if case in ("failed", "stdin"):
        assert p.returncode == 75
        assert not os.path.lexists(path)
    else:
        assert p.returncode == (1 if case == "infected" else 0)
        assert path.read_bytes() == (INFECTED if case == "infected"
                                     else CLEAN)
    assert leftovers(vdir) == []
    assert elapsed < 10


@pytest.mark.parametrize("nofile", [3, 4, 5, 6, 8])
def test_process_tiny_nofile_limit(clamhook, tmp_path, nofile):
    """ulimit -n N: either the right verdict, or 75 naming EMFILE, with no
    temporary file and no stale verdict left."""
    need_host_binary(clamhook)
    vdir, path = verdict_dir(tmp_path)
    msg = tmp_path / "message.eml"
    msg.write_bytes(support.mail_eicar_plain())
    # -o as well: a config that cannot be opened still names the path
    r = run_argv(clamhook, ["sh", "-c", 'ulimit -n %d && exec "$@"' % nofile,
                            "sh"], ["-o", path, msg], config=out_config(path))
    assert not r.timed_out, r
    if r.status == 75:
        # musl says "No file descriptors available", glibc "Too many
        # open files"
        text = r.err.decode()
        assert ("No file descriptors available" in text
                or "Too many open files" in text), r
        assert_failed(r, vdir, path, within=5)
    else:
        assert_verdict(r, path, 1, INFECTED, within=5)
    if nofile >= 6:
        assert r.status == 1, r


@pytest.mark.parametrize("buffer_size", ["64K", "16M"])
def test_process_address_space_limit(clamhook, tmp_path, buffer_size):
    """ulimit -v 8 MiB: the static binary with a 64 KiB ring works; a 16 MiB
    ring cannot be allocated: 75 and a clear message."""
    need_host_binary(clamhook)
    vdir, path = verdict_dir(tmp_path)
    msg = tmp_path / "message.eml"
    msg.write_bytes(support.mail_eicar_plain())
    r = run_argv(clamhook, ["sh", "-c", 'ulimit -v 8192 && exec "$@"', "sh"],
                 [msg], config=out_config(path, message={
                     "buffer_size": buffer_size}))
    if buffer_size == "64K":
        assert_verdict(r, path, 1, INFECTED, within=5)
    else:
        assert_failed(r, vdir, path, "cannot allocate the 16777216-byte "
                      "ring buffer", within=5)


# -- configuration -------------------------------------------------------------
#
# Cases after inih's own test corpus (tests/*.ini of benhoyt/inih: a line
# that is no setting, an indented first line, an unterminated section, a
# name without a value, a long section name, long lines, continuation lines,
# quoted values, a BOM), rewritten for clamhook, and more.  Each entry:
# (id, text with @S@ for the clamd server, line of the error or None when
# the file is valid, what the message says).

CONFIG_CASES = [
    # not a setting at all (inih: bad_comment)
    ("text_line", b"[clamd]\nserver = @S@\nthis is an error\n", 3,
     "syntax error"),
    # an indented first line continues nothing (inih: bad_multi)
    ("indented_first_line", b"  indented\n[clamd]\nserver = @S@\n", 1,
     "syntax error"),
    ("unterminated_section", b"[clamd]\nserver = @S@\n[verdict\nmode = 2\n",
     3, "missing ']'"),
    ("comment_inside_brackets", b"[clamd ; the daemon ]\nserver = @S@\n", 1,
     "missing ']'"),
    ("text_after_section", b"[clamd] junk\nserver = @S@\n", 1,
     "text after ']'"),
    # errors stop the reading: nothing after one is used
    # (inih: name_only_after_error)
    ("name_only_after_error", b"[broken\n\nname\n[clamd]\nserver = @S@\n", 1,
     "missing ']'"),
    # names without values (inih: no_value)
    ("name_without_value", b"[clamd]\nserver = @S@\nsection0\n", 3,
     "syntax error"),
    ("empty_name", b"[clamd]\nserver = @S@\n= 3310\n", 3, "unknown key ''"),
    # a value the handler refuses (inih: user_error)
    ("value_refused", b"[clamd]\nserver = @S@\nport = parse_error\n", 3,
     "port"),
    # long section names (inih: long_section; its buffer keeps 49 bytes)
    ("section_60_chars", b"[clamd]\nserver = @S@\n[" + b"_123456789" * 6
     + b"]\nname = value\n", 3, "unknown section"),
    ("unknown_empty_section", b"[clamd]\nserver = @S@\n[empty]\n; nothing\n",
     3, "unknown section [empty]"),
    # 60-byte headers naming a known section, blanks inside the brackets
    ("section_padded_to_60", b"[clamd" + b" " * 53 + b"]\nserver = @S@\n",
     None, ""),
    ("section_indented_to_60", b"[" + b" " * 53 + b"clamd]\nserver = @S@\n",
     None, ""),
    ("repeated_section_header", b"[clamd]\nserver = @S@\n[verdict]\n"
     b"[clamd]\nport = 3310\n", None, ""),
    ("duplicate_key_in_repeated_section", b"[clamd]\nserver = @S@\n"
     b"port = 3310\n[clamd]\nport = 3311\n", 5,
     "duplicate key 'port' (first at line 3)"),
    ("empty_section_name", b"[clamd]\nserver = @S@\n[]\n", 3,
     "unknown section"),
    # line lengths (inih: long_line; its default buffer is 200 bytes)
    ("line_250_value", b"[clamd]\nserver = @S@\n[verdict]\nfield = "
     + b"x" * 242 + b"\n", 4, "line too long"),
    ("line_250_comment", b"[clamd]\nserver = @S@\n; " + b"c" * 248 + b"\n",
     3, "line too long"),
    ("line_250_no_newline", b"[clamd]\nserver = @S@\n[verdict]\nfield = "
     + b"x" * 242, 4, "line too long"),
    ("line_199", b"[clamd]\nserver = @S@\n[verdict]\nfield = " + b"x" * 191
     + b"\n", 4, "line too long"),
    ("line_198", b"[clamd]\nserver = @S@\n[verdict]\nfield = " + b"x" * 190
     + b"\n", None, ""),
    # continuation lines (inih: multi_line)
    ("continued_server_list", b"[clamd]\nserver = @S@\n  @S@\n", None, ""),
    ("continued_enum_breaks_it", b"[clamd]\nserver = @S@\n[verdict]\n"
     b"format = line\n    shell\n", 5, "format"),
    # inih keeps continuing across blank lines: an indented key there
    # is more of the value above, not a key
    ("indented_key_after_blank_line", b"[clamd]\nserver = @S@\n\n   \n"
     b"  port = 3310\n", 5, "server"),
    ("continued_after_section", b"[clamd]\n  server = @S@\n", None, ""),
    # quotes are kept (inih: remove_leading_quote is off by default)
    ("quoted_enum", b"[clamd]\nserver = @S@\n[verdict]\nformat = \"shell\"\n",
     4, "format"),
    ("quoted_string_kept", b"[clamd]\nserver = @S@\n[verdict]\n"
     b"field = \"X-Scan\"\n", None, ""),
    # inih: normal (comments after sections and values, empty values)
    ("inline_comments", b"; clamhook\n[clamd]  ; section comment\n"
     b"server = @S@  ; the daemon\n# x=y\n\n[verdict]\nverdict =\n", None, ""),
    # BOM (inih: bom) and line ends
    ("bom", b"\xef\xbb\xbf[clamd]\nserver = @S@\n", None, ""),
    ("bom_on_second_line", b"[clamd]\n\xef\xbb\xbfserver = @S@\n", 2,
     "unknown key '???server'"),
    ("crlf", b"[clamd]\r\nserver = @S@\r\n[verdict]\r\nmode = 2\r\n", None,
     ""),
    ("crlf_and_bom", b"\xef\xbb\xbf[clamd]\r\nserver = @S@\r\n", None, ""),
    ("lone_cr", b"[clamd]\rserver = @S@\r", 1, "text after ']'"),
    # NUL bytes
    ("nul_in_value", b"[clamd]\nserver = @S@\nport = 33\x0010\n", 3, "NUL"),
    ("nul_in_comment", b"[clamd]\nserver = @S@\n; a\x00b\n", 3, "NUL"),
    ("nul_line", b"[clamd]\nserver = @S@\n\x00\n", 3, "NUL"),
    # duplicates
    ("duplicate_key", b"[clamd]\nserver = @S@\nport = 1\nport = 2\n", 4,
     "port"),
    ("duplicate_key_other_case", b"[clamd]\nserver = @S@\n[verdict]\n"
     b"mode = 1\nMODE = 2\n", 5, "mode"),
    ("duplicate_key_across_sections", b"[verdict]\nmode = 1\n[clamd]\n"
     b"server = @S@\n[verdict]\nmode = 2\n", 6, "mode"),
    ("repeated_server_is_fine", b"[clamd]\nserver = @S@\nserver = @S@\n",
     None, ""),
    # values
    ("unknown_key", b"[clamd]\nserver = @S@\nservr = x\n", 3, "servr"),
    ("key_outside_section", b"[clamd]\nserver = @S@\n[verdict]\n"
     b"port = 1\n", 4, "port"),
    ("high_bytes_in_key", b"[clamd]\nserver = @S@\np\xc3\xb6rt = 1\n", 3,
     "unknown key 'p??rt'"),
    ("number_with_junk", b"[clamd]\nserver = @S@\ntimeout_ms = 10s\n", 3,
     "timeout_ms"),
    ("number_negative", b"[clamd]\nserver = @S@\ntimeout_ms = -1\n", 3,
     "timeout_ms"),
    ("number_overflow", b"[clamd]\nserver = @S@\ntimeout_ms = "
     b"99999999999999999999999\n", 3, "timeout_ms"),
    ("size_out_of_range", b"[clamd]\nserver = @S@\n[message]\n"
     b"buffer_size = 32M\n", 4, "buffer_size"),
    ("colon_separator", b"[clamd]\nserver: @S@\n", None, ""),
    ("empty_file", b"", 0, "server"),
    ("only_comments", b"; nothing\n# here\n", 0, "server"),
    # Sun option files
    ("sun_unknown_option", b"HOST=127.0.0.1\nBOGUS=1\n", 2, "BOGUS"),
    # a section header anywhere makes it an INI file
    ("sun_section_inside", b"HOST=127.0.0.1\n[clamd]\n", 1,
     "before any [section]"),
]


def _case_text(text, clamhook):
    server = clamhook.base["clamd"]["server"].encode()
    return text.replace(b"@S@", server)


@pytest.mark.parametrize("name,text,line,what",
                         CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_file(clamhook, tmp_path, name, text, line, what):
    conf = tmp_path / ("%s.ini" % name)
    conf.write_bytes(_case_text(text, clamhook))
    vdir, path = verdict_dir(tmp_path)
    r = clamhook(["-c", conf, "-o", path], input=support.mail_plain(),
                 config=False)
    t = clamhook(["-c", conf, "--check-config"], config=False)
    if line is None:
        # valid after all: it scans, and -t says 0
        assert_verdict(r, path, 0, b"\n" if b"mode = 2" not in text
                       else CLEAN, within=5)
        assert t.status == 0, t
        return
    assert_failed(r, vdir, path, what, within=5)
    assert t.status == 78, t
    assert t.out == b""
    for run in (r, t):
        lines = support.stderr_lines(run.err)
        assert len(lines) == 1, run
        prefix = "clamhook: %s:%d: " % (conf, line) if line \
            else "clamhook: %s: " % conf
        assert lines[0].startswith(prefix), (prefix, run)
        assert what in lines[0], run


@pytest.mark.parametrize("kind", ["missing", "directory", "unreadable"])
def test_config_not_a_readable_file(clamhook, tmp_path, shared_dir, kind):
    vdir, path = verdict_dir(tmp_path)
    if kind == "missing":
        conf, why, prefix = tmp_path / "none.ini", "No such file", []
    elif kind == "directory":
        conf, why, prefix = tmp_path, "Is a directory", []
    else:
        conf = os.path.join(shared_dir, "secret.ini")
        with open(conf, "w") as f:
            f.write("[clamd]\nserver = 127.0.0.1\n")
        os.chmod(conf, 0o600)
        why, prefix = "Permission denied", NOBODY
        vdir = os.path.join(shared_dir, "out")
        os.mkdir(vdir)
        os.chmod(vdir, 0o777)
        path = os.path.join(vdir, "verdict")
        with open(path, "wb") as f:
            f.write(STALE)
        os.chmod(path, 0o666)
    for action, status in ((["-o", str(path)], 75), (["-t"], 78)):
        argv = prefix + clamhook.argv(["-c", conf] + action)
        r = support.run_process(argv, input=support.mail_plain(), timeout=20,
                                cwd=shared_dir)
        assert not r.timed_out, r
        assert r.status == status, r
        lines = support.stderr_lines(r.err)
        assert len(lines) == 1, r
        assert lines[0].startswith("clamhook: %s: " % conf), r
        assert why in lines[0], r
        assert r.elapsed < 5, r
    assert not os.path.lexists(path)
    assert leftovers(vdir) == []
