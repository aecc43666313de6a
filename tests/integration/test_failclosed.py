# SPDX-License-Identifier: ISC
"""Fail closed, second pass (SPEC §3, §4.3, §5.1, §5.2, §6): paths that
once ended clean without proof, or waited without bound.  Each test names
its class; each failed on the code before the fix.  Against the session's
real clamd wherever one can show it."""

import fcntl
import os
import shutil
import signal
import stat
import tempfile
import time

import pytest

import support
from eicar import eicar

STALE = b"Virus-Test: False\n"       # an earlier run's clean verdict
# seconds allowed past a deadline, with what a runner adds at start
SLACK = 1.2 + support.start_cost()


def stale_verdict(tmp_path, name="verdict"):
    p = tmp_path / name
    p.write_bytes(STALE)
    return p


def temporaries(d, name="verdict"):
    return [f for f in os.listdir(d) if f.startswith("." + name + ".")]


def assert_tempfail(r, reason, verdict=None, within=None):
    """75, a one-line reason naming it, no verdict and no temporary left."""
    assert not r.timed_out, r
    assert r.status == 75, r
    support.assert_error_line(r.err, reason)
    if verdict is not None:
        assert not os.path.lexists(verdict), r
        assert temporaries(verdict.parent, verdict.name) == [], r
    if within is not None:
        assert r.elapsed <= within, r


def need_host_binary(clamhook):
    """rlimit cases limit clamhook itself: the static host binary, not qemu,
    valgrind or a sanitizer build (test_faults' rule)."""
    from test_faults import need_host_binary as need
    need(clamhook)


def eicar_mail(tmp_path, name="virus.eml"):
    p = tmp_path / name
    p.write_bytes(support.mail_eicar_plain())
    return p


# -- 1. FILDES with a descriptor clamhook cannot read --------------------------

def test_fildes_write_only_stdin_is_never_clean(clamhook, clamd, tmp_path):
    """A standard input open for writing only is refused, never passed to
    clamd (which could not read it either, and would answer OK)."""
    msg = eicar_mail(tmp_path)
    fd = os.open(str(msg), os.O_WRONLY)
    try:
        r = clamhook(stdin=fd, config={"clamd": {
            "server": clamd.server("unix"), "protocol": "fildes"}})
    finally:
        os.close(fd)
    assert_tempfail(r, "stdin: not open for reading")
    assert r.out == b"", r


# -- 4. Writing the verdict ends by the deadline -------------------------------

