# SPDX-License-Identifier: ISC
"""board/: the init script and the Buildroot post-build script, run under
busybox sh.  clamhook is a stand-in script here (the hooks are tested with
the real binary and clamd in tests/integration)."""

import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
COMMON = os.path.join(REPO, "board", "common")
INIT = os.path.join(COMMON, "rootfs_overlay", "etc", "init.d", "S45clamhook")
POST = os.path.join(COMMON, "post_build.sh")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"


@pytest.fixture
def fake():
    """A clamhook that logs its arguments and user, and exits $PING /
    $CHECK (0 for --status); in a folder CLAMHOOK_USER reaches."""
    d = tempfile.mkdtemp(prefix="chboard", dir="/tmp")
    os.chmod(d, 0o755)
    log = pathlib.Path(d, "calls")
    path = pathlib.Path(d, "clamhook")
    path.write_text("""#!/bin/sh
echo "$* config=$CLAMHOOK_CONFIG user=$(id -un)" >>%s
case $1 in
--ping) exit "${PING:-0}" ;;
--status) exit 0 ;;
--check-config) [ -z "$STATE" ] || echo "state_file = $STATE"
    exit "${CHECK:-0}" ;;
esac
exit 64
""" % log)
    path.chmod(0o755)
    log.touch()
    log.chmod(0o666)
    yield path, log
    shutil.rmtree(d)


def init(fake, tmp_path, action, **env):
    path, log = fake
    e = dict(os.environ, CLAMHOOK=str(path),
             CLAMHOOK_CONFIG=str(tmp_path / "x.ini"),
             CLAMHOOK_QUARANTINE=str(tmp_path / "q"),
             CLAMHOOK_DEFAULTS=os.devnull, STATE="")
    e.update(env)
    r = subprocess.run([BUSYBOX, "sh", INIT, action], env=e,
                       capture_output=True, text=True, timeout=30)
    calls = log.read_text().splitlines()
    return r, calls


def test_start_checks_creates_and_pings(fake, tmp_path):
    r, calls = init(fake, tmp_path, "start")
    assert r.returncode == 0, r
    assert r.stdout == "Starting clamhook: OK\n"
    ini = str(tmp_path / "x.ini")
    assert calls == ["--check-config config=%s user=root" % ini,
                     "--ping config=%s user=root" % ini]
    q = tmp_path / "q"
    assert q.is_dir() and q.stat().st_mode & 0o777 == 0o700


def test_start_prepares_for_the_hooks_user(fake, tmp_path):
    """CLAMHOOK_USER, from /etc/default/clamhook: the quarantine and the
    state file the INI names (its folder made) become that user's."""
    state = tmp_path / "run" / "clamhook.state"
    defaults = tmp_path / "default"
    defaults.write_text("CLAMHOOK_USER=nobody\nCLAMHOOK_QUARANTINE=%s\n"
                        % (tmp_path / "q2"))
    r, calls = init(fake, tmp_path, "start", STATE=str(state),
                    CLAMHOOK_DEFAULTS=str(defaults))
    assert (r.returncode, r.stdout) == (0, "Starting clamhook: OK\n"), r
    # the ping as the user: what root alone may reach fails at boot
    assert [(c.split()[0], c.split()[-1]) for c in calls] == [
        ("--check-config", "user=root"), ("--ping", "user=nobody")]
    nobody = pwd.getpwnam("nobody").pw_uid
    st = (tmp_path / "q2").stat()
    assert (st.st_uid, st.st_mode & 0o777) == (nobody, 0o700)
    assert not (tmp_path / "q").exists()
    st = state.stat()
    assert (st.st_uid, st.st_mode & 0o777, st.st_size) == (nobody, 0o644, 0)


def test_start_fails_for_a_user_that_does_not_exist(fake, tmp_path):
    r, calls = init(fake, tmp_path, "start", CLAMHOOK_USER="no-such-user")
    assert (r.returncode, r.stdout) == (1, "Starting clamhook: FAIL "
                                        "(CLAMHOOK_USER=no-such-user: no "
                                        "such user)\n"), r
    assert [c.split()[0] for c in calls] == ["--check-config"]


def test_start_fails_when_clamd_does_not_answer(fake, tmp_path):
    r, calls = init(fake, tmp_path, "start", PING="75")
    assert (r.returncode, r.stdout) == (1, "Starting clamhook: FAIL (clamd "
                                        "does not answer; mail is deferred "
                                        "until it does)\n"), r


def test_start_fails_when_clamd_does_not_answer_the_user(fake, tmp_path):
    r, calls = init(fake, tmp_path, "start", PING="75",
                    CLAMHOOK_USER="nobody")
    assert (r.returncode, r.stdout) == (1, "Starting clamhook: FAIL (clamd "
                                        "does not answer user nobody; mail "
                                        "is deferred until it does)\n"), r
    assert calls[-1].endswith(" user=nobody"), calls


def test_start_fails_on_a_bad_config_without_pinging(fake, tmp_path):
    r, calls = init(fake, tmp_path, "start", CHECK="78")
    assert r.returncode == 1, r
    assert "FAIL (invalid" in r.stdout
    assert [c.split()[0] for c in calls] == ["--check-config"]


@pytest.mark.parametrize("action,status,first", [
    ("stop", 0, None), ("status", 0, "--status"), ("check", 0,
                                                 "--check-config"),
    ("bogus", 1, None)])
def test_other_actions(fake, tmp_path, action, status, first):
    r, calls = init(fake, tmp_path, action)
    assert r.returncode == status, r
    assert [c.split()[0] for c in calls] == ([first] if first else [])


def test_post_build_without_board_keeps_the_ini(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(os.path.join(COMMON, "rootfs_overlay"), root)
    r = subprocess.run([BUSYBOX, "sh", POST, str(root)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r
    with open(os.path.join(COMMON, "rootfs_overlay", "etc",
                           "clamhook.ini")) as a:
        assert (root / "etc" / "clamhook.ini").read_text() == a.read()
    for s in ("etc/init.d/S45clamhook", "usr/libexec/clamhook/mta-hook",
              "usr/libexec/clamhook/postfix-filter",
              "usr/libexec/clamhook/smtpd-mda"):
        assert (root / s).stat().st_mode & 0o777 == 0o755
    for s in ("usr/libexec/clamhook/hook-common", "etc/default/clamhook"):
        assert (root / s).stat().st_mode & 0o777 == 0o644


def test_post_build_merges_a_fragment(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "clamhook.ini").write_text(
        "[clamd]\nserver = a\nserver = b\n  c\nport = 1\n; next\n\n"
        "[log]\ndebug = 0\n")
    board = tmp_path / "board"
    board.mkdir()
    (board / "clamhook.fragment.ini").write_text(
        "# comment\n[CLAMD]\nServer = x\nserver = y\nchunk_size = 4096\n"
        "[verdict]\nmode = 2\n")
    (board / "rootfs_overlay" / "etc").mkdir(parents=True)
    (board / "rootfs_overlay" / "etc" / "extra").write_text("x\n")
    r = subprocess.run([BUSYBOX, "sh", POST, str(root), str(board)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r
    assert (root / "etc" / "clamhook.ini").read_text() == (
        "[clamd]\nServer = x\nserver = y\nport = 1\nchunk_size = 4096\n"
        "; next\n\n[log]\ndebug = 0\n\n[verdict]\nmode = 2\n")
    assert (root / "etc" / "extra").read_text() == "x\n"
