# SPDX-License-Identifier: ISC
"""Real mail: the messages Debian packages ship as test data (fetched with
apt by tests/peer/mail-corpus.sh into a cache outside the tree, never
copied into it), scanned by clamhook and by `clamdscan --stream` against
clamd 1.4.6 and clamd 0.103.10.  clamav-testfiles' mails carry its test
executable, detected here with an .hdb line made from clam.exe.

clamhook scans each message over TCP, the Unix socket and FILDES, and all
of them in one batch over each; every verdict must be clamdscan's, with no
error.  Host and sanitizer passes only (the qemu and valgrind passes scan
synthetic mail through the same code).
"""

import glob
import hashlib
import os
import subprocess

import pytest

import support
from conftest import REPO, Clamd, clamd_0103_root

CORPUS = os.environ.get("CLAMHOOK_MAIL_CORPUS",
                        "/var/cache/clamhook/mail-corpus")
ROOT = os.path.join(CORPUS, "root")
TESTFILES = "usr/share/clamav-testfiles"
# Where each package keeps its messages, under ROOT.
GLOBS = [
    "usr/lib/python3*/test/test_email/data/msg_*.txt",
    "usr/share/gocode/src/github.com/jhillyerd/enmime/testdata/mail/*",
    "usr/lib/python3/dist-packages/hyperkitty/tests/testdata/*",
    "usr/lib/python3/dist-packages/mailman/**/tests/data/*.eml",
    "usr/lib/python3/dist-packages/dkim/tests/data/*.msg",
    "usr/share/doc/spamassassin/examples/sample-*.txt",
    TESTFILES + "/clam.mail",
    TESTFILES + "/clam.exe.mbox.*",
]
CLAM_EXE = "ClamAV-Test-File-Exe"


@pytest.fixture(scope="module")
def corpus():
    script = os.path.join(REPO, "tests", "peer", "mail-corpus.sh")
    r = subprocess.run([script, CORPUS], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=600)
    if r.returncode != 0:
        pytest.fail("mail corpus: %s failed:\n%s"
                    % (script, r.stdout.decode(errors="replace")[-3000:]),
                    pytrace=False)
    files = []
    for g in GLOBS:
        found = sorted(f for f in glob.glob(os.path.join(ROOT, g),
                                            recursive=True)
                       if os.path.isfile(f))
        assert found, "no message matches %s in %s" % (g, ROOT)
        files += found
    assert len(files) >= 120, len(files)
    return files


@pytest.fixture(scope="module")
def clamds(corpus):
    """clamd 1.4.6 and 0.103.10, each with the EICAR database and clam.exe
    as an .hdb signature."""
    with open(os.path.join(ROOT, TESTFILES, "clam.exe"), "rb") as f:
        exe = f.read()
    sigs = {"corpus.hdb": "%s:%d:%s\n" % (hashlib.md5(exe).hexdigest(),
                                          len(exe), CLAM_EXE)}
    started = []
    try:
        for name, root in (("1.4", None), ("0.103", clamd_0103_root())):
            started.append((name, Clamd.start(root=root, sigs=sigs)))
        yield started
    finally:
        for _, c in started:
            c.stop()


@pytest.fixture(autouse=True)
def _host_pass_only(clamhook):
    if clamhook.runner:
        pytest.skip("the corpus runs in the host and sanitizer passes")


def clamdscan(c, files, tmp_path):
    """clamdscan --stream's verdict for each file: (status, virus)."""
    conf = tmp_path / ("clamdscan-%d.conf" % c.port)
    conf.write_text("TCPSocket %d\nTCPAddr 127.0.0.1\n" % c.port)
    out = {}
    for f in files:
        r = subprocess.run(["clamdscan", "--config-file=%s" % conf,
                            "--stream", "--no-summary", f],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        line = r.stdout.decode(errors="replace").strip()
        assert r.returncode in (0, 1) and r.stderr == b"", (f, r)
        virus = line[len(f) + 2:-len(" FOUND")] if r.returncode else ""
        out[f] = (r.returncode, virus)
    return out


def verdict(out):
    """A shell record as (1 infected | 0 clean, virus)."""
    d = dict(support.parse_shell(out))
    assert d["CLAMHOOK_RESULT"] in ("clean", "infected"), d
    return int(d["CLAMHOOK_RESULT"] == "infected"), d["CLAMHOOK_VIRUS"]


def test_corpus_agrees_with_clamdscan(clamhook, corpus, clamds, tmp_path):
    for name, c in clamds:
        want = clamdscan(c, corpus, tmp_path)
        infected = sorted(os.path.basename(f) for f in corpus
                          if want[f][0] == 1)
        # clamav-testfiles' three mails, and nothing else.
        assert infected == ["clam.exe.mbox.base64", "clam.exe.mbox.uu",
                            "clam.mail"], (name, infected)
        assert {want[f][1] for f in corpus if want[f][0]} == \
            {CLAM_EXE + ".UNOFFICIAL"}, (name, want)
        for form, protocol in (("tcp", "instream"), ("unix", "instream"),
                               ("unix", "fildes")):
            cfg = {"clamd": {"server": c.server(form), "protocol": protocol,
                             "state_file": ""},
                   "verdict": {"format": "shell"}}
            path = clamhook.config_file(cfg, "%s-%s-%s.ini"
                                        % (name, form, protocol))
            wrong = []
            for f in corpus:
                r = clamhook(["-c", path, f], config=False)
                if (r.status, verdict(r.out)[1]) != want[f] or r.err \
                        or verdict(r.out)[0] != r.status:
                    wrong.append((f, r))
            assert wrong == [], (name, form, protocol, wrong[:3])
            # One batch: a CLAMHOOK_FILE line, then each file's record.
            r = clamhook(["-c", path] + corpus, config=False, timeout=120)
            assert r.status == 1 and r.err == b"", (name, form, r)
            parts = r.out.split(b"CLAMHOOK_FILE=")[1:]
            assert len(parts) == len(corpus), (name, form, len(parts))
            for f, part in zip(corpus, parts):
                head, _, rest = part.partition(b"\n")
                assert support.parse_shell(b"F=%s\n" % head) == [("F", f)]
                assert verdict(rest) == want[f], (name, form, f, rest)
