# SPDX-License-Identifier: ISC
"""--ping and --self-test (SPEC §1) against real clamd instances.

--ping: each server up to max_pings times, ping_interval_ms apart; the
address and the VERSION answer of each that answered PONG on standard
output; 75 naming the others.  --self-test: the EICAR test file, built at
run time, to every server; 0 only when each reports it FOUND.

Some clamd here are started by this file rather than by conftest.py: on a
port chosen before clamhook starts waiting for it, or with a database that
lacks the EICAR signature (conftest's clamd insists on detecting it).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import support
from eicar import eicar
from support import EICAR_NAME

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "peer"))
from blackhole import Blackhole  # noqa: E402
from hostile import Peer  # noqa: E402

CLAMD_BIN = os.environ.get("CLAMD_BIN", "/usr/sbin/clamd")
VERSION_RE = r"ClamAV \d+\.\d+\.\d+\S*"


class LocalClamd:
    """A clamd on a port of the caller's choosing, with its own database
    ({file name: text}); started by start(), which waits for PONG."""

    def __init__(self, port, db):
        # sun_path is 108 bytes: a short directory under /tmp
        self.dir = tempfile.mkdtemp(prefix="chp", dir="/tmp")
        self.port = port
        self.socket = os.path.join(self.dir, "clamd.sock")
        self.proc = None
        os.makedirs(os.path.join(self.dir, "db"))
        os.makedirs(os.path.join(self.dir, "tmp"))
        for name, text in db.items():
            with open(os.path.join(self.dir, "db", name), "w") as f:
                f.write(text)
        self.conf = os.path.join(self.dir, "clamd.conf")
        with open(self.conf, "w") as f:
            f.write("DatabaseDirectory %s/db\nTCPSocket %d\n"
                    "TCPAddr 127.0.0.1\nLocalSocket %s\nForeground yes\n"
                    "LogFile %s/clamd.log\nPidFile %s/clamd.pid\n"
                    "TemporaryDirectory %s/tmp\nBytecode no\nUser root\n"
                    % (self.dir, port, self.socket, self.dir, self.dir,
                       self.dir))

    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=30):
        if not os.access(CLAMD_BIN, os.X_OK):
            pytest.fail("clamd not found at %s" % CLAMD_BIN, pytrace=False)
        self.out = open(os.path.join(self.dir, "clamd.out"), "wb")
        self.proc = subprocess.Popen([CLAMD_BIN, "-c", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.out,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def pong():
            assert self.proc.poll() is None, "clamd exited: %s" % open(
                os.path.join(self.dir, "clamd.out")).read()[-2000:]
            try:
                return support.clamd_command(self.port, "PING", 1) == "PONG"
            except OSError:
                return False

        assert support.wait_for(pong, timeout, 0.05), \
            "clamd did not answer within %d s" % timeout

    def stop(self):
        p = self.proc
        if p is not None:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(15)
            self.out.close()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def unrelated_db():
    """A database with one body signature that the EICAR file lacks."""
    return {"other.ndb": "Unrelated-Test-Signature:0:*:%s\n"
            % b"clamhook unrelated test pattern".hex()}


def eicar_db():
    return {"test.ndb": "Eicar-Test-Signature-Body:0:*:%s\n"
            % eicar()[19:49].hex()}


@pytest.fixture
def local_clamd():
    """A factory: local_clamd(port, db) -> an unstarted LocalClamd."""
    made = []

    def make(port, db):
        c = LocalClamd(port, db)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()


@pytest.fixture
def peers():
    made = []
    yield made
    for p in made:
        p.stop()


def config(servers, **keys):
    d = {"server": servers, "state_file": ""}
    d.update({k: str(v) for k, v in keys.items()})
    return {"clamd": d}


def step_times(err, text):
    """The -d 1 timestamps (s) of the step lines containing text."""
    return [float(m.group(1)) for m in re.finditer(
        r"^clamhook: \[(\d+\.\d{3})\] .*%s" % re.escape(text),
        err.decode(), re.M)]


# ---------------------------------------------------------------------------
# --ping

def test_ping_prints_address_and_version(clamhook, clamd):
    kinds = ["tcp", "unix"] + (["ipv6"] if clamd.ipv6 else [])
    names = [clamd.server(k) for k in kinds]
    for opt in ("--ping", "-p"):
        r = clamhook([opt], config=config(names))
        assert r.status == 0 and r.err == b"", r
        lines = r.out.decode().splitlines()
        assert len(lines) == len(names), r
        for name, line in zip(names, lines):
            assert re.fullmatch(re.escape(name) + ": " + VERSION_RE, line), r


def test_ping_names_the_servers_that_did_not_answer(clamhook, clamd, peers):
    """A live, a refusing and a never-accepting server: 75; the live one
    printed, the other two named with their failure, every try bounded."""
    refused = "127.0.0.1:%d" % support.closed_port()
    hole = Blackhole("noaccept")
    peers.append(hole)
    hole.start()
    r = clamhook(["--ping"], config=config(
        [refused, clamd.server(), hole.address], max_pings=3,
        ping_interval_ms=200, connect_timeout_ms=300))
    assert r.status == 75, r
    assert re.fullmatch(re.escape(clamd.server()) + ": " + VERSION_RE +
                        "\n", r.out.decode()), r
    text = support.assert_error_line(
        r.err, "no PONG after 3 tries: %s: connect: Connection refused"
        % refused, "no PONG after 3 tries: %s: connect: timed out"
        % hole.address)
    assert clamd.server() not in text
    # 2 x 200 ms for the first, 3 x 300 + 2 x 200 ms for the third
    assert 1.6 < r.elapsed < 3.5 + support.start_cost(), r


def test_ping_tries_max_pings_apart(clamhook):
    refused = "127.0.0.1:%d" % support.closed_port()
    r = clamhook(["--ping", "-d", "1"], config=config(
        refused, max_pings=4, ping_interval_ms=250))
    assert r.status == 75, r
    assert r.out == b"", r
    tries = step_times(r.err, "connect %s" % refused)
    assert len(tries) == 4, r
    for a, b in zip(tries, tries[1:]):
        assert 0.24 <= b - a < 0.6, tries
    for k in range(1, 5):
        assert "ping %d/4: %s: connect: Connection refused" % (k, refused) \
            in r.err.decode(), r
    assert "no PONG after 4 tries" in r.err.decode(), r


def test_ping_waits_for_a_clamd_started_later(clamhook, local_clamd):
    """The init script's case: clamhook is already waiting when clamd
    comes up; it answers 0 as soon as clamd does."""
    port = support.free_port()
    late = local_clamd(port, eicar_db())

    def start_clamd_once_waiting(live):
        # after three refused tries, however slow the runner
        assert support.wait_for(
            lambda: b"ping 3/100:" in live.err(), 30), live.err()
        assert live.proc.poll() is None
        late.start()

    r = clamhook(["--ping", "-d", "1"], config=config(
        late.address(), max_pings=100, ping_interval_ms=200),
        on_start=start_clamd_once_waiting, timeout=40)
    assert r.status == 0, r
    assert re.fullmatch(re.escape(late.address()) + ": " + VERSION_RE + "\n",
                        r.out.decode()), r
    for k in (1, 2, 3):
        assert "ping %d/100: %s: connect: Connection refused" \
            % (k, late.address()) in r.err.decode(), r
    assert "no PONG" not in r.err.decode(), r
    assert r.elapsed < 10, r


def test_ping_answer_other_than_pong(clamhook, peers):
    peer = Peer("accept; command; send 'PANG\\0'; hold 2000", max_seconds=10)
    peers.append(peer)
    peer.start()
    r = clamhook(["--ping"], config=config(peer.address, max_pings=1))
    assert r.status == 75 and r.out == b"", r
    support.assert_error_line(r.err, "%s: answered \"PANG\" to PING"
                              % peer.address)


# ---------------------------------------------------------------------------
# --self-test

def test_self_test_passes_on_real_clamd(clamhook, clamd):
    names = [clamd.server("tcp"), clamd.server("unix")]
    for opt in ("--self-test", "-s"):
        r = clamhook([opt], config=config(names))
        assert r.status == 0 and r.err == b"", r
        assert r.out.decode() == "".join("%s: FOUND %s\n" % (n, EICAR_NAME)
                                         for n in names), r


def test_self_test_fails_without_the_signature(clamhook, clamd,
                                               local_clamd):
    """One clamd whose database lacks the EICAR signature: it answers OK,
    which is a failed self-test (75) naming it; the good one is listed."""
    blind = local_clamd(support.free_port(), unrelated_db())
    blind.start()
    assert support.clamd_instream(blind.port, eicar()) == "stream: OK"
    r = clamhook(["--self-test"], config=config(blind.address()))
    assert r.status == 75 and r.out == b"", r
    support.assert_error_line(r.err, "self-test: %s did not detect the "
                              "EICAR test file" % blind.address())

    r = clamhook(["--self-test"], config=config(
        [clamd.server(), blind.address()]))
    assert r.status == 75, r
    assert r.out.decode() == "%s: FOUND %s\n" % (clamd.server(), EICAR_NAME)
    text = support.assert_error_line(r.err, blind.address())
    assert clamd.server() not in text


def test_self_test_dead_server(clamhook, clamd):
    refused = "127.0.0.1:%d" % support.closed_port()
    r = clamhook(["--self-test"], config=config([refused, clamd.server()]))
    assert r.status == 75, r
    assert r.out.decode() == "%s: FOUND %s\n" % (clamd.server(), EICAR_NAME)
    support.assert_error_line(r.err, "self-test: %s: connect: Connection "
                              "refused" % refused)


def test_binary_does_not_hold_the_test_string(clamhook):
    """The self-test string is built at run time: a scanner of the
    firmware image must not flag clamhook itself."""
    with open(clamhook.bin, "rb") as f:
        data = f.read()
    assert eicar() not in data
    assert eicar()[20:52] not in data
