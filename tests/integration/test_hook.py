# SPDX-License-Identifier: ISC
"""The busybox MTA hook (board/.../usr/libexec/clamhook/mta-hook) driving
the clamhook binary against a real clamd, run as an appliance runs it:
`busybox sh mta-hook [MESSAGE]`.

Contract (board/common/readme.txt): 0 deliver, 1 infected (quarantined
first, or rejected with CLAMHOOK_ON_VIRUS=reject), 75 defer for any
failure (clamd down, clamhook missing, killed, unexpected status).  One
logger line per message, tag clamhook-hook, facility mail.

A cross binary ($CLAMHOOK_RUNNER set, e.g. qemu-aarch64-static) is run
through a generated wrapper named by $CLAMHOOK, the hook's program
variable.  logger is replaced by a script earlier in PATH that appends
its arguments to a file, one line per call.
"""

import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

import support
from conftest import REPO

HOOK = os.path.join(REPO, "board", "common", "rootfs_overlay", "usr",
                    "libexec", "clamhook", "mta-hook")
BOARD_INI = os.path.join(REPO, "board", "common", "rootfs_overlay", "etc",
                         "clamhook.ini")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
TAG = "-t clamhook-hook -p mail.info -- "
CLEAN = support.mail_plain()
INFECTED = support.mail_eicar_plain()
VERDICT_CLEAN = support.expected_line(1, None)
VERDICT_INFECTED = support.expected_line(1, support.EICAR_NAME)
RESULT_INFECTED = support.result_string(support.EICAR_NAME)


def _script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


class Hook:
    """Runs mta-hook under busybox sh with a private quarantine, TMPDIR,
    fake logger and a clamhook program (the binary, or a wrapper that
    runs it under $CLAMHOOK_RUNNER)."""

    def __init__(self, tmp, clamhook, script=HOOK):
        if not os.path.exists(script):
            pytest.fail("hook not found at %s" % script, pytrace=False)
        self.script = script
        if not os.access(BUSYBOX, os.X_OK):
            pytest.fail("busybox not found: install busybox "
                        "(toolchain/deps-debian.sh)", pytrace=False)
        self.tmp = str(tmp)
        self.clamhook = clamhook
        self.bindir = os.path.join(self.tmp, "bin")
        self.qdir = os.path.join(self.tmp, "quarantine")
        self.work = os.path.join(self.tmp, "work")
        self.logfile = os.path.join(self.tmp, "logger.log")
        os.makedirs(self.bindir)
        os.makedirs(self.work)
        _script(os.path.join(self.bindir, "logger"),
                "#!/bin/sh\nprintf '%%s\\n' \"$*\" >>%s\n"
                % shlex.quote(self.logfile))
        argv = clamhook.argv()
        if len(argv) == 1:
            self.program = argv[0]
        else:
            self.program = self.wrapper("clamhook-run", "exec %s \"$@\"\n"
                                        % " ".join(map(shlex.quote, argv)))
        self.config = clamhook.config_file()

    def wrapper(self, name, body):
        """A /bin/sh script in the private bin directory."""
        return _script(os.path.join(self.bindir, name), "#!/bin/sh\n" + body)

    def env(self, extra=None):
        env = {
            "PATH": self.bindir + ":" + os.environ.get("PATH",
                                                       "/usr/bin:/bin"),
            "CLAMHOOK": self.program,
            "CLAMHOOK_CONFIG": self.config,
            "CLAMHOOK_QUARANTINE": self.qdir,
            "TMPDIR": self.work,
            "CLAMHOOK_DEFAULTS": os.devnull,
        }
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def __call__(self, args=(), input=None, env=None, timeout=60,
                 on_start=None, argv_prefix=()):
        r = support.run_process(
            list(argv_prefix) + [BUSYBOX, "sh", self.script] + list(args),
            input=input, env=self.env(env), cwd=self.tmp, timeout=timeout,
            on_start=on_start)
        assert not r.timed_out, r
        # the hook's own temporary directory is always removed
        assert os.listdir(self.work) == [], r
        return r

    def log(self):
        """The logger calls so far, one string of arguments each."""
        try:
            with open(self.logfile) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def quarantined(self):
        """Paths of the files in the quarantine directory (missing: [])."""
        try:
            return sorted(os.path.join(self.qdir, n)
                          for n in os.listdir(self.qdir))
        except FileNotFoundError:
            return []

    def message(self, data, name="message.eml"):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path


