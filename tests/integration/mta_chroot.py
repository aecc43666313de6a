# SPDX-License-Identifier: ISC
"""A real MTA from Debian 12's packages in a chroot, with the board's files
unpacked in it, for the MTAs that cannot be installed beside the host's
Postfix (test_exim.py, test_opensmtpd.py).

The chroot (tests/peer/bookworm-mta.sh, built once into
/var/cache/clamhook) is never changed: each test module works in an
overlay on it, in which it unpacks the `make rootfs` tarball of the host
target as an image build would, puts the clamhook under test in
/usr/bin, and configures /etc/clamhook.ini and /etc/default/clamhook as an
operator would (the server lines, the readme's timeout_ms, the MTA's
user).  The chroot shares the host's loopback, so the MTA and the hooks
reach the tests' clamd on 127.0.0.1.

These modules run where the hooks run the plain static binary: a static
binary runs in any chroot, a sanitizer or valgrind build does not, and
qemu would test the same scripts again at a few minutes' cost (the hooks
under qemu are in test_hook.py and test_postfix.py).
"""

import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import REPO, clamhook_bin, only_in_plain_host_pass

sys.path.insert(0, os.path.join(REPO, "tests", "peer"))
from blackhole import Blackhole  # noqa: E402,F401 (for the MTA tests)

PEER_CACHE = os.environ.get("CLAMHOOK_PEER_CACHE", "/var/cache/clamhook")
BUILD_SCRIPT = os.path.join(REPO, "tests", "peer", "bookworm-mta.sh")
README = os.path.join(REPO, "board", "common", "readme.txt")
CMD_TIMEOUT = 60


def need_plain_host_binary():
    """Skip the module unless the clamhook under test is a static binary
    run directly (see the module text)."""
    only_in_plain_host_pass("MTA chroots", "the hooks under qemu and "
                            "valgrind are in test_hook.py and "
                            "test_postfix.py")


def readme_block(first, last):
    """The board readme's recipe lines from the one that starts with first
    up to the one that starts with last, as an operator would copy them
    (the readme's two-space indent removed)."""
    with open(README) as f:
        lines = f.read().splitlines()
    start = next(i for i, s in enumerate(lines) if s.strip().startswith(first))
    end = next(i for i in range(start, len(lines))
               if lines[i].strip().startswith(last))
    return "\n".join(s[2:] for s in lines[start:end + 1]) + "\n"


