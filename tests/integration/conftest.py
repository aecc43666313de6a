# SPDX-License-Identifier: ISC
"""Fixtures for clamhook's integration tests (pytest).

Fixtures
--------
clamd (session)
    A private, real clamd (Debian's clamav-daemon, /usr/sbin/clamd) with a
    generated two-signature database (support.SIG_HASH, support.SIG_BODY),
    listening on a free loopback TCP port (127.0.0.1, and ::1 when the host
    has it) and on a Unix socket.  A Clamd object: .port, .socket, .dir,
    .log, .conf, .ipv6, .server("tcp"|"unix"|"ipv6"|"localhost"),
    .ping(), .scan(bytes) (clamd's own reply, through a Python client),
    .log_text().  Missing clamd fails the session loudly; it is never a skip.

rss_launcher (session)
    The path of a tiny static program (support.build_rss_launcher) that
    runs a command and reports its own peak RSS; fails loudly when neither
    musl-gcc nor gcc can build it.

make_clamd (function)
    A factory: make_clamd(StreamMaxLength="100K", ...) starts another clamd
    with those clamd.conf options over the defaults (a list repeats the
    option, None removes it) and returns its Clamd; all are stopped when the
    test ends.

clamhook (function)
    A Clamhook object; call it as
        clamhook(args=(), input=None, config=None, timeout=30, ...)
    It writes the configuration into the test's tmp_path, runs the binary
    with "-c FILE" then args, and returns a support.Run, which unpacks as
        status, out, err, elapsed = clamhook([...])
    and also has .maxrss_kib and .timed_out.
      config None : clamhook.base ([clamd] server = the session clamd's
                    TCP port, state_file in tmp_path; loaded on first use),
      config dict : {section: {key: value}} merged over clamhook.base (a
                    value None drops the key, a list repeats it),
      config str  : the file's text as it is,
      config False: no -c option at all (for $CLAMHOOK_CONFIG tests).
    Other keywords: stdin (a file object/fd instead of input), env (added to
    a clean copy of os.environ; a value None removes the variable),
    pass_fds, on_start(live) (see support.run_process), no_runner,
    measure_rss (True: Run.maxrss_kib is clamhook's own peak RSS, through
    the rss_launcher fixture; the runner's, e.g. qemu's, when one is set).
    Binary: $CLAMHOOK_BIN, else
    <repo>/clamhook; each word of $CLAMHOOK_RUNNER (e.g.
    "qemu-aarch64-static") goes before it.  Every run has a timeout, after
    which the process is killed and the run has timed_out set.
    Also: .config_file(config, name) writes a config and returns its path,
    .argv(args), .version(), .tmp (the test's tmp_path), .bin, .runner.
"""

import glob
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import hashlib

import pytest

import support
from eicar import eicar, eicar_middle

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLAMD_BIN = os.environ.get("CLAMD_BIN", "/usr/sbin/clamd")
# clamd 0.103 (the last with STREAM) in a Debian 11 chroot, built once by
# tests/peer/bullseye-clamd.sh into this cache outside the tree.
CLAMD_0103_ROOT = os.environ.get("CLAMHOOK_CLAMD_0103_ROOT",
                                 "/var/cache/clamhook/bullseye-clamd")
CLAMD_START_TIMEOUT = 60
CLAMD_STOP_TIMEOUT = 15
PROXY_START_TIMEOUT = 10


def _have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _write_database(dbdir):
    """test.hdb: MD5 of the EICAR file; test.ndb: a body signature on 30
    bytes from its middle (so EICAR inside a bigger message is found)."""
    os.makedirs(dbdir)
    data = eicar()
    with open(os.path.join(dbdir, "test.hdb"), "w") as f:
        f.write("%s:%d:Eicar-Test-Signature\n"
                % (hashlib.md5(data).hexdigest(), len(data)))
    with open(os.path.join(dbdir, "test.ndb"), "w") as f:
        f.write("Eicar-Test-Signature-Body:0:*:%s\n" % eicar_middle(30).hex())


