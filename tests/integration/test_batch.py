# SPDX-License-Identifier: ISC
"""Several FILE arguments (SPEC §5.4): one IDSESSION for the whole batch,
one record per file in argument order (each line prefixed by the file name
and a TAB, or a CLAMHOOK_FILE= line), the worst status, and a session that
breaks mid-way continued on the next server with no file lost or scanned
twice.  Every batch is compared with single runs of the same files."""

import os
import re
import select
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import support
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "peer"))
from legacy_clamd import LegacyClamd  # noqa: E402


class CountingProxy:
    """A TCP relay in front of a clamd that counts the connections it
    accepts and the replies it passes back, and keeps what clients sent.

    After `after` replies relayed on a connection, `fault` decides what
    happens to the next ones:
      None      nothing: a plain relay
      "idle"    both sides are closed right after the last reply, as
                clamd's IdleTimeout would between two requests
      "kill"    both sides are closed as soon as the client sends the
                next request, in the middle of it
      "swallow" the next reply is dropped and both sides are closed when it
                comes (clamd scanned the file; the client never hears)
      "mangle"  the next reply gets the request number after its own
    """

    def __init__(self, port, fault=None, after=0, max_seconds=120):
        self.target = ("127.0.0.1", port)
        self.fault, self.after = fault, after
        self.end = time.monotonic() + max_seconds
        self.conns = []         # per connection: client bytes, replies
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.threads = [threading.Thread(target=self._serve, daemon=True)]
        self.threads[0].start()

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    @property
    def accepts(self):
        return len(self.conns)

    @property
    def replies(self):
        return sum(c["replies"] for c in self.conns)

    @property
    def sent(self):
        return [c["sent"] for c in self.conns]

    def settle(self, timeout=10):
        """Wait until every relay so far has ended (the client's last
        bytes may still be on their way when it exits)."""
        assert support.wait_for(
            lambda: all(c["done"] for c in list(self.conns)), timeout)

    def reset(self):
        """Forget the connections so far (their relays may still run)."""
        with self.lock:
            self.conns = []

    def stop(self):
        self.stopping = True
        for t in list(self.threads):
            t.join(15)
        self.sock.close()

    def _serve(self):
        while not self.stopping and time.monotonic() < self.end:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            rec = {"sent": bytearray(), "replies": 0, "done": False}
            with self.lock:
                self.conns.append(rec)
            t = threading.Thread(target=self._relay, args=(c, rec),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    @staticmethod
    def _drain(c):
        """clamd closed: pass the close on as a FIN and read what the
        client still sends, so that no reset destroys the last reply
        before the client reads it."""
        try:
            c.shutdown(socket.SHUT_WR)
            end = time.monotonic() + 5
            while time.monotonic() < end:
                if select.select([c], [], [], 0.1)[0] and not c.recv(65536):
                    return
        except OSError:
            pass

    def _relay(self, c, rec):
        try:
            s = socket.create_connection(self.target, 10)
        except OSError:
            c.close()
            return
        st = {"pending": b"", "relayed": 0}
        try:
            while not self.stopping and time.monotonic() < self.end:
                r, _, _ = select.select([c, s], [], [], 0.1)
                if s in r and not self._from_server(s, c, rec, st):
                    return
                if c in r:
                    if self.fault == "kill" and st["relayed"] >= self.after:
                        return
                    b = c.recv(65536)
                    if not b:
                        s.shutdown(socket.SHUT_WR)
                        # The client is done; wait for clamd to close.
                        while select.select([s], [], [], 5)[0]:
                            if not s.recv(65536):
                                break
                        return
                    rec["sent"] += b
                    try:
                        s.sendall(b)
                    except OSError:
                        # clamd stopped reading and closed (its size
                        # limit): its last reply may still be queued.
                        s.settimeout(5)
                        while self._from_server(s, c, rec, st):
                            pass
                        return
        except OSError:
            pass
        finally:
            c.close()
            s.close()
            rec["done"] = True

    def _from_server(self, s, c, rec, st):
        """Relay the replies clamd sent (applying the fault); False when
        the relay is over."""
        try:
            b = s.recv(65536)
        except OSError:
            b = b""
        if not b:
            self._drain(c)
            return False
        st["pending"] += b
        while b"\0" in st["pending"]:
            reply, st["pending"] = st["pending"].split(b"\0", 1)
            if self.fault and st["relayed"] >= self.after:
                if self.fault == "swallow":
                    return False
                m = re.match(rb"(\d+): ", reply)
                if m:
                    reply = b"%d: %s" % (int(m.group(1)) + 1,
                                         reply[m.end():])
            c.sendall(reply + b"\0")
            st["relayed"] += 1
            rec["replies"] += 1
            if self.fault == "idle" and st["relayed"] >= self.after:
                return False
        return True


@pytest.fixture
def proxies():
    made = []

    def make(port, **kw):
        p = CountingProxy(port, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


# ---------------------------------------------------------------------------
# The files of a batch.

KINDS = ["clean", "clean", "eicar", "clean", "empty", "zip", "missing",
         "clean", "binary", "directory"]


def make_files(d, n, kinds=KINDS):
    """n message paths in d, of the kinds in turn; missing and directory
    cannot be scanned (root reads any mode, so no chmod 000)."""
    files = []
    for k in range(n):
        kind = kinds[k % len(kinds)]
        path = os.path.join(str(d), "%s-%03d" % (kind, k))
        if kind == "missing":
            pass
        elif kind == "directory":
            os.mkdir(path)
        else:
            data = {"clean": lambda: support.mail_plain(
                        body=b"message %d\n" % k),
                    "eicar": support.mail_eicar_plain,
                    "zip": support.mail_eicar_zip,
                    "binary": support.mail_binary,
                    "empty": lambda: b"",
                    "big": lambda: support.filler(200 * 1024, seed=k),
                    "bigeicar": lambda: support.message_at(
                        150 * 1024, 200 * 1024)}[kind]()
            with open(path, "wb") as f:
                f.write(data)
        files.append(path)
    return files


def prefixed(name, out):
    return b"".join(name.encode() + b"\t" + line
                    for line in out.splitlines(keepends=True))


_MS = re.compile(rb"^CLAMHOOK_MS='\d+'$", re.M)


def mask_ms(out):
    return _MS.sub(b"CLAMHOOK_MS='?'", out)


def worst(statuses):
    return 75 if 75 in statuses else max(statuses)


def single_runs(clamhook, files, config, fmt="line"):
    """What the files give one by one: the expected batch output, stderr
    and status."""
    def one(path):
        return clamhook([path], config=config, timeout=60)

    clamhook.base   # resolves the clamd fixture here, not in the threads
    with ThreadPoolExecutor(6) as ex:
        runs = list(ex.map(one, files))
    out, err = b"", b""
    for path, r in zip(files, runs):
        assert not r.timed_out, r
        if fmt == "shell":
            out += b"CLAMHOOK_FILE='%s'\n" % path.encode() + mask_ms(r.out)
        else:
            out += prefixed(path, r.out)
        err += r.err
    return out, err, worst([r.status for r in runs])


def check_batch(clamhook, files, config, fmt="line", expect=None):
    exp_out, exp_err, exp_status = expect or single_runs(clamhook, files,
                                                         config, fmt)
    r = clamhook(files, config=config, timeout=120)
    out = mask_ms(r.out) if fmt == "shell" else r.out
    assert not r.timed_out, r
    assert out == exp_out
    # The warnings of servers passed over are the batch's own (§7).
    assert without_warnings(r.err) == exp_err
    assert r.status == exp_status
    return r


def without_warnings(err):
    return b"".join(line for line in err.splitlines(True)
                    if not line.startswith(b"clamhook: warning: "))


def cfg(*servers, **sections):
    c = {"clamd": {"server": list(servers), "balance": "failover"}}
    c.update(sections)
    return c


def session_commands(data):
    """The z-commands of one connection's client bytes, INSTREAM data
    skipped by its chunk lengths."""
    out, i = [], 0
    while i < len(data):
        end = data.index(b"\0", i)
        cmd = data[i:end].decode()
        out.append(cmd)
        i = end + 1
        if cmd == "zINSTREAM":
            while True:
                n = int.from_bytes(data[i:i + 4], "big")
                i += 4 + n
                if n == 0:
                    break
    return out


# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["line", "shell"])
def test_200_files_one_session(clamhook, clamd, proxies, tmp_path, fmt):
    files = make_files(tmp_path, clamhook.volume(200, 40))  # valgrind: 40
    px = proxies(clamd.port)
    config = cfg(px.server, verdict={"format": fmt})
    expect = single_runs(clamhook, files, config, fmt)
    assert expect[2] == 75
    px.reset()
    check_batch(clamhook, files, config, fmt, expect)
    px.settle()
    assert px.accepts == 1
    cmds = session_commands(bytes(px.sent[0]))
    readable = [f for f in files if os.path.isfile(f)]
    assert cmds == ["zIDSESSION"] + ["zINSTREAM"] * len(readable) + ["zEND"]
    assert px.replies == len(readable)


@pytest.mark.parametrize("kinds,status", [
    (["clean", "empty", "binary"], 0),
    (["clean", "eicar", "empty", "zip"], 1),
    (["eicar", "missing", "clean"], 75),
])
def test_worst_status(clamhook, clamd, tmp_path, kinds, status):
    files = make_files(tmp_path, 12, kinds)
    r = check_batch(clamhook, files, cfg(clamd.server()))
    assert r.status == status


def test_records_name_each_file(clamhook, clamd, tmp_path):
    files = make_files(tmp_path, 3, ["clean", "eicar", "missing"])
    r = clamhook(files, config=cfg(clamd.server()))
    assert r.status == 75
    assert r.out == (files[0] + "\t\n" + files[1] + "\tVirus-Test: True ; "
                     + support.EICAR_NAME + "\n").encode()
    assert r.err == ("clamhook: %s: No such file or directory\n"
                     % files[2]).encode()


def test_fildes_one_connection(clamhook, clamd, tmp_path):
    if clamhook.runner:
        pytest.skip("strace cannot follow a binary run under a runner")
    files = make_files(tmp_path, 50)
    config = cfg(clamd.server("unix"), clamd={"server": clamd.server("unix"),
                                              "protocol": "fildes"})
    expect = single_runs(clamhook, files, config)
    log = str(tmp_path / "strace.log")
    argv = ["strace", "-f", "-qq", "-o", log, "-e", "trace=connect,sendmsg",
            clamhook.bin, "-c", clamhook.config_file(config)] + files
    r = support.run_process(argv, timeout=120, env=clamhook.env())
    assert (r.out, r.err, r.status) == expect
    with open(log) as f:
        text = f.read()
    assert text.count("connect(") == 1, text
    readable = [f for f in files if os.path.isfile(f)]
    assert text.count("SCM_RIGHTS") == len(readable)


def test_tcp_session_without_nagle(clamhook, clamd, tmp_path):
    """Each request on a kept-open TCP connection is several writes
    answered at its end: with Nagle's algorithm every one waited for
    clamd's delayed ACK, about 40 ms a file (a batch over TCP took 80
    times its time over a Unix socket).  The socket has TCP_NODELAY, set
    before it connects."""
    if clamhook.runner:
        pytest.skip("strace cannot follow a binary run under a runner")
    files = make_files(tmp_path, 5)
    config = cfg(clamd.server())
    expect = single_runs(clamhook, files, config)
    log = str(tmp_path / "strace.log")
    argv = ["strace", "-qq", "-o", log, "-e", "trace=socket,setsockopt,"
            "connect", clamhook.bin, "-c", clamhook.config_file(config)] + files
    r = support.run_process(argv, timeout=120, env=clamhook.env())
    assert (r.out, r.err, r.status) == expect
    with open(log) as f:
        text = f.read()
    # One connection (a second connect() asks how the first went).
    calls = [line.split("(")[0] for line in text.splitlines()]
    assert calls[:3] == ["socket", "setsockopt", "connect"], text
    assert calls.count("socket") == 1, text
    assert re.search(r"setsockopt\(\d+, SOL_TCP, TCP_NODELAY, \[1\], 4\) = 0",
                     text), text


@pytest.mark.parametrize("fault", ["kill", "swallow", "mangle"])
def test_broken_session_continues_on_next_server(clamhook, clamd, proxies,
                                                 tmp_path, fault):
    files = make_files(tmp_path, 40)
    readable = [f for f in files if os.path.isfile(f)]
    after = 11
    a = proxies(clamd.port, fault=fault, after=after)
    b = proxies(clamd.port)
    expect = single_runs(clamhook, files, cfg(clamd.server()))
    r = check_batch(clamhook, files, cfg(a.server, b.server), expect=expect)
    a.settle()
    b.settle()
    assert (a.accepts, b.accepts) == (1, 1)
    warned = [line for line in r.err.decode().splitlines()
              if line.startswith("clamhook: warning: ")]
    assert warned == [
        "clamhook: warning: %s: marked dead for 30 s (retry_dead_s)"
        % a.server, warned[1]], r.err
    assert warned[1].startswith("clamhook: warning: %s: " % a.server), r.err
    assert warned[1].endswith("; trying %s" % b.server), r.err
    # Each readable file answered once: `after` on a, the rest on b, the
    # one that was in flight when a broke starting over on b (a mangled
    # reply reaches clamhook, which drops it).
    assert a.replies == after + (fault == "mangle")
    assert b.replies == len(readable) - after
    cmds_b = session_commands(bytes(b.sent[0]))
    assert cmds_b == ["zIDSESSION"] + ["zINSTREAM"] * (len(readable) -
                                                       after) + ["zEND"]


def test_wrong_request_number_single_server(clamhook, clamd, proxies,
                                            tmp_path):
    """With one server, the file whose reply carries the wrong number
    fails; the rest go on in a new session on the same server."""
    files = make_files(tmp_path, 8, ["clean"])
    px = proxies(clamd.port, fault="mangle", after=3)
    r = clamhook(files, config=cfg(px.server))
    px.settle()
    assert r.status == 75, r
    assert r.out == b"".join(prefixed(f, b"\n") for k, f in enumerate(files)
                             if k not in (3, 7))
    assert r.err == b"".join(
        b'clamhook: %s: reply "%d: stream: OK" does not answer IDSESSION '
        b"request 4\n" % (px.server.encode(), 5) for _ in range(2))
    assert px.accepts == 2


def test_silent_server_leaves_time_for_the_next(clamhook, clamd, tmp_path):
    """The first server takes the first file and never answers: as for a
    single message, it gets its share of timeout_ms and the file goes on to
    the next server, where the session continues."""
    import hostile
    files = make_files(tmp_path, 4, ["clean", "eicar"])
    peer = hostile.Peer("accept; command; command; instream; hold 8000",
                        max_seconds=20)
    peer.start()
    hold = "127.0.0.1:%d" % peer.port
    expect = single_runs(clamhook, files, cfg(clamd.server()))
    r = check_batch(clamhook, files, cfg(clamd={
        "server": [hold, clamd.server()], "balance": "failover",
        "timeout_ms": "2000"}), expect=expect)
    peer.wait(10)
    assert 1.0 <= r.elapsed < 4 + support.start_cost(), r


def test_each_file_has_its_own_deadline(clamhook, tmp_path):
    """One silent server: each file fails when its own timeout_ms passes,
    the second one on a new session (a deadline for the whole batch would
    leave it no time at all)."""
    import hostile
    files = make_files(tmp_path, 2, ["clean"])
    peer = hostile.Peer("accept; command; command; instream; hold 5000; "
                        "accept; command; command; instream; hold 5000",
                        max_seconds=20)
    peer.start()
    hold = "127.0.0.1:%d" % peer.port
    r = clamhook(files, config=cfg(clamd={"server": hold,
                                          "timeout_ms": "800"}))
    res = peer.wait(15)
    assert (r.status, r.out) == (75, b""), r
    assert r.err == ("clamhook: %s: no reply from clamd before the "
                     "deadline\n" % hold).encode() * 2
    assert 1.5 <= r.elapsed < 4 + support.start_cost(), r
    assert len(res["conns"]) == 2


def test_session_closed_between_files(clamhook, clamd, proxies, tmp_path):
    """A session the server closed while idle is reopened; whether on the
    same server or the next one depends on when the close is seen, but no
    file is lost or scanned twice."""
    files = make_files(tmp_path, 40)
    readable = [f for f in files if os.path.isfile(f)]
    a = proxies(clamd.port, fault="idle", after=11)
    b = proxies(clamd.port)
    expect = single_runs(clamhook, files, cfg(clamd.server()))
    check_batch(clamhook, files, cfg(a.server, b.server), expect=expect)
    a.settle()
    b.settle()
    assert a.accepts + b.accepts >= 2
    assert a.replies + b.replies == len(readable)


def test_first_server_down(clamhook, clamd, proxies, tmp_path):
    files = make_files(tmp_path, 30)
    px = proxies(clamd.port)
    expect = single_runs(clamhook, files, cfg(clamd.server()))
    check_batch(clamhook, files,
                cfg("127.0.0.1:%d" % support.closed_port(), px.server),
                expect=expect)
    px.settle()
    assert px.accepts == 1


def test_no_server_at_all(clamhook, tmp_path):
    files = make_files(tmp_path, 20)
    config = cfg("127.0.0.1:%d" % support.closed_port())
    r = check_batch(clamhook, files, config)
    assert r.status == 75
    assert r.out == b""
    assert len(r.err.splitlines()) == 20


def test_wrong_request_number_from_scripted_peer(clamhook, clamd, tmp_path):
    """A peer that answers request 1 as if it were request 2."""
    import hostile
    files = make_files(tmp_path, 5, ["clean", "eicar"])
    peer = hostile.Peer("accept; command; command; instream; "
                        "send '2: stream: OK\\0'; hold 5000", max_seconds=20)
    peer.start()
    expect = single_runs(clamhook, files, cfg(clamd.server()))
    r = check_batch(clamhook, files,
                    cfg("127.0.0.1:%d" % peer.port, clamd.server()),
                    expect=expect)
    assert r.status == 1
    res = peer.wait(10)
    assert res["conns"][0]["commands"][:2] == ["zIDSESSION\0",
                                               "zINSTREAM\0"]


def test_size_limit_ends_the_session(clamhook, make_clamd, proxies, tmp_path):
    """clamd closes the session after "INSTREAM size limit exceeded": that
    file gets the error, the rest go on in a new session."""
    small = make_clamd(StreamMaxLength="100K")
    px = proxies(small.port)
    files = make_files(tmp_path, 8, ["clean", "big", "eicar", "empty"])
    config = cfg(px.server)
    expect = single_runs(clamhook, files, config)
    assert expect[2] == 75
    assert b"StreamMaxLength" in expect[1]
    px.reset()
    check_batch(clamhook, files, config, expect=expect)
    px.settle()
    assert px.accepts == 3      # a new session after each big file


def test_read_error_mid_session(clamhook, clamd, proxies, tmp_path):
    """/proc/self/mem opens but fails with EIO on read: its INSTREAM is
    left unfinished, so the session is dropped (the server is fine) and the
    next file opens a new one."""
    files = make_files(tmp_path, 4, ["clean", "eicar"])
    files.insert(2, "/proc/self/mem")
    px = proxies(clamd.port)
    config = cfg(px.server)
    expect = single_runs(clamhook, files, config)
    assert b"/proc/self/mem: read error" in expect[1]
    px.reset()
    check_batch(clamhook, files, config, expect=expect)
    px.settle()
    assert px.accepts == 2


@pytest.mark.parametrize("policy", ["reject", "accept", "tempfail",
                                    "truncate"])
def test_oversize_policy_per_file(clamhook, clamd, tmp_path, policy):
    files = make_files(tmp_path, 12, ["clean", "big", "eicar", "bigeicar"])
    config = cfg(clamd.server(), message={"max_size": "100000",
                                          "on_oversize": policy},
                 verdict={"format": "shell"})
    check_batch(clamhook, files, config, fmt="shell")


def test_stdin_among_files(clamhook, clamd, tmp_path):
    files = make_files(tmp_path, 2, ["clean"])
    msg = support.mail_eicar_plain()
    one = clamhook([], input=msg, config=cfg(clamd.server()))
    assert one.status == 1, one
    r = clamhook([files[0], "-", files[1]], input=msg,
                 config=cfg(clamd.server()))
    assert (r.status, r.err) == (1, b""), r
    assert r.out == (prefixed(files[0], b"\n") + prefixed("-", one.out)
                     + prefixed(files[1], b"\n"))


def test_stdin_named_twice(clamhook, clamd, tmp_path):
    """A second "-" would read an empty message and pass it as clean."""
    files = make_files(tmp_path, 1, ["clean"])
    r = clamhook(["-", files[0], "-"], input=support.mail_plain(),
                 config=cfg(clamd.server()))
    assert r.status == 75, r
    assert r.out == prefixed("-", b"\n") + prefixed(files[0], b"\n")
    assert r.err == b"clamhook: -: standard input named more than once\n"


def test_legacy_stream_one_connection_per_file(clamhook, tmp_path):
    files = make_files(tmp_path, 4, ["clean", "eicar"])
    peer = LegacyClamd("ok", max_seconds=30).start()
    try:
        r = clamhook(files, config=cfg("127.0.0.1:%d" % peer.port,
                                       clamd={"server": "127.0.0.1:%d"
                                              % peer.port,
                                              "protocol": "stream"}))
    finally:
        conns = peer.stop()
    assert r.status == 1 and r.err == b"", r
    assert r.out == b"".join(
        prefixed(f, b"Virus-Test: True ; Eicar-Test-Signature\n"
                 if "eicar" in f else b"\n") for f in files)
    assert [c["command"] for c in conns] == ["STREAM"] * 4
