# SPDX-License-Identifier: ISC
"""What an operator sees (SPEC §1 --status and --ping, §7, §9), against
real clamd:

- one line per message ([log] messages), read from a private syslog: a
  mount namespace of clamhook's runs alone, where /dev/log is a socket
  this module reads (the host's /dev is left as it is);
- a server killed between messages: its fail-over warning, its dead mark
  said once, skipped with a warning while marked, in --status, and its
  recovery said once;
- counts in the state file that match a known mix of messages, 40 runs
  at once, and a state file from an older clamhook or a corrupt one;
- --status as lines busybox sh sources, with -d 1 each server's VERSION
  and STATS; the init script's status;
- the signature database's age: a real clamd loading an unsigned daily
  database built here (support.unsigned_daily) with an old date makes
  --ping and --status warn.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import support
from conftest import REPO, Clamd, clamhook_runner

CLEAN = support.mail_plain()
INFECTED = support.mail_eicar_plain()
BUSYBOX = shutil.which("busybox")
MAIL_INFO = "<22>"              # facility mail (2) * 8 + info (6)
MAIL_WARNING = "<20>"


class Syslog:
    """The datagrams clamhook's runs sent to /dev/log."""

    def __init__(self, sock):
        self.sock = sock

    def take(self):
        """Every line received so far, "<PRI>IDENT[PID]: " made
        "<PRI>IDENT: "."""
        out = []
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return out
            out.append(re.sub(r"^(<\d+>\w+)\[\d+\]: ", r"\1: ",
                              data.decode("ascii", "replace")))


@pytest.fixture
def syslog(clamhook, tmp_path):
    d = tmp_path / "syslog"
    for sub in ("up", "work"):
        (d / sub).mkdir(parents=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(d / "log"))
    sock.setblocking(False)
    script = ('mount -t overlay overlay -o lowerdir=/dev,upperdir=%s/up,'
              'workdir=%s/work /dev && ln -sf %s/log /dev/log && exec "$@"'
              % (d, d, d))
    clamhook.runner = ["unshare", "--mount", "sh", "-c", script,
                       "sh"] + clamhook.runner
    try:
        yield Syslog(sock)
    finally:
        sock.close()


def run(clamhook, config, data, args=()):
    return clamhook(args, input=data, config=config)


# ---------------------------------------------------------------------------
# A line per message.

def message_line(result, virus, server, size):
    return (r"%sclamhook: message result=%s virus=%s server=%s bytes=%d "
            r"ms=\d+" % (MAIL_INFO, result, re.escape(virus),
                         re.escape(server), size))


@pytest.mark.parametrize("messages", ["none", "infected", "all"])
def test_a_line_per_message(clamhook, clamd, syslog, messages):
    """Each result's line, logged at the level chosen: clean, infected,
    partial (max_size), failed (no clamd)."""
    server = clamd.server()
    cfg = {"log": {"syslog": "yes", "messages": messages}}
    cases = [(CLEAN, {}, 0, "clean", "-", server),
             (INFECTED, {}, 1, "infected", support.EICAR_NAME, server),
             (CLEAN, {"message": {"max_size": "100"}}, 0, "partial", "-",
              server),
             (CLEAN, {"clamd": {"server": "127.0.0.1:%d"
                                % support.closed_port()}}, 75, "error", "-",
              "-")]
    for data, extra, status, result, virus, srv in cases:
        r = run(clamhook, support.merge_config(cfg, extra), data)
        assert r.status == status, r
        logged = [s for s in syslog.take()
                  if s.startswith(MAIL_INFO + "clamhook: message ")]
        shown = messages == "all" or (messages == "infected" and
                                      result not in ("clean", "error"))
        if shown:
            assert len(logged) == 1, logged
            assert re.fullmatch(message_line(result, virus, srv, len(data)),
                                logged[0]), logged
        else:
            assert logged == [], logged
        # At debug 0 the line goes to syslog only.
        assert "message result=" not in r.err.decode(), r


def test_message_line_on_stderr_with_debug(clamhook, clamd):
    r = run(clamhook, {}, INFECTED, ["-d", "1"])
    assert r.status == 1, r
    lines = [s for s in support.stderr_lines(r.err) if "message " in s]
    assert len(lines) == 1, r
    assert re.fullmatch(r"clamhook: \[\d+\.\d{3}\] " + message_line(
        "infected", support.EICAR_NAME, clamd.server(),
        len(INFECTED))[len(MAIL_INFO) + len("clamhook: "):], lines[0]), r


