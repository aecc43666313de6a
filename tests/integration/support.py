# SPDX-License-Identifier: ISC
"""Helpers for clamhook's integration tests: messages, a tiny clamd client,
verdict renderings, INI writing, and measured runs (status, output, peak RSS).

Everything here is plain functions with no pytest dependency, so other test
files (and scripts) can import it: `from support import ...`.  Every wait is
bounded.
"""

import base64
import io
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zipfile

from eicar import eicar

# ---------------------------------------------------------------------------
# Names clamd gives our generated signatures (see conftest.py: the database
# holds test.hdb, the whole-file MD5, and test.ndb, a body signature on the
# middle of the file).  clamd appends ".UNOFFICIAL" to local signatures.
SIG_HASH = "Eicar-Test-Signature.UNOFFICIAL"
SIG_BODY = "Eicar-Test-Signature-Body.UNOFFICIAL"
# What clamd 1.4 reports for every EICAR message of these tests: the body
# signature matches before the whole-file hash is looked up.
EICAR_NAME = SIG_BODY

DEFAULT_FIELD = "Virus-Test"

KIB = 1024
MIB = 1024 * 1024


# ---------------------------------------------------------------------------
# Messages.  Every builder returns bytes (CRLF-free, LF line ends, as an MTA
# hook usually hands them over) unless it says it writes a file.

def _headers(subject, extra=b""):
    return (b"From: Alice <alice@example.org>\n"
            b"To: Bob <bob@example.org>\n"
            b"Subject: " + subject.encode() + b"\n"
            b"Date: Thu, 01 Jan 2026 00:00:00 +0000\n"
            b"Message-ID: <test@example.org>\n"
            b"MIME-Version: 1.0\n" + extra)


def mail_plain(body=b"Hello Bob,\n\nnothing to see here.\n\nAlice\n",
               subject="plain"):
    """A plain text mail with a harmless body."""
    return (_headers(subject, b"Content-Type: text/plain; charset=us-ascii\n")
            + b"\n" + body)


def mail_eicar_plain():
    """A plain text mail whose body is the EICAR test file on one line."""
    return mail_plain(body=eicar() + b"\n", subject="eicar plain")


def _multipart(subject, parts):
    boundary = b"=_clamhook_test_boundary"
    out = _headers(subject, b"Content-Type: multipart/mixed; boundary=\""
                   + boundary + b"\"\n") + b"\nThis is a MIME message.\n"
    for head, body in parts:
        out += b"\n--" + boundary + b"\n" + head + b"\n" + body
    return out + b"\n--" + boundary + b"--\n"


def _b64(data):
    return base64.encodebytes(data)


def mail_attachment(data, filename="file.bin",
                    ctype="application/octet-stream", subject="attachment"):
    """A multipart mail with a text part and data as a base64 attachment."""
    return _multipart(subject, [
        (b"Content-Type: text/plain; charset=us-ascii\n",
         b"See the attachment.\n"),
        (b"Content-Type: " + ctype.encode() + b"; name=\"" + filename.encode()
         + b"\"\nContent-Transfer-Encoding: base64\n"
         b"Content-Disposition: attachment; filename=\"" + filename.encode()
         + b"\"\n", _b64(data)),
    ])


def mail_eicar_attachment():
    """A mail with EICAR as a base64 MIME attachment (eicar.com)."""
    return mail_attachment(eicar(), "eicar.com", subject="eicar attachment")


