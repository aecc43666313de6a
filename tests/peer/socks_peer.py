# SPDX-License-Identifier: ISC
"""A scripted SOCKS proxy, for the replies a real proxy on loopback never
gives (every REP code, a wrong version, method FF, a reply dripped one byte
at a time, silence) and for checking what a client sends.

It speaks SOCKS5 (RFC 1928, RFC 1929 user/password) and SOCKS4/4a, chosen
by the client's first byte, on a TCP loopback port (port 0: the kernel
picks one).  Python 3 standard library only.

Scenario (a dict, a JSON file, or command-line options; every key optional):

  method          METHOD byte of the method reply, or "auto" (default):
                  02 when `user` is set and the client offered 02, else 00
                  when offered, else FF
  method_version  VER of the method reply (default 5)
  user, password  the credentials RFC 1929 must carry
  auth_status     STATUS of the RFC 1929 reply (default 0 when the
                  credentials match, 1 otherwise)
  rep             REP (SOCKS5, default 0) or CD (SOCKS4, default 90)
  reply_version   VER (default 5) or VN (default 0) of the CONNECT reply
  atyp            ATYP of the reply's BND.ADDR: 1 (default), 3 or 4
  bnd_name        BND.ADDR for atyp 3 (default "proxy.example")
  reply_hex       the whole CONNECT reply, as hex (overrides the above)
  dribble_ms      send every reply one byte at a time, this far apart
  silent          "greeting" | "auth" | "request": read that packet, then
                  answer nothing and hold the connection until the client
                  closes it (or the lifetime ends)
  hangup          same stages: read that packet, then close at once
  relay           after a granted reply, connect to the requested place
                  and relay both ways (default true)
  hosts           {name: address}: names this proxy resolves itself
                  (others go to the system resolver)
  target          "HOST:PORT": relay there whatever the client asked for
  max_conns       stop after this many connections (default 0: no limit)
  max_seconds     lifetime (default 30); nothing outlives it

What each client sent is recorded per connection: version, methods offered,
user and password, the request (atyp, host, port), the stage reached, the
bytes relayed each way.

As a module:

    peer = SocksPeer({"rep": 5, "max_conns": 1})
    peer.start()                 # a thread; connect to peer.port
    ...
    result = peer.wait(10)       # {"conns": [...]}; bounded join

As a program:

    python3 socks_peer.py [--scenario FILE.json] [--rep 0x05] [--silent
        request] ... [--max-conns N] [--max-seconds T] [--log FILE]

prints the port on the first line of standard output, then serves until
max_conns connections are done or max_seconds pass, writes the record as
JSON to --log, and exits 0 (1 on a bad scenario).
"""

import argparse
import json
import select
import socket
import sys
import threading
import time

STAGES = ("greeting", "auth", "request")
KEYS = ("method", "method_version", "user", "password", "auth_status", "rep",
        "reply_version", "atyp", "bnd_name", "reply_hex", "dribble_ms",
        "silent", "hangup", "relay", "hosts", "target", "max_conns",
        "max_seconds")


class Expired(Exception):
    """The peer's lifetime ended."""


class Closed(Exception):
    """The client closed the connection."""


def _num(v):
    if isinstance(v, str):
        return int(v, 0)
    return int(v)


def check_scenario(sc):
    """Validate a scenario dict; returns a normalised copy."""
    sc = dict(sc or {})
    for k in sc:
        if k not in KEYS:
            raise ValueError("unknown scenario key %r" % k)
    for k in ("silent", "hangup"):
        if sc.get(k) is not None and sc[k] not in STAGES:
            raise ValueError("%s must be one of %s" % (k, ", ".join(STAGES)))
    for k in ("method_version", "auth_status", "rep", "reply_version",
              "atyp", "dribble_ms", "max_conns"):
        if sc.get(k) is not None:
            sc[k] = _num(sc[k])
    if sc.get("method") not in (None, "auto"):
        sc["method"] = _num(sc["method"])
    if sc.get("reply_hex") is not None:
        bytes.fromhex(sc["reply_hex"])
    return sc


