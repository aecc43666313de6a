# SPDX-License-Identifier: ISC
"""The board's Exim recipe in a real Exim 4.96 (Debian 12's
exim4-daemon-heavy, built with content scanning) in a chroot
(mta_chroot.py), mail sent over SMTP on loopback:

- the DATA ACL is the board readme's, copied from it as written;
- the board is set up as at boot: CLAMHOOK_USER=Debian-exim (the user
  ${run} runs the hook as) in /etc/default/clamhook, the readme's
  timeout_ms = 50000, S45clamhook start;
- clean mail is accepted (250) and lands in the recipient's mailbox;
  infected mail is refused (550) and its copy is in the quarantine;
  with clamd down the answer is 451; with clamd hung (a peer that takes
  the message and never answers) the answer is 451 too, before Exim's
  own 60 s limit on ${run} kills the hook, and nothing is left in /tmp.
"""

import os
import smtplib
import time
from email.utils import make_msgid

import pytest

import mta_chroot
import support
from eicar import eicar
from mta_chroot import Blackhole

mta_chroot.need_plain_host_binary()

USER = "Debian-exim"        # ${run}'s user: Exim's own
RCPT = "u@example.com"
SENDER = "alice@example.org"
TIMEOUT_MS = 50000          # the readme's, under ${run}'s 60 s
RUN_LIMIT = 60              # Exim's limit on a ${run} command
# Exim's own config file (an -C one would cost the delivery its root)
CONF = "/etc/exim4/exim4.conf"

EXIM_CONF = """\
primary_hostname = mail.example.com
domainlist local_domains = example.com
qualify_domain = example.com
daemon_smtp_ports = %(port)d
local_interfaces = 127.0.0.1
never_users = root
host_lookup =
rfc1413_hosts =
keep_environment =
tls_advertise_hosts =
spool_directory = /var/spool/exim4
log_file_path = /var/log/exim4/%%slog
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_data = acl_check_data

begin acl

acl_check_rcpt:
  accept domains = +local_domains
  deny   message = relay not permitted

%(data_acl)s
begin routers

local_user:
  driver = accept
  domains = +local_domains
  check_local_user
  transport = local_delivery

begin transports

local_delivery:
  driver = appendfile
  file = /var/mail/$local_part_data
  delivery_date_add
  envelope_to_add
  return_path_add
  group = mail
  mode = 0660
"""


class Exim:
    """exim4 -bdf with the config above in an MtaRoot."""

    def __init__(self, clamd):
        self.clamd = clamd
        self.box = mta_chroot.MtaRoot("exim")
        try:
            self.port = support.free_port()
            self.box.run(["useradd", "-m", "u"])
            self.box.configure(USER, server=clamd.server("tcp"),
                               timeout_ms=TIMEOUT_MS)
            self.box.board_start()
            self.acl = mta_chroot.readme_block("acl_check_data:", "accept")
            self.box.write(CONF, EXIM_CONF % {"port": self.port,
                                              "data_acl": self.acl})
            self.box.run(["exim4", "-bV"])
            self.log = os.path.join(self.box.top, "exim.out")
            self.proc = self.box.daemon(["exim4", "-bdf"], self.log)
            mta_chroot.wait_port(self.port, self.proc, self.log)
        except BaseException:
            self.box.close()
            raise

    def send(self, body):
        """Send one message; returns (its Message-ID, the DATA reply
        (code, text), seconds taken)."""
        msgid = make_msgid(domain="example.org")
        data = (b"From: <%s>\r\nTo: <%s>\r\nSubject: test\r\n"
                b"Message-ID: %s\r\n\r\n" % (SENDER.encode(), RCPT.encode(),
                                             msgid.encode())) + body
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", self.port, timeout=RUN_LIMIT + 30) \
                as s:
            s.ehlo("client.example.org")
            s.mail(SENDER)
            code, text = s.rcpt(RCPT)
            assert code == 250, (code, text)
            code, text = s.data(data)
        return msgid, (code, text.decode()), time.monotonic() - t0

    def mailbox(self):
        try:
            return self.box.read("/var/mail/u")
        except FileNotFoundError:
            return b""

    def mainlog(self):
        try:
            return self.box.read("/var/log/exim4/mainlog").decode(
                errors="replace")
        except FileNotFoundError:
            return ""

    def close(self):
        self.box.close()


@pytest.fixture(scope="module")
def exim(module_clamd):
    e = Exim(module_clamd)
    try:
        yield e
    finally:
        e.close()


def test_the_acl_is_the_readmes(exim):
    """The DATA ACL came from the readme and runs the board's hook."""
    assert exim.acl.startswith("acl_check_data:\n")
    assert "${run{/usr/libexec/clamhook/mta-hook" in exim.acl
    assert exim.acl.rstrip().endswith("accept")


def test_board_gave_exim_the_quarantine(exim):
    st = os.stat(exim.box.path("/var/spool/clamhook/quarantine"))
    uid = int(exim.box.run(["id", "-u", USER]).stdout)
    assert (st.st_uid, st.st_mode & 0o777) == (uid, 0o700)


def test_clean_250_and_delivered(exim):
    msgid, reply, _ = exim.send(b"Hello, a clean message.\r\n")
    assert reply[0] == 250, reply
    box = mta_chroot.wait_for("delivery to /var/mail/u",
                              lambda: msgid.encode() in exim.mailbox()
                              and exim.mailbox(), exim.mainlog)
    assert b"Hello, a clean message.\n" in box
    assert exim.box.quarantine() == {}


def test_infected_550_and_quarantined(exim):
    before = exim.box.quarantine()
    msgid, reply, _ = exim.send(b"attached:\r\n" + eicar() + b"\r\n")
    assert reply == (550, "message rejected: virus found"), reply
    new = {n: b for n, b in exim.box.quarantine().items() if n not in before}
    assert len(new) == 1, new
    copy, = new.values()
    assert msgid.encode() in copy and eicar() in copy
    assert msgid.encode() not in exim.mailbox()
    assert exim.box.leftovers() == []


def test_clamd_down_451(exim, module_clamd):
    module_clamd.stop(remove=False)
    msgid, reply, _ = exim.send(b"Scanned when clamd is back.\r\n")
    assert reply == (451, "virus scan unavailable, try again later"), reply
    assert msgid.encode() not in exim.mailbox()
    assert exim.box.leftovers() == []


def test_clamd_hung_451_before_exims_limit(exim):
    """A clamd that takes the message and never answers: clamhook's
    timeout_ms (50 s, the readme's) ends the wait before Exim's 60 s
    limit would kill the hook, so the sender gets a clean 451 and the
    hook cleans up after itself."""
    with Blackhole("silent") as hole:
        exim.box.set_key("server", hole.address)
        msgid, reply, took = exim.send(b"Never answered.\r\n")
        assert hole.accepted >= 1
    assert reply == (451, "virus scan unavailable, try again later"), reply
    assert TIMEOUT_MS / 1000 - 1 < took < RUN_LIMIT, took
    assert msgid.encode() not in exim.mailbox()
    assert exim.box.leftovers() == []