def _cmd(argv, timeout=CMD_TIMEOUT):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("%s: status %d\n%s%s" % (
            " ".join(argv), r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")))
    return r


def _base(mta):
    """The cached chroot, built when missing (a few minutes, once)."""
    base = os.path.join(PEER_CACHE, "bookworm-" + mta)
    r = subprocess.run([BUILD_SCRIPT, mta, base], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=1800)
    if r.returncode != 0:
        pytest.fail("%s chroot: %s failed:\n%s" % (
            mta, BUILD_SCRIPT, r.stdout.decode(errors="replace")[-3000:]),
            pytrace=False)
    return base


def _rootfs_tarball():
    """The host target's `make rootfs` tarball, made now."""
    target = platform.machine()
    _cmd(["make", "-C", REPO, "-s", "--no-print-directory",
          "TARGET=" + target, "rootfs"], timeout=300)
    path = os.path.join(REPO, "build", target,
                        "clamhook-rootfs-%s.tar.gz" % target)
    assert os.path.exists(path), path
    return path


def wait_port(port, proc, log, timeout=30):
    """Wait until something listens on 127.0.0.1:port; fail with the log
    when proc exits first or the time runs out."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    with open(log, errors="replace") as f:
        text = f.read()
    pytest.fail("nothing listens on port %d (status %s):\n%s"
                % (port, proc.poll(), text[-3000:]), pytrace=False)


def wait_for(what, check, log=None, timeout=30):
    """Poll check() until it returns something true; fail naming what,
    with the end of log() (the MTA's log) when given."""
    end = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > end:
            pytest.fail("timed out waiting for %s%s" % (
                what, ":\n" + log()[-3000:] if log else ""), pytrace=False)
        time.sleep(0.1)


class MtaRoot:
    """An overlay on the cached chroot of mta, with the board unpacked in
    it (see the module text).  self.root is the chroot's top."""

    def __init__(self, mta):
        base = _base(mta)
        tarball = _rootfs_tarball()
        self.top = tempfile.mkdtemp(prefix="chmta", dir="/tmp")
        self.root = os.path.join(self.top, "root")
        self.mounts = []
        self.procs = []
        try:
            for d in ("upper", "work", "root"):
                os.mkdir(os.path.join(self.top, d))
            self._mount(["-t", "overlay", "overlay", "-o",
                         "lowerdir=%s,upperdir=%s,workdir=%s" % (
                             base, os.path.join(self.top, "upper"),
                             os.path.join(self.top, "work"))], self.root)
            self._mount(["-t", "proc", "proc"], self.path("/proc"))
            _cmd(["tar", "xzf", tarball, "--no-overwrite-dir", "-C",
                  self.root])
            shutil.copyfile(clamhook_bin(), self.path("/usr/bin/clamhook"))
            os.chmod(self.path("/usr/bin/clamhook"), 0o755)
        except BaseException:
            self.close()
            raise

    def _mount(self, args, where):
        _cmd(["mount"] + args + [where])
        self.mounts.append(where)

    def path(self, p):
        """p inside the chroot, as a host path."""
        return self.root + p

    def run(self, argv, check=True, timeout=CMD_TIMEOUT, env=None):
        """Run argv in the chroot; with check, fail on a non-zero status."""
        full = ["chroot", self.root]
        if env:
            full += ["env"] + ["%s=%s" % kv for kv in env.items()]
        if check:
            return _cmd(full + list(argv), timeout)
        return subprocess.run(full + list(argv), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)

    def daemon(self, argv, log):
        """Start argv in the chroot in the foreground, its output to log
        (a host path); stopped by close()."""
        f = open(log, "wb")
        p = subprocess.Popen(["chroot", self.root] + list(argv),
                             stdin=subprocess.DEVNULL, stdout=f,
                             stderr=subprocess.STDOUT, start_new_session=True)
        f.close()
        self.procs.append(p)
        return p

    def write(self, p, text, mode=0o644):
        with open(self.path(p), "w") as f:
            f.write(text)
        os.chmod(self.path(p), mode)

    def read(self, p):
        with open(self.path(p), "rb") as f:
            return f.read()

    def configure(self, user, **keys):
        """An operator's edits: CLAMHOOK_USER in /etc/default/clamhook and
        some keys of the INI (server, timeout_ms); the rest as shipped."""
        self._edit("/etc/default/clamhook", "CLAMHOOK_USER",
                   "CLAMHOOK_USER=" + shlex.quote(user))
        for key, value in keys.items():
            self.set_key(key, value)

    def set_key(self, key, value):
        """Replace key's first line in /etc/clamhook.ini (read by every
        run; server: [clamd]'s, which comes before [socks])."""
        self._edit("/etc/clamhook.ini", key + " =", "%s = %s" % (key, value))

    def _edit(self, p, start, line):
        with open(self.path(p)) as f:
            text = f.read()
        text, n = re.subn(r"(?m)^%s.*$" % re.escape(start),
                          lambda m: line, text, count=1)
        assert n == 1, (p, start)
        with open(self.path(p), "w") as f:
            f.write(text)

    def board_start(self):
        """/etc/init.d/S45clamhook start, as at boot."""
        r = self.run(["/etc/init.d/S45clamhook", "start"], check=False)
        assert (r.returncode, r.stdout) == (0, b"Starting clamhook: OK\n"), r

    def quarantine(self):
        """The quarantine's files: {name: bytes}."""
        d = self.path("/var/spool/clamhook/quarantine")
        return {n: open(os.path.join(d, n), "rb").read()
                for n in sorted(os.listdir(d))}

    def leftovers(self):
        """Files the hooks left in the chroot's /tmp."""
        return sorted(n for n in os.listdir(self.path("/tmp"))
                      if n.startswith("clamhook"))

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(10)
        for where in reversed(self.mounts):
            subprocess.run(["umount", "-l", where], timeout=CMD_TIMEOUT)
        shutil.rmtree(self.top, ignore_errors=True)