def full_pipe():
    """A pipe whose buffer is full, its write end blocking again."""
    rfd, wfd = os.pipe()
    fl = fcntl.fcntl(wfd, fcntl.F_GETFL)
    fcntl.fcntl(wfd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    try:
        while True:
            os.write(wfd, b"x" * 65536)
    except BlockingIOError:
        pass
    fcntl.fcntl(wfd, fcntl.F_SETFL, fl)
    return rfd, wfd


def test_verdict_to_full_blocking_pipe_ends_by_deadline(clamhook, clamd):
    rfd, wfd = full_pipe()
    try:
        r = clamhook(input=support.mail_plain(), pass_fds=(wfd,),
                     timeout=20, config={
                         "clamd": {"timeout_ms": 1500},
                         "verdict": {"mode": 2, "output": "fd:%d" % wfd}})
    finally:
        os.close(rfd)
        os.close(wfd)
    assert_tempfail(r, "not writable after 1500 ms", within=1.5 + SLACK)


def test_verdict_to_fifo_reader_stopped_ends_by_deadline(clamhook, clamd,
                                                         tmp_path):
    """The FIFO has a reader that stopped reading: its buffer is full."""
    fifo = tmp_path / "verdict.fifo"
    os.mkfifo(str(fifo))
    rfd = os.open(str(fifo), os.O_RDONLY | os.O_NONBLOCK)
    wfd = os.open(str(fifo), os.O_WRONLY | os.O_NONBLOCK)
    try:
        try:
            while True:
                os.write(wfd, b"x" * 65536)
        except BlockingIOError:
            pass
        r = clamhook(input=support.mail_plain(), timeout=20, config={
            "clamd": {"timeout_ms": 1500},
            "verdict": {"mode": 2, "output": str(fifo)}})
    finally:
        os.close(wfd)
        os.close(rfd)
    assert_tempfail(r, "not writable after 1500 ms", within=1.5 + SLACK)
    assert stat.S_ISFIFO(os.lstat(str(fifo)).st_mode)


# -- 5. Opening the message ends by the deadline -------------------------------

def test_fifo_message_without_writer(clamhook, clamd, tmp_path):
    fifo = tmp_path / "msg.fifo"
    os.mkfifo(str(fifo))
    v = stale_verdict(tmp_path)
    r = clamhook([str(fifo)], timeout=20, config={
        "clamd": {"timeout_ms": 1000},
        "verdict": {"mode": 2, "output": str(v)}})
    assert_tempfail(r, "a FIFO with no writer until the deadline", v,
                    within=1.0 + SLACK)


def test_fifo_message_without_writer_in_a_batch(clamhook, clamd, tmp_path):
    """The FIFO fails alone; the other files are scanned."""
    fifo = tmp_path / "msg.fifo"
    os.mkfifo(str(fifo))
    clean = tmp_path / "clean.eml"
    clean.write_bytes(support.mail_plain())
    virus = eicar_mail(tmp_path)
    r = clamhook([str(clean), str(fifo), str(virus)], timeout=20, config={
        "clamd": {"timeout_ms": 1000}, "verdict": {"mode": 2}})
    assert r.status == 75, r
    assert r.out.startswith(b"%s\tVirus-Test: False\n" % bytes(clean)), r
    assert b"%s\tVirus-Test: True ; " % bytes(virus) in r.out, r
    assert bytes(fifo) not in r.out, r
    support.assert_error_line(r.err, "a FIFO with no writer")
    assert r.elapsed <= 1.0 + SLACK + 1, r


def test_fifo_message_with_writer_is_scanned(clamhook, clamd, tmp_path):
    """A FIFO whose writer comes later is waited for and scanned."""
    fifo = tmp_path / "msg.fifo"
    os.mkfifo(str(fifo))
    data = support.mail_eicar_plain()

    def write_later(live):
        def go():
            time.sleep(0.3)
            with open(str(fifo), "wb") as f:
                f.write(data)
        import threading
        threading.Thread(target=go, daemon=True).start()

    r = clamhook([str(fifo)], on_start=write_later, timeout=20,
                 config={"verdict": {"mode": 2}})
    assert r.status == 1, r
    assert r.out.startswith(b"Virus-Test: True ; "), r


# -- 8. A file-size limit fails the write, it does not kill the run ------------

def test_file_size_limit_is_a_failed_write(clamhook, clamd, tmp_path):
    need_host_binary(clamhook)
    v = stale_verdict(tmp_path)
    conf = clamhook.config_file({"verdict": {"mode": 2, "output": str(v)}})
    argv = ["sh", "-c", 'ulimit -f 0; exec "$@"', "sh"] + clamhook.argv(
        ["-c", conf])
    r = support.run_process(argv, input=support.mail_plain(), timeout=30,
                            env=clamhook.env(), cwd=str(tmp_path))
    assert_tempfail(r, "cannot write temporary file", v)


# -- 9. A character device is written, never replaced or removed ---------------
#
# Each test makes its own device node (the null device, 1:3) or link, so
# that a regression replaces that, never the machine's /dev/null.

def null_node(d, mode=0o666):
    path = os.path.join(str(d), "null")
    os.mknod(path, stat.S_IFCHR | mode, os.makedev(1, 3))
    os.chmod(path, mode)
    return path


def is_null_node(path):
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize("infected", [False, True])
def test_device_is_written_never_replaced(clamhook, clamd, tmp_path,
                                          infected):
    dev = null_node(tmp_path)
    r = clamhook(input=support.mail_eicar_plain() if infected
                 else support.mail_plain(),
                 config={"verdict": {"mode": 2, "output": dev}})
    assert r.status == (1 if infected else 0), r
    assert is_null_node(dev), os.lstat(dev)
    assert temporaries(tmp_path, "null") == [], os.listdir(str(tmp_path))


def test_device_failed_scan_leaves_it(clamhook, tmp_path):
    dev = null_node(tmp_path)
    r = clamhook(input=support.mail_plain(), config={
        "clamd": {"server": "127.0.0.1:%d" % support.closed_port(),
                  "state_file": ""},
        "verdict": {"mode": 2, "output": dev}})
    assert r.status == 75, r
    assert is_null_node(dev), os.lstat(dev)


def test_stdout_link_is_written_through(clamhook, clamd, tmp_path):
    """A link to /proc/self/fd/1, as /dev/stdout is: the verdict goes to
    standard output, and the link stays."""
    link = tmp_path / "stdout"
    os.symlink("/proc/self/fd/1", str(link))
    r = clamhook(input=support.mail_eicar_plain(),
                 config={"verdict": {"mode": 2, "output": str(link)}})
    assert r.status == 1, r
    assert r.out.startswith(b"Virus-Test: True ; "), r
    assert os.readlink(str(link)) == "/proc/self/fd/1"


def test_device_as_a_user(clamhook, clamd):
    """As nobody, a device in a directory nobody cannot write failed every
    message: clamhook tried to create a temporary file beside it."""
    d = tempfile.mkdtemp(prefix="clamhook-dev-")
    try:
        os.chmod(d, 0o755)
        dev = null_node(d)
        conf = os.path.join(d, "nobody.ini")
        cfg = support.merge_config(clamhook.base, {
            "verdict": {"mode": 2, "output": dev}})
        cfg["clamd"]["state_file"] = ""
        with open(conf, "w") as f:
            f.write(support.ini_text(cfg))
        os.chmod(conf, 0o644)
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                "--clear-groups", "--"] + clamhook.argv(["-c", conf])
        r = support.run_process(argv, input=support.mail_plain(),
                                timeout=30, env=clamhook.env(), cwd="/")
        assert r.status == 0, r
        assert r.err == b"", r
        assert is_null_node(dev)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# -- 10. Signal windows ---------------------------------------------------------

