# SPDX-License-Identifier: ISC
"""clamd through a SOCKS proxy (SPEC §2 [socks], §5.3).

Real proxies on loopback: microsocks (SOCKS5, with and without RFC 1929
user/password) and dante (SOCKS5 and SOCKS4; dante has no 4a name form).
The scripted proxy tests/peer/socks_peer.py gives what a real one on
loopback cannot: every refusal code, a wrong version, method FF, a reply
dripped one byte at a time, silence, and a record of what clamhook sent.
Every test asserts the exit status, the exact verdict and the stderr
reason, which must name the proxy.
"""

import os
import sys

import pytest

import support
from eicar import eicar

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "peer"))

from socks_peer import SocksPeer  # noqa: E402

CLEAN = support.mail_plain()
EICAR_MAIL = support.mail_eicar_attachment()
OUT_CLEAN = support.expected_line(1, None)
OUT_EICAR = support.expected_line(1, support.EICAR_NAME)


@pytest.fixture
def socks_peer():
    """socks_peer(**scenario) -> a running SocksPeer (.port, .result())."""
    started = []

    def start(**scenario):
        scenario.setdefault("max_seconds", 60)
        p = SocksPeer(scenario)
        p.start()
        started.append(p)
        return p

    try:
        yield start
    finally:
        for p in started:
            p.stop()
            p.join(10)


def socks_config(clamd, proxy_port, server=None, **socks):
    """A configuration: the session clamd (or server) through the proxy."""
    s = {"server": "127.0.0.1:%d" % proxy_port}
    s.update({k: str(v) for k, v in socks.items()})
    return {"clamd": {"server": server or clamd.server("tcp"),
                      "state_file": "", "timeout_ms": "10000"},
            "socks": s}


def settled(peer, n=1, timeout=5):
    """The peer's records once n connections are over (bounded wait: a
    relay may still be closing when clamhook has exited)."""
    def done():
        conns = peer.result()["conns"]
        return len(conns) >= n and all(c.get("done") for c in conns)
    support.wait_for(done, timeout)
    return peer.result()["conns"]


def check_failed(r, port, *needles):
    """75, nothing written, one error line naming the proxy and saying
    why."""
    status, out, err, _ = r
    assert not r.timed_out, r
    assert status == 75, r
    assert out == b"", r
    support.assert_error_line(err, "127.0.0.1:%d" % port, *needles)


def check_ok(r, out_expected, status_expected):
    status, out, err, _ = r
    assert not r.timed_out, r
    assert (status, out, err) == (status_expected, out_expected, b""), r


# ---------------------------------------------------------------------------
# Verdicts through each real proxy are the verdicts without one.

PROXIES = ["microsocks", "microsocks-auth", "dante-5", "dante-4a",
           "peer-relay"]


@pytest.fixture
def proxy(request, clamd, microsocks, danted, socks_peer):
    """(port, socks settings) for one kind of working proxy."""
    kind = request.param
    if kind == "microsocks":
        return microsocks().port, {}
    if kind == "microsocks-auth":
        return microsocks("clamhook", "pa55 word").port, \
            {"username": "clamhook", "password": "pa55 word"}
    if kind == "dante-5":
        return danted().port, {}
    if kind == "dante-4a":
        return danted().port, {"version": "4a"}
    if kind == "peer-relay":
        return socks_peer().port, {}
    raise ValueError(kind)


@pytest.mark.parametrize("proxy", PROXIES, indirect=True)
@pytest.mark.parametrize("message,out,status", [
    (CLEAN, OUT_CLEAN, 0),
    (EICAR_MAIL, OUT_EICAR, 1),
    (eicar(), OUT_EICAR, 1),
], ids=["clean", "eicar-attachment", "eicar"])
def test_verdict_same_as_direct(clamhook, clamd, proxy, message, out,
                                status):
    direct = clamhook(input=message, config={"clamd": {"state_file": ""}})
    check_ok(direct, out, status)
    port, settings = proxy
    r = clamhook(input=message, config=socks_config(clamd, port, **settings))
    check_ok(r, out, status)