def zip_bytes(members):
    """A zip archive (deflated) of {name: bytes}, built in memory."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def mail_eicar_zip():
    """A mail with a zip attachment that holds EICAR (and a clean file)."""
    z = zip_bytes({"readme.txt": b"nothing here\n", "eicar.com": eicar()})
    return mail_attachment(z, "files.zip", "application/zip",
                           subject="eicar zip")


def mail_binary():
    """A message with NUL and every other byte value in its body."""
    body = bytes(range(256)) * 16 + b"\0" * 1024 + b"\n"
    return _headers("binary", b"Content-Type: application/octet-stream\n") \
        + b"\n" + body


def filler(n, seed=0):
    """n bytes of harmless printable text in 64-byte lines (deterministic)."""
    line = b"%-63s\n"
    out = bytearray()
    i = seed
    while len(out) < n:
        out += line % (b"filler line %d of a clamhook test message" % i)
        i += 1
    return bytes(out[:n])


def message_at(offset, size, payload=None):
    """size bytes of filler with payload (default EICAR) placed at offset."""
    payload = eicar() if payload is None else payload
    assert 0 <= offset and offset + len(payload) <= size
    return filler(offset) + payload + filler(size - offset - len(payload),
                                             seed=offset)


def message_straddling(chunk_size=8192, before=30, size=None):
    """A message where EICAR starts `before` bytes ahead of a chunk
    boundary (offset chunk_size - before), so it straddles two INSTREAM
    chunks.  Detected by the body signature (SIG_BODY)."""
    size = 2 * chunk_size if size is None else size
    return message_at(chunk_size - before, size)


def write_big_message(path, size=100 * MIB, block=MIB):
    """Write a clean message of size bytes to path in blocks of `block`
    bytes (memory stays at one block).  Returns path."""
    head = _headers("big", b"Content-Type: text/plain\n") + b"\n"
    text = filler(block)
    with open(path, "wb") as f:
        f.write(head)
        left = size - len(head)
        while left > 0:
            n = min(left, len(text))
            f.write(text[:n])
            left -= n
    assert os.path.getsize(path) == size
    return path


# ---------------------------------------------------------------------------
# A tiny clamd client, to check what clamd itself says about some bytes.

def clamd_connect(addr, timeout=10):
    """A socket connected to addr: an int TCP port on 127.0.0.1, a
    (host, port) tuple, or a Unix socket path (str)."""
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr)
        return s
    if isinstance(addr, int):
        addr = ("127.0.0.1", addr)
    s = socket.create_connection(addr, timeout=timeout)
    s.settimeout(timeout)
    return s


def _recv_reply(s):
    data = b""
    while not data.endswith(b"\0") and not data.endswith(b"\n"):
        b = s.recv(4096)
        if not b:
            break
        data += b
    return data.rstrip(b"\0\n").decode("ascii", "replace")


def clamd_command(addr, cmd, timeout=10):
    """Send zCMD and return clamd's reply text (e.g. 'PONG')."""
    with clamd_connect(addr, timeout) as s:
        s.sendall(b"z" + cmd.encode() + b"\0")
        return _recv_reply(s)


def clamd_instream(addr, data, chunk=8192, timeout=30):
    """INSTREAM data and return clamd's reply ('stream: OK', ...)."""
    with clamd_connect(addr, timeout) as s:
        s.sendall(b"zINSTREAM\0")
        for i in range(0, len(data), chunk):
            part = data[i:i + chunk]
            s.sendall(struct.pack(">I", len(part)) + part)
        s.sendall(struct.pack(">I", 0))
        return _recv_reply(s)


def found_name(reply):
    """'stream: NAME FOUND' -> NAME; None for anything else."""
    m = re.fullmatch(r"stream: (.+) FOUND", reply)
    return m.group(1) if m else None


# ---------------------------------------------------------------------------
# INI files.

def ini_text(config):
    """INI text from a dict {section: {key: value}} (values str/int/list;
    a list gives the key once per item), or a str returned as it is."""
    if isinstance(config, (str, bytes)):
        return config if isinstance(config, str) else config.decode()
    out = []
    for section, keys in config.items():
        out.append("[%s]" % section)
        for key, value in keys.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                out.append("%s = %s" % (key, v))
        out.append("")
    return "\n".join(out) + "\n"


def merge_config(base, extra):
    """A copy of base ({section: {key: value}}) updated by extra; a value
    of None in extra removes the key."""
    out = {s: dict(k) for s, k in base.items()}
    for section, keys in (extra or {}).items():
        sec = out.setdefault(section, {})
        for key, value in keys.items():
            if value is None:
                sec.pop(key, None)
            else:
                sec[key] = value
    return out