@pytest.fixture
def hook(tmp_path, clamhook):
    return Hook(tmp_path, clamhook)


def assert_reason(err, *needles):
    """The hook's one line on standard error, "mta-hook: REASON", holding
    each needle; returns REASON (what its log line says too)."""
    lines = err.decode("ascii", "replace").splitlines()
    assert len(lines) == 1 and lines[0].startswith("mta-hook: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0][len("mta-hook: "):]


def run_on(hook, data, how, env=None):
    """Run the hook on data given on standard input or as a path; returns
    (Run, the name the hook logs for the message)."""
    if how == "stdin":
        return hook(input=data, env=env), "stdin"
    path = hook.message(data)
    return hook([path], env=env), path


# ---------------------------------------------------------------------------
# Clean and infected messages.

@pytest.mark.parametrize("how", ["stdin", "path"])
def test_clean_is_delivered(hook, how):
    r, name = run_on(hook, CLEAN, how)
    assert r.status == 0, r
    assert r.out == VERDICT_CLEAN
    assert r.err == b""
    assert hook.log() == [TAG + "deliver %s: clean" % name]
    assert hook.quarantined() == []


def test_clean_path_starting_with_dash(hook):
    """A relative message name that looks like an option is a file."""
    hook.message(CLEAN, "-message.eml")
    r = hook(["-message.eml"])
    assert r.status == 0, r
    assert r.out == VERDICT_CLEAN
    assert r.err == b""
    assert hook.log() == [TAG + "deliver -message.eml: clean"]


def test_dash_means_stdin(hook):
    r = hook(["-"], input=CLEAN)
    assert r.status == 0, r
    assert r.out == VERDICT_CLEAN
    assert hook.log() == [TAG + "deliver stdin: clean"]


def test_shipped_ini(hook, clamd, tmp_path):
    """The board's default INI works with only server and state_file
    changed, as an image builder would."""
    with open(BOARD_INI) as f:
        lines = f.read().splitlines()
    out, section = [], ""
    for line in lines:
        if line.startswith("["):
            section = line.strip()
        key = line.split("=", 1)[0].strip().lower() if "=" in line else ""
        if section == "[clamd]" and key == "server":
            line = "server = " + clamd.server("tcp")
        elif section == "[clamd]" and key == "state_file":
            line = "state_file = " + str(tmp_path / "board.state")
        out.append(line)
    ini = tmp_path / "board.ini"
    ini.write_text("\n".join(out) + "\n")
    env = {"CLAMHOOK_CONFIG": str(ini)}
    r = hook(input=CLEAN, env=env)
    assert r.status == 0, r
    assert r.out == VERDICT_CLEAN
    assert r.err == b""
    r = hook(input=INFECTED, env=env)
    assert r.status == 1, r
    assert r.out == VERDICT_INFECTED
    assert len(hook.quarantined()) == 1


@pytest.mark.parametrize("how", ["stdin", "path"])
def test_infected_is_quarantined(hook, how):
    r, name = run_on(hook, INFECTED, how)
    assert r.status == 1, r
    assert r.out == VERDICT_INFECTED
    assert r.err == b""
    q = hook.quarantined()
    assert len(q) == 1, q
    assert os.path.basename(q[0]).startswith("msg.")
    with open(q[0], "rb") as f:
        assert f.read() == INFECTED
    assert stat.S_IMODE(os.stat(q[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(hook.qdir).st_mode) == 0o700
    assert hook.log() == [TAG + "quarantine %s as %s: %s"
                          % (name, q[0], support.EICAR_NAME)]
    if how == "path":
        # a copy: the caller still owns (and removes) its file
        with open(name, "rb") as f:
            assert f.read() == INFECTED


@pytest.mark.parametrize("fmt", ["line", "james", "milter", "shell"])
def test_log_names_the_virus_whatever_the_format(hook, fmt):
    """The hook reads clamhook's shell record (-f shell), so the INI's
    [verdict] format changes neither its log line nor its output."""
    env = {"CLAMHOOK_CONFIG": hook.clamhook.config_file(
        {"verdict": {"format": fmt, "mode": 0, "verdict": "HOLD"}})}
    r = hook(input=INFECTED, env=env)
    assert (r.status, r.out, r.err) == (1, b"HOLD\n", b""), r
    q = hook.quarantined()
    assert hook.log() == [TAG + "quarantine stdin as %s: %s"
                          % (q[0], support.EICAR_NAME)]


@pytest.mark.parametrize("style", ["milter", "james", "line", "none"])
def test_headers_on_standard_output(hook, style):
    version = hook.clamhook.version()
    want = {
        "milter": (support.expected_milter(None, version),
                   support.expected_milter(support.EICAR_NAME, version)),
        "james": (support.expected_james(None),
                  support.expected_james(support.EICAR_NAME)),
        "line": (VERDICT_CLEAN, VERDICT_INFECTED),
        "none": (b"", b""),
    }[style]
    for data, status, out in ((CLEAN, 0, want[0]), (INFECTED, 1, want[1])):
        r = hook(input=data, env={"CLAMHOOK_HEADERS": style})
        assert (r.status, r.out, r.err) == (status, out, b""), r


def test_bad_headers_style_defers(hook):
    r = hook(input=CLEAN, env={"CLAMHOOK_HEADERS": "xml"})
    assert (r.status, r.out) == (75, b""), r
    reason = assert_reason(r.err, "CLAMHOOK_HEADERS=xml")
    assert hook.log() == [TAG + "defer stdin: " + reason]


def test_defaults_file_wins(hook, tmp_path):
    """/etc/default/clamhook (CLAMHOOK_DEFAULTS) is read by the hooks as
    by S45clamhook, and what it sets wins over the environment."""
    q = tmp_path / "from-defaults"
    defaults = tmp_path / "defaults"
    defaults.write_text("CLAMHOOK_QUARANTINE=%s\nCLAMHOOK_HEADERS=james\n"
                        % q)
    r = hook(input=INFECTED, env={"CLAMHOOK_DEFAULTS": str(defaults),
                                  "CLAMHOOK_HEADERS": "milter"})
    assert (r.status, r.out) == (1, support.expected_james("x")), r
    assert hook.quarantined() == []
    assert len(os.listdir(q)) == 1


def test_second_infected_gets_its_own_file(hook):
    for _ in range(2):
        r = hook(input=INFECTED)
        assert r.status == 1, r
    assert len(hook.quarantined()) == 2
    assert len(hook.log()) == 2


@pytest.mark.parametrize("how", ["stdin", "path"])
def test_infected_is_rejected(hook, how):
    r, name = run_on(hook, INFECTED, how,
                     env={"CLAMHOOK_ON_VIRUS": "reject"})
    assert r.status == 1, r
    assert r.out == VERDICT_INFECTED
    assert r.err == b""
    assert not os.path.exists(hook.qdir)
    assert hook.log() == [TAG + "reject %s: %s" % (name, support.EICAR_NAME)]


def test_quarantine_not_writable_defers(hook, tmp_path):
    """A message that cannot be kept is not dropped: 75, not 1."""
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    r = hook(input=INFECTED,
             env={"CLAMHOOK_QUARANTINE": str(blocker / "q")})
    assert r.status == 75, r
    assert len(hook.log()) == 1
    assert hook.log()[0].startswith(TAG + "defer stdin: infected")


# ---------------------------------------------------------------------------
# Failures: everything defers (75).

@pytest.mark.parametrize("how", ["stdin", "path"])
def test_clamd_down_defers(hook, make_clamd, how):
    """A real clamd answers, is stopped, and the next message defers."""
    c = make_clamd()
    env = {"CLAMHOOK_CONFIG": hook.clamhook.config_file(
        {"clamd": {"server": c.server("tcp")}})}
    r, _ = run_on(hook, CLEAN, how, env=env)
    assert r.status == 0, r
    c.stop(remove=False)
    r, name = run_on(hook, CLEAN, how, env=env)
    assert r.status == 75, r
    assert r.out == b""
    reason = assert_reason(r.err, "clamhook status 75: clamhook: ",
                           "Connection refused")
    assert hook.log() == [TAG + "deliver %s: clean" % name,
                          TAG + "defer %s: %s" % (name, reason)]
    assert hook.quarantined() == []


def test_clamd_socket_gone_defers(hook, tmp_path):
    env = {"CLAMHOOK_CONFIG": hook.clamhook.config_file(
        {"clamd": {"server": "unix:" + str(tmp_path / "none.sock")}})}
    r = hook(input=INFECTED, env=env)
    assert r.status == 75, r
    assert_reason(r.err, "clamhook status 75: clamhook: ", "none.sock")
    assert hook.quarantined() == []
    assert hook.log()[0].startswith(TAG + "defer stdin: clamhook status 75")


def test_bad_config_defers(hook, tmp_path):
    """A typo in the INI defers mail (75 from clamhook, 75 from the
    hook), it never bounces it."""
    bad = tmp_path / "bad.ini"
    bad.write_text("[clamd]\nsrever = 127.0.0.1:1\n")
    r = hook(input=CLEAN, env={"CLAMHOOK_CONFIG": str(bad)})
    assert r.status == 75, r
    reason = assert_reason(r.err, "clamhook status 75: clamhook: %s:2: "
                           % bad)
    assert hook.log() == [TAG + "defer stdin: " + reason]


@pytest.mark.parametrize("kind", ["missing", "not-executable"])
def test_clamhook_missing_defers(hook, tmp_path, kind):
    prog = tmp_path / "no-clamhook"
    if kind == "not-executable":
        prog.write_text("#!/bin/sh\nexit 0\n")
        prog.chmod(0o644)
    r = hook(input=CLEAN, env={"CLAMHOOK": str(prog)})
    assert r.status == 75, r
    assert r.out == b""
    log = hook.log()
    assert len(log) == 1, log
    assert log[0].startswith(TAG + "defer stdin: "), log
    assert str(prog) in log[0]


def test_clamhook_sigkill_defers(hook):
    """clamhook killed outright (an OOM kill): the hook defers."""
    prog = hook.wrapper("clamhook-killed", "kill -KILL $$\n")
    r = hook(input=INFECTED, env={"CLAMHOOK": prog})
    assert r.status == 75, r
    assert r.out == b""
    assert hook.log() == [TAG + "defer stdin: clamhook killed by signal 9"]
    assert hook.quarantined() == []


@pytest.mark.parametrize("status", [2, 64, 78, 127])
def test_unexpected_status_defers(hook, status):
    prog = hook.wrapper("clamhook-odd", "echo odd >&2; exit %d\n" % status)
    r = hook(input=INFECTED, env={"CLAMHOOK": prog})
    assert r.status == 75, r
    log = hook.log()
    assert len(log) == 1, log
    assert log[0].startswith(TAG + "defer stdin: "), log
    assert log[0].endswith(": odd"), log


class SilentPeer:
    """A TCP listener that accepts connections and never answers, so a
    scan waits for its reply."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def close(self):
        for c in self.conns:
            c.close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def silent_peer():
    p = SilentPeer()
    try:
        yield p
    finally:
        p.close()


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def running(pid):
    """pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def waiting_scan_config(hook, peer):
    return hook.clamhook.config_file({"clamd": {
        "server": "127.0.0.1:%d" % peer.port, "timeout_ms": 30000}})


def test_clamhook_sigterm_defers(hook, silent_peer):
    """clamhook receives SIGTERM mid-scan (busybox timeout, an MTA's
    timer): it ends in 75 and the hook defers."""
    sent = {}

    def start(live):
        assert silent_peer.accepted.wait(20), "clamhook never connected"
        kids = support.wait_for(lambda: children(live.pid), 5)
        assert len(kids) == 1, kids
        sent["t"] = time.monotonic()
        support.send_signal(kids[0], signal.SIGTERM)

    r = hook(input=INFECTED, on_start=start, timeout=40,
             env={"CLAMHOOK_CONFIG": waiting_scan_config(hook, silent_peer)})
    assert r.status == 75, r
    assert time.monotonic() - sent["t"] < 10, r
    assert r.out == b""
    reason = assert_reason(r.err, "clamhook status 75: clamhook: ",
                           "signal")
    assert hook.log() == [TAG + "defer stdin: " + reason]
    assert hook.quarantined() == []


def test_process_group_sigterm_defers(hook, silent_peer):
    """The MTA kills the hook's whole process group (coreutils timeout,
    Exim's transport timeout): the hook defers, removes its temporary
    copy and logs one line."""
    sent = {}

    def start(live):
        assert silent_peer.accepted.wait(20), "clamhook never connected"
        support.SIGNALLED.update(children(live.pid))
        sent["t"] = time.monotonic()
        os.killpg(live.pid, signal.SIGTERM)

    r = hook(input=INFECTED, on_start=start, timeout=40,
             argv_prefix=["setsid"],
             env={"CLAMHOOK_CONFIG": waiting_scan_config(hook, silent_peer)})
    assert r.status == 75, r
    assert time.monotonic() - sent["t"] < 10, r
    assert r.out == b""
    assert hook.log() == [TAG + "defer stdin: stopped by a signal"]
    assert hook.quarantined() == []


def test_hook_sigterm_stops_the_scan(hook, silent_peer):
    """A caller's timeout signals only the hook (busybox timeout): the
    hook defers at once, not when clamhook's own deadline ends, and
    stops clamhook."""
    sent = {}

    def start(live):
        assert silent_peer.accepted.wait(20), "clamhook never connected"
        kids = support.wait_for(lambda: children(live.pid), 5)
        assert len(kids) == 1, kids
        sent["kid"] = kids[0]
        support.SIGNALLED.add(kids[0])      # the hook passes it on
        sent["t"] = time.monotonic()
        os.kill(live.pid, signal.SIGTERM)

    r = hook(input=INFECTED, on_start=start, timeout=40,
             env={"CLAMHOOK_CONFIG": waiting_scan_config(hook, silent_peer)})
    assert r.status == 75, r
    assert time.monotonic() - sent["t"] < 10, r
    assert hook.log() == [TAG + "defer stdin: stopped by a signal"]
    # clamhook (or its runner) is told to stop too
    assert support.wait_for(lambda: not running(sent["kid"]), 10), \
        "clamhook still runs"
    assert hook.quarantined() == []


# ---------------------------------------------------------------------------
# Usage errors defer too.

def test_unreadable_message_defers(hook, tmp_path):
    missing = str(tmp_path / "missing.eml")
    r = hook([missing])
    assert r.status == 75, r
    assert hook.log() == [TAG + "defer %s: cannot read the message"
                          % missing]


def test_two_arguments_defer(hook):
    a = hook.message(CLEAN, "a.eml")
    r = hook([a, a])
    assert r.status == 75, r
    assert b"usage" in r.err
    assert len(hook.log()) == 1


def test_bad_on_virus_defers(hook):
    r = hook(input=CLEAN, env={"CLAMHOOK_ON_VIRUS": "drop"})
    assert r.status == 75, r
    assert hook.log()[0].startswith(TAG + "defer stdin: CLAMHOOK_ON_VIRUS")


def test_runner_is_used(hook):
    """With $CLAMHOOK_RUNNER set the hook runs the cross binary through
    the wrapper; without, the binary itself."""
    if not hook.clamhook.runner:
        assert hook.program == hook.clamhook.bin
        return
    assert hook.program.startswith(hook.bindir)
    r = subprocess.run([hook.program, "-V"], capture_output=True, timeout=60)
    assert r.returncode == 0, r
    assert b"clamhook" in r.stdout


# ---------------------------------------------------------------------------
# smtpd-mda, run as OpenSMTPD runs an mda: the message on standard input,
# the Maildir as its argument.

MDA = os.path.join(os.path.dirname(HOOK), "smtpd-mda")
MDA_TAG = "-t clamhook-mda -p mail.info -- "


@pytest.fixture
def mda(tmp_path, clamhook):
    return Hook(tmp_path, clamhook, MDA)


def maildir_files(path, sub):
    try:
        return sorted(os.listdir(os.path.join(path, sub)))
    except FileNotFoundError:
        return []


def test_mda_delivers_clean_with_headers(mda, tmp_path):
    box = str(tmp_path / "Maildir")
    forged = b"X-Virus-Status: Infected (nothing)\n" + CLEAN
    r = mda([box], input=forged, env={"USER": "bob"})
    assert (r.status, r.out, r.err) == (0, b"", b""), r
    new = maildir_files(box, "new")
    assert len(new) == 1 and maildir_files(box, "tmp") == [], new
    with open(os.path.join(box, "new", new[0]), "rb") as f:
        assert f.read() == support.expected_milter(
            None, mda.clamhook.version()) + CLEAN
    assert mda.log() == [MDA_TAG + "clean for bob, delivered to " + box]
    assert mda.quarantined() == []


def test_mda_quarantines_infected(mda, tmp_path):
    box = str(tmp_path / "Maildir")
    r = mda([box], input=INFECTED, env={"USER": "bob"})
    assert (r.status, r.out, r.err) == (0, b"", b""), r
    assert maildir_files(box, "new") == []
    q = mda.quarantined()
    assert len(q) == 1, q
    with open(q[0], "rb") as f:
        assert f.read() == INFECTED
    assert mda.log() == [MDA_TAG + "infected for bob, quarantined as %s: %s"
                         % (q[0], support.EICAR_NAME)]


def test_mda_defers_when_clamd_is_down(mda, tmp_path):
    box = str(tmp_path / "Maildir")
    port = support.closed_port()
    env = {"USER": "bob", "CLAMHOOK_CONFIG": mda.clamhook.config_file(
        {"clamd": {"server": "127.0.0.1:%d" % port}})}
    r = mda([box], input=CLEAN, env=env)
    assert (r.status, r.out) == (75, b""), r
    line = r.err.decode().splitlines()
    assert len(line) == 1 and line[0].startswith(
        "smtpd-mda: clamhook status 75: clamhook: "), r.err
    assert "Connection refused" in line[0]
    assert maildir_files(box, "new") == [] and mda.quarantined() == []
    assert mda.log() == [MDA_TAG + "defer for bob: " +
                         line[0][len("smtpd-mda: "):]]


def test_mda_defers_when_the_maildir_is_not_writable(mda, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    r = mda([str(blocker / "Maildir")], input=CLEAN, env={"USER": "bob"})
    assert r.status == 75, r
    assert b"smtpd-mda: cannot create " in r.err, r.err