def test_sigterm_while_waiting_for_the_lock(clamhook, clamd, tmp_path):
    """SIGTERM while clamhook waits for the state file's lock (before any
    server is tried): 75, the earlier clean verdict gone, no temporary."""
    v = stale_verdict(tmp_path)
    state = tmp_path / "state"
    state.write_text("clamhook-state 1\nnext 1\n")
    holder = os.open(str(state), os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)

    def term_soon(live):
        # Its temporary exists: its handlers are set, and it is past
        # opening the destination, on its way to the lock.
        assert support.wait_for(lambda: temporaries(tmp_path), 30)
        time.sleep(0.2)
        support.send_signal(live.pid, signal.SIGTERM)

    try:
        r = clamhook(input=support.mail_plain(), on_start=term_soon,
                     config={"clamd": {
                         "server": [clamd.server("tcp"), clamd.server("unix")],
                         "state_file": str(state)},
                         "verdict": {"mode": 2, "output": str(v)}})
    finally:
        os.close(holder)
    assert_tempfail(r, "interrupted by a signal", v)


# -- 11. A destination that cannot be opened still drains the input ------------

def test_unopenable_destination_drains_input(clamhook, clamd, tmp_path):
    total = 8 * support.MIB
    rfd, wfd = os.pipe()
    state = {"written": 0, "error": None}

    def produce(live):
        os.close(rfd)
        import threading

        def go():
            try:
                chunk = b"x" * 65536
                while state["written"] < total:
                    state["written"] += os.write(wfd, chunk)
            except OSError as e:
                state["error"] = e
            finally:
                os.close(wfd)
        threading.Thread(target=go, daemon=True).start()

    r = clamhook(stdin=rfd, on_start=produce, timeout=60, config={
        "verdict": {"output": str(tmp_path / "no" / "such" / "dir" / "v")}})
    deadline = time.monotonic() + 30
    while state["error"] is None and state["written"] < total and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.status == 75, r
    support.assert_error_line(r.err, "cannot create temporary file")
    assert state["error"] is None, state
    assert state["written"] >= total, state


# -- 12. mode 0 with an empty verdict: allowed, and --check-config says so -----

def test_null_verdict_warned_by_check_config(clamhook):
    r = clamhook(["--check-config"], config={"verdict": {"mode": 0}})
    assert r.status == 0, r
    support.assert_error_line(r.err, "warning: ", "mode 0 with an empty "
                              "verdict")
    r = clamhook(["--check-config"], config={
        "verdict": {"mode": 0, "verdict": "infected"}})
    assert r.status == 0 and r.err == b"", r


