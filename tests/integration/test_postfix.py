# SPDX-License-Identifier: ISC
"""The Postfix content filter (board/.../usr/libexec/clamhook/postfix-filter)
in a real, private Postfix instance (Debian's postfix), mail sent over
SMTP on loopback:

- a clean message is scanned, re-injected with `sendmail -C DIR -G -i`
  and delivered to the local mailbox;
- an EICAR message is moved to the quarantine, neither delivered nor
  bounced;
- with clamd stopped the message waits in the deferred queue with
  clamhook's reason, and is delivered once clamd is back and the queue
  is flushed.

The board's set-up runs as at boot: S45clamhook start, reading the
instance's own /etc/default/clamhook (CLAMHOOK_DEFAULTS, which the filter
reads too) with CLAMHOOK_USER=clamav, the pipe's user as the board readme
has it, makes the quarantine and the state file (two servers: round robin)
that user's.

The instance (own config directory, queue, spool and log, SMTP on a free
loopback port) is a private Postfix instance: Postfix accepts a config
directory other than /etc/postfix only when /etc/postfix/main.cf lists it
in alternate_config_directories, so this module adds its directory there
for its run and takes it out again (removing the file when it created it
and no other instance is listed).  The pipe runs the filter under busybox
sh as clamav, so everything it touches lives in a 0755 directory under
/tmp.  With $CLAMHOOK_RUNNER set the filter runs the cross binary through
a wrapper that execs the runner.  Every wait is bounded.
"""

import fcntl
import json
import os
import pwd
import shlex
import shutil
import signal
import smtplib
import stat
import subprocess
import tempfile
import threading
from email.utils import make_msgid

import pytest

import support
from conftest import REPO, clamhook_bin, clamhook_runner
from eicar import eicar

OVERLAY = os.path.join(REPO, "board", "common", "rootfs_overlay")
LIBEXEC = os.path.join(OVERLAY, "usr", "libexec", "clamhook")
INIT = os.path.join(OVERLAY, "etc", "init.d", "S45clamhook")
POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
MAIN_CF = "/etc/postfix/main.cf"
MAIN_CF_PROTO = ("/etc/postfix/main.cf.proto",
                 "/usr/share/postfix/main.cf.dist")
MAIN_CF_MARK = ("# Created by clamhook's tests/integration/test_postfix.py "
                "for its private instances;\n# removed when none is left.\n")
LOCK = "/tmp/clamhook-test-postfix.lock"
USER = "nobody"            # the local mailbox owner
PIPE_USER = "clamav"       # the filter's user, as the board readme has it
RCPT = USER + "@localhost"
SENDER = "alice@example.org"
DELIVERY_TIMEOUT = 30
CMD_TIMEOUT = 30