@pytest.mark.parametrize("proxy", ["microsocks", "dante-5", "peer-relay"],
                         indirect=True)
def test_size_limit_same_as_direct(clamhook, make_clamd, proxy, request):
    small = make_clamd(StreamMaxLength="100K")
    message = support.filler(300 * support.KIB)
    cfg = {"clamd": {"server": small.server("tcp"), "state_file": "",
                     "timeout_ms": "20000"}}
    direct = clamhook(input=message, config=cfg)
    assert direct.status == 75 and direct.out == b"", direct
    support.assert_error_line(direct.err, "size limit")
    port, settings = proxy
    r = clamhook(input=message,
                 config=socks_config(small, port, server=small.server("tcp"),
                                     **settings))
    assert not r.timed_out, r
    assert (r.status, r.out) == (direct.status, direct.out), r
    if request.node.callspec.params["proxy"] == "peer-relay":
        # A relay that passes on clamd's half-close keeps the reason.
        support.assert_error_line(r.err, "size limit")
    else:
        # microsocks and dante stop relaying when clamd stops reading and
        # close with clamd's reply unread: the verdict is the same (75,
        # nothing written), the reason only says the connection ended.
        support.assert_error_line(r.err, small.server("tcp"))


# ---------------------------------------------------------------------------
# microsocks: user/password.

def test_microsocks_wrong_password(clamhook, clamd, microsocks):
    m = microsocks("clamhook", "right")
    r = clamhook(input=CLEAN, config=socks_config(
        clamd, m.port, username="clamhook", password="wrong"))
    check_failed(r, m.port, "SOCKS5 proxy: authentication rejected (status ")


def test_microsocks_needs_credentials(clamhook, clamd, microsocks):
    m = microsocks("clamhook", "right")
    r = clamhook(input=CLEAN, config=socks_config(clamd, m.port))
    check_failed(r, m.port,
                 "no acceptable authentication method (method FF)")


def test_microsocks_remote_dns(clamhook, clamd, microsocks):
    m = microsocks()
    r = clamhook(input=EICAR_MAIL, config=socks_config(
        clamd, m.port, server=clamd.server("localhost"), remote_dns="yes"))
    check_ok(r, OUT_EICAR, 1)


def test_microsocks_proxy_down(clamhook, clamd):
    port = support.closed_port()
    r = clamhook(input=CLEAN, config=socks_config(clamd, port))
    check_failed(r, port, "SOCKS proxy")


# ---------------------------------------------------------------------------
# dante: ruleset refusal, SOCKS4.

def test_dante_ruleset_refusal(clamhook, clamd, danted):
    d = danted(block=True)
    r = clamhook(input=EICAR_MAIL, config=socks_config(clamd, d.port))
    check_failed(r, d.port, "REP 02 connection not allowed by ruleset")


def test_dante_socks4_ruleset_refusal(clamhook, clamd, danted):
    d = danted(block=True)
    r = clamhook(input=CLEAN, config=socks_config(clamd, d.port,
                                                  version="4a"))
    check_failed(r, d.port, "CD 91 request rejected or failed")


def test_dante_socks4a_name_unsupported(clamhook, clamd, danted):
    """dante speaks SOCKS4 but not the 4a name form: it refuses the
    request (CD 91), and clamhook says so."""
    d = danted()
    r = clamhook(input=CLEAN, config=socks_config(
        clamd, d.port, server=clamd.server("localhost"), version="4a",
        remote_dns="yes"))
    check_failed(r, d.port, "SOCKS4a proxy refused: CD 91")


# ---------------------------------------------------------------------------
# What clamhook sends, checked by the scripted proxy.

def test_peer_remote_dns_name_only_proxy_knows(clamhook, clamd, socks_peer):
    p = socks_peer(hosts={"clamd.socks-only.invalid": "127.0.0.1"})
    r = clamhook(input=EICAR_MAIL, config=socks_config(
        clamd, p.port, server="clamd.socks-only.invalid:%d" % clamd.port,
        remote_dns="yes"))
    check_ok(r, OUT_EICAR, 1)
    conns = settled(p)
    assert len(conns) == 1, conns
    c = conns[0]
    assert (c["version"], c["methods"], c["atyp"], c["host"], c["port"]) \
        == (5, [0], 3, "clamd.socks-only.invalid", clamd.port), c
    assert c["stage"] == "relayed", c