class Conn:
    """One client connection, handled in its own thread."""

    def __init__(self, peer, sock):
        self.peer = peer
        self.sc = peer.sc
        self.sock = sock
        self.rec = {"stage": "accepted"}

    # -- I/O bounded by the peer's lifetime --------------------------------

    def _left(self):
        left = self.peer.end - time.monotonic()
        if left <= 0 or self.peer.stopping.is_set():
            raise Expired()
        return min(left, 0.5)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            self.sock.settimeout(self._left())
            try:
                b = self.sock.recv(n - len(buf))
            except socket.timeout:
                continue
            if not b:
                raise Closed()
            buf += b
        return buf

    def recv_until_nul(self, limit=1024):
        out = b""
        while True:
            c = self.recv_exact(1)
            if c == b"\0":
                return out
            out += c
            if len(out) > limit:
                raise ValueError("string without NUL")

    def send(self, data):
        ms = self.sc.get("dribble_ms") or 0
        if ms <= 0:
            self.sock.settimeout(self._left() + 5)
            self.sock.sendall(data)
            return
        for i in range(len(data)):
            end = time.monotonic() + ms / 1000.0
            while time.monotonic() < end:
                self._left()
                time.sleep(min(0.05, max(0, end - time.monotonic())))
            self.sock.settimeout(5)
            self.sock.sendall(data[i:i + 1])

    def hold(self):
        """Say nothing; wait until the client closes or the end."""
        self.rec["held"] = True
        try:
            while True:
                self.sock.settimeout(self._left())
                try:
                    if not self.sock.recv(4096):
                        break
                except socket.timeout:
                    continue
        except (Expired, OSError):
            pass

    def stop_at(self, stage):
        """True when the scenario ends the conversation after stage."""
        self.rec["stage"] = stage
        if self.sc.get("silent") == stage:
            self.hold()
            return True
        if self.sc.get("hangup") == stage:
            self.rec["hangup"] = True
            return True
        return False

    # -- the protocol ------------------------------------------------------

    def run(self):
        try:
            ver = self.recv_exact(1)[0]
            self.rec["version"] = ver
            if ver == 5:
                self.socks5()
            elif ver == 4:
                self.socks4()
            else:
                self.rec["error"] = "version %d" % ver
        except Closed:
            self.rec["closed_by_client"] = True
        except Expired:
            self.rec["expired"] = True
        except (OSError, ValueError) as e:
            self.rec["error"] = str(e)
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            self.rec["done"] = True

    def socks5(self):
        sc = self.sc
        n = self.recv_exact(1)[0]
        methods = list(self.recv_exact(n))
        self.rec["methods"] = methods
        if self.stop_at("greeting"):
            return
        m = sc.get("method", "auto")
        if m is None or m == "auto":
            if sc.get("user") is not None and 2 in methods:
                m = 2
            elif 0 in methods:
                m = 0
            else:
                m = 0xff
        self.rec["method"] = m
        self.send(bytes([sc.get("method_version", 5), m]))
        if m == 0xff:
            return
        if m == 2:
            aver = self.recv_exact(1)[0]
            user = self.recv_exact(self.recv_exact(1)[0])
            pw = self.recv_exact(self.recv_exact(1)[0])
            self.rec.update(auth_version=aver, user=user.decode("latin-1"),
                            password=pw.decode("latin-1"))
            if self.stop_at("auth"):
                return
            status = sc.get("auth_status")
            if status is None:
                ok = (user.decode("latin-1") == sc.get("user")
                      and pw.decode("latin-1") == sc.get("password", ""))
                status = 0 if ok else 1
            self.send(bytes([1, status]))
            if status != 0:
                return
        elif m != 0:
            return
        head = self.recv_exact(4)
        atyp = head[3]
        self.rec.update(cmd=head[1], rsv=head[2], atyp=atyp)
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, self.recv_exact(4))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, self.recv_exact(16))
        elif atyp == 3:
            host = self.recv_exact(self.recv_exact(1)[0]).decode("latin-1")
        else:
            raise ValueError("request ATYP %d" % atyp)
        port = int.from_bytes(self.recv_exact(2), "big")
        self.rec.update(host=host, port=port)
        if self.stop_at("request"):
            return
        rep = sc.get("rep", 0)
        if sc.get("reply_hex") is not None:
            reply = bytes.fromhex(sc["reply_hex"])
            rep = reply[1] if len(reply) > 1 else 1
        else:
            ratyp = sc.get("atyp", 1)
            if ratyp == 3:
                name = sc.get("bnd_name", "proxy.example").encode()
                bnd = bytes([len(name)]) + name
            elif ratyp == 4:
                bnd = bytes(15) + b"\x01"
            else:
                bnd = bytes([127, 0, 0, 1])
            reply = bytes([sc.get("reply_version", 5), rep, 0, ratyp]) + \
                bnd + b"\x04\x38"
        self.reply_and_relay(reply, rep == 0 and reply[:1] == b"\x05",
                             host, port)

    def socks4(self):
        sc = self.sc
        head = self.recv_exact(7)
        cmd = head[0]
        port = int.from_bytes(head[1:3], "big")
        ip = head[3:7]
        userid = self.recv_until_nul().decode("latin-1")
        self.rec.update(cmd=cmd, port=port, userid=userid,
                        dstip=socket.inet_ntop(socket.AF_INET, ip))
        if ip[:3] == b"\0\0\0" and ip[3] != 0:
            host = self.recv_until_nul().decode("latin-1")
            self.rec["socks4a"] = True
        else:
            host = socket.inet_ntop(socket.AF_INET, ip)
        self.rec["host"] = host
        self.rec["stage"] = "greeting"
        if self.stop_at("request"):
            return
        cd = sc.get("rep", 90)
        if sc.get("reply_hex") is not None:
            reply = bytes.fromhex(sc["reply_hex"])
            cd = reply[1] if len(reply) > 1 else 91
        else:
            reply = bytes([sc.get("reply_version", 0), cd]) + \
                b"\x04\x38" + bytes(4)
        self.reply_and_relay(reply, cd == 90 and reply[:1] == b"\0",
                             host, port)

    def resolve(self, host, port):
        target = self.sc.get("target")
        if target:
            h, _, p = target.rpartition(":")
            return h.strip("[]"), int(p)
        return (self.sc.get("hosts") or {}).get(host, host), port

    def reply_and_relay(self, reply, granted, host, port):
        sc = self.sc
        upstream = None
        if granted and sc.get("relay", True):
            h, p = self.resolve(host, port)
            try:
                upstream = socket.create_connection((h, p),
                                                    timeout=self._left() + 2)
            except OSError as e:
                self.rec["upstream_error"] = str(e)
        self.send(reply)
        self.rec["stage"] = "replied"
        self.rec["granted"] = granted
        if upstream is not None:
            self.relay(upstream)

    def relay(self, up):
        """Relay both ways until both sides have closed.  An end that
        closes is half-closed on the other side.  When a write fails (the
        side reset), what still comes the other way is read and dropped,
        and the reset side is still read to its end: data it sent before
        the reset (clamd's early reply) is passed on, as a careful relay
        does."""
        self.rec["stage"] = "relaying"
        up.setblocking(False)
        self.sock.setblocking(False)
        pairs = {self.sock: up, up: self.sock}
        count = {self.sock: 0, up: 0}
        open_in = {self.sock, up}
        dropping = set()
        try:
            while open_in:
                left = self.peer.end - time.monotonic()
                if left <= 0 or self.peer.stopping.is_set():
                    self.rec["expired"] = True
                    break
                r, _, _ = select.select(list(open_in), [], [], min(left, 0.5))
                for s in r:
                    try:
                        data = s.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        open_in.discard(s)
                        try:
                            pairs[s].shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        continue
                    count[s] += len(data)
                    if s in dropping:
                        continue
                    other = pairs[s]
                    other.setblocking(True)
                    other.settimeout(5)
                    try:
                        other.sendall(data)
                    except OSError:
                        dropping.add(s)
                    other.setblocking(False)
        finally:
            self.rec["relayed_up"] = count[self.sock]
            self.rec["relayed_down"] = count[up]
            self.rec["stage"] = "relayed"
            up.close()


