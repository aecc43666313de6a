# SPDX-License-Identifier: ISC
"""Configuration and command line: SPEC §1, §2, §2.1, §3 (75 while
scanning, 78 only under --check-config)."""

import os
import re

import pytest

import support
from eicar import eicar
from support import EICAR_NAME


def head(clamd):
    """Two lines: [clamd] and a server; the next line is line 3."""
    return "[clamd]\nserver = %s\n" % clamd.server("tcp")


# (id, text after head(), the line the error must name)
ERRORS = [
    ("unknown-key", "servr = 127.0.0.1\n", [3]),
    ("unknown-key-other-section", "[verdict]\nmode = 1\ncolour = red\n",
     [5]),
    ("unknown-empty-section", "[bogus]\n", [3]),
    # inih hands the key over at line 4; the header is at line 3: either
    # names the bad section.
    ("unknown-section", "[bogus]\nkey = 1\n", [3, 4]),
    ("duplicate-key", "timeout_ms = 1000\ntimeout_ms = 2000\n", [4]),
    ("duplicate-key-other-case", "[verdict]\nmode = 1\nMODE = 2\n", [5]),
    ("bad-number", "timeout_ms = 12x\n", [3]),
    ("negative-number", "timeout_ms = -5\n", [3]),
    ("empty-number", "[verdict]\nmode =\n", [4]),
    ("out-of-range", "chunk_size = 100\n", [3]),
    ("mode-out-of-range", "[verdict]\nmode = 4\n", [4]),
    ("bad-enum", "[verdict]\nformat = xml\n", [4]),
    ("bad-boolean", "[log]\nsyslog = perhaps\n", [4]),
    ("bad-server-port", "server = 127.0.0.1:99999\n", [3]),
    ("long-line", "[verdict]\nverdict = %s\n" % ("x" * 250), [4]),
    ("unix-path-too-long", "server = unix:/%s\n" % ("d/" * 60 + "s"), [3]),
    ("key-without-section-after-ini", "[log]\n=1\n", [4]),
]


@pytest.mark.parametrize("tail,lines", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_config_error(clamhook, clamd, tail, lines):
    path = clamhook.config_file(head(clamd) + tail)
    r = clamhook(["-c", path], input=support.mail_plain(), config=False)
    assert r.status == 75, r
    assert r.out == b""
    check_config_error(r.err, path, lines)
    r = clamhook(["--check-config", "-c", path], config=False)
    assert r.status == 78, r
    assert r.out == b""
    check_config_error(r.err, path, lines)


def check_config_error(err, path, lines):
    text = err.decode("ascii", "replace")
    assert text.count("\n") == 1 and text.endswith("\n"), text
    prefixes = ["clamhook: %s:%d: " % (path, n) for n in lines]
    assert any(text.startswith(p) for p in prefixes), (prefixes, text)
    assert len(text.rstrip("\n")) > len(prefixes[0]), text   # says what


# Combinations that cannot work (§2): an error naming the file (a line when
# one applies), 75, and 78 under --check-config.
COMBOS = [
    ("fildes-tcp-only", "protocol = fildes\n"),
    ("socks-with-unix", "server = unix:/tmp/x.sock\n[socks]\n"
     "server = 127.0.0.1:1080\n"),
]


@pytest.mark.parametrize("tail", [c[1] for c in COMBOS],
                         ids=[c[0] for c in COMBOS])
def test_config_impossible_combination(clamhook, clamd, tail):
    path = clamhook.config_file(head(clamd) + tail)
    r = clamhook(["-c", path], input=support.mail_plain(), config=False)
    assert r.status == 75, r
    assert r.out == b""
    text = support.assert_error_line(r.err, "clamhook: %s:" % path)
    assert text.count("\n") == 1, text
    r = clamhook(["-t", "-c", path], config=False)
    assert r.status == 78, r
    support.assert_error_line(r.err, "clamhook: %s:" % path)


def test_config_without_server(clamhook):
    path = clamhook.config_file("[verdict]\nmode = 2\n")
    r = clamhook(["-c", path], input=support.mail_plain(), config=False)
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, "clamhook: %s" % path)


