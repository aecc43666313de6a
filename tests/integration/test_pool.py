# SPDX-License-Identifier: ISC
"""The server pool (SPEC §5.2) against real clamd instances: server lists,
round robin through the shared state file, fail-over and its reasons, dead
marks, one deadline per message, resending after a failure mid-stream,
concurrent runs, and a farm behind a real load balancer (HAProxy).

Host names with several addresses are given by a private /etc/hosts,
bind-mounted in a mount namespace of the clamhook run only
(`unshare -m`, as root).  Listeners that never accept, never answer or cut a
message short come from tests/peer/blackhole.py; a peer that answers
nonsense from tests/peer/hostile.py.
"""

import collections
import fcntl
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import support
from support import KIB, MIB, EICAR_NAME

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "peer"))
from blackhole import Blackhole  # noqa: E402
from hostile import Peer  # noqa: E402

CLEAN = support.mail_plain()
INFECTED = support.mail_eicar_plain()
STATE_RE = re.compile(r"clamhook-state 1\nnext (\d+)\n"
                      r"(counts \d+( \d+){5}\n)?"
                      r"((dead|ok) \d+ \S+\n|error \d+ \S+\t.*\n)*\Z")
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


# ---------------------------------------------------------------------------
# Helpers.

def pool(servers, state="", **clamd_keys):
    """A config: servers (a list gives one `server` key each), the state
    file (empty: none), more [clamd] keys; shell records on stdout, which
    name the server that answered."""
    keys = {"server": servers, "state_file": str(state)}
    keys.update({k: str(v) for k, v in clamd_keys.items()})
    return {"clamd": keys, "verdict": {"format": "shell", "output": "-"}}


def expect(run, infected, server=None):
    """run ended in the right verdict for a clean or infected message and
    printed nothing on stderr but debug steps; returns the server."""
    status, out, err, _ = run
    assert status == (1 if infected else 0), run
    virus = EICAR_NAME if infected else ""
    d = support.check_shell(out, "infected" if infected else "clean",
                            virus=virus,
                            verdict=support.mode_string(1, virus or None),
                            server=server)
    # debug steps (-d 1 logs the multi-line shell record too) and the
    # warnings of servers passed over (§7)
    for line in support.stderr_lines(err):
        assert not re.match(r"clamhook: (?!\[\d+\.\d{3}\] |warning: )",
                            line), run
    assert err == b"" or err.startswith(b"clamhook: "), run
    return d["CLAMHOOK_SERVER"]


def warnings(run):
    """The run's warning lines, without "clamhook: warning: "."""
    return [line[len("clamhook: warning: "):]
            for line in support.stderr_lines(run.err)
            if line.startswith("clamhook: warning: ")]


def run_n(clamhook, path, n, args=(), each=None, timeout=30):
    """n runs with config path, clean and infected messages in turn;
    returns [(infected, Run)].  each(i) is called before run i; a run
    still going after timeout seconds is killed."""
    runs = []
    for i in range(n):
        if each is not None:
            each(i)
        infected = i % 2 == 1
        r = clamhook(["-c", path] + list(args), config=False,
                     input=INFECTED if infected else CLEAN, timeout=timeout)
        runs.append((infected, r))
    return runs


def read_state(path):
    """The state file's text, read under the lock clamhook takes."""
    with open(path, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            return f.read().decode("ascii")
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def state_next(path):
    m = STATE_RE.match(read_state(path))
    assert m, read_state(path)
    return int(m.group(1))


def marked(path):
    """The servers with a dead mark in the state file."""
    return set(re.findall(r"^dead \d+ (\S+)$", read_state(path), re.M))


def connects(err, address):
    """How often a -d 1 run logged a connect to address."""
    return len(re.findall(r"\] connect %s$" % re.escape(address),
                          err.decode(), re.M))


def in_namespace(hosts, argv):
    """argv run with hosts bind-mounted on /etc/hosts in a private mount
    namespace (SPEC: a name with several addresses)."""
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) is needed for the host name "
                    "tests", pytrace=False)
    return ["unshare", "-m", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts)] + argv


def run_ns(clamhook, hosts, args, input=None, timeout=30):
    return support.run_process(in_namespace(hosts, clamhook.argv(args)),
                               input=input, timeout=timeout,
                               env=clamhook.env(), cwd=str(clamhook.tmp))