class SocksPeer(threading.Thread):
    """The proxy: listens at construction, serves when started."""

    def __init__(self, scenario=None, host="127.0.0.1", port=0):
        super().__init__(daemon=True)
        self.sc = check_scenario(scenario)
        self.max_conns = self.sc.get("max_conns") or 0
        self.max_seconds = float(self.sc.get("max_seconds") or 30)
        self.end = time.monotonic() + self.max_seconds
        self.stopping = threading.Event()
        self.conns = []
        self.handlers = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def run(self):
        try:
            while not self.stopping.is_set():
                left = self.end - time.monotonic()
                if left <= 0:
                    break
                if self.max_conns and len(self.handlers) >= self.max_conns:
                    break
                r, _, _ = select.select([self.sock], [], [], min(left, 0.2))
                if not r:
                    continue
                s, _ = self.sock.accept()
                c = Conn(self, s)
                with self.lock:
                    self.conns.append(c.rec)
                t = threading.Thread(target=c.run, daemon=True)
                self.handlers.append(t)
                t.start()
        finally:
            self.sock.close()
            for t in self.handlers:
                t.join(max(0.0, self.end - time.monotonic()) + 1)

    def stop(self):
        self.stopping.set()

    def result(self):
        with self.lock:
            return {"port": self.port,
                    "conns": [dict(r) for r in self.conns]}

    def wait(self, timeout=10):
        """Join (bounded), stopping the peer when it has not ended;
        returns the record."""
        self.join(timeout)
        if self.is_alive():
            self.stop()
            self.join(5)
        return self.result()