# ---------------------------------------------------------------------------
# Expected verdicts (SPEC §4).

def result_string(virus, field=DEFAULT_FIELD):
    """The Sun result string: 'FIELD: False' or 'FIELD: True ; NAME'."""
    text = "True ; %s" % virus if virus else "False"
    return "%s: %s" % (field, text) if field else text


def mode_string(mode, virus, field=DEFAULT_FIELD, verdict=""):
    """The verdict string of a mode (0..3) for a clean (virus None) or
    infected scan."""
    if virus:
        return verdict if mode == 0 else result_string(virus, field)
    if mode == 2:
        return result_string(None, field)
    if mode == 3:
        return verdict
    return ""


def expected_line(mode, virus, field=DEFAULT_FIELD, verdict=""):
    return (mode_string(mode, virus, field, verdict) + "\n").encode()


def expected_james(virus):
    return b"X-MessageIsInfected: %s\n" % (b"true" if virus else b"false")


def expected_milter(virus, version):
    status = "Infected (%s)" % virus if virus else "Clean"
    return ("X-Virus-Scanned: clamhook %s\nX-Virus-Status: %s\n"
            % (version, status)).encode()


SHELL_KEYS = ("CLAMHOOK_RESULT", "CLAMHOOK_VIRUS", "CLAMHOOK_VERDICT",
              "CLAMHOOK_SERVER", "CLAMHOOK_BYTES", "CLAMHOOK_SENT",
              "CLAMHOOK_MS", "CLAMHOOK_ERROR")

_SHELL_LINE = re.compile(rb"([A-Z_]+)='((?:[^'\n]|'\\'')*)'")


def parse_shell(data):
    """Parse a shell-format record into a list of (key, value) in order.
    Raises AssertionError on any line that is not KEY='value'."""
    out = []
    assert data.endswith(b"\n"), data
    for line in data[:-1].split(b"\n"):
        m = _SHELL_LINE.fullmatch(line)
        assert m, "not a KEY='value' line: %r" % line
        out.append((m.group(1).decode(),
                    m.group(2).replace(b"'\\''", b"'").decode()))
    return out


def check_shell(data, result, virus="", verdict="", server=None,
                nbytes=None, sent=None, error=None):
    """Assert data is one shell record with exactly SHELL_KEYS in order and
    the given values.  server/nbytes/sent None: not checked (server must
    then still be printable); error None: must be empty unless result is
    'error', where it must be non-empty; error a str: must contain it.
    CLAMHOOK_MS must be digits.  Returns the dict."""
    pairs = parse_shell(data)
    assert [k for k, _ in pairs] == list(SHELL_KEYS), pairs
    d = dict(pairs)
    assert d["CLAMHOOK_RESULT"] == result, d
    assert d["CLAMHOOK_VIRUS"] == virus, d
    assert d["CLAMHOOK_VERDICT"] == verdict, d
    if server is not None:
        if isinstance(server, (list, tuple, set)):
            assert d["CLAMHOOK_SERVER"] in server, d
        else:
            assert d["CLAMHOOK_SERVER"] == server, d
    if nbytes is not None:
        assert d["CLAMHOOK_BYTES"] == str(nbytes), d
    else:
        assert d["CLAMHOOK_BYTES"].isdigit(), d
    if sent is not None:
        assert d["CLAMHOOK_SENT"] == str(sent), d
    else:
        assert d["CLAMHOOK_SENT"].isdigit(), d
    assert d["CLAMHOOK_MS"].isdigit(), d
    if error is None:
        if result == "error":
            assert d["CLAMHOOK_ERROR"] != "", d
        else:
            assert d["CLAMHOOK_ERROR"] == "", d
    else:
        assert error in d["CLAMHOOK_ERROR"], d
    return d


def stderr_lines(err):
    return err.decode("ascii", "replace").splitlines()


