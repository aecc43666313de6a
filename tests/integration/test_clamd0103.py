# SPDX-License-Identifier: ISC
"""A real clamd 0.103.10, the last that speaks STREAM (SPEC §5.1), from a
Debian 11 chroot (tests/peer/bullseye-clamd.sh, built once into a cache
outside the tree), with the database and options of the session's clamd
1.4: every protocol over TCP, IPv6 and the Unix socket, batches, --ping,
--self-test, the size limits, and the Sun option file.  The scripted peer
in test_legacy.py stays for what a real clamd does not do on purpose.

These tests run in the host pass and under the sanitizers; the qemu and
valgrind passes leave them to test_legacy.py's peer, which drives the same
code (README, "Testing").
"""

import os
import re
import subprocess

import pytest

import support
from eicar import eicar
from test_config import SUN

EICAR = support.EICAR_NAME
CLEAN_LINE = support.expected_line(1, None)
FOUND_LINE = support.expected_line(1, EICAR)

# The message kinds: clean, base64 and zipped EICAR, EICAR 3 MiB into a
# 4 MiB message (past the ring buffer: a file is sent twice only when
# needed, a pipe streams).
KINDS = {
    "clean": (support.mail_plain, 0),
    "base64": (support.mail_eicar_attachment, 1),
    "zip": (support.mail_eicar_zip, 1),
    "late": (lambda: support.message_at(3 * support.MIB,
                                        4 * support.MIB), 1),
}

# Which server forms each protocol is run on.  STREAM's data connection from a Unix socket and from ::1
# goes to 127.0.0.1, from a name to its IPv4 address.
FORMS = [("stream", "tcp"), ("stream", "unix"), ("stream", "ipv6"),
         ("stream", "localhost"), ("instream", "tcp"), ("instream", "unix"),
         ("instream", "ipv6"), ("fildes", "unix")]


@pytest.fixture(autouse=True)
def _host_pass_only(clamhook):
    if clamhook.runner:
        pytest.skip("clamd 0.103 runs in the host and sanitizer passes; "
                    "under %s test_legacy.py's peer drives STREAM"
                    % os.path.basename(clamhook.runner[0]))


def config(c, form, protocol, **clamd):
    if form == "ipv6" and not c.ipv6:
        pytest.fail("no IPv6 loopback on this machine", pytrace=False)
    keys = {"server": c.server(form), "protocol": protocol,
            "state_file": "", "timeout_ms": 30000}
    keys.update(clamd)
    return {"clamd": keys, "verdict": {"format": "shell"}}


def shown(c, form):
    """The server as clamhook names it: a name with the address used."""
    if form == "localhost":
        return "localhost[127.0.0.1]:%d" % c.port
    return c.server(form)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("protocol,form", FORMS,
                         ids=["-".join(f) for f in FORMS])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("how", ["pipe", "file"])
def test_message(clamhook, clamd_0103, tmp_path, protocol, form, kind, how):
    build, want = KINDS[kind]
    data = build()
    cfg = config(clamd_0103, form, protocol)
    if how == "pipe":
        r = clamhook(input=data, config=cfg)
    else:
        r = clamhook([write(tmp_path, "m.eml", data)], config=cfg)
    assert r.status == want and r.err == b"", r
    support.check_shell(r.out, "infected" if want else "clean",
                        virus=EICAR if want else "",
                        verdict=support.mode_string(1, EICAR if want
                                                    else None),
                        server=shown(clamd_0103, form), nbytes=len(data),
                        sent=len(data))


@pytest.mark.parametrize("protocol,form", [
    ("stream", "tcp"), ("stream", "unix"), ("instream", "tcp"),
    ("instream", "unix"), ("fildes", "unix")])
def test_batch(clamhook, clamd_0103, tmp_path, protocol, form):
    """Several files: one IDSESSION for instream and fildes; STREAM is
    refused inside one (clamd 0.103: "Command invalid inside IDSESSION"),
    so with protocol = stream each file has its own connection."""
    names = list(KINDS)
    files = [write(tmp_path, "%s.eml" % k, KINDS[k][0]()) for k in names]
    cfg = config(clamd_0103, form, protocol)
    cfg["verdict"] = {"format": "line"}
    r = clamhook(files, config=cfg)
    assert r.status == 1 and r.err == b"", r
    assert r.out == b"".join(
        b"%s\t%s" % (f.encode(), FOUND_LINE if KINDS[k][1] else CLEAN_LINE)
        for f, k in zip(files, names)), r
    assert "invalid inside IDSESSION" not in clamd_0103.log_text()


def test_stream_debug_log_has_every_step(clamhook, clamd_0103):
    """The Sun plug-in's debug 1 steps, each with its line: the request,
    the PORT reply, the data connection, what was sent, the result and the
    verdict."""
    data = support.mail_eicar_attachment()
    cfg = config(clamd_0103, "tcp", "stream")
    cfg["log"] = {"debug": 1}
    r = clamhook(input=data, config=cfg)
    assert r.status == 1, r
    text = r.err.decode()
    server = clamd_0103.server("tcp")
    port = re.search(r"reply from %s: PORT (\d+)" % re.escape(server), text)
    assert port, text
    for step in ["connect %s" % server,
                 "STREAM stdin to %s" % server,
                 "connect 127.0.0.1:%s" % port.group(1),
                 "sent %d bytes" % len(data),
                 "reply from %s: stream: %s FOUND" % (server, EICAR),
                 "result: infected: %s (%s)" % (EICAR, server),
                 "verdict: ", "exit 1"]:
        assert step in text, (step, text)


