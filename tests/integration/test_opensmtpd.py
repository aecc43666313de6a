# SPDX-License-Identifier: ISC
"""The board's OpenSMTPD recipe, the smtpd-mda wrapper, in a real
OpenSMTPD 6.8 (Debian 12's opensmtpd) in a chroot (mta_chroot.py), mail
sent over SMTP on loopback:

- the action and match lines are the board readme's, copied as written;
- the board is set up as at boot: CLAMHOOK_USER=u (the mda runs as the
  recipient, the appliance's one mailbox) in /etc/default/clamhook,
  S45clamhook start;
- clean mail lands in u's Maildir with the verdict's header lines;
  infected mail is quarantined and delivered nowhere, and no bounce is
  made; with clamd down the mda tempfails, the message waits in the
  queue, and it is delivered by `smtpctl schedule all` once clamd is back.
"""

import os
import smtplib
from email.utils import make_msgid

import pytest

import mta_chroot
import support
from eicar import eicar

mta_chroot.need_plain_host_binary()

USER = "u"
RCPT = USER + "@localhost"
SENDER = "alice@example.org"
MAILDIR = "/home/u/Maildir"
CONF = "/etc/smtpd-clamhook.conf"


class Smtpd:
    """smtpd -d with the readme's lines in an MtaRoot."""

    def __init__(self, clamd):
        self.box = mta_chroot.MtaRoot("opensmtpd")
        try:
            self.port = support.free_port()
            self.box.run(["useradd", "-m", USER])
            self.box.configure(USER, server=clamd.server("tcp"))
            self.box.board_start()
            self.recipe = mta_chroot.readme_block('action "local"',
                                                  'match from any')
            self.box.write(CONF, "listen on 127.0.0.1 port %d\n%s"
                           % (self.port, self.recipe))
            self.box.run(["smtpd", "-n", "-f", CONF])
            self.log = os.path.join(self.box.top, "smtpd.out")
            self.proc = self.box.daemon(["smtpd", "-d", "-f", CONF],
                                        self.log)
            mta_chroot.wait_port(self.port, self.proc, self.log)
        except BaseException:
            self.box.close()
            raise

    def send(self, body):
        """Send one message, accepted into the queue; its Message-ID and
        smtpd's id for it (from the reply to DATA)."""
        msgid = make_msgid(domain="example.org")
        data = (b"From: <%s>\r\nTo: <%s>\r\nSubject: test\r\n"
                b"Message-ID: %s\r\n\r\n" % (SENDER.encode(), RCPT.encode(),
                                             msgid.encode())) + body
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            s.ehlo("client.example.org")
            s.mail(SENDER)
            assert s.rcpt(RCPT)[0] == 250
            code, text = s.data(data)
        # "2.0.0 9c7b6b0d Message accepted for delivery"
        assert code == 250 and text.endswith(b"accepted for delivery"), text
        return msgid, text.split()[1].decode()

    def maildir(self):
        """The files in u's Maildir/new: {name: bytes}."""
        d = self.box.path(MAILDIR + "/new")
        if not os.path.isdir(d):
            return {}
        return {n: open(os.path.join(d, n), "rb").read()
                for n in os.listdir(d)}

    def delivered(self, msgid):
        """The Maildir copy holding msgid, or None."""
        return next((b for b in self.maildir().values()
                     if msgid.encode() in b), None)

    def queue(self):
        """smtpctl show queue: one line per envelope."""
        return self.box.run(["smtpctl", "show", "queue"]).stdout.decode()

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def results(self, qid):
        """smtpd's delivery lines for the message smtpd calls qid (its
        envelopes' ids start with it)."""
        return [s for s in self.text().splitlines()
                if " delivery evpid=" + qid in s and " result=" in s]

    def close(self):
        self.box.close()


@pytest.fixture(scope="module")
def smtpd(module_clamd):
    s = Smtpd(module_clamd)
    try:
        yield s
    finally:
        s.close()


def test_the_recipe_is_the_readmes(smtpd):
    assert smtpd.recipe == (
        'action "local" mda "/usr/libexec/clamhook/smtpd-mda '
        '%{user.directory}/Maildir"\n'
        'match from any for local action "local"\n')


def test_clean_delivered_with_headers(smtpd):
    msgid, _ = smtpd.send(b"Hello, a clean message.\r\n")
    copy = mta_chroot.wait_for("delivery to " + MAILDIR,
                               lambda: smtpd.delivered(msgid), smtpd.text)
    version = smtpd.box.run(["clamhook", "-V"]).stdout.split()[1]
    head, _, body = copy.partition(b"\n\n")
    assert head.startswith(b"X-Virus-Scanned: clamhook %s\n"
                           b"X-Virus-Status: Clean\nReturn-Path: " % version)
    assert body == b"Hello, a clean message.\n"
    st = os.stat(smtpd.box.path(MAILDIR + "/new"))
    uid = int(smtpd.box.run(["id", "-u", USER]).stdout)
    assert st.st_uid == uid


def test_infected_quarantined_no_bounce(smtpd):
    before = smtpd.box.quarantine()
    msgid, qid = smtpd.send(b"attached:\r\n" + eicar() + b"\r\n")
    res = mta_chroot.wait_for("the delivery result",
                              lambda: smtpd.results(qid), smtpd.text)
    assert all("result=Ok" in s for s in res), res
    new = {n: b for n, b in smtpd.box.quarantine().items() if n not in before}
    assert len(new) == 1, new
    copy, = new.values()
    assert msgid.encode() in copy and eicar() in copy
    assert smtpd.delivered(msgid) is None
    # no bounce: the queue empties (a bounce to example.org would stay)
    mta_chroot.wait_for("an empty queue", lambda: smtpd.queue() == "",
                        smtpd.queue)
    assert "from=<>" not in smtpd.text()
    assert smtpd.box.leftovers() == []


def test_clamd_down_tempfails_then_schedule_all(smtpd, module_clamd):
    module_clamd.stop(remove=False)
    msgid, qid = smtpd.send(b"Delivered once clamd is back.\r\n")
    res = mta_chroot.wait_for("the delivery result",
                              lambda: smtpd.results(qid), smtpd.text)
    assert all("result=TempFail" in s for s in res), res
    assert smtpd.delivered(msgid) is None
    assert smtpd.queue().count("\n") == 1
    module_clamd.restart()
    smtpd.box.run(["smtpctl", "schedule", "all"])
    copy = mta_chroot.wait_for("delivery after schedule all",
                               lambda: smtpd.delivered(msgid), smtpd.text)
    assert b"\nX-Virus-Status: Clean\n" in copy
    mta_chroot.wait_for("an empty queue", lambda: smtpd.queue() == "",
                        smtpd.queue)
    assert smtpd.box.leftovers() == []