def test_config_syntax_accepted(clamhook, clamd):
    """Keys and sections are case-insensitive; ';' and '#' comments, ';'
    after a space, repeated and comma-separated servers, continuations."""
    text = ("# a comment\n"
            "; another\n"
            "[CLAMD]\n"
            "Server = 127.0.0.1:%d ; inline comment\n"
            "server = %s, %s\n"
            "Timeout_MS = 20000\n"
            "[verdict]\n"
            "MODE = 2\n"
            "field = Virus-Test\n" % (clamd.port, clamd.server("unix"),
                                      clamd.server("tcp")))
    r = clamhook(input=eicar(), config=text)
    assert r.status == 1, r
    assert r.out == b"Virus-Test: True ; %s\n" % EICAR_NAME.encode()
    assert r.err == b""


def test_check_config_prints_effective_settings(clamhook, clamd, tmp_path):
    path = clamhook.config_file(head(clamd) + "[verdict]\nmode = 2\n"
                                "[socks]\nusername = u\npassword = sesame\n")
    for opt in ("--check-config", "-t"):
        r = clamhook([opt, "-c", path], config=False)
        assert r.status == 0, r
        assert r.err == b""
        text = r.out.decode()
        for section in ("clamd", "socks", "message", "verdict", "log"):
            assert re.search(r"^\[%s\]\s*$" % section, text, re.M), text
        assert re.search(r"^mode\s*=\s*2\s*$", text, re.M), text
        assert "127.0.0.1:%d" % clamd.port in text, text
        assert re.search(r"^timeout_ms\s*=\s*60000\s*$", text, re.M), text
        assert re.search(r"^max_size\s*=\s*26214400\s*$", text, re.M), text
        assert "sesame" not in text
    # conf_print's contract: the output reads back to the same settings
    again = tmp_path / "again.ini"
    again.write_bytes(r.out)
    r2 = clamhook(["--check-config", "-c", str(again)], config=False)
    assert r2.status == 0, r2
    assert r2.out == r.out.replace(b"sesame", b"(set)") or \
        r2.out.replace(str(again).encode(), path.encode()) == r.out


def test_missing_config_file(clamhook, tmp_path):
    path = str(tmp_path / "nonexistent.ini")
    r = clamhook(["-c", path], input=support.mail_plain(), config=False)
    assert r.status == 75, r
    assert r.out == b""
    support.assert_error_line(r.err, "clamhook: %s" % path,
                              "No such file or directory")
    r = clamhook(["--check-config", "-c", path], config=False)
    assert r.status == 78, r
    support.assert_error_line(r.err, "clamhook: %s" % path)


def test_clamhook_config_environment(clamhook, clamd):
    path = clamhook.config_file({"verdict": {"mode": 2}})
    r = clamhook(input=support.mail_plain(), config=False,
                 env={"CLAMHOOK_CONFIG": path})
    assert (r.status, r.out, r.err) == (0, b"Virus-Test: False\n", b""), r


def test_dash_c_overrides_environment(clamhook, tmp_path):
    good = clamhook.config_file({"verdict": {"mode": 2}})
    bad = str(tmp_path / "nonexistent.ini")
    for opt in ("-c", "--config"):
        r = clamhook([opt, good], input=support.mail_plain(), config=False,
                     env={"CLAMHOOK_CONFIG": bad})
        assert (r.status, r.out, r.err) == (0, b"Virus-Test: False\n",
                                            b""), r


def test_default_config_path(clamhook):
    if os.path.exists("/etc/clamhook.ini"):
        pytest.skip("/etc/clamhook.ini exists on this host; the test needs "
                    "it absent and does not touch it")
    r = clamhook(input=support.mail_plain(), config=False)
    assert r.status == 75, r
    support.assert_error_line(r.err, "/etc/clamhook.ini")