def test_ping_and_self_test(clamhook, clamd_0103):
    names = [clamd_0103.server("tcp"), clamd_0103.server("unix")]
    cfg = {"clamd": {"server": names, "state_file": ""}}
    r = clamhook(["--ping"], config=cfg)
    assert r.status == 0 and r.err == b"", r
    assert r.out.decode() == "".join(
        "%s: %s\n" % (n, support.clamd_command(clamd_0103.port, "VERSION"))
        for n in names), r
    for protocol in ("instream", "stream"):
        cfg["clamd"]["protocol"] = protocol
        r = clamhook(["--self-test"], config=cfg)
        assert r.status == 0 and r.err == b"", r
        assert r.out.decode() == "".join(
            "%s: FOUND %s\n" % (n, EICAR) for n in names), r


def test_sun_option_file(clamhook, clamd_0103):
    config_text = SUN % clamd_0103.port
    r = clamhook(input=support.mail_plain(), config=config_text)
    assert (r.status, r.out, r.err) == (0, b"Virus-Test: False\n", b""), r
    r = clamhook(input=support.mail_eicar_attachment(), config=config_text)
    assert (r.status, r.out, r.err) == \
        (1, b"Virus-Test: True ; %s\n" % EICAR.encode(), b""), r


def test_instream_size_limit(clamhook, make_clamd):
    small = make_clamd(root=clamd_root(), StreamMaxLength="100K")
    r = clamhook(input=support.filler(300 * support.KIB),
                 config=config(small, "tcp", "instream"))
    assert r.status == 75, r
    # How much was sent before clamd's reply came depends on the socket
    # buffers: not checked.
    support.check_shell(r.out, "error", nbytes=300 * support.KIB,
                        error="INSTREAM size limit exceeded")
    support.assert_error_line(r.err, small.server("tcp"), "size limit",
                              "StreamMaxLength")


def clamd_root():
    from conftest import clamd_0103_root
    return clamd_0103_root()


# ---------------------------------------------------------------------------
# STREAM and clamd's StreamMaxLength (SPEC §5.1): clamd stops reading at
# its limit and answers OK for what it read, and a SOCKS proxy in between
# hides even the reset.  With max_size at the limit, a virus just past it
# is never called clean: it is over max_size, and on_oversize decides.

LIMIT = 100 * support.KIB


@pytest.mark.parametrize("via", ["direct", "microsocks", "dante"])
@pytest.mark.parametrize("offset,size", [
    (LIMIT, LIMIT + 1024),          # the virus starts at the limit
    (LIMIT + 1, 2 * LIMIT),
    (LIMIT + 4096, 10 * LIMIT),
    (LIMIT - 30, LIMIT + 4096),     # straddles it
])
def test_stream_virus_past_the_limit(clamhook, make_clamd, microsocks,
                                     danted, tmp_path, via, offset, size):
    small = make_clamd(root=clamd_root(), StreamMaxLength="100K")
    data = support.message_at(offset, size)
    cfg = config(small, "tcp", "stream")
    cfg["message"] = {"max_size": LIMIT}
    if via != "direct":
        proxy = microsocks() if via == "microsocks" else danted()
        cfg["socks"] = {"server": "127.0.0.1:%d" % proxy.port}
    path = write(tmp_path, "m.eml", data)
    for policy, status, result in [("truncate", 0, "partial"),
                                   ("tempfail", 75, "error"),
                                   ("reject", 1, "infected")]:
        cfg["message"]["on_oversize"] = policy
        for how in ("pipe", "file"):
            r = (clamhook(input=data, config=cfg) if how == "pipe"
                 else clamhook([path], config=cfg))
            assert r.status == status, (policy, how, r)
            rec = dict(support.parse_shell(r.out)) if r.out else {}
            assert rec.get("CLAMHOOK_RESULT") in (result, None), \
                (policy, how, r)
            assert rec.get("CLAMHOOK_RESULT") != "clean"


@pytest.mark.parametrize("via", ["direct", "microsocks", "dante"])
def test_stream_virus_within_the_limit(clamhook, make_clamd, microsocks,
                                       danted, via):
    small = make_clamd(root=clamd_root(), StreamMaxLength="100K")
    data = support.message_at(LIMIT - 200, LIMIT)
    cfg = config(small, "tcp", "stream")
    cfg["message"] = {"max_size": LIMIT}
    if via != "direct":
        proxy = microsocks() if via == "microsocks" else danted()
        cfg["socks"] = {"server": "127.0.0.1:%d" % proxy.port}
    r = clamhook(input=data, config=cfg)
    assert r.status == 1 and r.err == b"", r
    support.check_shell(r.out, "infected", virus=EICAR,
                        verdict=support.mode_string(1, EICAR),
                        server=small.server("tcp"), sent=len(data))


def test_stream_to_modern_clamd_is_unknown_command(clamhook, clamd):
    """The same configuration against clamd 1.4: a clear reason, 75."""
    r = clamhook(input=support.mail_plain(),
                 config=config(clamd, "tcp", "stream"))
    assert (r.status, r.out[:0]) == (75, b""), r
    support.assert_error_line(r.err, clamd.server("tcp"), "no STREAM")


def test_chroot_clamd_is_0103(clamd_0103):
    out = subprocess.run(["chroot", clamd_0103.root, "/usr/sbin/clamd",
                          "--version"], stdout=subprocess.PIPE,
                         check=True).stdout
    assert out.startswith(b"ClamAV 0.103."), out
    assert support.clamd_instream(clamd_0103.port, eicar()) == \
        "stream: %s FOUND" % EICAR
