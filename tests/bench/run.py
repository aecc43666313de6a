# SPDX-License-Identifier: ISC
"""clamhook's benchmark: make bench.

Starts a private clamd (Debian's clamav-daemon, a generated two-signature
database) and, against that one clamd, times clamhook (INSTREAM over TCP and
over the Unix socket, FILDES over the Unix socket), clamdscan --stream and
--fdpass, and the floor (tests/bench/minimal.c, the least an INSTREAM
client must do) on clean messages of 4 KiB, 1 MiB, 13 MiB and 100 MiB, piped and as
files.  Runs are interleaved: each round runs every tool once, in an order
rotated from round to round, so a load change on the machine hits every tool
alike; ratios to the floor are taken pair by pair within a round.

Also measured: sequential throughput (1,000 messages of 4 KiB), each tool's
own peak RSS (VmHWM, through the static ptrace launcher of
tests/integration/support.py), stripped binary sizes per target (make size),
and heap allocations of a glibc build under valgrind.  The report goes to
tests/bench/RESULTS.md and to standard output; goals are reported met or
missed, never asserted.  Every wait is bounded; clamd is stopped at the end.

The start-up cost of a 4 KiB message, where a Python spawn would cost more
than the tools, is timed from C: tests/bench/spawn.c runs the floor and
clamhook in alternating rounds with posix_spawn and reports median wall and
CPU times and per-round ratios.

Environment: CLAMHOOK_BIN (./clamhook), BENCH_FLOOR (build/bench/floor),
BENCH_SPAWN (build/bench/spawn),
BENCH_GLIBC (build/bench/clamhook-glibc), BENCH_RSS (build/bench/rss, from
tests/bench/rss.c), BENCH_RESULTS (where the report
goes), BENCH_BUDGET_S (seconds for the whole run, default 780),
BENCH_RUNS (rounds per small case, default 30; 4 KiB gets 40),
BENCH_NICE (the nice value for the harness, clamd and the tools, default
-10 so that other work on a shared machine disturbs the timings less; 0
leaves it), BENCH_QUICK=1 (a smoke run: few rounds, no cross builds),
BENCH_KEEP=1 (keep the work directory), BENCH_RUN_DIR (a tmpfs for the
state file, as the board's /run; default /run), MAKE (make).
"""

import datetime
import hashlib
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import support  # noqa: E402
from eicar import eicar, eicar_middle  # noqa: E402

KIB = 1024
MIB = 1024 * KIB
CHUNK = 8192

CLAMHOOK = os.path.abspath(os.environ.get("CLAMHOOK_BIN",
                                          os.path.join(REPO, "clamhook")))
FLOOR = os.path.abspath(os.environ.get(
    "BENCH_FLOOR", os.path.join(REPO, "build", "bench", "floor")))
GLIBC = os.path.abspath(os.environ.get(
    "BENCH_GLIBC", os.path.join(REPO, "build", "bench", "clamhook-glibc")))
SPAWN = os.path.abspath(os.environ.get(
    "BENCH_SPAWN", os.path.join(REPO, "build", "bench", "spawn")))
RSS = os.path.abspath(os.environ.get(
    "BENCH_RSS", os.path.join(REPO, "build", "bench", "rss")))
RESULTS = os.environ.get("BENCH_RESULTS",
                         os.path.join(HERE, "RESULTS.md"))
CLAMD = os.environ.get("CLAMD_BIN", "/usr/sbin/clamd")
CLAMDSCAN = shutil.which("clamdscan") or "/usr/bin/clamdscan"
MAKE = os.environ.get("MAKE", "make")
QUICK = os.environ.get("BENCH_QUICK") == "1"
# a tmpfs, where the board keeps the state file (/run/clamhook.state)
RUN_DIR = os.environ.get("BENCH_RUN_DIR", "/run")
BUDGET = float(os.environ.get("BENCH_BUDGET_S", "780"))
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
NICE = int(os.environ.get("BENCH_NICE", "-10"))
RUN_TIMEOUT = 120          # one tool on one message
CLAMD_START_TIMEOUT = 60
CLAMD_STOP_TIMEOUT = 15
CHILD_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}

SIZES = [("4 KiB", 4 * KIB), ("1 MiB", MIB), ("13 MiB", 13 * MIB),
         ("100 MiB", 100 * MIB)]
CROSS = ("aarch64", "armv7", "mipsel")
T0 = time.monotonic()


def note(msg):
    print("bench: [%4.0fs] %s" % (time.monotonic() - T0, msg),
          file=sys.stderr, flush=True)


def left():
    return BUDGET - (time.monotonic() - T0)


# ---------------------------------------------------------------------------
# clamd.