def test_peer_remote_dns_off(clamhook, clamd, socks_peer):
    """remote_dns = no: the name must resolve here; it does not, and the
    proxy never hears of it."""
    p = socks_peer(hosts={"clamd.socks-only.invalid": "127.0.0.1"})
    r = clamhook(input=CLEAN, config=socks_config(
        clamd, p.port, server="clamd.socks-only.invalid:%d" % clamd.port,
        remote_dns="no"))
    assert r.status == 75 and r.out == b"", r
    support.assert_error_line(r.err, "clamd.socks-only.invalid")
    assert p.result()["conns"] == []


def test_peer_userpass_bytes(clamhook, clamd, socks_peer):
    p = socks_peer(user="mail", password="s3cret")
    r = clamhook(input=CLEAN, config=socks_config(
        clamd, p.port, username="mail", password="s3cret"))
    check_ok(r, OUT_CLEAN, 0)
    c = settled(p)[0]
    assert (c["methods"], c["method"], c["auth_version"], c["user"],
            c["password"], c["atyp"], c["host"]) == \
        ([0, 2], 2, 1, "mail", "s3cret", 1, "127.0.0.1"), c


def test_peer_ipv6_target(clamhook, clamd, socks_peer):
    if not clamd.ipv6:
        pytest.skip("no IPv6 loopback on this host")
    p = socks_peer()
    r = clamhook(input=EICAR_MAIL, config=socks_config(
        clamd, p.port, server=clamd.server("ipv6")))
    check_ok(r, OUT_EICAR, 1)
    c = settled(p)[0]
    assert (c["atyp"], c["host"], c["port"]) == (4, "::1", clamd.port), c


def test_peer_socks4a_name(clamhook, clamd, socks_peer):
    p = socks_peer(hosts={"clamd.socks-only.invalid": "127.0.0.1"})
    r = clamhook(input=EICAR_MAIL, config=socks_config(
        clamd, p.port, server="clamd.socks-only.invalid:%d" % clamd.port,
        version="4a", username="mail", remote_dns="yes"))
    check_ok(r, OUT_EICAR, 1)
    c = settled(p)[0]
    assert (c["version"], c["dstip"], c["userid"], c.get("socks4a"),
            c["host"], c["port"]) == \
        (4, "0.0.0.1", "mail", True, "clamd.socks-only.invalid",
         clamd.port), c


def test_peer_socks4a_ipv6_refused_here(clamhook, clamd, socks_peer):
    if not clamd.ipv6:
        pytest.skip("no IPv6 loopback on this host")
    p = socks_peer()
    r = clamhook(input=CLEAN, config=socks_config(
        clamd, p.port, server=clamd.server("ipv6"), version="4a"))
    check_failed(r, p.port, "SOCKS4a cannot carry an IPv6 address")
    for c in settled(p):
        assert c.get("closed_by_client") and "version" not in c, c


# ---------------------------------------------------------------------------
# Refusals and broken proxies.

@pytest.mark.parametrize("rep,text", [
    (0x01, "REP 01 general SOCKS server failure"),
    (0x03, "REP 03 network unreachable"),
    (0x04, "REP 04 host unreachable"),
    (0x05, "REP 05 connection refused"),
    (0x06, "REP 06 TTL expired"),
    (0x07, "REP 07 command not supported"),
    (0x08, "REP 08 address type not supported"),
    (0x09, "unassigned reply code 0x09"),
    (0xff, "unassigned reply code 0xFF"),
])
def test_peer_rep_codes(clamhook, clamd, socks_peer, rep, text):
    p = socks_peer(rep=rep)
    r = clamhook(input=EICAR_MAIL, config=socks_config(clamd, p.port))
    check_failed(r, p.port, "SOCKS5 proxy refused: " + text)