def unsigned_daily(stime, version=27000):
    """A daily.cud: an unsigned ClamAV database container (a CVD header and
    a gzipped tar holding daily.info and one harmless signature) that a
    real clamd loads like freshclam's daily.cvd.  clamd's VERSION then
    answers "ClamAV X/VERSION/DATE" with DATE = ctime(stime): how a
    database of a known age is made here, with no signing key."""
    import gzip
    import hashlib
    import tarfile
    ndb = b"Clamhook.Age.Test:0:*:436c616d686f6f6b2d6167652d74657374\n"
    head = ("ClamAV-VDB:%s:%d:1:90:%%s:x:clamhook:%d"
            % (time.strftime("%d %b %Y %H-%M +0000", time.gmtime(stime)),
               version, stime))
    info = "%s\ndaily.ndb:%d:%s\n" % (head % ("0" * 32), len(ndb),
                                      hashlib.sha256(ndb).hexdigest())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w",
                      format=tarfile.USTAR_FORMAT) as t:
        for name, data in (("daily.info", info.encode()), ("daily.ndb", ndb)):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime = len(data), stime
            t.addfile(ti, io.BytesIO(data))
    body = gzip.compress(buf.getvalue(), mtime=0)
    return (head % hashlib.md5(body).hexdigest()).encode().ljust(512) + body


WARNING = "clamhook: warning: "


def warnings_and_rest(err):
    """(the warning lines without their "clamhook: warning: ", the other
    lines as bytes): a server passed over is a warning (§7)."""
    warned, rest = [], b""
    for line in err.splitlines(True):
        if line.startswith(WARNING.encode()):
            warned.append(line[len(WARNING):].decode("ascii", "replace")
                          .rstrip("\n"))
        else:
            rest += line
    return warned, rest


def assert_passed_over(err, server, reason, next_server):
    """stderr warns that server was passed over for reason (a substring)
    and next_server tried next, marked dead once; returns the rest."""
    warned, rest = warnings_and_rest(err)
    over = [w for w in warned if w.startswith(server + ": ") and
            w.endswith("; trying " + next_server)]
    assert len(over) == 1 and reason in over[0], (warned, reason)
    return rest


def assert_error_line(err, *needles):
    """stderr holds at least one line 'clamhook: ...', every line starts so,
    and the text contains each needle (case-sensitive).  Returns str."""
    text = err.decode("ascii", "replace")
    lines = text.splitlines()
    assert lines, "expected an error message on stderr, got nothing"
    for line in lines:
        assert line.startswith("clamhook: "), "bad stderr line %r" % line
    for n in needles:
        assert n in text, "%r not in stderr %r" % (n, text)
    return text


# ---------------------------------------------------------------------------
# Running a program with a bounded wait and its resource usage.

class Run:
    """The outcome of a run: status (negative: killed by that signal),
    out, err (bytes), elapsed (s), maxrss_kib (peak RSS of the process,
    from wait4), timed_out."""

    def __init__(self, status, out, err, elapsed, maxrss_kib, timed_out):
        self.status, self.out, self.err = status, out, err
        self.elapsed, self.maxrss_kib = elapsed, maxrss_kib
        self.timed_out = timed_out

    def __iter__(self):
        return iter((self.status, self.out, self.err, self.elapsed))

    def __repr__(self):
        return ("Run(status=%r, out=%r, err=%r, elapsed=%.3f, rss=%r)"
                % (self.status, self.out[:300], self.err[:600],
                   self.elapsed, self.maxrss_kib))


def _reader(f, sink):
    try:
        while True:
            b = f.read1(65536)      # what is there: Live sees it at once
            if not b:
                break
            sink.append(b)
    except (OSError, ValueError):
        pass


def _writer(f, data, errors):
    try:
        if data:
            for i in range(0, len(data), 65536):
                f.write(data[i:i + 65536])
        f.close()
    except (BrokenPipeError, OSError, ValueError) as e:
        errors.append(e)
        try:
            f.close()
        except OSError:
            pass


class Live:
    """A running process for run_process's on_start callback: .proc (the
    Popen), .pid, out() and err() (the bytes read so far)."""

    def __init__(self, proc, out, err):
        self.proc, self.pid = proc, proc.pid
        self._out, self._err = out, err

    def out(self):
        return b"".join(list(self._out))

    def err(self):
        return b"".join(list(self._err))