@pytest.fixture
def farm(make_clamd):
    """Three real clamd, each on its own loopback port."""
    return [make_clamd() for _ in range(3)]


@pytest.fixture
def peers():
    """Blackholes and hostile peers made by a test, stopped at its end."""
    made = []
    yield made
    for p in made:
        p.stop()


def hole(peers, mode, arg=0):
    b = Blackhole(mode, arg)
    b.start()
    peers.append(b)
    return b


def hostile(peers, scenario):
    p = Peer(scenario, max_seconds=20)
    p.start()
    peers.append(p)
    return p


# ---------------------------------------------------------------------------
# Server lists.

def test_every_server_form(clamhook, clamd, tmp_path):
    """Repeated keys and comma lists; HOST, HOST:PORT, IPV4, IPV4:PORT,
    [IPV6]:PORT and unix: forms; a name with two addresses is two servers.
    --ping lists every one; round robin scans once on each."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 single\n"
                     "127.0.0.1 twice\n::1 twice\n")
    p = clamd.port
    cfg = pool(["single", "single:%d, 127.0.0.1" % p,
                "127.0.0.1:%d,[::1]:%d" % (p, p),
                "twice:%d" % p, clamd.server("unix")],
               state=tmp_path / "state", port=p)
    path = clamhook.config_file(cfg)
    names = ["single[127.0.0.1]:%d" % p] * 2 + ["127.0.0.1:%d" % p] * 2 + \
        ["[::1]:%d" % p, "twice[127.0.0.1]:%d" % p, "twice[::1]:%d" % p,
         "unix:%s" % clamd.socket]

    r = run_ns(clamhook, hosts, ["-c", path, "--ping"])
    assert r.status == 0 and r.err == b"", r
    lines = r.out.decode().splitlines()
    printed = [ln.split(": ", 1)[0] for ln in lines]
    assert sorted(printed) == sorted(names), r
    for ln in lines:
        assert re.fullmatch(r"\S+: ClamAV \d+\.\d+.*", ln), ln

    served = collections.Counter()
    for i in range(2 * len(names)):
        served[expect(run_ns(clamhook, hosts, ["-c", path], input=CLEAN),
                      False)] += 1
    assert served == collections.Counter(names * 2), served


def test_name_with_a_dead_address_fails_over(clamhook, clamd, tmp_path):
    """A name whose first address refuses: the second one answers, every
    time, and the failure is logged as a connect to the first."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.2 farm\n"
                     "127.0.0.1 farm\n")
    path = clamhook.config_file(pool("farm:%d" % clamd.port,
                                     balance="failover"))
    # musl keeps the order of /etc/hosts; glibc (the sanitizer build) sorts
    # the addresses (RFC 6724) and may put the live one first.
    with open(clamhook.bin, "rb") as f:
        musl = b"musl" in f.read()
    for infected in (False, True):
        r = run_ns(clamhook, hosts, ["-c", path, "-d", "1"],
                   input=INFECTED if infected else CLEAN)
        assert expect(r, infected) == "farm[127.0.0.1]:%d" % clamd.port
        tried = connects(r.err, "farm[127.0.0.2]:%d" % clamd.port)
        assert tried == 1 if musl else tried <= 1, r
        assert "servers: 2 " in r.err.decode(), r


def test_ipv6_server(clamhook, clamd, make_clamd):
    """[::1]:PORT first in failover order: it answers over IPv6."""
    assert clamd.ipv6, "the tests need IPv6 on loopback"
    other = make_clamd(TCPAddr="127.0.0.1")
    path = clamhook.config_file(pool([clamd.server("ipv6"),
                                      other.server("tcp")],
                                     balance="failover"))
    for infected in (False, True):
        r = clamhook(["-c", path], config=False,
                     input=INFECTED if infected else CLEAN)
        assert expect(r, infected) == "[::1]:%d" % clamd.port


# ---------------------------------------------------------------------------
# Balance.

def thirds(served, total):
    """Each of three servers served a third of total, +-10%."""
    assert len(served) == 3, served
    for n in served.values():
        assert abs(n - total / 3) <= total / 30 + 1, served


def test_round_robin_thirds(clamhook, farm, tmp_path):
    """300 runs (30 under valgrind), one state file: each of three servers
    gets a third; the counter counts every run."""
    total = clamhook.volume(300, 30)
    state = tmp_path / "state"
    path = clamhook.config_file(pool([c.server() for c in farm], state))
    served = collections.Counter()
    for infected, r in run_n(clamhook, path, total):
        served[expect(r, infected)] += 1
    assert set(served) == {c.server() for c in farm}, served
    thirds(served, total)
    assert state_next(state) == total