class Clamd:
    """One private clamd.  Start with Clamd.start(options)."""

    def __init__(self, d, port, options, ipv6, root=None):
        self.root = root
        self.dir = d
        self.port = port
        self.socket = os.path.join(d, "clamd.sock")
        self.log = os.path.join(d, "clamd.log")
        self.conf = os.path.join(d, "clamd.conf")
        self.options = options
        self.ipv6 = ipv6
        self.proc = None

    @classmethod
    def start(cls, options=None, root=None, sigs=None):
        """A clamd with these clamd.conf options; root: the chroot it runs
        in (its files then live under ROOT/srv), None for the host's;
        sigs: {file name: text or bytes} added to its database."""
        if not os.access((root or "") + CLAMD_BIN, os.X_OK):
            pytest.fail("clamd not found at %s%s: install clamav-daemon "
                        "(toolchain/deps-debian.sh)" % (root or "", CLAMD_BIN),
                        pytrace=False)
        # sun_path is 108 bytes: keep the directory short, under /tmp.
        d = tempfile.mkdtemp(prefix="chd", dir=root + "/srv" if root
                             else "/tmp")
        _write_database(os.path.join(d, "db"))
        for name, text in (sigs or {}).items():
            with open(os.path.join(d, "db", name),
                      "wb" if isinstance(text, bytes) else "w") as f:
                f.write(text)
        os.makedirs(os.path.join(d, "tmp"))
        ipv6 = _have_ipv6_loopback()
        last = None
        for _ in range(3):      # a free port may be taken meanwhile
            port = support.free_port()
            c = cls(d, port, options or {}, ipv6, root)
            try:
                c._run()
                return c
            except _PortTaken as e:
                last = e
                c.stop(remove=False)
        shutil.rmtree(d, ignore_errors=True)
        pytest.fail("clamd could not bind a port: %s" % last, pytrace=False)

    def inside(self, path):
        """path as the clamd sees it (inside its chroot)."""
        return path[len(self.root):] if self.root else path

    def _conf_text(self):
        d = self.inside(self.dir)
        opts = {
            "DatabaseDirectory": os.path.join(d, "db"),
            "TCPSocket": str(self.port),
            "TCPAddr": ["127.0.0.1"] + (["::1"] if self.ipv6 else []),
            "LocalSocket": self.inside(self.socket),
            "Foreground": "yes",
            "LogFile": self.inside(self.log),
            "LogTime": "yes",
            "PidFile": os.path.join(d, "clamd.pid"),
            "TemporaryDirectory": os.path.join(d, "tmp"),
            "Bytecode": "no",
            "User": "root",
            "StreamMaxLength": "200M",
            "MaxFileSize": "200M",
            "MaxScanSize": "400M",
            "ReadTimeout": "20",
            "CommandReadTimeout": "10",
            "SelfCheck": "3600",
        }
        for k, v in self.options.items():
            if v is None:
                opts.pop(k, None)
            else:
                opts[k] = v
        lines = []
        for k, v in opts.items():
            for item in (v if isinstance(v, (list, tuple)) else [v]):
                lines.append("%s %s" % (k, item))
        return "\n".join(lines) + "\n"

    def _run(self):
        with open(self.conf, "w") as f:
            f.write(self._conf_text())
        for p in (self.log, self.socket):
            if os.path.exists(p):
                os.unlink(p)
        self.out = open(os.path.join(self.dir, "clamd.out"), "wb")
        argv = [CLAMD_BIN, "-c", self.inside(self.conf)]
        if self.root:
            argv = ["chroot", self.root] + argv
        self.proc = subprocess.Popen(argv,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.out,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        end = time.monotonic() + CLAMD_START_TIMEOUT
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                text = self.log_text() + self._out_text()
                if "Address already in use" in text:
                    raise _PortTaken(text[-500:])
                pytest.fail("clamd exited with %s at start-up:\n%s"
                            % (self.proc.returncode, text[-3000:]),
                            pytrace=False)
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
            pytest.fail("clamd did not answer PING within %d s:\n%s"
                        % (CLAMD_START_TIMEOUT, self.log_text()[-3000:]),
                        pytrace=False)
        # The signature names the tests expect.
        reply = support.clamd_instream(self.port, eicar())
        if reply != "stream: %s FOUND" % support.EICAR_NAME:
            self.stop()
            pytest.fail("clamd answers %r to EICAR, the tests expect %r"
                        % (reply, support.EICAR_NAME), pytrace=False)

    def _out_text(self):
        try:
            with open(os.path.join(self.dir, "clamd.out"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_text(self):
        """clamd's log file so far."""
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def server(self, kind="tcp"):
        """A [clamd] server entry reaching this clamd: tcp (127.0.0.1:PORT),
        unix (unix:PATH), ipv6 ([::1]:PORT), localhost (localhost:PORT)."""
        return {"tcp": "127.0.0.1:%d" % self.port,
                "unix": "unix:%s" % self.socket,
                "ipv6": "[::1]:%d" % self.port,
                "localhost": "localhost:%d" % self.port}[kind]

    def ping(self):
        return support.clamd_command(self.port, "PING")

    def scan(self, data):
        """clamd's own reply to INSTREAM data ('stream: OK', ...)."""
        return support.clamd_instream(self.port, data)

    def stop(self, remove=True):
        p = self.proc
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(CLAMD_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(CLAMD_STOP_TIMEOUT)
        if p is not None:
            self.out.close()
        self.proc = None
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self):
        """Start again, at the same address, after stop(remove=False)."""
        self._run()


class _PortTaken(Exception):
    pass


# A run a test ended with SIGTERM, SIGINT or SIGHUP (support.send_signal;
# the handler calls _exit) leaves what it had open to the kernel: its list
# is not a leak.  Nor is a descriptor inherited from the test (fd:N).
_OPEN = re.compile(r"^==\d+== Open (?:file descriptor \d+: (.*)|"
                   r"(AF_\w+ socket \d+.*))\n((?:==\d+==    .*\n)*)", re.M)


@pytest.fixture(scope="session", autouse=True)
def valgrind_reports():
    """Under `make check-valgrind` ($CLAMHOOK_VALGRIND_LOGS set, clamhook
    run by tests/integration/valgrind.sh): once the session is over, no
    report may show a memory error, and no run may have left a descriptor
    open beyond 0-2 (valgrind --track-fds=yes)."""
    logs = os.environ.get("CLAMHOOK_VALGRIND_LOGS")
    yield
    if not logs:
        return
    bad = []
    paths = sorted(glob.glob(os.path.join(logs, "run.*", "vg.*")))
    assert paths, "no valgrind report in %s: was clamhook run?" % logs
    for path in paths:
        name = os.path.relpath(path, logs)
        with open(path, errors="replace") as f:
            text = f.read()
        if re.search(r"ERROR SUMMARY: [1-9]", text):
            bad.append("%s: memory errors" % name)
        opened = [((m.group(1) or m.group(2)).strip(), m.group(3))
                  for m in _OPEN.finditer(text)]
        if int(name.rsplit(".", 1)[1]) in support.SIGNALLED:
            continue
        bad += ["%s: left open at exit: %s" % (name, what)
                for what, where in opened
                if "<inherited from parent>" not in where]
    assert not bad, "valgrind:\n" + "\n".join(bad[:40])


@pytest.fixture(scope="session")
def clamd():
    c = Clamd.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def rss_launcher(tmp_path_factory):
    try:
        return support.build_rss_launcher(str(tmp_path_factory.mktemp("rss")))
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


def clamd_0103_root():
    """The Debian 11 chroot with clamd 0.103, built when missing (a few
    minutes, once); the session fails loudly when it cannot be built."""
    script = os.path.join(REPO, "tests", "peer", "bullseye-clamd.sh")
    r = subprocess.run([script, CLAMD_0103_ROOT], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=1200)
    if r.returncode != 0:
        pytest.fail("clamd 0.103 chroot: %s failed:\n%s"
                    % (script, r.stdout.decode(errors="replace")[-3000:]),
                    pytrace=False)
    return CLAMD_0103_ROOT


@pytest.fixture(scope="session")
def clamd_0103():
    """A real clamd 0.103.10 (Debian 11, in a chroot) with the same
    database and options as the session clamd."""
    c = Clamd.start(root=clamd_0103_root())
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def module_clamd():
    """A clamd of the module's own, with the session clamd's database and
    options: its cases may stop and restart it."""
    c = Clamd.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def make_clamd():
    """make_clamd(**options) starts a clamd 1.4 with these options;
    make_clamd(root=..., **options) one in that chroot."""
    started = []

    def make(root=None, **options):
        c = Clamd.start(options, root)
        started.append(c)
        return c

    try:
        yield make
    finally:
        for c in started:
            c.stop()


# ---------------------------------------------------------------------------

def clamhook_bin():
    return os.environ.get("CLAMHOOK_BIN") or os.path.join(REPO, "clamhook")


def clamhook_runner():
    return shlex.split(os.environ.get("CLAMHOOK_RUNNER", ""))


def only_in_plain_host_pass(what, why):
    """Skip the calling module (what) unless the clamhook under test is a
    static binary run directly: the pass that `make check` runs.  Modules
    that test the board or the build, not the binary, run there once; why
    says where the other passes are covered."""
    runner = clamhook_runner()
    if runner:
        pytest.skip("%s run in the plain host pass only (not under %s): %s"
                    % (what, runner[0], why), allow_module_level=True)
    if support.has_interpreter(clamhook_bin()):
        pytest.skip("%s run in the plain host pass only (%s is dynamically "
                    "linked): %s" % (what, clamhook_bin(), why),
                    allow_module_level=True)


class Clamhook:
    """Runs the clamhook binary; see the module documentation."""

    _version = None

    def __init__(self, tmp, request):
        self.tmp = tmp
        self.bin = clamhook_bin()
        self.runner = clamhook_runner()
        self._request = request
        self._base = None
        self._n = 0

    def volume(self, full, valgrind):
        """How many runs a volume test makes: full, or valgrind under
        `make check-valgrind`, where a run costs some 0.5 s instead of
        5 ms.  Such a test drives the same code on every run; memcheck
        needs it a few times, not hundreds."""
        return valgrind if os.environ.get("CLAMHOOK_VALGRIND_LOGS") else full

    @property
    def base(self):
        """The default configuration: the session clamd over TCP."""
        if self._base is None:
            c = self._request.getfixturevalue("clamd")
            # A state file per test: no shared round-robin counter or dead
            # marks between tests, nothing written to /run.
            self._base = {"clamd": {
                "server": c.server("tcp"),
                "state_file": os.path.join(str(self.tmp), "clamhook.state")}}
        return self._base

    @base.setter
    def base(self, value):
        self._base = value

    def argv(self, args=(), no_runner=False):
        if not os.path.exists(self.bin):
            pytest.fail("clamhook binary not found at %s (run make, or set "
                        "CLAMHOOK_BIN)" % self.bin, pytrace=False)
        return ([] if no_runner else self.runner) + [self.bin] + \
            [str(a) for a in args]

    def config_file(self, config=None, name=None):
        """Write config (as for a run) and return the path."""
        if config is None:
            text = support.ini_text(self.base)
        elif isinstance(config, dict):
            text = support.ini_text(support.merge_config(self.base, config))
        else:
            text = support.ini_text(config)
        if name is None:
            self._n += 1
            name = "clamhook%d.ini" % self._n
        path = os.path.join(str(self.tmp), name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def env(self, extra=None):
        env = dict(os.environ)
        env.pop("CLAMHOOK_CONFIG", None)
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def __call__(self, args=(), input=None, config=None, timeout=30,
                 stdin=None, env=None, pass_fds=(), on_start=None,
                 no_runner=False, measure_rss=False):
        args = list(args)
        if config is not False:
            args = ["-c", self.config_file(config)] + args
        launcher = (self._request.getfixturevalue("rss_launcher")
                    if measure_rss else None)
        return support.run_process(self.argv(args, no_runner), input=input,
                                   stdin=stdin, timeout=timeout,
                                   env=self.env(env), pass_fds=pass_fds,
                                   on_start=on_start, cwd=str(self.tmp),
                                   rss_launcher=launcher)

    def version(self):
        """The version clamhook -V prints (the word after 'clamhook', else
        the last word of its first line)."""
        if Clamhook._version is None:
            r = support.run_process(self.argv(["-V"]), timeout=30)
            assert r.status == 0, r
            words = r.out.decode().split("\n")[0].split()
            assert words, r
            if "clamhook" in words[:-1]:
                Clamhook._version = words[words.index("clamhook") + 1]
            else:
                Clamhook._version = words[-1]
        return Clamhook._version


@pytest.fixture
def clamhook(tmp_path, request):
    return Clamhook(tmp_path, request)


# ---------------------------------------------------------------------------
# SOCKS proxies (real ones: microsocks, dante).  Each is started in its own process group and killed with it.

class Daemon:
    def __init__(self, argv, port, log=None):
        self.port = port
        self.log = log
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)

    def wait_ready(self):
        end = time.monotonic() + PROXY_START_TIMEOUT
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        else:
            # dante's children outlive a dead parent for a moment.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.stderr.close()

    def why(self):
        text = ""
        if self.log and os.path.exists(self.log):
            with open(self.log, errors="replace") as f:
                text = f.read()[-2000:]
        return text


def _start(make_argv, name, log=None):
    """Start a daemon on a free port, three tries (a port may be taken)."""
    exe = make_argv(0)[0]
    if shutil.which(exe) is None:
        pytest.fail("%s not found: install it (toolchain/deps-debian.sh)"
                    % exe, pytrace=False)
    last = ""
    for _ in range(3):
        port = support.free_port()
        d = Daemon(make_argv(port), port, log)
        if d.wait_ready():
            return d
        d.stop()
        last = d.why()
    pytest.fail("%s did not start: %s" % (name, last), pytrace=False)


@pytest.fixture
def microsocks():
    """microsocks(user=None, password=None) -> Daemon (.port)."""
    started = []

    def start(user=None, password=None):
        def argv(port):
            a = ["microsocks", "-i", "127.0.0.1", "-p", str(port)]
            if user is not None:
                a += ["-u", user, "-P", password]
            return a
        d = _start(argv, "microsocks")
        started.append(d)
        return d

    try:
        yield start
    finally:
        for d in started:
            d.stop()


DANTE_CONF = """\
logoutput: {log}
internal: 127.0.0.1 port = {port}
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}
{block}socks pass {{ from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect }}
"""


@pytest.fixture
def danted(tmp_path):
    """danted(block=False) -> Daemon (.port); block: a `socks block` rule
    for every CONNECT (REP 02)."""
    started = []

    def start(block=False):
        n = len(started)
        log = str(tmp_path / ("danted%d.log" % n))
        conf = str(tmp_path / ("danted%d.conf" % n))

        def argv(port):
            with open(conf, "w") as f:
                f.write(DANTE_CONF.format(
                    log=log, port=port,
                    block=("socks block { from: 127.0.0.0/8 to: 0.0.0.0/0 "
                           "command: connect }\n") if block else ""))
            return ["danted", "-f", conf, "-p",
                    str(tmp_path / ("danted%d.pid" % n))]
        d = _start(argv, "danted", log)
        started.append(d)
        return d

    try:
        yield start
    finally:
        for d in started:
            d.stop()