def run_process(argv, input=None, stdin=None, timeout=30, env=None,
                pass_fds=(), cwd=None, on_start=None, rss_launcher=None):
    """Run argv and return a Run.  input: bytes for a stdin pipe; stdin: a
    file object or fd to use as standard input instead (e.g. a pipe from
    another process).  The wait is bounded by timeout: past it the process
    is killed (SIGKILL) and Run.timed_out is set.  The child is reaped with
    os.wait4; maxrss_kib is then its ru_maxrss, which includes the memory
    of the forking Python process (Linux keeps the pre-exec high-water mark).
    For a meaningful peak pass rss_launcher (see build_rss_launcher): argv
    then runs under that tiny static program, and maxrss_kib is the
    process's own VmHWM at exit (None if it could not be read).
    on_start(live) is called once the process runs
    with a Live object (e.g. to send it a signal later); its exceptions
    kill the process and propagate after it is reaped."""
    rss_file = None
    if rss_launcher:
        fd, rss_file = tempfile.mkstemp(prefix="clamhook-rss-")
        os.close(fd)
        argv = [rss_launcher, rss_file] + list(argv)
    if input is not None and stdin is not None:
        raise ValueError("input and stdin are exclusive")
    stdin_arg = subprocess.PIPE if input is not None else (
        stdin if stdin is not None else subprocess.DEVNULL)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=stdin_arg, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, pass_fds=pass_fds,
                         cwd=cwd)
    out, err, werr = [], [], []
    threads = [threading.Thread(target=_reader, args=(p.stdout, out)),
               threading.Thread(target=_reader, args=(p.stderr, err))]
    if input is not None:
        threads.append(threading.Thread(target=_writer,
                                        args=(p.stdin, input, werr)))
    for t in threads:
        t.daemon = True
        t.start()
    timed_out = []

    def kill():
        timed_out.append(True)
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    failure = None
    try:
        if on_start:
            try:
                on_start(Live(p, out, err))
            except BaseException as e:
                failure = e
                kill()
        while True:
            try:
                _, wstatus, ru = os.wait4(p.pid, 0)
                break
            except InterruptedError:
                continue
    finally:
        timer.cancel()
    elapsed = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(wstatus)
    for t in threads:
        t.join(10)
    for f in (p.stdout, p.stderr):
        f.close()
    maxrss = ru.ru_maxrss
    if rss_file:
        with open(rss_file) as f:
            text = f.read().strip()
        os.unlink(rss_file)
        maxrss = int(text) if text and int(text) >= 0 else None
    if failure is not None:
        raise failure
    return Run(p.returncode, b"".join(out), b"".join(err), elapsed,
               maxrss, bool(timed_out))


# A launcher that runs its arguments as a traced child and, when the child
# exits (its memory still mapped), writes the child's own VmHWM (KiB) to the
# file named first.  wait4's ru_maxrss cannot serve: Linux keeps the forking
# parent's high-water mark across execve, and its per-CPU RSS counters are
# off by up to a few hundred KiB, more than a whole small static binary.
RSS_LAUNCHER_C = r"""
/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * rss_launcher OUTFILE CMD...: run CMD as a traced child; when it exits
 * (PTRACE_EVENT_EXIT, its memory still mapped) write the VmHWM of
 * /proc/PID/status in KiB to OUTFILE.  Exits as CMD did.
 */
static long
hwm(pid_t pid)
{
	char path[64], buf[4096], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, "VmHWM:")) == NULL)
		return -1;
	return strtol(p + 6, NULL, 10);
}

int
main(int argc, char **argv)
{
	long peak = -1;
	pid_t pid;
	int st, sig, fd;

	if (argc < 3)
		return 126;
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((pid = fork()) == -1)
		return 126;
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1)
			_exit(126);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	for (;;) {
		if (waitpid(pid, &st, 0) == -1) {
			if (errno == EINTR)
				continue;
			return 126;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		sig = WSTOPSIG(st);
		if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			peak = hwm(pid);
			sig = 0;
		} else if (sig == SIGTRAP) {
			/* the stop after execve: from now on report the exit */
			ptrace(PTRACE_SETOPTIONS, pid, NULL,
			    (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
			sig = 0;
		}
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
	if ((fd = open(argv[1], O_WRONLY | O_TRUNC)) != -1) {
		dprintf(fd, "%ld\n", peak);
		close(fd);
	}
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		kill(getpid(), WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return WEXITSTATUS(st);
}
"""