def _cmd(argv, check=True, timeout=CMD_TIMEOUT):
    r = subprocess.run(argv, capture_output=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s: status %d\n%s%s" % (
            " ".join(argv), r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")))
    return r


def _postconf_default(*args):
    return _cmd(["postconf", "-c", "/etc/postfix"] + list(args))


class _Lock:
    """An flock on LOCK around every change to /etc/postfix/main.cf."""

    def __enter__(self):
        self.f = open(LOCK, "a")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def _alternates():
    if not os.path.exists(MAIN_CF):
        return []
    r = _postconf_default("-h", "alternate_config_directories")
    return r.stdout.decode().replace(",", " ").split()


def bless(confdir):
    """List confdir in /etc/postfix/main.cf's alternate_config_directories
    (creating the file from main.cf.proto when there is none)."""
    with _Lock():
        if not os.path.exists(MAIN_CF):
            proto = next((p for p in MAIN_CF_PROTO if os.path.exists(p)),
                         None)
            if proto is None:
                pytest.fail("no %s and no main.cf.proto to create it from"
                            % MAIN_CF, pytrace=False)
            with open(proto) as f:
                text = f.read()
            with open(MAIN_CF, "w") as f:
                f.write(MAIN_CF_MARK + text)
        dirs = _alternates()
        if confdir not in dirs:
            _postconf_default("-e", "alternate_config_directories = "
                              + " ".join(dirs + [confdir]))


def unbless(confdir):
    """Undo bless(): drop confdir, and the file if this module created it
    and no other directory is listed."""
    with _Lock():
        if not os.path.exists(MAIN_CF):
            return
        # also drop directories a killed run left listed
        dirs = [d for d in _alternates()
                if d != confdir and os.path.isdir(d)]
        with open(MAIN_CF) as f:
            ours = f.read().startswith(MAIN_CF_MARK)
        if ours and not dirs:
            os.unlink(MAIN_CF)
        elif dirs:
            _postconf_default("-e", "alternate_config_directories = "
                              + " ".join(dirs))
        else:
            _postconf_default("-X", "alternate_config_directories")


def _script(path, text, mode=0o755):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def _master_cf(port, scan_argv):
    """Debian's master.cf: its standard services (up to postlog), none
    chrooted (nothing is copied into the private queue), smtpd on port
    with the content filter, pickup without it, and the scan service."""
    with open("/etc/postfix/master.cf") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            if out:
                out.append(line)
            continue
        fields = line.split()
        if len(fields) >= 8:
            fields[4] = "n"
            if fields[:2] == ["smtp", "inet"]:
                fields[0] = str(port)
                out.append(" ".join(fields))
                out.append("  -o content_filter=scan:dummy")
                continue
            out.append(" ".join(fields))
            if fields[:2] == ["pickup", "unix"]:
                out.append("  -o content_filter=")
            if fields[0] == "postlog":
                break
    out.append("scan unix - n n - 4 pipe")
    out.append("  flags=Rq user=%s null_sender= argv=%s"
               % (PIPE_USER, scan_argv))
    return "\n".join(out) + "\n"


class Postfix:
    """A private Postfix instance in self.dir (see the module text)."""

    def __init__(self, clamd):
        self.clamd = clamd
        # the pipe's user reaches clamd's socket, as in Debian's
        # /run/clamav (0755, the socket 0666)
        os.chmod(clamd.dir, 0o711)
        self.dir = tempfile.mkdtemp(prefix="chpf", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.spool = os.path.join(self.dir, "mail")
        self.bindir = os.path.join(self.dir, "bin")
        self.qdir = os.path.join(self.dir, "quarantine")
        self.tmp = os.path.join(self.dir, "tmp")
        self.run = os.path.join(self.dir, "run")
        self.maillog = os.path.join(self.dir, "maillog")
        self.logs = os.path.join(self.dir, "log")
        self.filterlog = os.path.join(self.logs, "filter.log")
        self.port = support.free_port()
        self.started = False
        self.blessed = False
        try:
            pw = pwd.getpwnam(PIPE_USER)
            for d in (self.conf, self.bindir, self.queue):
                os.makedirs(d, 0o755)
            os.makedirs(self.spool)
            os.chmod(self.spool, 0o1777)
            for d in (self.tmp, self.logs):
                os.makedirs(d, 0o700)
                os.chown(d, pw.pw_uid, pw.pw_gid)
            self._programs()
            self._config()
            self._board_start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _programs(self):
        """The filter, clamhook (or a runner wrapper), a logger that
        records its arguments, and the clamhook INI, all readable by
        nobody."""
        busybox = shutil.which("busybox")
        if not busybox:
            pytest.fail("busybox not found (toolchain/deps-debian.sh)",
                        pytrace=False)
        self.busybox = busybox
        for name, mode in (("postfix-filter", 0o755), ("hook-common", 0o644)):
            shutil.copyfile(os.path.join(LIBEXEC, name),
                            os.path.join(self.bindir, name))
            os.chmod(os.path.join(self.bindir, name), mode)
        self.filter = os.path.join(self.bindir, "postfix-filter")
        binary = clamhook_bin()
        if not os.path.exists(binary):
            pytest.fail("clamhook binary not found at %s" % binary,
                        pytrace=False)
        runner = clamhook_runner()
        self.clamhook = os.path.join(self.bindir, "clamhook")
        if runner:
            real = os.path.join(self.bindir, "clamhook.bin")
            shutil.copyfile(binary, real)
            os.chmod(real, 0o755)
            words = [shutil.which(runner[0]) or runner[0]] + runner[1:]
            _script(self.clamhook, "#!/bin/sh\nexec %s \"$@\"\n"
                    % " ".join(map(shlex.quote, words + [real])))
        else:
            shutil.copyfile(binary, self.clamhook)
            os.chmod(self.clamhook, 0o755)
        self.version = subprocess.run(
            [self.clamhook, "-V"], capture_output=True, check=True,
            timeout=CMD_TIMEOUT).stdout.decode().split()[1]
        _script(os.path.join(self.bindir, "logger"),
                "#!/bin/sh\nprintf '%%s\\n' \"$*\" >>%s\n"
                % shlex.quote(self.filterlog))
        # two servers (one clamd by TCP and by its socket): round robin
        # through the state file, which S45clamhook made the pipe user's
        self.ini = os.path.join(self.conf, "clamhook.ini")
        self.servers = [self.clamd.server("tcp"), self.clamd.server("unix")]
        self.state = os.path.join(self.run, "clamhook.state")
        _script(self.ini, support.ini_text({"clamd": {
            "server": self.servers,
            "state_file": self.state,
            "connect_timeout_ms": 2000,
            "timeout_ms": 20000}}), 0o644)
        # the board's /etc/default/clamhook, read by S45clamhook and the
        # filter alike
        self.defaults = os.path.join(self.conf, "default-clamhook")
        _script(self.defaults, "".join("%s=%s\n" % (k, shlex.quote(v)) for
                                       k, v in (
            ("CLAMHOOK_USER", PIPE_USER), ("CLAMHOOK", self.clamhook),
            ("CLAMHOOK_CONFIG", self.ini),
            ("CLAMHOOK_QUARANTINE", self.qdir))), 0o644)
        env = {
            "PATH": self.bindir + ":/usr/sbin:/usr/bin:/sbin:/bin",
            "CLAMHOOK_DEFAULTS": self.defaults,
            "TMPDIR": self.tmp,
            "SENDMAIL_ARGS": "-C " + self.conf,
        }
        words = ["/usr/bin/env"]
        for k, v in env.items():
            word = "%s=%s" % (k, v)
            words.append("{%s}" % word if " " in word else word)
        words += [busybox, "sh", self.filter,
                  "-f", "${sender}", "--", "${recipient}"]
        self.scan_argv = " ".join(words)

    def _board_start(self):
        """S45clamhook start, as at boot: the quarantine and the state
        file for the pipe's user."""
        r = subprocess.run([self.busybox, "sh", INIT, "start"],
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                "CLAMHOOK_DEFAULTS": self.defaults},
                           capture_output=True, timeout=CMD_TIMEOUT)
        assert (r.returncode, r.stdout) == (0, b"Starting clamhook: OK\n"), r

    def _config(self):
        main = {
            "compatibility_level": "3.7",
            "queue_directory": self.queue,
            "data_directory": os.path.join(self.dir, "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "default_privs": USER,
            "myhostname": "mail.clamhook.test",
            "mydomain": "clamhook.test",
            "myorigin": "$myhostname",
            "mydestination": "localhost, $myhostname",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relayhost": "",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "mail_spool_directory": self.spool,
            "home_mailbox": "",
            "mailbox_command": "",
            "biff": "no",
            "smtputf8_enable": "no",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            "sendmail_path": "/usr/sbin/sendmail",
            "mailq_path": "/usr/bin/mailq",
            "newaliases_path": "/usr/bin/newaliases",
            "html_directory": "no",
            "manpage_directory": "/usr/share/man",
            "sample_directory": "/usr/share/doc/postfix",
            "readme_directory": "no",
            # no automatic retry during the test: only a flush delivers
            "queue_run_delay": "300s",
            "minimal_backoff_time": "300s",
            "maximal_backoff_time": "600s",
        }
        _script(os.path.join(self.conf, "main.cf"),
                "".join("%s = %s\n" % kv for kv in main.items()), 0o644)
        _script(os.path.join(self.conf, "master.cf"),
                _master_cf(self.port, self.scan_argv), 0o644)

    def postfix(self, *args, check=True):
        return _cmd([POSTFIX, "-c", self.conf] + list(args), check=check)

    def start(self):
        bless(self.conf)
        self.blessed = True
        # start runs check-fatal, which creates the queue's subdirectories
        # with their owners and modes (set-permissions is not needed)
        self.postfix("start")
        self.started = True
        ok = support.wait_for(self._listening, 20, 0.1)
        assert ok, "postfix does not listen on %d:\n%s" % (
            self.port, self.log_text()[-3000:])

    def _listening(self):
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as s:
                return s.noop()[0] == 250
        except OSError:
            return False

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        pid = self.master_pid()
        if self.started:
            self.postfix("stop", check=False)
            if pid:
                gone = support.wait_for(lambda: not _alive(pid), 15, 0.1)
                if not gone:
                    _kill(pid)
        # the daemons exit once master is gone; kill what remains (a
        # filter, a sendmail, a daemon that did not notice)
        support.wait_for(lambda: not _pids_mentioning(self.dir), 5, 0.1)
        for p in _pids_mentioning(self.dir):
            _kill(p)
        if self.blessed:
            unbless(self.conf)
            self.blessed = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def send(self, subject, body, sender=SENDER, headers=""):
        """Send one message over SMTP; returns the Message-ID."""
        msgid = make_msgid(domain="clamhook.test")
        data = ("From: Alice <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                "Message-ID: %s\r\n%sMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                % (SENDER, RCPT, subject, msgid, headers)).encode() + body
        with smtplib.SMTP("127.0.0.1", self.port, timeout=15) as s:
            s.sendmail(sender, [RCPT], data)
        return msgid

    def delivered(self, msgid):
        """The header block of the one message in the mailbox with msgid,
        as a list of lines."""
        box = self.mailbox().decode("ascii", "replace")
        at = box.index(msgid)
        start = box.rfind("\nFrom ", 0, at) + 1
        return box[start:box.index("\n\n", at)].split("\n")

    def state_next(self):
        with open(self.state) as f:
            for line in f:
                if line.startswith("next "):
                    return int(line.split()[1])
        return 0

    def mailbox(self):
        try:
            with open(os.path.join(self.spool, USER), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def queue_entries(self):
        r = _cmd([POSTQUEUE, "-c", self.conf, "-j"])
        return [json.loads(line) for line in r.stdout.decode().splitlines()
                if line.strip()]

    def flush(self):
        _cmd([POSTQUEUE, "-c", self.conf, "-f"])

    def quarantined(self):
        return sorted(os.path.join(self.qdir, n)
                      for n in os.listdir(self.qdir))

    def filter_log(self):
        try:
            with open(self.filterlog) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def log_text(self):
        try:
            with open(self.maillog, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def diag(self):
        """What to print when an expectation fails."""
        try:
            q = self.queue_entries()
        except (AssertionError, subprocess.SubprocessError) as e:
            q = str(e)
        return ("queue: %r\nfilter log: %r\nmaillog:\n%s"
                % (q, self.filter_log(), self.log_text()[-4000:]))

    def wait(self, predicate, what, timeout=DELIVERY_TIMEOUT):
        ok = support.wait_for(predicate, timeout, 0.1)
        assert ok, "%s within %d s\n%s" % (what, timeout, self.diag())
        return ok


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _pids_mentioning(text):
    """Processes whose command line or environment mentions text (this
    instance's directory: master exports MAIL_CONFIG=DIR to its daemons,
    the pipe runs programs from DIR)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        for what in ("cmdline", "environ"):
            try:
                with open("/proc/%s/%s" % (name, what), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if text.encode() in data:
                out.append(int(name))
                break
    return out


@pytest.fixture(scope="module")
def postfix(module_clamd):
    for path in (POSTFIX, POSTQUEUE):
        if not os.access(path, os.X_OK):
            pytest.fail("%s not found: install postfix "
                        "(toolchain/deps-debian.sh)" % path, pytrace=False)
    p = Postfix(module_clamd)
    try:
        p.start()
        yield p
    finally:
        p.stop()


def _in_mailbox(postfix, msgid):
    return msgid.encode() in postfix.mailbox()


def _queue_empty(postfix):
    return postfix.queue_entries() == []


def test_clean_is_delivered(postfix):
    n = len(postfix.filter_log())
    msgid = postfix.send("clean", b"Hello Bob,\r\n\r\nnothing to see.\r\n")
    postfix.wait(lambda: _in_mailbox(postfix, msgid),
                 "clean message not in the mailbox")
    postfix.wait(lambda: _queue_empty(postfix), "queue not empty")
    box = postfix.mailbox()
    # scanned once (the re-injected copy is not filtered again)
    assert box.count(msgid.encode()) == 1
    assert postfix.filter_log()[n:] == [
        "-t clamhook-filter -p mail.info -- clean from <%s>, re-injected"
        % SENDER], postfix.diag()
    assert os.listdir(postfix.tmp) == []
    assert_verdict_headers(postfix, msgid)


def assert_verdict_headers(postfix, msgid):
    """The mailbox copy carries the milter header lines, once each."""
    head = postfix.delivered(msgid)
    ours = [h for h in head if h.lower().startswith("x-virus-")]
    assert ours == ["X-Virus-Scanned: clamhook %s" % postfix.version,
                    "X-Virus-Status: Clean"], head


def test_forged_verdict_headers_are_replaced(postfix):
    """A sender's own X-Virus-Status (folded over two lines) never reaches
    the mailbox: the filter's lines replace it."""
    msgid = postfix.send("forged", b"Trust me.\r\n", headers=(
        "X-Virus-Status: Clean\r\n\tand trusted\r\n"
        "x-virus-scanned: by nobody\r\nX-Other: kept\r\n"))
    postfix.wait(lambda: _in_mailbox(postfix, msgid),
                 "message not in the mailbox")
    # the filter logs after it re-injected: wait for it to end
    postfix.wait(lambda: _queue_empty(postfix), "queue not empty")
    assert_verdict_headers(postfix, msgid)
    assert "X-Other: kept" in postfix.delivered(msgid)


def test_null_sender_is_delivered(postfix):
    """A bounce (MAIL FROM:<>, null_sender= in master.cf) is re-injected
    with the null sender, not as MAILER-DAEMON and not rejected."""
    n = len(postfix.filter_log())
    msgid = postfix.send("null sender", b"A delivery report.\r\n",
                         sender="")
    postfix.wait(lambda: _in_mailbox(postfix, msgid),
                 "null-sender message not in the mailbox")
    postfix.wait(lambda: _queue_empty(postfix), "queue not empty")
    box = postfix.mailbox()
    start = box.rfind(b"\nFrom ", 0, box.index(msgid.encode())) + 1
    assert box[start:].startswith(b"From MAILER-DAEMON "), box[start:200]
    assert b"Return-Path: <>\n" in box[start:box.index(msgid.encode())]
    assert postfix.filter_log()[n:] == [
        "-t clamhook-filter -p mail.info -- clean from <>, re-injected"
    ], postfix.diag()


def test_infected_is_quarantined(postfix):
    before = set(postfix.quarantined())
    n = len(postfix.filter_log())
    msgid = postfix.send("eicar", eicar() + b"\r\n")
    postfix.wait(lambda: set(postfix.quarantined()) - before,
                 "nothing quarantined")
    postfix.wait(lambda: _queue_empty(postfix), "queue not empty")
    new = sorted(set(postfix.quarantined()) - before)
    assert len(new) == 1, new
    with open(new[0], "rb") as f:
        kept = f.read()
    assert msgid.encode() in kept
    assert eicar() in kept
    assert not _in_mailbox(postfix, msgid)
    log = postfix.filter_log()[n:]
    assert log == [
        "-t clamhook-filter -p mail.info -- infected from <%s>, "
        "quarantined as %s: %s" % (SENDER, new[0], support.EICAR_NAME)
    ], postfix.diag()
    # by the pipe's user, in the quarantine S45clamhook gave it
    pw = pwd.getpwnam(PIPE_USER)
    st = os.stat(postfix.qdir)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (pw.pw_uid, 0o700)
    st = os.stat(new[0])
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (pw.pw_uid, 0o600)
    # taken, not bounced: no bounce to the sender sits in the queue
    assert postfix.queue_entries() == []
    assert os.listdir(postfix.tmp) == []


def test_clamd_down_defers_then_delivers(postfix, module_clamd):
    n = len(postfix.filter_log())
    module_clamd.stop(remove=False)
    try:
        msgid = postfix.send("while clamd is down", b"Wait for me.\r\n")

        def deferred():
            return [e for e in postfix.queue_entries()
                    if e.get("queue_name") == "deferred"]

        entries = postfix.wait(deferred, "message not deferred")
        assert len(entries) == 1, entries
        reasons = [r.get("delay_reason", "")
                   for r in entries[0]["recipients"]]
        assert [r.get("address") for r in entries[0]["recipients"]] == \
            [RCPT]
        assert "clamhook: " in reasons[0], reasons
        assert not _in_mailbox(postfix, msgid)
        log = postfix.filter_log()[n:]
        assert len(log) == 1, log
        assert log[0].startswith(
            "-t clamhook-filter -p mail.info -- defer from <%s>: "
            "clamhook status 75" % SENDER), log
    finally:
        module_clamd.restart()
    postfix.flush()
    postfix.wait(lambda: _in_mailbox(postfix, msgid),
                 "deferred message not delivered after the flush")
    postfix.wait(lambda: _queue_empty(postfix), "queue not empty")
    assert postfix.filter_log()[n + 1:] == [
        "-t clamhook-filter -p mail.info -- clean from <%s>, re-injected"
        % SENDER], postfix.diag()
    assert os.listdir(postfix.tmp) == []


def test_state_file_is_the_pipe_users(postfix):
    """Two servers: each message moves the round-robin counter in the
    state file S45clamhook made for the pipe's user, which could not
    create it itself."""
    st = os.stat(postfix.state)
    assert st.st_uid == pwd.getpwnam(PIPE_USER).pw_uid
    # no dead marks or errors left from the clamd-down test
    os.truncate(postfix.state, 0)
    ids = [postfix.send("round robin %d" % i, b"Next one.\r\n")
           for i in range(4)]
    postfix.wait(lambda: all(_in_mailbox(postfix, m) for m in ids),
                 "messages not in the mailbox")
    postfix.wait(lambda: _queue_empty(postfix), "queue not empty")
    assert postfix.state_next() == 4, postfix.diag()
    # both servers answered the pipe's user, neither failed
    with open(postfix.state) as f:
        words = [line.split()[0::2] for line in f]
    servers = sorted(w[1] for w in words if w[0] == "ok")
    assert servers == sorted(postfix.servers), (words, postfix.diag())
    assert not [w for w in words if w[0] in ("dead", "error")], words


def test_concurrent_filters_keep_each_message_apart(postfix, clamhook):
    """maxproc 4 filters at once, 40 messages sent together (12 under a
    runner): every clean one delivered once with its own header lines,
    every infected one quarantined, nothing of one in another's place."""
    total = 12 if clamhook.runner else 40
    infected = set(range(0, total, 4))
    before = set(postfix.quarantined())
    ids = [None] * total

    def send(i):
        body = (eicar() if i in infected else b"Message %d.") + b"\r\n"
        ids[i] = postfix.send("message %d" % i, body.replace(
            b"%d", str(i).encode()))

    threads = [threading.Thread(target=send, args=(i,))
               for i in range(total)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(ids), ids
    clean = [ids[i] for i in range(total) if i not in infected]
    bad = [ids[i] for i in infected]

    def done():
        return (all(_in_mailbox(postfix, m) for m in clean) and
                len(set(postfix.quarantined()) - before) == len(bad) and
                _queue_empty(postfix))

    postfix.wait(done, "every message handled", timeout=180)
    box = postfix.mailbox()
    for m in clean:
        assert box.count(m.encode()) == 1, m
        assert_verdict_headers(postfix, m)
    kept = []
    for q in sorted(set(postfix.quarantined()) - before):
        with open(q, "rb") as f:
            kept.append(f.read())
    for m in bad:
        assert not _in_mailbox(postfix, m), m
        assert sum(m.encode() in k for k in kept) == 1, m
    assert not any(m.encode() in k for m in clean for k in kept)
    assert os.listdir(postfix.tmp) == []