def test_batch_lines_name_the_file(clamhook, clamd, syslog, tmp_path):
    paths = []
    for name, data in (("a", CLEAN), ("b", INFECTED)):
        paths.append(str(tmp_path / name))
        with open(paths[-1], "wb") as f:
            f.write(data)
    r = clamhook(paths, config={"log": {"syslog": "yes",
                                        "messages": "all"}})
    assert r.status == 1, r
    logged = [s for s in syslog.take() if s.startswith(MAIL_INFO)]
    assert [s.rsplit(" file=", 1)[1] for s in logged] == paths, logged


# ---------------------------------------------------------------------------
# A server dies and comes back.

def status(clamhook, config, args=()):
    """--status: (its exit status, {NAME: value}, the raw output), the
    values as busybox sh sources them."""
    r = clamhook(["--status"] + list(args), config=config)
    values = sourced(r.out)
    return r, values


def sourced(text):
    """{NAME: value} of CLAMHOOK_* assignments, through busybox sh."""
    script = text.decode() + '\nset | grep "^CLAMHOOK_"\n'
    p = subprocess.run([BUSYBOX, "sh", "-c", script], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and p.stderr == "", p
    return {k: v.strip("'") for k, v in
            (line.split("=", 1) for line in p.stdout.splitlines())}


def test_dying_server_warns_marks_and_recovers(clamhook, make_clamd,
                                               syslog, tmp_path):
    """failover over a and b: a killed between messages, then restarted."""
    a, b = make_clamd(), make_clamd()
    retry = 5 if clamhook_runner() else 2       # runs are slow under one
    state = tmp_path / "state"
    cfg = {"clamd": {"server": [a.server(), b.server()], "balance":
                     "failover", "state_file": str(state),
                     "retry_dead_s": retry},
           "log": {"syslog": "yes"}}

    r = run(clamhook, cfg, CLEAN)
    assert (r.status, r.err) == (0, b""), r
    _, v = status(clamhook, cfg)
    assert v["CLAMHOOK_SERVER_1"] == a.server()
    assert v["CLAMHOOK_SERVER_1_STATE"] == "alive"
    assert int(v["CLAMHOOK_SERVER_1_LAST_OK"]) >= int(time.time()) - 60

    a.stop(remove=False)
    r = run(clamhook, cfg, INFECTED)
    assert r.status == 1, r
    warned, rest = support.warnings_and_rest(r.err)
    assert rest == b"", r
    assert warned == [
        "%s: marked dead for %d s (retry_dead_s)" % (a.server(), retry),
        "%s: connect: Connection refused; trying %s"
        % (a.server(), b.server())], r
    r = run(clamhook, cfg, CLEAN)
    assert r.status == 0, r
    [skipped] = support.warnings_and_rest(r.err)[0]
    assert re.fullmatch(r"%s: skipped: marked dead for \d+ s more "
                        r"\(retry_dead_s\)" % re.escape(a.server()),
                        skipped), r
    # The same warnings in syslog: the mark said once.
    logged = [s for s in syslog.take() if s.startswith(MAIL_WARNING)]
    assert len([s for s in logged
                if re.search(r"\d: marked dead for", s)]) == 1, logged
    assert len([s for s in logged if "skipped" in s]) == 1, logged

    _, v = status(clamhook, cfg)
    assert v["CLAMHOOK_SERVER_1_STATE"] == "dead"
    assert int(v["CLAMHOOK_SERVER_1_DEAD_UNTIL"]) > time.time() - 1
    assert v["CLAMHOOK_SERVER_1_LAST_ERROR"] == \
        "%s: connect: Connection refused" % a.server()
    assert v["CLAMHOOK_SERVER_2_STATE"] == "alive"
    assert (v["CLAMHOOK_SCANNED"], v["CLAMHOOK_CLEAN"],
            v["CLAMHOOK_INFECTED"]) == ("3", "2", "1")

    a.restart()
    time.sleep(retry + 1.1)
    r = run(clamhook, cfg, CLEAN)
    assert r.status == 0, r
    assert support.warnings_and_rest(r.err) == (
        ["%s: answers again: dead mark cleared" % a.server()], b""), r
    r = run(clamhook, cfg, CLEAN)
    assert (r.status, r.err) == (0, b""), r
    _, v = status(clamhook, cfg)
    assert (v["CLAMHOOK_SERVER_1_STATE"],
            v["CLAMHOOK_SERVER_1_DEAD_UNTIL"]) == ("alive", "0")


# ---------------------------------------------------------------------------
# Counts.

def test_counts_of_forty_at_once(clamhook, clamd, tmp_path):
    """40 runs at once (fewer under valgrind), two servers behind one
    state file, a known mix: not a count lost."""
    n = clamhook.volume(40, 8)
    state = tmp_path / "state"
    cfg = {"clamd": {"server": [clamd.server(), clamd.server("unix")],
                     "state_file": str(state)},
           "message": {"max_size": "2K", "on_oversize": "truncate"}}
    path = clamhook.config_file(cfg)
    big = CLEAN + b"x" * 4096
    mix = [(CLEAN, 0), (INFECTED, 1), (big, 0)]
    jobs = [mix[k % 3] for k in range(n)]

    def one(job):
        return clamhook(["-c", path], config=False, input=job[0],
                        timeout=120)

    with ThreadPoolExecutor(n) as ex:
        runs = list(ex.map(one, jobs))
    for (data, want), r in zip(jobs, runs):
        assert r.status == want, r
    r, v = status(clamhook, cfg)
    assert r.status == 0, r
    want = {"CLAMHOOK_SCANNED": n, "CLAMHOOK_CLEAN": len(range(0, n, 3)),
            "CLAMHOOK_INFECTED": len(range(1, n, 3)),
            "CLAMHOOK_PARTIAL": len(range(2, n, 3)), "CLAMHOOK_SKIPPED": 0,
            "CLAMHOOK_FAILED": 0}
    assert {k: int(v[k]) for k in want} == want, r.out


@pytest.mark.parametrize("old", [
    "clamhook-state 1\nnext 5\ndead %d 127.0.0.1:9\n",     # older clamhook
    "clamhook-state 1\nnext 5\ncounts 12 x\n"])            # corrupt
def test_older_or_corrupt_state_file(clamhook, clamd, tmp_path, old):
    state = tmp_path / "state"
    until = int(time.time()) + 600
    state.write_text(old % until if "%d" in old else old)
    cfg = {"clamd": {"server": [clamd.server(), clamd.server("unix")],
                     "state_file": str(state)}}
    r = run(clamhook, cfg, INFECTED)
    assert r.status == 1, r
    text = state.read_text()
    if "dead" in old:
        assert r.err == b"", r
        assert text.startswith("clamhook-state 1\nnext 6\ncounts ")
        assert "dead %d 127.0.0.1:9\n" % until in text
    else:
        support.assert_error_line(r.err, "state file %s: corrupt (ignored)"
                                  % state)
        assert text.startswith("clamhook-state 1\nnext 1\ncounts ")
    _, v = status(clamhook, cfg)
    assert (v["CLAMHOOK_SCANNED"], v["CLAMHOOK_INFECTED"]) == ("1", "1")


def test_status_without_a_state_file(clamhook, clamd):
    r, v = status(clamhook, {"clamd": {"state_file": ""}})
    assert r.status == 0, r
    assert b"# no state_file: no counts and no dead marks are kept\n" in r.out
    assert v["CLAMHOOK_STATE_FILE"] == "" and "CLAMHOOK_SCANNED" not in v
    assert v["CLAMHOOK_SERVER_1_STATE"] == "alive"


def test_status_before_any_message_makes_no_file(clamhook, clamd, tmp_path):
    state = tmp_path / "none-yet"
    r, v = status(clamhook, {"clamd": {"state_file": str(state)}})
    assert r.status == 0, r
    assert (v["CLAMHOOK_SINCE"], v["CLAMHOOK_SCANNED"]) == ("0", "0")
    assert not state.exists()


# ---------------------------------------------------------------------------
# The signature database's age.

@pytest.fixture(scope="module")
def old_db_clamd():
    """A real clamd whose daily database is dated 2017-07-14."""
    c = Clamd.start(sigs={"daily.cud": support.unsigned_daily(1500000000)})
    try:
        yield c
    finally:
        c.stop()


def age_days(stime):
    return (int(time.time()) - stime) // 86400


def test_ping_warns_of_an_old_database(clamhook, old_db_clamd):
    cfg = {"clamd": {"server": old_db_clamd.server(), "state_file": ""}}
    r = clamhook(["--ping"], config=cfg)
    assert r.status == 0, r
    assert r.out.decode() == "%s: ClamAV %s/27000/Fri Jul 14 02:40:00 " \
        "2017\n" % (old_db_clamd.server(), clamd_version())
    assert support.warnings_and_rest(r.err) == ([
        "%s: signature database is %d days old, older than "
        "max_db_age_days (7): is freshclam updating it?"
        % (old_db_clamd.server(), age_days(1500000000))], b""), r
    cfg["clamd"]["max_db_age_days"] = 0
    r = clamhook(["--ping"], config=cfg)
    assert (r.status, r.err) == (0, b""), r


def test_status_d1_reports_version_and_stats(clamhook, old_db_clamd,
                                             clamd):
    """-d 1: what each clamd says of itself; the old one warns, the
    session clamd (no daily database) has no date to judge."""
    cfg = {"clamd": {"server": [old_db_clamd.server(), clamd.server()],
                     "state_file": ""}}
    r, v = status(clamhook, cfg, ["-d", "1"])
    assert r.status == 0, r
    assert v["CLAMHOOK_SERVER_1_VERSION"] == \
        "ClamAV %s/27000/Fri Jul 14 02:40:00 2017" % clamd_version()
    assert v["CLAMHOOK_SERVER_1_DB_VERSION"] == "27000"
    assert v["CLAMHOOK_SERVER_1_DB_AGE_DAYS"] == str(age_days(1500000000))
    assert re.fullmatch(r"live \d+ +idle \d+ max \d+ idle-timeout \d+",
                        v["CLAMHOOK_SERVER_1_THREADS"]), v
    assert v["CLAMHOOK_SERVER_1_QUEUE"] == "0"
    assert v["CLAMHOOK_SERVER_2_VERSION"] == "ClamAV %s" % clamd_version()
    assert (v["CLAMHOOK_SERVER_2_DB_VERSION"],
            v["CLAMHOOK_SERVER_2_DB_AGE_DAYS"]) == ("", "")
    warned = [w for w in support.warnings_and_rest(r.err)[0]
              if "days old" in w]
    assert len(warned) == 1 and warned[0].startswith(
        old_db_clamd.server() + ": "), r


def test_a_fresh_database_gives_no_warning(clamhook):
    c = Clamd.start(sigs={"daily.cud": support.unsigned_daily(
        int(time.time()) - 3600)})
    try:
        r = clamhook(["--ping"], config={"clamd": {"server": c.server(),
                                                   "state_file": ""}})
    finally:
        c.stop()
    assert (r.status, r.err) == (0, b""), r


def clamd_version():
    out = subprocess.run(["/usr/sbin/clamd", "--version"],
                         capture_output=True, text=True, timeout=30).stdout
    return re.match(r"ClamAV ([\d.]+)", out).group(1)


# ---------------------------------------------------------------------------
# The board's init script.

def test_init_script_status_prints_status(clamhook, clamd, tmp_path):
    if clamhook.runner:
        pytest.skip("the init script runs the binary itself: tested in the "
                    "plain host pass")
    r = run(clamhook, {}, INFECTED)
    assert r.status == 1, r
    ini = clamhook.config_file()
    init = os.path.join(REPO, "board", "common", "rootfs_overlay", "etc",
                        "init.d", "S45clamhook")
    p = subprocess.run([BUSYBOX, "sh", init, "status"], env=dict(
        os.environ, CLAMHOOK=clamhook.bin, CLAMHOOK_CONFIG=ini,
        CLAMHOOK_DEFAULTS=os.devnull), capture_output=True, timeout=30)
    assert (p.returncode, p.stderr) == (0, b""), p
    v = sourced(p.stdout)
    assert (v["CLAMHOOK_SCANNED"], v["CLAMHOOK_INFECTED"]) == ("1", "1"), p