SUN = ("! Sun Java System Messaging Server ClamAV plug-in options\n"
       "!\n"
       "HOST=127.0.0.1\n"
       "PORT=%d\n"
       "! MODE 2: always the result string\n"
       "MODE=2\n"
       "FIELD=Virus-Test\n")


def test_sun_option_file(clamhook, clamd):
    config = SUN % clamd.port
    r = clamhook(input=support.mail_plain(), config=config)
    assert (r.status, r.out, r.err) == (0, b"Virus-Test: False\n", b""), r
    r = clamhook(input=support.mail_eicar_attachment(), config=config)
    assert (r.status, r.out, r.err) == \
        (1, b"Virus-Test: True ; %s\n" % EICAR_NAME.encode(), b""), r


def test_sun_option_file_mode_3_and_lower_case(clamhook, clamd):
    config = ("host=127.0.0.1\nport=%d\nmode=3\nverdict=clean-mail\n"
              "field=X-Scan\ndebug=0\nmaxmessagesize=2000000\n" % clamd.port)
    r = clamhook(input=support.mail_plain(), config=config)
    assert (r.status, r.out, r.err) == (0, b"clean-mail\n", b""), r
    r = clamhook(input=eicar(), config=config)
    assert (r.status, r.out, r.err) == \
        (1, b"X-Scan: True ; %s\n" % EICAR_NAME.encode(), b""), r


def test_sun_option_file_check_config(clamhook, clamd):
    path = clamhook.config_file(SUN % clamd.port)
    r = clamhook(["--check-config", "-c", path], config=False)
    assert r.status == 0, r
    assert r.err == b""
    text = r.out.decode()
    assert re.search(r"^max_size\s*=\s*1048576\s*$", text, re.M), text
    assert re.search(r"^on_oversize\s*=\s*truncate\s*$", text, re.M), text
    assert re.search(r"^mode\s*=\s*2\s*$", text, re.M), text


@pytest.mark.parametrize("text,line", [
    ("PORT=3310\nMODE=1\n", None),                          # no HOST
    ("HOST=127.0.0.1\nCOLOUR=red\n", 2),                     # unknown option
    ("HOST=127.0.0.1\nMODE=9\n", 2),                         # out of range
], ids=["no-host", "unknown-option", "bad-mode"])
def test_sun_option_file_errors(clamhook, text, line):
    path = clamhook.config_file(text)
    r = clamhook(["-c", path], input=support.mail_plain(), config=False)
    assert r.status == 75, r
    assert r.out == b""
    prefix = "clamhook: %s:" % path + ("%d: " % line if line else "")
    support.assert_error_line(r.err, prefix)
    assert r.err.decode().startswith(prefix), r
    r = clamhook(["--check-config", "-c", path], config=False)
    assert r.status == 78, r


@pytest.mark.parametrize("opt", ["-V", "--version"])
def test_version(clamhook, opt):
    r = clamhook([opt], config=False)
    assert r.status == 0, r
    assert re.fullmatch(rb"clamhook \S+\n(.*\n)*", r.out), r.out
    assert r.err == b""


@pytest.mark.parametrize("opt", ["-h", "--help"])
def test_help(clamhook, opt):
    r = clamhook([opt], config=False)
    assert r.status == 0, r
    text = r.out.decode()
    assert re.search(r"usage", text, re.I), text
    for word in ("clamhook", "-c", "--check-config", "--ping",
                 "--self-test"):
        assert word in text, (word, text)
    assert r.err == b""


@pytest.mark.parametrize("args", [
    ["--no-such-option"], ["-x"], ["-c"], ["-d"], ["-d", "x"],
    ["-d", "3"], ["-o"],
], ids=["long", "short", "c-without-file", "d-without-level",
        "d-not-a-number", "d-out-of-range", "o-without-dest"])
def test_bad_command_line(clamhook, clamd, args):
    path = clamhook.config_file(None)
    r = clamhook(["-c", path] + args if args[0] != "-c" else args,
                 input=support.mail_plain(), config=False)
    assert r.status == 75, r
    assert r.out == b""
    assert r.err.startswith(b"clamhook: "), r