class Clamd:
    """A private clamd on a free loopback port and a Unix socket."""

    def __init__(self, d):
        self.dir = d
        self.socket = os.path.join(d, "clamd.sock")
        self.conf = os.path.join(d, "clamd.conf")
        self.log = os.path.join(d, "clamd.log")
        self.proc = None
        self.port = None

    def start(self):
        db = os.path.join(self.dir, "db")
        os.makedirs(db)
        os.makedirs(os.path.join(self.dir, "tmp"))
        data = eicar()
        with open(os.path.join(db, "bench.hdb"), "w") as f:
            f.write("%s:%d:Eicar-Test-Signature\n"
                    % (hashlib.md5(data).hexdigest(), len(data)))
        with open(os.path.join(db, "bench.ndb"), "w") as f:
            f.write("Eicar-Test-Signature-Body:0:*:%s\n"
                    % eicar_middle(30).hex())
        for _ in range(3):
            self.port = support.free_port()
            if self._run():
                return
        raise RuntimeError("clamd could not bind a port")

    def _run(self):
        opts = [
            ("DatabaseDirectory", os.path.join(self.dir, "db")),
            ("TCPSocket", self.port), ("TCPAddr", "127.0.0.1"),
            ("LocalSocket", self.socket), ("Foreground", "yes"),
            ("LogFile", self.log), ("PidFile",
                                    os.path.join(self.dir, "clamd.pid")),
            ("TemporaryDirectory", os.path.join(self.dir, "tmp")),
            ("Bytecode", "no"), ("User", "root"),
            ("StreamMaxLength", "200M"), ("MaxFileSize", "200M"),
            ("MaxScanSize", "400M"), ("ReadTimeout", "30"),
            ("CommandReadTimeout", "10"), ("SelfCheck", "3600"),
        ]
        with open(self.conf, "w") as f:
            f.write("".join("%s %s\n" % kv for kv in opts))
        for p in (self.log, self.socket):
            if os.path.exists(p):
                os.unlink(p)
        out = open(os.path.join(self.dir, "clamd.out"), "wb")
        self.proc = subprocess.Popen([CLAMD, "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        end = time.monotonic() + CLAMD_START_TIMEOUT
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                text = self.text()
                if "Address already in use" in text:
                    self.proc = None
                    return False
                raise RuntimeError("clamd exited at start-up:\n"
                                   + text[-2000:])
            try:
                if (support.clamd_command(self.port, "PING", 2) == "PONG"
                        and support.clamd_command(self.socket, "PING",
                                                  2) == "PONG"):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("clamd did not answer PING in %d s"
                               % CLAMD_START_TIMEOUT)
        reply = support.clamd_instream(self.port, eicar())
        if not reply.endswith(" FOUND"):
            self.stop()
            raise RuntimeError("clamd does not detect the test file: %r"
                               % reply)
        return True

    def text(self):
        out = ""
        for p in (self.log, os.path.join(self.dir, "clamd.out")):
            try:
                with open(p, errors="replace") as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def version(self):
        try:
            return support.clamd_command(self.socket, "VERSION", 5)
        except OSError as e:
            return "unknown (%s)" % e

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(CLAMD_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(CLAMD_STOP_TIMEOUT)


# ---------------------------------------------------------------------------
# Tools.  Each is a name, the transport of its floor, and an argv builder
# for piped input (path None: standard input) or a file.

class Tool:
    def __init__(self, name, floor, argv, piped=True, files=True,
                 expect=None):
        self.name, self.floor, self._argv = name, floor, argv
        self.piped, self.files = piped, files
        self.expect = expect    # (output for clean, for infected) checker

    def argv(self, path):
        return self._argv(path)


def ini(wd, name, server, protocol="instream", state=""):
    """A clamhook INI: server (a list repeats the key), no state file
    unless state names one."""
    path = os.path.join(wd, name)
    servers = server if isinstance(server, list) else [server]
    with open(path, "w") as f:
        f.write("[clamd]\n%sprotocol = %s\nstate_file = %s\n"
                "\n[message]\nmax_size = 0\n\n[verdict]\noutput = -\n"
                % ("".join("server = %s\n" % s for s in servers), protocol,
                   state))
    return path


def clamhook_tool(conf):
    return lambda p: [CLAMHOOK, "-c", conf] + ([p] if p else [])


def state_tools(cd, wd, run):
    """The state file's cost (SPEC §9): over the Unix socket, one server
    with a state file (the counts: one locked update) against none, and
    two servers (the same clamd twice) with a state file (the round robin
    and the counts) against two without (round robin from the pid).  Each
    with the file in run, a tmpfs as the board's /run where the INI's
    default keeps it, and on the disk of wd."""
    sock = "unix:" + cd.socket
    tools = []
    for where, d in (("", run), (" on disk", wd)):
        st = os.path.join(d, "bench.state")
        tools += [
            Tool("clamhook unix + state file" + where,
                 "clamhook instream unix",
                 clamhook_tool(ini(wd, "unix-state%s.ini" % where.strip(),
                                   sock, state=st))),
            Tool("clamhook unix x2 + state file" + where, "clamhook unix x2",
                 clamhook_tool(ini(wd, "unix2-state%s.ini" % where.strip(),
                                   [sock, sock], state=st)))]
    return tools + [Tool("clamhook unix x2", "clamhook unix x2",
                         clamhook_tool(ini(wd, "unix2.ini", [sock, sock])))]


def make_tools(cd, wd):

    tcp = "127.0.0.1:%d" % cd.port
    ini_tcp = ini(wd, "tcp.ini", tcp)
    ini_unix = ini(wd, "unix.ini", "unix:" + cd.socket)
    ini_fd = ini(wd, "fildes.ini", "unix:" + cd.socket, "fildes")
    cds_conf = os.path.join(wd, "clamdscan.conf")
    with open(cds_conf, "w") as f:
        f.write("LocalSocket %s\n" % cd.socket)

    def floor(addr):
        return lambda p: [FLOOR, addr] + ([p] if p else [])

    clamhook = clamhook_tool

    def clamdscan(mode):
        return lambda p: [CLAMDSCAN, "--config-file=" + cds_conf, mode,
                          "--no-summary", p or "-"]

    return [
        Tool("floor tcp", "floor tcp", floor(tcp)),
        Tool("floor unix", "floor unix", floor(cd.socket)),
        Tool("clamhook instream tcp", "floor tcp", clamhook(ini_tcp)),
        Tool("clamhook instream unix", "floor unix", clamhook(ini_unix)),
        Tool("clamhook fildes unix", "floor unix", clamhook(ini_fd),
             piped=False),
        Tool("clamdscan --stream", "floor unix", clamdscan("--stream")),
        Tool("clamdscan --fdpass", "floor unix", clamdscan("--fdpass"),
             piped=False),
    ]


def output_ok(tool, out, infected):
    """Whether a run's standard output is the tool's answer for a clean
    (or infected) message."""
    text = out.decode("ascii", "replace")
    if tool.name.startswith("floor"):
        return (text.startswith("stream: ") and text.endswith(" FOUND\n")
                if infected else text == "stream: OK\n")
    if tool.name.startswith("clamhook"):
        return (text.startswith("Virus-Test: True ; ")
                if infected else text == "\n")
    return text.endswith(" FOUND\n") if infected else text.endswith(": OK\n")


# ---------------------------------------------------------------------------
# One run: posix_spawn (vfork-fast, the same cost for every tool), input
# from a pipe or a file, a pidfd poll as the bounded wait, wait4 for the
# child's own CPU time.

# A message up to this size is written into the pipe before the tool
# starts (a pipe holds 64 KiB by default); a larger one is fed while it runs.
PIPE_BUF_DEFAULT = 64 * KIB


class Result:
    def __init__(self, status, wall, cpu, out, err, timed_out):
        self.status, self.wall, self.cpu = status, wall, cpu
        self.out, self.err, self.timed_out = out, err, timed_out


def _feed(fd, data):
    view = memoryview(data)
    try:
        while len(view):
            n = os.write(fd, view[:MIB])
            view = view[n:]
    except OSError:
        pass
    finally:
        os.close(fd)


def run_tool(argv, data=None, timeout=RUN_TIMEOUT, wd="/tmp"):
    """Run argv once.  data: bytes sent through a pipe on standard input
    (None: /dev/null).  A message that fits the pipe is written before the
    start; a larger one by a feeder thread while the tool runs."""
    outp = os.path.join(wd, "run.out")
    errp = os.path.join(wd, "run.err")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    out_fd = os.open(outp, flags)
    err_fd = os.open(errp, flags)
    feeder = None
    wfd = None
    if data is None:
        in_fd = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    else:
        in_fd, wfd = os.pipe()
        if len(data) <= PIPE_BUF_DEFAULT:
            os.write(wfd, data)
            os.close(wfd)
            wfd = None
    t0 = time.perf_counter()
    try:
        pid = os.posix_spawn(argv[0], argv, CHILD_ENV, file_actions=[
            (os.POSIX_SPAWN_DUP2, in_fd, 0),
            (os.POSIX_SPAWN_DUP2, out_fd, 1),
            (os.POSIX_SPAWN_DUP2, err_fd, 2)])
    finally:
        os.close(in_fd)
        os.close(out_fd)
        os.close(err_fd)
    if wfd is not None:
        feeder = threading.Thread(target=_feed, args=(wfd, data), daemon=True)
        feeder.start()
    pidfd = os.pidfd_open(pid)
    timed_out = False
    try:
        p = select.poll()
        p.register(pidfd, select.POLLIN)
        if not p.poll(timeout * 1000):
            timed_out = True
            os.kill(pid, signal.SIGKILL)
        _, st, ru = os.wait4(pid, 0)
    finally:
        os.close(pidfd)
    t1 = time.perf_counter()
    if feeder is not None:
        feeder.join(30)
    with open(outp, "rb") as f:
        out = f.read(4096)
    with open(errp, "rb") as f:
        err = f.read(4096)
    return Result(os.waitstatus_to_exitcode(st), t1 - t0,
                  ru.ru_utime + ru.ru_stime, out, err, timed_out)


# ---------------------------------------------------------------------------
# Measurements.

class Case:
    """One message size and input kind: per tool, the runs of each round."""

    def __init__(self, label, size, mode, tools):
        self.label, self.size, self.mode = label, size, mode
        self.tools = tools
        self.wall = {t.name: [] for t in tools}
        self.cpu = {t.name: [] for t in tools}
        self.failures = {t.name: 0 for t in tools}
        self.fail_text = {}
        self.rounds = 0


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def run_case(case, path, data, rounds, warmup, wd):
    tools = case.tools
    for k in range(-warmup, rounds):
        order = tools[k % len(tools):] + tools[:k % len(tools)]
        for t in order:
            if case.mode == "piped":
                r = run_tool(t.argv(None), data, wd=wd)
            else:
                r = run_tool(t.argv(path), None, wd=wd)
            ok = (r.status == 0 and not r.timed_out
                  and output_ok(t, r.out, False))
            if not ok:
                case.failures[t.name] += 1
                case.fail_text.setdefault(
                    t.name, "status %s, out %r, err %r"
                    % (r.status, r.out[:80], r.err[:200]))
            if k >= 0:
                case.wall[t.name].append(r.wall if ok else float("nan"))
                case.cpu[t.name].append(r.cpu if ok else float("nan"))
        if k >= 0:
            case.rounds += 1


def pair_ratio(case, name, ref, what="wall"):
    """Median over rounds of tool/ref, both timed in the same round."""
    d = getattr(case, what)
    rs = [a / b for a, b in zip(d[name], d[ref])
          if a == a and b == b and b > 0]
    return median(rs) if rs else float("nan")


def sanity(tools, wd, msgs):
    """Every tool finds the test file through the same clamd and passes a
    clean message: the timings compare working clients."""
    bad = []
    inf = support.message_at(1000, 4 * KIB)
    inf_path = os.path.join(wd, "infected.eml")
    with open(inf_path, "wb") as f:
        f.write(inf)
    for t in tools:
        for mode in ("piped", "file"):
            if (mode == "piped" and not t.piped) or \
                    (mode == "file" and not t.files):
                continue
            r = (run_tool(t.argv(None), inf, wd=wd, timeout=30)
                 if mode == "piped" else
                 run_tool(t.argv(inf_path), None, wd=wd, timeout=30))
            # Every tool, the floor too, exits 1 for FOUND.
            if r.status != 1 or not output_ok(t, r.out, True):
                bad.append("%s (%s, infected): status %s, out %r, err %r"
                           % (t.name, mode, r.status, r.out[:100],
                              r.err[:200]))
            r = (run_tool(t.argv(None), msgs[0][2], wd=wd, timeout=30)
                 if mode == "piped" else
                 run_tool(t.argv(msgs[0][1]), None, wd=wd, timeout=30))
            if r.status != 0 or not output_ok(t, r.out, False):
                bad.append("%s (%s, clean): status %s, out %r, err %r"
                           % (t.name, mode, r.status, r.out[:100],
                              r.err[:200]))
    return bad


def throughput(tools, data, wd, count=1000, block=50):
    """count piped messages per tool, one after the other, in blocks of
    `block` interleaved between tools.  Returns {name: (msgs/s, failures)}."""
    total = {t.name: 0.0 for t in tools}
    fails = {t.name: 0 for t in tools}
    for b in range(count // block):
        order = tools[b % len(tools):] + tools[:b % len(tools)]
        for t in order:
            argv = t.argv(None)
            s = time.perf_counter()
            for _ in range(block):
                r = run_tool(argv, data, wd=wd, timeout=30)
                if r.status != 0:
                    fails[t.name] += 1
            total[t.name] += time.perf_counter() - s
    return {n: (count / total[n], fails[n]) for n in total}


BATCH_FILES = 100


def batch(tools, wd, rounds, count=BATCH_FILES):
    """count 4 KiB files (one in ten with EICAR) in one run of each tool,
    in rotated order each round.  Returns [(name, files, median wall s,
    median ratio to the Unix-socket batch in the same round, failures)]."""
    files = []
    for i in range(count):
        path = os.path.join(wd, "batch-%03d.eml" % i)
        with open(path, "wb") as f:
            f.write(support.message_at(1024, 4 * KIB) if i % 10 == 0
                    else support.filler(4 * KIB, seed=i))
        files.append(path)
    walls = {t[0]: [] for t in tools}
    fails = {t[0]: 0 for t in tools}
    for r in range(rounds):
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for name, argv in order:
            res = run_tool(argv + files, wd=wd, timeout=RUN_TIMEOUT)
            # 1: some infected, none failed; anything else is a failure.
            if res.status != 1 or res.timed_out:
                fails[name] += 1
            walls[name].append(res.wall)
    ref = tools[0][0]
    return [(n, count, median(w),
             median([a / b for a, b in zip(w, walls[ref])]), fails[n])
            for n, w in walls.items()]


RSS_RUNS = 5


def peak_rss(tools, msgs, launcher, wd):
    """{(tool, label, mode): (VmHWM, RssAnon, RssFile) in KiB} from one run
    each under the launcher (tests/bench/rss.c; RssAnon and RssFile are
    None with support.py's launcher, which reports VmHWM only)."""
    out = {}
    for label, path, data in msgs:
        for t in tools:
            for mode in ("piped", "file"):
                if (mode == "piped" and not t.piped) or \
                        (mode == "file" and not t.files):
                    continue
                # The median of RSS_RUNS runs: where the stack starts
                # (ASLR) moves a peak by a page or two from run to run.
                runs = []
                for _ in range(RSS_RUNS):
                    rf = os.path.join(wd, "rss.out")
                    open(rf, "w").close()
                    argv = [launcher, rf] + t.argv(
                        path if mode == "file" else None)
                    r = run_tool(argv, data if mode == "piped" else None,
                                 wd=wd)
                    try:
                        with open(rf) as f:
                            v = [int(x) for x in f.read().split()]
                    except (OSError, ValueError):
                        v = []
                    v = (v + [-1, -1, -1])[:3]
                    v = [x if x >= 0 else None for x in v]
                    if r.status != 0 or not v[0]:
                        runs = None
                        break
                    runs.append(v)
                out[(t.name, label, mode)] = None if not runs else tuple(
                    None if runs[0][i] is None else
                    statistics.median_low(x[i] for x in runs)
                    for i in range(3))
    return out


def heap_allocs(ini, msgs, wd):
    """{label: (allocs, frees, bytes) or error text} for the glibc build
    under valgrind memcheck, piped input."""
    res = {}
    vg = shutil.which("valgrind")
    if not vg:
        return {label: "valgrind not installed" for label, _, _ in msgs}
    if not os.access(GLIBC, os.X_OK):
        return {label: "no glibc build at %s" % GLIBC
                for label, _, _ in msgs}
    for label, _, data in msgs:
        r = run_tool([vg, "--tool=memcheck", "--error-exitcode=99",
                      GLIBC, "-c", ini], data, timeout=600, wd=wd)
        with open(os.path.join(wd, "run.err"), "rb") as f:
            err = f.read().decode("ascii", "replace")
        m = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, "
                      r"([\d,]+) bytes allocated", err)
        if r.status != 0 or not m:
            res[label] = "failed: status %s: %s" % (r.status, err[-300:])
        else:
            res[label] = tuple(int(g.replace(",", "")) for g in m.groups())
    return res


def build_cross():
    """make TARGET=t for every cross target (incremental); returns
    {target: note} for those that failed."""
    notes = {}
    for t in CROSS:
        try:
            r = subprocess.run([MAKE, "-s", "--no-print-directory",
                                "TARGET=" + t], cwd=REPO,
                               capture_output=True, timeout=400)
            if r.returncode != 0:
                notes[t] = ("make TARGET=%s failed: %s" % (
                    t, r.stderr.decode(errors="replace").strip()[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            notes[t] = "make TARGET=%s: %s" % (t, e)
    return notes


def binary_sizes():
    """[(target, unstripped, stripped, file)] from make size, else []."""
    try:
        r = subprocess.run([MAKE, "-s", "--no-print-directory", "size"],
                           cwd=REPO, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return []
    rows = []
    for line in r.stdout.decode(errors="replace").splitlines()[1:]:
        parts = line.split(None, 3)
        if len(parts) >= 3 and parts[1].isdigit() and parts[2].isdigit():
            rows.append((parts[0], int(parts[1]), int(parts[2]),
                         parts[3] if len(parts) > 3 else ""))
    return rows


def floor_size():
    tmp = tempfile.mktemp(prefix="floor-stripped-")
    try:
        subprocess.run(["strip", "-o", tmp, FLOOR], timeout=30, check=True)
        return os.path.getsize(tmp)
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------
# The machine and versions.

def cmd_text(argv, timeout=20):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=timeout)
        return (r.stdout or r.stderr).decode(errors="replace").strip()
    except (OSError, subprocess.SubprocessError) as e:
        return "unknown (%s)" % e


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return model, os.cpu_count()


def pkg_version(name):
    v = cmd_text(["dpkg-query", "-W", "-f", "${Version}\\n", name])
    v = v.splitlines()[0] if v else ""
    return v if v and "no packages" not in v else "unknown"


def clamhook_version():
    v = cmd_text([CLAMHOOK, "-V"])
    rev = cmd_text(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = cmd_text(["git", "-C", REPO, "status", "--porcelain",
                      "--untracked-files=no", "src"])
    if re.fullmatch(r"[0-9a-f]{4,40}", rev):
        v += " (git %s%s)" % (rev, ", src/ with uncommitted changes"
                              if dirty else "")
    return v


# ---------------------------------------------------------------------------
# The report.

def fmt_ms(s):
    return "–" if s != s else ("%.2f" % (s * 1000) if s < 0.1
                               else "%.1f" % (s * 1000))


def fmt_x(x):
    return "–" if x != x else "%.3f" % x


def startup(tools, path, rounds):
    """The 4 KiB message, standard input a file, timed by spawn (C): the
    floor and clamhook on TCP, then on the Unix socket; then the state
    file's cost (state_tools), each against the same clamhook without one.
    Returns a list of (tool name, reference name, median_us, cpu_us,
    ratio, status changes)."""
    by = {t.name: t for t in tools}
    sets = [("floor tcp", ["clamhook instream tcp"]),
            ("floor unix", ["clamhook instream unix", "clamhook fildes unix",
                            "clamdscan --stream"]),
            ("clamhook instream unix", ["clamhook unix + state file",
                                        "clamhook unix + state file on disk"]),
            ("clamhook unix x2", ["clamhook unix x2 + state file",
                                  "clamhook unix x2 + state file on disk"])]
    rows = []
    for ref, names in sets:
        # a cost of 1-2%: more rounds than the ratios to the floor need
        argv = [SPAWN, str(rounds if ref.startswith("floor")
                           else 3 * rounds), path]
        for n in [ref] + names:
            argv += by[n].argv(None) + ["--"]
        r = subprocess.run(argv[:-1], capture_output=True, text=True,
                           timeout=max(60, left()))
        got = {}
        changed = []
        for line in r.stdout.splitlines():
            f = line.split()
            if f[0] == "cmd":
                got[int(f[1])] = (float(f[3]), float(f[7]), float(f[9]))
            elif f[0] == "status":
                changed.append(int(f[1]))
        for k, n in enumerate([ref] + names):
            # A clamhook reference has its row in the floor's set.
            if k in got and (k > 0 or ref.startswith("floor") or
                             ref not in [r[0] for r in rows]):
                rows.append((n, ref) + got[k] + (changed.count(k),))
    return rows


def report(ctx):
    L = []
    add = L.append
    add("# clamhook benchmark")
    add("")
    add("Written by `make bench` (tests/bench/run.py); numbers from one run "
        "of it on the machine below.")
    add("")
    add("| | |")
    add("|---|---|")
    for k, v in ctx["about"]:
        add("| %s | %s |" % (k, v))
    add("")
    add("## Method")
    add("")
    add("- One private clamd (generated database: an MD5 `.hdb` signature "
        "and an `.ndb` body signature of the test file) serves every tool; "
        "before timing, each tool is checked to report the test file FOUND "
        "and a clean message OK through it.")
    add("- Messages are clean mail text (headers and 64-byte lines).  "
        "*piped*: standard input is a pipe (written before the start when "
        "the message fits the default 64 KiB pipe, i.e. 4 KiB; otherwise "
        "fed by a writer thread while the tool runs); *file*: the path is "
        "given on the command line.")
    add("- Each round runs every tool once, in an order rotated from round "
        "to round; warm-up rounds are not counted.  Time is wall time from "
        "posix_spawn to wait4; CPU is the tool's own user+system time "
        "(wait4).  *vs floor* (and *CPU vs floor*) is the median over "
        "rounds of tool/floor within the same round, against the floor on "
        "the same transport (TCP tools against `floor tcp`, Unix-socket "
        "tools against `floor unix`).  Wall time includes clamd's scan, "
        "which dominates from 1 MiB on; CPU time is the client's own cost "
        "and is much less disturbed by other load.")
    add("- `floor` (tests/bench/minimal.c, static musl, -Os) connects, sends "
        "zINSTREAM, reads the message in pieces of up to 64 KiB and sends "
        "each as one chunk with one writev, sends the zero chunk and prints "
        "the reply: no configuration, no deadlines, no checks.  clamhook runs with its defaults (chunk_size "
        "8192, buffer_size 64 KiB), `state_file` empty and `max_size = 0`.")
    add("- clamdscan (Debian, dynamic) uses a clamd.conf naming the same "
        "Unix socket, `--no-summary`.  For a pipe `--fdpass` falls back to "
        "INSTREAM in clamdscan and `protocol = fildes` falls back to "
        "INSTREAM in clamhook, so both are timed on files only.")
    add("- Load average (1, 5, 15 min) at the start: %s; at the end: %s.  "
        "Other work on the machine adds noise to every tool alike (rounds "
        "are interleaved) and dilutes the ratios towards 1.  Scheduling "
        "priority (nice): %s." % (ctx["load0"], ctx["load1"], ctx["nice"]))
    add("")
    add("## Start-up: 4 KiB, timed from C")
    add("")
    add("`build/bench/spawn` (tests/bench/spawn.c) runs each tool %d "
        "times in rotated order, standard input the 4 KiB message as a "
        "file, and times posix_spawn to wait4 from C.  The floor is "
        "tests/bench/minimal.c: connect, zINSTREAM, the message in the "
        "chunks its reads give, the zero chunk, the reply.  The state "
        "file's rows, a cost of a percent or two, run %d times against "
        "clamhook without one: the file in %s (a tmpfs, as the board's "
        "/run) and on the disk of the work directory."
        % (ctx["su_rounds"], 3 * ctx["su_rounds"], RUN_DIR))
    add("")
    add("| tool | median ms | CPU ms | vs floor (median of per-round "
        "ratios) | status changes |")
    add("|---|---|---|---|---|")
    for name, ref, med, cpu, ratio, changed in ctx["startup"]:
        add("| %s | %.3f | %.3f | %s | %d |"
            % (name, med / 1000, cpu / 1000,
               "1 (reference)" if name == ref else fmt_x(ratio) + (
                   "" if ref.startswith("floor") else " of " + ref),
               changed))
    add("")
    add("## Time per message")
    add("")
    add("| size | input | tool | rounds | median ms | min ms | vs floor | "
        "CPU ms | CPU vs floor | failed |")
    add("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for case in ctx["cases"]:
        for t in case.tools:
            w = [x for x in case.wall[t.name] if x == x]
            c = [x for x in case.cpu[t.name] if x == x]
            ratio = ("1 (floor)" if t.name == t.floor
                     else fmt_x(pair_ratio(case, t.name, t.floor)))
            cratio = ("1 (floor)" if t.name == t.floor
                      else fmt_x(pair_ratio(case, t.name, t.floor, "cpu")))
            add("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %d |" % (
                case.label, case.mode, t.name, len(w), fmt_ms(median(w)),
                fmt_ms(min(w) if w else float("nan")), ratio,
                fmt_ms(median(c)), cratio, case.failures[t.name]))
    add("")
    if ctx["rounds_note"]:
        add(ctx["rounds_note"])
        add("")
    fails = [(c, n, txt) for c in ctx["cases"]
             for n, txt in c.fail_text.items()]
    if fails:
        add("Failed runs (first of each):")
        add("")
        for c, n, txt in fails:
            add("- %s %s, %s: %s" % (c.label, c.mode, n,
                                     txt.replace("|", "\\|")))
        add("")
    add("## Throughput: 1,000 piped 4 KiB messages, one after another")
    add("")
    add("| tool | messages/s | vs floor | failed |")
    add("|---|---:|---:|---:|")
    tp = ctx["throughput"]
    for name, (rate, nf) in tp.items():
        ref = tp.get("floor unix" if "unix" in name or "clamdscan" in name
                     else "floor tcp", (rate, 0))[0]
        add("| %s | %.0f | %.3f | %d |" % (name, rate, rate / ref, nf))
    add("")
    add("(*vs floor* here is the rate ratio: below 1 is slower.)")
    add("")
    add("## Several files in one run: %d x 4 KiB (one in ten infected)"
        % BATCH_FILES)
    add("")
    add("clamhook scans them on one IDSESSION connection; clamdscan opens "
        "one per file.")
    add("")
    add("| tool | files | median ms | ms per file | vs clamhook unix | "
        "failed |")
    add("|---|---:|---:|---:|---:|---:|")
    for name, n, wall, ratio, nf in ctx["batch"]:
        add("| %s | %d | %s | %.3f | %.3f | %d |"
            % (name, n, fmt_ms(wall), wall * 1000 / n, ratio, nf))
    add("")
    add("## Peak RSS (KiB, the tool's own VmHWM, median of %d runs)" % RSS_RUNS)
    add("")
    rss = ctx["rss"]
    labels = [m[0] for m in ctx["msgs"]]
    add("| tool | input | " + " | ".join(labels) + " |")
    add("|---|---|" + "---:|" * len(labels))
    for t in ctx["tools"]:
        for mode in ("piped", "file"):
            if (mode == "piped" and not t.piped) or \
                    (mode == "file" and not t.files):
                continue
            cells = []
            for lab in labels:
                v = rss.get((t.name, lab, mode))
                f = rss.get((t.floor, lab, mode))
                if v is None:
                    cells.append("–")
                    continue
                cell = "%d" % v[0]
                if t.name != t.floor and f:
                    cell += " (%.2fx)" % (v[0] / f[0])
                if v[1] is not None and v[2] is not None:
                    cell += " [%d+%d]" % (v[1], v[2])
                cells.append(cell)
            add("| %s | %s | %s |" % (t.name, mode, " | ".join(cells)))
    add("")
    add("(In round brackets: the ratio to the floor on the same transport "
        "and input.  In square brackets: anonymous + file-backed resident "
        "KiB at exit; a static binary's file-backed part is its own text "
        "and data, mapped in 16-page blocks by the kernel's fault-around, "
        "so it grows with the binary's size, not with what runs.)")
    add("")
    add("## Stripped binary size")
    add("")
    add("| target | unstripped | stripped | file |")
    add("|---|---:|---:|---|")
    for tgt, un, st, desc in ctx["sizes"]:
        add("| %s | %d | %d (%.1f KiB) | %s |" % (tgt, un, st, st / KIB,
                                                  desc))
    if ctx["floor_size"]:
        add("| floor (x86_64) | | %d (%.1f KiB) | |"
            % (ctx["floor_size"], ctx["floor_size"] / KIB))
    add("")
    for t, n in ctx["cross_notes"].items():
        add("- %s" % n)
    if ctx["cross_notes"]:
        add("")
    add("## Heap allocations per run (glibc build under valgrind memcheck, "
        "INSTREAM over the Unix socket, piped)")
    add("")
    add("| message | allocs | frees | bytes allocated |")
    add("|---|---:|---:|---:|")
    for lab, v in ctx["heap"].items():
        if isinstance(v, tuple):
            add("| %s | %d | %d | %d |" % (lab, v[0], v[1], v[2]))
        else:
            add("| %s | %s | | |" % (lab, v.replace("|", "\\|")
                                     .replace("\n", " ")))
    add("")
    add("## Goals (reported, not asserted)")
    add("")
    add("| goal | measured | |")
    add("|---|---|---|")
    for g, m, ok in ctx["goals"]:
        add("| %s | %s | %s |" % (g, m, "met" if ok else (
            "missed" if ok is False else "not measured")))
    add("")
    return "\n".join(L) + "\n"


def evaluate(ctx):
    goals = []
    cases = {(c.label, c.mode): c for c in ctx["cases"]}

    def ratio(label, mode, name, ref):
        c = cases.get((label, mode))
        return pair_ratio(c, name, ref) if c else float("nan")

    def goal(text, values, test):
        vals = [v for v in values if v[1] == v[1]]
        if not vals:
            goals.append((text, "–", None))
            return
        ok = all(test(v) for _, v in vals)
        goals.append((text, "; ".join("%s %.3f" % (n, v) for n, v in vals),
                      ok))

    su = {row[0]: row[4] for row in ctx["startup"]}
    for where, what in (("", "in /run (a tmpfs, where the board keeps it)"),
                        (" on disk", "on disk (ext4 here)")):
        goal("4 KiB start-up: the counts (with two servers the round "
             "robin too) in a state file %s cost at most 2%%" % what,
             [("one server", su.get("clamhook unix + state file" + where,
                                    float("nan"))),
              ("two", su.get("clamhook unix x2 + state file" + where,
                             float("nan")))],
             lambda v: v <= 1.02)
    goal("4 KiB start-up (timed from C): clamhook within 1.05x of the "
         "minimal client",
         [("tcp", su.get("clamhook instream tcp", float("nan"))),
          ("unix", su.get("clamhook instream unix", float("nan")))],
         lambda v: v <= 1.05)
    for mode in ("piped", "file"):
        goal("4 KiB %s: clamhook at least 3x faster than clamdscan --stream "
             "(clamdscan/clamhook, Unix socket)" % mode,
             [("x", ratio("4 KiB", mode, "clamdscan --stream",
                          "clamhook instream unix"))], lambda v: v >= 3.0)
    goal("13 MiB piped: clamhook within 1.05x of the floor",
         [("tcp", ratio("13 MiB", "piped", "clamhook instream tcp",
                        "floor tcp")),
          ("unix", ratio("13 MiB", "piped", "clamhook instream unix",
                         "floor unix"))], lambda v: v <= 1.05)
    goal("13 MiB file, FILDES: at most 0.85x of the floor (unix, file)",
         [("x", ratio("13 MiB", "file", "clamhook fildes unix",
                      "floor unix"))], lambda v: v <= 0.85)
    goal("13 MiB file, FILDES: no slower than clamdscan --fdpass "
         "(clamhook/clamdscan)",
         [("x", ratio("13 MiB", "file", "clamhook fildes unix",
                      "clamdscan --fdpass"))], lambda v: v <= 1.0)
    bt = {row[0]: row[3] for row in ctx["batch"]}
    goal("batch of %d files over TCP within 1.2x of the Unix socket"
         % BATCH_FILES,
         [("x", bt.get("clamhook batch tcp", float("nan")))],
         lambda v: v <= 1.2)
    rss = ctx["rss"]
    worst = []
    for t in ctx["tools"]:
        if not t.name.startswith("clamhook"):
            continue
        for lab, _, _ in ctx["msgs"]:
            for mode in ("piped", "file"):
                v = rss.get((t.name, lab, mode))
                f = rss.get((t.floor, lab, mode))
                if v and f:
                    worst.append((v[0] / f[0], "%s %s %s" % (t.name, lab,
                                                             mode)))
    if worst:
        w = max(worst)
        goals.append(("peak RSS at most 1.1x the floor's at every size",
                      "worst %.2fx (%s); best %.2fx" % (w[0], w[1],
                                                        min(worst)[0]),
                      w[0] <= 1.1))
    else:
        goals.append(("peak RSS at most 1.1x the floor's at every size", "–",
                      None))
    same = []
    for t in ctx["tools"]:
        if not t.name.startswith("clamhook"):
            continue
        for mode in ("piped", "file"):
            a = rss.get((t.name, "4 KiB", mode))
            b = rss.get((t.name, "100 MiB", mode))
            # The anonymous part is what a message could grow; the file-
            # backed part is the binary's own pages, which the kernel's
            # fault-around maps in blocks whatever the message.
            a, b = a and (a[1] or a[0]), b and (b[1] or b[0])
            if a and b:
                same.append((b - a, "%s %s: %d / %d KiB" % (
                    t.name, mode, a, b)))
    if same:
        goals.append(("clamhook peak anonymous RSS the same for 4 KiB and "
                      "100 MiB (within one 4 KiB page)",
                      "; ".join(s for _, s in same),
                      all(abs(d) <= 4 for d, _ in same)))
    else:
        goals.append(("clamhook peak RSS the same for 4 KiB and 100 MiB",
                      "–", None))
    x86 = [r for r in ctx["sizes"] if r[0] == "x86_64"]
    if x86:
        goals.append(("stripped static binary at most 100 KiB on x86_64",
                      "%d bytes (%.1f KiB)" % (x86[0][2], x86[0][2] / KIB),
                      x86[0][2] <= 100 * KIB))
    else:
        goals.append(("stripped static binary at most 100 KiB on x86_64",
                      "–", None))
    return goals


# ---------------------------------------------------------------------------

def main():
    for p, what in ((CLAMHOOK, "clamhook (make)"),
                    (FLOOR, "the floor (make bench builds it)"),
                    (SPAWN, "the start-up timer (make bench builds it)"),
                    (CLAMD, "clamd (clamav-daemon)"),
                    (CLAMDSCAN, "clamdscan")):
        if not os.access(p, os.X_OK):
            print("bench: %s not found at %s" % (what, p), file=sys.stderr)
            return 2
    load0 = "%.2f, %.2f, %.2f" % os.getloadavg()
    nice_note = "not changed"
    if NICE != 0:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, NICE)
            nice_note = ("%d for the harness, clamd and every tool (set "
                         "BENCH_NICE=0 to keep the default)" % NICE)
        except OSError as e:
            nice_note = "not changed (%s)" % e.strerror
    started = datetime.datetime.now(datetime.timezone.utc)

    cross_notes = {}
    if not QUICK:
        note("cross builds: make TARGET=%s" % "|".join(CROSS))
        cross_notes = build_cross()
    sizes = binary_sizes()

    wd = tempfile.mkdtemp(prefix="clamhook-bench-", dir="/tmp")
    try:
        return measure(wd, load0, nice_note, started, cross_notes, sizes)
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            note("work directory kept: %s" % wd)
        else:
            shutil.rmtree(wd, ignore_errors=True)


def measure(wd, load0, nice_note, started, cross_notes, sizes):
    """Everything that needs clamd, then the report."""
    cd = Clamd(wd)
    try:
        note("starting clamd in %s" % wd)
        cd.start()
        launcher = (RSS if os.access(RSS, os.X_OK)
                    else support.build_rss_launcher(wd))
        tools = make_tools(cd, wd)
        msgs = []
        for label, size in SIZES:
            path = os.path.join(wd, "msg-%d.eml" % size)
            support.write_big_message(path, size, block=min(size, MIB))
            with open(path, "rb") as f:
                msgs.append((label, path, f.read()))
        note("sanity: every tool, test file and clean message")
        bad = sanity(tools, wd, msgs)
        if bad:
            for b in bad:
                note("SANITY FAILED: " + b)

        plan = {"4 KiB": (max(RUNS, 40), 5), "1 MiB": (RUNS, 3),
                "13 MiB": (RUNS, 2)}
        if QUICK:
            plan = {"4 KiB": (5, 1), "1 MiB": (3, 1), "13 MiB": (3, 1)}
        cases = []
        for label, path, data in msgs:
            for mode in ("piped", "file"):
                ts = [t for t in tools
                      if (t.piped if mode == "piped" else t.files)]
                cases.append(Case(label, len(data), mode, ts))

        def timed(case):
            path, data = [(p, d) for lab, p, d in msgs
                          if lab == case.label][0]
            return path, data

        for case in cases:
            if case.label not in plan:
                continue
            rounds, warm = plan[case.label]
            note("timing %s %s: %d rounds x %d tools (+%d warm-up)"
                 % (case.label, case.mode, rounds, len(case.tools), warm))
            path, data = timed(case)
            run_case(case, path, data, rounds, warm, wd)

        su_rounds = 30 if QUICK else 400
        note("start-up: 4 KiB, %d rounds, timed from C" % su_rounds)
        run = tempfile.mkdtemp(prefix="clamhook-bench-", dir=RUN_DIR)
        try:
            su = startup(tools + state_tools(cd, wd, run), msgs[0][1],
                         su_rounds)
        finally:
            shutil.rmtree(run, ignore_errors=True)

        note("throughput: 1,000 x 4 KiB piped")
        tp_tools = [t for t in tools if t.piped]
        tp = throughput(tp_tools, msgs[0][2], wd,
                        count=100 if QUICK else 1000,
                        block=10 if QUICK else 50)
        b_rounds = 3 if QUICK else 20
        note("batch: %d files, %d rounds" % (BATCH_FILES, b_rounds))
        conf = {t: os.path.join(wd, t + ".ini")
                for t in ("unix", "tcp", "fildes")}
        bt = batch([("clamhook batch unix", [CLAMHOOK, "-c", conf["unix"]]),
                    ("clamhook batch tcp", [CLAMHOOK, "-c", conf["tcp"]]),
                    ("clamhook batch fildes",
                     [CLAMHOOK, "-c", conf["fildes"]]),
                    ("clamdscan --stream",
                     [CLAMDSCAN, "--config-file=" +
                      os.path.join(wd, "clamdscan.conf"), "--stream",
                      "--no-summary"])], wd, b_rounds)
        note("peak RSS")
        rss = peak_rss(tools, msgs, launcher, wd)
        note("heap allocations (valgrind)")
        heap = heap_allocs(os.path.join(wd, "unix.ini"),
                           [msgs[0], msgs[-1]], wd)

        # 100 MiB last: as many rounds as the budget leaves (5..30).
        big = [c for c in cases if c.label == "100 MiB"]
        path, data = timed(big[0])
        note("timing 100 MiB: one warm-up round per input")
        t = time.monotonic()
        for case in big:
            run_case(case, path, data, 0, 1, wd)
        per_round = max(time.monotonic() - t, 0.1)
        reserve = 20.0
        want = 30
        rounds = int(max(0.0, left() - reserve) / per_round)
        rounds = max(2 if QUICK else 5, min(want, rounds))
        if QUICK:
            rounds = 2
        rounds_note = ""
        if rounds < want:
            rounds_note = (
                "100 MiB: %d rounds per input (not 30) to keep `make bench` "
                "within its time budget of %.0f s (one round of both inputs "
                "took %.1f s); the ratios are still pairwise per round."
                % (rounds, BUDGET, per_round))
        note("timing 100 MiB: %d rounds per input" % rounds)
        for case in big:
            run_case(case, path, data, rounds, 0, wd)
        cd_version = cd.version()
    finally:
        cd.stop()
        note("clamd stopped")

    model, cores = machine()
    ended = datetime.datetime.now(datetime.timezone.utc)
    ctx = {
        "about": [
            ("date", "%s (UTC), %.0f s" % (
                started.strftime("%Y-%m-%d %H:%M"),
                (ended - started).total_seconds())),
            ("CPU", "%s, %s cores" % (model, cores)),
            ("kernel", os.uname().release),
            ("clamhook", clamhook_version()),
            ("clamd", "%s (Debian clamav-daemon %s)" % (
                cd_version, pkg_version("clamav-daemon"))),
            ("clamdscan", "Debian clamdscan %s" % pkg_version("clamdscan")),
            ("musl", pkg_version("musl")),
            ("gcc", cmd_text(["gcc", "-dumpfullversion"])),
        ],
        "load0": load0, "nice": nice_note,
        "load1": "%.2f, %.2f, %.2f" % os.getloadavg(),
        "cases": cases, "msgs": msgs, "tools": tools,
        "throughput": tp, "rss": rss, "heap": heap, "batch": bt,
        "sizes": sizes, "floor_size": floor_size(),
        "cross_notes": cross_notes, "rounds_note": rounds_note,
        "startup": su, "su_rounds": su_rounds,
    }
    if bad:
        ctx["rounds_note"] = (ctx["rounds_note"] + "\n\nSanity check "
                              "failures: " + "; ".join(bad)).strip()
    ctx["goals"] = evaluate(ctx)
    text = report(ctx)
    with open(RESULTS, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


def _on_signal(sig, frame):
    # SIGTERM or SIGHUP: unwind, so that main's finally stops clamd.
    raise SystemExit(128 + sig)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    sys.exit(main())