def build_rss_launcher(directory):
    """Compile RSS_LAUNCHER_C into directory with musl-gcc -static (else
    gcc -static) and return its path.  Raises RuntimeError if no compiler
    works."""
    src = os.path.join(directory, "rss_launcher.c")
    exe = os.path.join(directory, "rss_launcher")
    with open(src, "w") as f:
        f.write(RSS_LAUNCHER_C)
    errors = []
    for cc in (["musl-gcc", "-static"], ["gcc", "-static"]):
        try:
            r = subprocess.run(cc + ["-Os", "-o", exe, src],
                               capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            errors.append("%s: %s" % (cc[0], e))
            continue
        if r.returncode == 0:
            return exe
        errors.append("%s: %s" % (cc[0], r.stderr.decode()[-500:]))
    raise RuntimeError("cannot build the RSS launcher: " + "; ".join(errors))


class Pipe:
    """os.pipe() whose ends are closed once each: a second os.close() of a
    number could close a socket another thread has opened since.  .r, .w;
    close_r(), close_w(), close() (both ends)."""

    def __init__(self):
        self.r, self.w = os.pipe()
        self._open = {self.r, self.w}

    def _close(self, fd):
        if fd in self._open:
            self._open.discard(fd)
            os.close(fd)

    def close_r(self):
        self._close(self.r)

    def close_w(self):
        self._close(self.w)

    def close(self):
        self.close_r()
        self.close_w()


# The processes a test stopped with a signal on purpose: their handler ends
# them with _exit(), and valgrind then lists what the kernel is left to
# close (conftest.py's valgrind_reports lets those lists pass).
SIGNALLED = set()


def send_signal(pid, sig):
    """Signal clamhook (or the runner that execs it) on purpose."""
    SIGNALLED.add(pid)
    os.kill(pid, sig)


def wait_for(predicate, timeout, interval=0.02):
    """Poll predicate() until it is true or timeout seconds pass; returns
    its last value."""
    end = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


_START_COST = []


def start_cost():
    """Seconds a run spends before clamhook's own clock starts: what the
    runner adds ($CLAMHOOK_RUNNER; valgrind's start-up takes about half a
    second, more on a loaded machine).  The slowest of three `--version`
    runs, measured once; an upper bound on a deadline adds it, since a
    deadline counts from clamhook's start, not from the spawn."""
    if not _START_COST:
        argv = os.environ.get("CLAMHOOK_RUNNER", "").split() + [
            os.environ.get("CLAMHOOK_BIN") or os.path.join(
                os.path.dirname(os.path.dirname(os.path.dirname(
                    os.path.abspath(__file__)))), "clamhook"), "--version"]
        worst = 0.0
        for _ in range(3):
            t = time.monotonic()
            subprocess.run(argv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
            worst = max(worst, time.monotonic() - t)
        _START_COST.append(worst)
    return _START_COST[0]


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port nobody listens on right now (bound then released)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def closed_port():
    """A loopback port that refuses connections."""
    return free_port()


def has_interpreter(path):
    """Whether the ELF file at path names a dynamic loader (PT_INTERP)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return False
        end = "<" if head[5] == 1 else ">"
        if head[4] == 2:
            phoff, = struct.unpack(end + "Q", head[32:40])
            phentsize, phnum = struct.unpack(end + "HH", head[54:58])
        else:
            phoff, = struct.unpack(end + "I", head[28:32])
            phentsize, phnum = struct.unpack(end + "HH", head[42:46])
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if struct.unpack(end + "I", f.read(4))[0] == 3:
                return True
    return False