# -- 13. A verdict name too long for its temporary; a small stack --------------

def test_verdict_name_too_long_for_temporary(clamhook, tmp_path):
    name = "v" * 250
    r = clamhook(["--check-config", "-o", str(tmp_path / name)])
    assert r.status == 78, r
    support.assert_error_line(r.err, "output: a file name of at most 247")
    r = clamhook(["-o", str(tmp_path / name)], input=support.mail_plain())
    assert r.status == 75, r
    support.assert_error_line(r.err, "output: a file name of at most 247")


@pytest.mark.parametrize("kib", [64, 32])
def test_small_stack(clamhook, clamd, tmp_path, kib):
    """A scan and a batch in a 64 KiB stack, and in 32 KiB."""
    need_host_binary(clamhook)
    clean = tmp_path / "clean.eml"
    clean.write_bytes(support.mail_plain())
    virus = eicar_mail(tmp_path)
    conf = clamhook.config_file({"verdict": {"mode": 2, "format": "shell"}})
    for files, status in (([], 0), ([str(clean), str(virus)], 1)):
        argv = ["sh", "-c", 'ulimit -s %d; exec "$@"' % kib, "sh"] + \
            clamhook.argv(["-c", conf] + files)
        r = support.run_process(argv, input=support.mail_plain(),
                                timeout=30, env=clamhook.env(),
                                cwd=str(tmp_path))
        assert r.status == status, r
        assert b"CLAMHOOK_RESULT=" in r.out, r


# -- 6. Resolving names ends by the deadline -----------------------------------

def test_silent_resolver_ends_by_deadline(clamhook, clamd, tmp_path):
    """A resolver that never answers (musl waits 5 s a try, twice a name):
    the run ends at timeout_ms with 75, the stale verdict removed."""
    import socket
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.77", 53))
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.77\noptions timeout:5 attempts:2\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    v = stale_verdict(tmp_path)
    conf = clamhook.config_file({
        "clamd": {"server": ["clamd-a.example.test:%d" % clamd.port,
                             "clamd-b.example.test:%d" % clamd.port],
                  "timeout_ms": 1500},
        "verdict": {"mode": 2, "output": str(v)}})
    argv = ["unshare", "-m", "sh", "-c",
            'mount --bind "$1" /etc/resolv.conf && '
            'mount --bind "$2" /etc/hosts && shift 2 && exec "$@"',
            "sh", str(resolv), str(hosts)] + clamhook.argv(["-c", conf])
    try:
        r = support.run_process(argv, input=support.mail_plain(),
                                timeout=40, env=clamhook.env(),
                                cwd=str(tmp_path))
    finally:
        silent.close()
    assert_tempfail(r, "resolving the clamd servers' names: no answer "
                    "within timeout_ms (1500 ms)", v, within=1.5 + SLACK)


def test_names_still_resolve(clamhook, clamd):
    r = clamhook(input=support.mail_eicar_plain(), config={
        "clamd": {"server": clamd.server("localhost")},
        "verdict": {"mode": 2}})
    assert r.status == 1, r
    assert b"Virus-Test: True ; " in r.out, r


# -- 7. The state file's lock never costs a server its turn --------------------

def test_held_lock_costs_no_turn(clamhook, clamd, tmp_path):
    """Someone holds the state file's lock (anyone who can read it can):
    two servers refuse, the third answers.  The wait for the lock is
    bounded at start (a second); after that the run tries it once for
    each failure and once for its counts: about a second in all, where it
    was three; the run goes on without the state, with warnings."""
    state = tmp_path / "state"
    state.write_text("clamhook-state 1\nnext 0\n")
    holder = os.open(str(state), os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        r = clamhook(input=support.mail_eicar_plain(), timeout=20, config={
            "clamd": {"server": ["127.0.0.1:%d" % support.closed_port(),
                                 "127.0.0.1:%d" % support.closed_port(),
                                 clamd.server("tcp")],
                      "balance": "failover", "state_file": str(state),
                      "timeout_ms": 3000},
            "verdict": {"mode": 2}})
    finally:
        os.close(holder)
    assert r.status == 1, r
    assert r.out.startswith(b"Virus-Test: True ; "), r
    support.assert_error_line(r.err, "cannot lock: busy (ignored)")
    assert r.elapsed <= 2.0 + support.start_cost(), r