def test_round_robin_without_state_file_starts_from_pid(clamhook, farm):
    """No state file: the first server tried is the one at the process
    id modulo the number of servers."""
    servers = [c.server() for c in farm]
    path = clamhook.config_file(pool(servers, ""))
    for i in range(12):
        pid = []
        r = clamhook(["-c", path], config=False, input=CLEAN,
                     on_start=lambda live: pid.append(live.pid))
        assert expect(r, False) == servers[pid[0] % 3], (pid, r)


def test_failover_balance_uses_listed_order(clamhook, farm, tmp_path):
    state = tmp_path / "state"
    path = clamhook.config_file(pool([c.server() for c in farm], state,
                                     balance="failover"))
    for infected, r in run_n(clamhook, path, 20):
        assert expect(r, infected) == farm[0].server()


# ---------------------------------------------------------------------------
# The state file: never fatal.

@pytest.mark.parametrize("content", [
    b"garbage\n", b"clamhook-state 1\nnext -4\n", b"clamhook-state 1\nnext \n",
    b"clamhook-state 1\nnext 1\0\n", b"clamhook-state 1\ndead x y\n",
    b"\xff" * 100, b"clamhook-state 1\nnext 99999999999999999999999\n"])
def test_corrupt_state_file_is_ignored(clamhook, clamd, tmp_path, content):
    state = tmp_path / "state"
    state.write_bytes(content)
    path = clamhook.config_file(pool([clamd.server(), clamd.server("unix")], state))
    r = clamhook(["-c", path], config=False, input=INFECTED)
    assert r.status == 1, r
    support.check_shell(r.out, "infected", virus=EICAR_NAME,
                        verdict=support.mode_string(1, EICAR_NAME))
    support.assert_error_line(r.err, "state file %s: corrupt" % state)
    assert state_next(state) == 1     # rewritten, valid again
    expect(clamhook(["-c", path], config=False, input=CLEAN), False)
    assert state_next(state) == 2


@pytest.mark.parametrize("kind", ["missing-dir", "directory", "symlink",
                                  "fifo"])
def test_unusable_state_file_is_ignored(clamhook, farm, tmp_path, kind):
    state = tmp_path / "state"
    if kind == "missing-dir":
        state = tmp_path / "nowhere" / "state"
    elif kind == "directory":
        state.mkdir()
    elif kind == "symlink":
        (tmp_path / "real").write_text("clamhook-state 1\nnext 5\n")
        state.symlink_to(tmp_path / "real")
    else:
        os.mkfifo(state)
    path = clamhook.config_file(pool([c.server() for c in farm], state))
    for infected in (False, True):
        r = clamhook(["-c", path], config=False,
                     input=INFECTED if infected else CLEAN)
        assert r.status == (1 if infected else 0), r
        support.assert_error_line(r.err, "state file %s" % state,
                                  "(ignored)")
    if kind == "symlink":
        assert (tmp_path / "real").read_text() == "clamhook-state 1\nnext 5\n"