@pytest.mark.parametrize("cd,text", [
    (91, "CD 91 request rejected or failed"),
    (92, "CD 92 rejected: the proxy cannot reach identd on the client"),
    (93, "CD 93 rejected: identd and the client report different user ids"),
    (94, "unknown reply code 94"),
])
def test_peer_socks4_codes(clamhook, clamd, socks_peer, cd, text):
    p = socks_peer(rep=cd)
    r = clamhook(input=CLEAN, config=socks_config(clamd, p.port,
                                                  version="4a"))
    check_failed(r, p.port, "SOCKS4a proxy refused: " + text)


@pytest.mark.parametrize("scenario,text", [
    ({"reply_version": 4}, "SOCKS5 proxy: not a SOCKS5 reply (version 4)"),
    ({"method_version": 4}, "SOCKS5 proxy: not a SOCKS5 reply (version 4)"),
    ({"method": 0xff}, "no acceptable authentication method (method FF)"),
    ({"method": 0x01}, "a method that was not offered (method 01)"),
    ({"atyp": 7}, "bad address type in reply (ATYP 7)"),
    ({"hangup": "greeting"},
     "SOCKS5 proxy closed the connection during the handshake"),
    ({"hangup": "request"},
     "SOCKS5 proxy closed the connection during the handshake"),
    ({"reply_hex": "0500000100", "relay": False},
     "SOCKS5 proxy closed the connection during the handshake"),
], ids=["reply-version", "method-version", "method-ff", "method-01",
        "atyp-7", "hangup-greeting", "hangup-request", "short-reply"])
def test_peer_broken(clamhook, clamd, socks_peer, scenario, text):
    p = socks_peer(**scenario)
    r = clamhook(input=CLEAN, config=socks_config(clamd, p.port))
    check_failed(r, p.port, text)


def test_peer_auth_rejected(clamhook, clamd, socks_peer):
    p = socks_peer(user="mail", password="right")
    r = clamhook(input=CLEAN, config=socks_config(
        clamd, p.port, username="mail", password="wrong"))
    check_failed(r, p.port, "SOCKS5 proxy: authentication rejected "
                 "(status 1)")


@pytest.mark.parametrize("version", ["5", "4a"])
def test_peer_dribble(clamhook, clamd, socks_peer, version):
    """Every reply byte 30 ms apart: slow, well within the deadline."""
    p = socks_peer(dribble_ms=30, atyp=3)
    r = clamhook(input=EICAR_MAIL, config=socks_config(
        clamd, p.port, version=version))
    check_ok(r, OUT_EICAR, 1)
    assert settled(p)[0]["stage"] == "relayed"


def test_peer_dribble_past_deadline(clamhook, clamd, socks_peer):
    """Drops that keep coming do not extend the deadline."""
    p = socks_peer(dribble_ms=400)
    cfg = socks_config(clamd, p.port)
    cfg["clamd"]["timeout_ms"] = "1500"
    r = clamhook(input=CLEAN, config=cfg)
    check_failed(r, p.port, "SOCKS5 proxy handshake timed out")
    assert r.elapsed < 1.5 + 1.5, r


@pytest.mark.parametrize("stage", ["greeting", "request"])
def test_peer_silent(clamhook, clamd, socks_peer, stage):
    """A proxy that says nothing: 75 after timeout_ms, not later."""
    p = socks_peer(silent=stage)
    cfg = socks_config(clamd, p.port)
    cfg["clamd"].update(timeout_ms="1500", connect_timeout_ms="10000")
    r = clamhook(input=CLEAN, config=cfg)
    check_failed(r, p.port, "SOCKS5 proxy handshake timed out")
    assert 1.3 <= r.elapsed < 1.5 + 1.5, r


def test_peer_silent_connect_timeout(clamhook, clamd, socks_peer):
    """connect_timeout_ms bounds the handshake too, when it is shorter."""
    p = socks_peer(silent="request")
    cfg = socks_config(clamd, p.port)
    cfg["clamd"].update(timeout_ms="10000", connect_timeout_ms="800")
    r = clamhook(input=CLEAN, config=cfg)
    check_failed(r, p.port, "SOCKS5 proxy handshake timed out")
    assert r.elapsed < 10, r