def main(argv=None):
    ap = argparse.ArgumentParser(description="scripted SOCKS proxy")
    ap.add_argument("--scenario", help="a JSON file with the scenario dict")
    ap.add_argument("--method", help="METHOD byte, or auto")
    ap.add_argument("--method-version")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--auth-status")
    ap.add_argument("--rep", help="REP (SOCKS5) or CD (SOCKS4)")
    ap.add_argument("--reply-version")
    ap.add_argument("--atyp")
    ap.add_argument("--bnd-name")
    ap.add_argument("--reply-hex")
    ap.add_argument("--dribble-ms")
    ap.add_argument("--silent", choices=STAGES)
    ap.add_argument("--hangup", choices=STAGES)
    ap.add_argument("--no-relay", dest="relay", action="store_false",
                    default=None)
    ap.add_argument("--host", action="append", default=[],
                    metavar="NAME=ADDR", help="a name this proxy resolves")
    ap.add_argument("--target", help="HOST:PORT to relay to")
    ap.add_argument("--max-conns")
    ap.add_argument("--max-seconds")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", help="write the record here as JSON")
    a = ap.parse_args(argv)
    try:
        sc = {}
        if a.scenario:
            with open(a.scenario) as f:
                sc = json.load(f)
        for k in KEYS:
            v = getattr(a, k, None)
            if v is not None and k != "hosts":
                sc[k] = v
        if a.host:
            hosts = dict(sc.get("hosts") or {})
            for h in a.host:
                name, _, addr = h.partition("=")
                hosts[name] = addr
            sc["hosts"] = hosts
        peer = SocksPeer(sc, port=a.port)
    except (ValueError, OSError) as e:
        print("socks_peer.py: %s" % e, file=sys.stderr)
        return 1
    print(peer.port, flush=True)
    peer.start()
    try:
        while peer.is_alive():
            peer.join(0.2)
    except KeyboardInterrupt:
        peer.stop()
        peer.join(5)
    if a.log:
        with open(a.log, "w") as f:
            json.dump(peer.result(), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