def test_locked_state_file_bounded_wait(clamhook, clamd, tmp_path):
    """A state file locked by someone else: clamhook waits a bounded
    time, warns, and scans anyway."""
    state = tmp_path / "state"
    state.write_text("clamhook-state 1\nnext 7\n")
    path = clamhook.config_file(pool([clamd.server(), clamd.server("unix")], state))
    with open(state, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        r = clamhook(["-c", path], config=False, input=INFECTED)
    assert r.status == 1, r
    support.assert_error_line(r.err, "cannot lock: busy (ignored)")
    assert 0.8 < r.elapsed < 3 + support.start_cost(), r
    assert state_next(state) == 7


# ---------------------------------------------------------------------------
# Dead marks.

def test_stopped_server_pays_once(clamhook, farm, tmp_path):
    """One of three stopped: every message still gets its verdict, and
    thanks to the dead mark only the first run to meet it tries it."""
    state = tmp_path / "state"
    path = clamhook.config_file(pool([c.server() for c in farm], state,
                                     retry_dead_s=600))
    for infected, r in run_n(clamhook, path, 6, ["-d", "1"]):
        expect(r, infected)
    dead = farm[1].server()
    farm[1].stop()
    paid = 0
    served = collections.Counter()
    for infected, r in run_n(clamhook, path, 40, ["-d", "1"]):
        served[expect(r, infected)] += 1
        paid += connects(r.err, dead)
    assert paid == 1, paid
    assert dead not in served and len(served) == 2, served
    assert marked(state) == {dead}


def test_dead_mark_expires(clamhook, farm, tmp_path):
    """retry_dead_s = 2: once the mark has expired the server is tried
    again (and marked again).  A mark lasts until a whole second, so it
    can end as soon as retry_dead_s - 1 s later: with 1 the next run could
    come after it (a sanitizer run did); under a runner, whose runs take
    half a second, retry_dead_s is 4."""
    retry = 4 if clamhook.runner else 2
    state = tmp_path / "state"
    path = clamhook.config_file(pool([c.server() for c in farm], state,
                                     retry_dead_s=retry, balance="failover"))
    dead = farm[0].server()
    farm[0].stop()
    r = clamhook(["-c", path, "-d", "1"], config=False, input=CLEAN)
    assert expect(r, False) == farm[1].server()
    assert connects(r.err, dead) == 1, r
    r = clamhook(["-c", path, "-d", "1"], config=False, input=CLEAN)
    assert connects(r.err, dead) == 0, r
    assert "(1 marked dead)" in r.err.decode(), r
    time.sleep(retry + 0.3)
    r = clamhook(["-c", path, "-d", "1"], config=False, input=INFECTED)
    assert expect(r, True) == farm[1].server()
    assert connects(r.err, dead) == 1, r


def test_all_marked_dead_are_tried_and_unmarked(clamhook, farm, tmp_path):
    """Every server marked: they are tried all the same; the one that
    answers loses its mark, the others keep theirs."""
    state = tmp_path / "state"
    until = int(time.time()) + 600
    state.write_text("clamhook-state 1\nnext 0\n" + "".join(
        "dead %d %s\n" % (until, c.server()) for c in farm))
    path = clamhook.config_file(pool([c.server() for c in farm], state,
                                     balance="failover"))
    r = clamhook(["-c", path, "-d", "1"], config=False, input=INFECTED)
    assert expect(r, True) == farm[0].server()
    assert "(3 marked dead)" in r.err.decode(), r
    assert marked(state) == {farm[1].server(), farm[2].server()}
    # Now the live one is unmarked: it comes first.
    r = clamhook(["-c", path, "-d", "1"], config=False, input=CLEAN)
    assert expect(r, False) == farm[0].server()
    assert "(2 marked dead)" in r.err.decode(), r


def test_stalled_input_marks_no_server(clamhook, farm, tmp_path):
    """A message that stops coming (the MTA stalls) is the input's fault:
    75 at the deadline, and no server is marked dead for it."""
    state = tmp_path / "state"
    path = clamhook.config_file(pool([c.server() for c in farm[:2]], state,
                                     timeout_ms=1000))
    rfd, wfd = os.pipe()
    try:
        os.write(wfd, CLEAN[:40])
        r = clamhook(["-c", path], config=False, stdin=rfd)
    finally:
        os.close(rfd)
        os.close(wfd)
    assert r.status == 75, r
    support.check_shell(r.out, "error", error="timed out waiting for the "
                        "message")
    support.assert_error_line(r.err, "timed out waiting for the message")
    assert 0.9 < r.elapsed < 2.5 + support.start_cost(), r
    assert marked(state) == set()


# ---------------------------------------------------------------------------
# Fail-over: what moves on to the next server, and what does not.

FAILURES = {
    "refused": (lambda peers, make: "127.0.0.1:%d" % support.closed_port(),
                "connect: Connection refused"),
    "connect-timeout": (lambda peers, make: hole(peers, "noaccept").address,
                        "connect: timed out"),
    "silent": (lambda peers, make: hole(peers, "silent").address,
               "no reply from clamd before the deadline"),
    "unparsable": (lambda peers, make: hostile(
        peers, "accept; command; instream; send 'stream: maybe\\0'; "
        "hold 3000").address, "unparsable reply"),
    "clamd-error": (lambda peers, make: hostile(
        peers, "accept; command; instream; "
        "send 'stream: Out of memory ERROR\\0'; hold 3000").address,
        "clamd error"),
    "size-limit": (lambda peers, make: make(
        StreamMaxLength="1K").server(), "size limit exceeded"),
}


@pytest.mark.parametrize("how", sorted(FAILURES))
def test_fails_over(clamhook, clamd, make_clamd, peers, how):
    """The first server fails in one way, the second answers: the right
    verdict, no error; alone, the first one's failure is the error."""
    first = FAILURES[how][0](peers, make_clamd)
    cfg = pool([first, clamd.server()], balance="failover", timeout_ms=2000,
               connect_timeout_ms=1000)
    message = support.message_at(3000, 8 * KIB)   # over 1K: size limit
    r = clamhook(input=message, config=cfg)
    assert expect(r, True) == clamd.server()
    # Moved on well before the 2 s deadline, by clamhook's own clock: a
    # runner's start-up (valgrind takes most of a second) is not the
    # program's wait, and the wall clock still ends by the deadline.
    assert int(dict(support.parse_shell(r.out))["CLAMHOOK_MS"]) < 1800, r
    assert r.elapsed < 2.0 + 1.2 + support.start_cost(), r

    cfg["clamd"]["server"] = first
    if how in ("unparsable", "clamd-error"):
        first = FAILURES[how][0](peers, make_clamd)   # one conversation each
        cfg["clamd"]["server"] = first
    r = clamhook(input=message, config=cfg)
    assert r.status == 75, r
    support.assert_error_line(r.err, first, FAILURES[how][1])


@pytest.mark.parametrize("reply,status,virus", [
    ("stream: OK", 0, ""), ("stream: Fake.Sig FOUND", 1, "Fake.Sig")])
def test_final_answer_is_not_second_guessed(clamhook, peers, reply, status,
                                            virus):
    """OK and FOUND are final: the next server is never asked, even when
    the first says OK to EICAR."""
    first = hostile(peers, "accept; command; instream; send '%s\\0'; "
                    "hold 3000" % reply)
    second = hole(peers, "silent")
    r = clamhook(input=INFECTED, config=pool([first.address,
                                              second.address],
                                             balance="failover"))
    assert r.status == status, r
    support.check_shell(r.out, "infected" if virus else "clean", virus=virus,
                        verdict=support.mode_string(1, virus or None),
                        server=first.address)
    assert second.accepted == 0


# ---------------------------------------------------------------------------
# One deadline per message.

def test_three_silent_servers_one_deadline(clamhook, peers):
    """Three silent servers, timeout_ms 3000: 75 in about three seconds,
    every server named with its failure."""
    holes = [hole(peers, "silent") for _ in range(3)]
    r = clamhook(input=CLEAN, config=pool([h.address for h in holes],
                                          timeout_ms=3000))
    assert r.status == 75, r
    support.check_shell(r.out, "error")
    assert 2.7 < r.elapsed < 4.0 + support.start_cost(), r
    text = support.assert_error_line(r.err)
    for h in holes:
        assert "%s: no reply from clamd before the deadline" % h.address \
            in text, text
        assert h.accepted == 1


def test_three_failures_named(clamhook, peers):
    """A refusing, a never-accepting and a silent server within one
    3-second deadline: each named with its own failure."""
    refused = "127.0.0.1:%d" % support.closed_port()
    noaccept, silent = hole(peers, "noaccept"), hole(peers, "silent")
    r = clamhook(input=CLEAN, config=pool(
        [noaccept.address, refused, silent.address], balance="failover",
        timeout_ms=3000, connect_timeout_ms=5000))
    assert r.status == 75, r
    assert 2.7 < r.elapsed < 4.0 + support.start_cost(), r
    support.assert_error_line(
        r.err, "%s: connect: timed out" % noaccept.address,
        "%s: connect: Connection refused" % refused,
        "%s: no reply from clamd before the deadline" % silent.address)


@pytest.mark.parametrize("mode", ["noaccept", "silent"])
def test_blackhole_first_fifty_runs(clamhook, clamd, peers, tmp_path, mode):
    """A blackhole first in the list: thanks to the dead mark, 50 runs
    (10 under valgrind) take less than twice one timeout_ms in all."""
    b = hole(peers, mode)
    total = clamhook.volume(50, 10)
    # A run takes some 5 ms here, 50 under an emulator and 500 under
    # valgrind: timeout_ms is made long enough for the healthy runs to fit
    # in 2/3 of it, which keeps "paid once" apart from "paid every run".
    healthy = clamhook.config_file(pool([clamd.server()]))
    one = max(r.elapsed for _, r in run_n(clamhook, healthy, 3))
    timeout_ms = max(2000, int(total * one * 1500))
    # The mark outlives the runs' bound, 2 timeout_ms: under valgrind the
    # default 30 s can end before the last run and let the hole be tried
    # again, which says nothing about the mark.
    path = clamhook.config_file(pool([b.address, clamd.server()],
                                     tmp_path / "state", balance="failover",
                                     timeout_ms=timeout_ms,
                                     retry_dead_s=max(30, 2 * timeout_ms
                                                      // 1000 + 1)))
    t0 = time.monotonic()
    runs = run_n(clamhook, path, total, timeout=timeout_ms / 1000.0 + 30)
    total = time.monotonic() - t0
    for infected, r in runs:
        assert expect(r, infected) == clamd.server()
    assert total < 2 * timeout_ms / 1000.0, total
    assert runs[0][1].elapsed > 0.8, runs[0][1]     # the one that paid
    if mode == "silent":
        assert b.accepted == 1


# ---------------------------------------------------------------------------
# A failure in the middle of the message: resend when possible.

def test_resend_small_piped_message(clamhook, clamd, peers):
    """A server that cuts the connection after 100 kB of a 300 kB piped
    message (within the ring): the message goes again, whole, to the
    next server."""
    cut = hole(peers, "cut", 100 * KIB)
    message = support.message_at(300 * KIB - 100, 300 * KIB)
    cfg = pool([cut.address, clamd.server()], balance="failover")
    cfg["message"] = {"buffer_size": str(MIB)}
    r = clamhook(input=message, config=cfg)
    assert expect(r, True) == clamd.server()
    d = dict(support.parse_shell(r.out))
    assert d["CLAMHOOK_SENT"] == d["CLAMHOOK_BYTES"] == str(len(message))
    assert cut.accepted == 1 and cut.received == [100 * KIB]


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """4 MiB, EICAR near its end: past a 64 KiB ring."""
    path = tmp_path_factory.mktemp("big") / "big.eml"
    support.write_big_message(str(path), 4 * MIB)
    with open(path, "r+b") as f:
        f.seek(4 * MIB - 200)
        f.write(support.eicar())
    return path


@pytest.mark.parametrize("how", ["argument", "stdin"])
def test_resend_large_seekable_message(clamhook, clamd, peers, big_file,
                                       how):
    """A 4 MiB file, a 64 KiB ring, a cut after 300 kB: the file is read
    again from its start for the next server."""
    cut = hole(peers, "cut", 300 * KIB)
    path = clamhook.config_file(pool([cut.address, clamd.server()],
                                     balance="failover"))
    with open(path, "a") as f:
        f.write("[message]\nbuffer_size = 65536\n")
    if how == "argument":
        r = clamhook(["-c", path, str(big_file)], config=False)
    else:
        with open(big_file, "rb") as f:
            r = clamhook(["-c", path], config=False, stdin=f)
    assert expect(r, True) == clamd.server()
    assert cut.accepted == 1 and cut.received == [300 * KIB]


def test_large_piped_message_cannot_be_resent(clamhook, peers, big_file):
    """The same 4 MiB through a pipe: the ring no longer holds its start,
    so 75 with the reason, and the next server is not bothered."""
    cut = hole(peers, "cut", 300 * KIB)
    second = hole(peers, "silent")
    cfg = pool([cut.address, second.address], balance="failover")
    cfg["message"] = {"buffer_size": "65536"}
    r = clamhook(input=big_file.read_bytes(), config=cfg)
    assert r.status == 75, r
    support.check_shell(r.out, "error", error="cannot be sent again")
    support.assert_error_line(r.err, cut.address, "longer than the ring "
                              "buffer (65536 bytes)", "cannot be sent again")
    assert second.accepted == 0


# ---------------------------------------------------------------------------
# Several hooks at once.

def test_concurrent_runs_share_the_counter(clamhook, farm, tmp_path):
    """Two loops of 200 runs (40 under valgrind) at once on one state
    file: every run counted once, the file valid whenever it is looked
    at."""
    each = clamhook.volume(200, 40)
    state = tmp_path / "state"
    path = clamhook.config_file(pool([c.server() for c in farm], state))
    msg = tmp_path / "msg.eml"
    msg.write_bytes(CLEAN)
    script = ('i=0; while [ $i -lt %d ]; do "$@" <%s >>"$0.out" '
              '2>>"$0.err"; echo $? >>"$0.st"; i=$((i + 1)); done'
              % (each, shlex.quote(str(msg))))
    argv = clamhook.argv(["-c", path])
    stop = threading.Event()
    looks, bad = [0], []

    def watch():
        while not stop.is_set():
            if state.exists():
                text = read_state(state)
                looks[0] += 1
                # empty: created by a run that has not taken the lock yet
                if text and not STATE_RE.match(text):
                    bad.append(text)
            time.sleep(0.003)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    loops = [subprocess.Popen(["sh", "-c", script, str(tmp_path / n)] + argv,
                              env=clamhook.env(), start_new_session=True)
             for n in ("a", "b")]
    try:
        for p in loops:
            # 400 runs: some 10 s here, minutes under an emulator or valgrind
            p.wait(900 if clamhook.runner else 150)
    finally:
        stop.set()
        for p in loops:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        w.join(10)
    assert bad == [] and looks[0] > 10, (bad, looks)
    served = collections.Counter()
    for n in ("a", "b"):
        base = str(tmp_path / n)
        assert open(base + ".st").read().split() == ["0"] * each
        assert open(base + ".err").read() == ""
        out = open(base + ".out", "rb").read()
        records = out.split(b"CLAMHOOK_RESULT=")[1:]
        assert len(records) == each
        for rec in records:
            support.check_shell(b"CLAMHOOK_RESULT=" + rec, "clean")
            served[dict(support.parse_shell(b"CLAMHOOK_RESULT=" + rec))
                   ["CLAMHOOK_SERVER"]] += 1
    assert state_next(state) == 2 * each
    assert set(served) == {c.server() for c in farm}, served
    thirds(served, 2 * each)


# ---------------------------------------------------------------------------
# A farm behind a real load balancer.

HAPROXY_CFG = """\
global
    maxconn 256
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    retries 2
    option redispatch
frontend clamd_in
    bind 127.0.0.1:{port}
    default_backend farm
backend farm
    balance roundrobin
    server c1 127.0.0.1:{p1} check inter 100 fall 1 rise 1
    server c2 127.0.0.1:{p2} check inter 100 fall 1 rise 1
"""


@pytest.fixture
def haproxy(make_clamd, tmp_path):
    """HAProxy in TCP mode on loopback in front of two clamd; yields
    (address, [clamd, clamd])."""
    if not os.access(HAPROXY, os.X_OK):
        pytest.fail("haproxy not found: install Debian's haproxy "
                    "(toolchain/deps-debian.sh)", pytrace=False)
    backs = [make_clamd(), make_clamd()]
    port = support.free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.format(port=port, p1=backs[0].port,
                                      p2=backs[1].port))
    log = open(tmp_path / "haproxy.log", "wb")
    p = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)],
                         stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ok = support.wait_for(lambda: p.poll() is None and _pong(port), 10)
        assert ok, "haproxy did not come up: %s" % (
            tmp_path / "haproxy.log").read_text()
        yield "127.0.0.1:%d" % port, backs
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        log.close()


def _pong(port):
    try:
        return support.clamd_command(port, "PING", 1) == "PONG"
    except OSError:
        return False


def test_haproxy_farm_loses_a_clamd(clamhook, haproxy, peers):
    """200 runs (40 under valgrind) through HAProxy, clean and EICAR in
    turn, one clamd killed half-way (while a scan may be under way): every
    run ends in its right verdict or in 75, never in a wrong clean."""
    total = clamhook.volume(200, 40)
    address, backs = haproxy
    path = clamhook.config_file(pool(address, timeout_ms=5000))
    kill = threading.Event()

    def killer():
        if kill.wait(600):      # set half-way, or at the end
            time.sleep(0.002)
            backs[0].proc.kill()

    k = threading.Thread(target=killer, daemon=True)
    k.start()
    runs = run_n(clamhook, path, total,
                 each=lambda i: kill.set() if i == total // 2 else None)
    k.join(10)
    kill.set()
    assert backs[0].proc.poll() is not None
    good = 0
    for infected, r in runs:
        if r.status == 75:
            support.check_shell(r.out, "error")
            support.assert_error_line(r.err, address)
            continue
        expect(r, infected)
        good += 1
    assert good >= total - 10, [r for _, r in runs if r.status == 75]


def test_single_server_only_counts(clamhook, clamd, tmp_path):
    """With one server there is no order to choose: the counter stays 0;
    the state file gets the counts (§9) and when the server answered."""
    state = tmp_path / "state"
    path = clamhook.config_file(pool(clamd.server(), state))
    before = int(time.time())
    expect(clamhook(["-c", path], config=False, input=CLEAN), False)
    expect(clamhook(["-c", path], config=False, input=INFECTED), True)
    m = re.fullmatch(r"clamhook-state 1\nnext 0\ncounts (\d+) 1 1 0 0 0\n"
                     r"ok (\d+) (\S+)\n", read_state(state))
    assert m, read_state(state)
    assert before <= int(m.group(1)) <= int(m.group(2)) <= time.time()
    assert m.group(3) == clamd.server()


# ---------------------------------------------------------------------------
# Many runs at once (SPEC §3, §5.2): 40 processes, mixed messages, three
# real clamd behind one state file, one of them killed and restarted
# midway.  No run may give a wrong verdict, and every 75 says why.

def test_forty_at_once_with_a_clamd_killed(clamhook, farm, tmp_path):
    import concurrent.futures
    # The repeated passes run it thinner, where each process is many
    # times slower: qemu 10 at a time of 200, valgrind 6 of 60.
    count, workers = clamhook.volume((1000, 40) if not clamhook.runner
                                     else (200, 10), (60, 6))
    kinds = [("clean", support.mail_plain(), 0),
             ("base64", support.mail_eicar_attachment(), 1),
             ("zip", support.mail_eicar_zip(), 1)]
    files = {}
    for name, data, _ in kinds:
        files[name] = tmp_path / ("%s.eml" % name)
        files[name].write_bytes(data)
    state = tmp_path / "state"
    path = clamhook.config_file({
        "clamd": {"server": [c.server() for c in farm],
                  "state_file": str(state),
                  "timeout_ms": 30000 if not clamhook.runner else 60000,
                  "retry_dead_s": 2},
        "verdict": {"format": "shell"}})
    victim = farm[1]
    done = [0]
    lock = threading.Lock()
    killed = threading.Event()

    def one(i):
        name, data, want = kinds[i % 3]
        piped = (i // 3) % 2 == 0
        argv = clamhook.argv(["-c", path] + ([] if piped
                                             else [str(files[name])]))
        r = support.run_process(argv, input=data if piped else None,
                                timeout=120, env=clamhook.env(),
                                cwd=str(tmp_path))
        with lock:
            done[0] += 1
            if done[0] == count // 2:
                killed.set()
        return i, name, want, r

    restarted = []

    def kill_and_restart():
        killed.wait(600)
        victim.proc.kill()
        victim.proc.wait(30)
        # Down for a while, with runs going on: marked dead, skipped.
        time.sleep(0.5)
        victim.out.close()
        victim.restart()
        restarted.append(done[0])

    k = threading.Thread(target=kill_and_restart, daemon=True)
    k.start()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool_:
        results = list(pool_.map(one, range(count)))
    killed.set()
    k.join(120)
    wrong, unexplained, fails = [], [], 0
    for i, name, want, r in results:
        rec = dict(support.parse_shell(r.out)) if r.out else {}
        if r.status == 75:
            fails += 1
            if not rec.get("CLAMHOOK_ERROR") or not r.err:
                unexplained.append((i, r))
            continue
        got = {0: "clean", 1: "infected"}.get(r.status)
        if r.status != want or rec.get("CLAMHOOK_RESULT") != got:
            wrong.append((i, name, r))
    assert wrong == [], wrong[:5]
    assert unexplained == [], unexplained[:5]
    # The killed clamd costs some runs a try, not a verdict: a few 75 at
    # most (a message whose every server was tried in the kill's instant).
    assert fails <= count // 20, fails
    # The kill came midway.  Whether runs were still going when the
    # restarted clamd came up depends on the machine's speed, so that is
    # not asserted here; what follows proves the restarted clamd is taken.
    assert restarted and restarted[0] >= count // 2, (restarted, count)
    assert victim.ping() == "PONG"
    # Its dead mark expires (retry_dead_s 2): round robin takes it again.
    time.sleep(2.5)
    again = [one(i) for i in range(30)]
    assert all(r.status == want for _, _, want, r in again), again
    used = [dict(support.parse_shell(r.out))["CLAMHOOK_SERVER"]
            for _, _, _, r in again]
    assert victim.server() in used, used
