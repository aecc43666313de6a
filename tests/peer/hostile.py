# SPDX-License-Identifier: ISC
"""A scripted clamd-like server that misbehaves on purpose.

The peer listens on a TCP loopback port (port 0: the kernel picks one) or a
Unix socket, then runs a scenario: a list of steps applied in order.  Steps
that talk to a client act on the connection accepted last.

Steps (JSON: {"op": NAME, ...}; command line: "NAME ARG...; NAME ARG..."):

  accept [ms]           accept one connection (waiting at most ms)
  fill                  fill the listen queue with the peer's own
                        connections, so that a client's connect hangs
                        (the kernel drops its SYN); never accept.  Done
                        before the peer is started when it comes first
  command               read one clamd command: "z...\\0" or "n...\\n"
  expect N              read exactly N bytes (fewer if the client closes)
  until STR             read until STR (escaped) has been received
  instream [LIMIT]      read INSTREAM chunks (4-byte big-endian length, then
                        the bytes) until the zero-length chunk or end of
                        file; with LIMIT, stop reading once more than LIMIT
                        message bytes came (clamd's StreamMaxLength)
  drain [ms]            read and drop everything until the client closes
  hold [ms]             read nothing; wait until the client closes (or ms)
  trickle N MS          read N bytes every MS milliseconds until the client
                        closes: slow progress that must not extend a
                        deadline
  send STR              send STR (escaped: \\0 \\n \\xNN \\\\ ...)
  sendhex HEX           send bytes given in hex
  sendn STR COUNT       send STR repeated COUNT times
  random N [SEED]       send N pseudo-random bytes
  drip MS STR           send STR one byte every MS milliseconds
  sleep MS              do nothing for MS milliseconds
  shutdown              shutdown(SHUT_WR): send FIN, keep reading possible
  close                 close the connection
  reset                 close with SO_LINGER 0: the client gets RST

The peer never runs longer than max_seconds.  What the client sent is kept
in the result (and written to the log file as JSON): per connection, the
commands, the INSTREAM summary (bytes, chunks, whether the zero-length chunk
came), the total bytes read, the first bytes read, when the client closed.

As a module:

    peer = Peer("accept; command; instream; send 'stream: OK\\\\0'; close")
    peer.start()            # a thread; peer.port or peer.path to connect to
    ...
    result = peer.wait()    # joins; result["conns"][0]["instream"]["end"]

As a program:

    python3 hostile.py [--unix PATH] [--log FILE] [--max-seconds S]
        [--rcvbuf N] [--repeat] SCENARIO | --file SCENARIO.json

prints the port (or the socket path) on its first line of standard output,
then runs the scenario and exits 0 (1 on a bad scenario).
"""

import argparse
import codecs
import errno
import json
import os
import random as _random
import select
import shlex
import socket
import struct
import sys
import threading
import time

KEEP_BYTES = 4096


def unescape(s):
    """Turn an escaped string ("stream: OK\\0") into bytes."""
    if isinstance(s, bytes):
        return s
    return codecs.decode(s.encode("latin-1", "backslashreplace"),
                         "unicode_escape").encode("latin-1")


def parse_steps(text):
    """A compact scenario string into a list of step dicts."""
    steps = []
    for part in split_steps(text):
        words = shlex.split(part, posix=True)
        if not words:
            continue
        op, args = words[0].lower(), words[1:]
        steps.append(step_from_words(op, args))
    return steps


def split_steps(text):
    """Split on ';' outside quotes."""
    parts, cur, quote = [], [], None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"' and i + 1 < len(text):
                cur.append(c)
                cur.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == ";":
            parts.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _int(args, i, default=None):
    if i < len(args):
        return int(args[i], 0)
    if default is None:
        raise ValueError("missing number")
    return default


def step_from_words(op, args):
    if op in ("accept", "drain", "hold"):
        return {"op": op, "ms": _int(args, 0, 0)}
    if op in ("fill", "command", "shutdown", "close", "reset"):
        return {"op": op}
    if op == "expect":
        return {"op": op, "n": _int(args, 0)}
    if op == "until":
        return {"op": op, "str": args[0]}
    if op == "instream":
        return {"op": op, "limit": _int(args, 0, 0)}
    if op == "send":
        return {"op": op, "str": args[0]}
    if op == "sendhex":
        return {"op": op, "hex": args[0]}
    if op == "sendn":
        return {"op": op, "str": args[0], "count": _int(args, 1)}
    if op == "random":
        return {"op": op, "n": _int(args, 0), "seed": _int(args, 1, 1)}
    if op == "drip":
        return {"op": op, "ms": _int(args, 0), "str": args[1]}
    if op == "sleep":
        return {"op": op, "ms": _int(args, 0)}
    if op == "trickle":
        return {"op": op, "n": _int(args, 0), "ms": _int(args, 1)}
    raise ValueError("unknown step: " + op)


class Deadline(Exception):
    pass


class Peer(threading.Thread):
    """One hostile server: listens at construction, runs when started."""

    def __init__(self, scenario, unix=None, log=None, max_seconds=30.0,
                 rcvbuf=None, backlog=16, repeat=False):
        super().__init__(daemon=True)
        if isinstance(scenario, str):
            scenario = parse_steps(scenario)
        self.steps = list(scenario)
        for s in self.steps:
            if "op" not in s:
                raise ValueError("step without op: %r" % (s,))
        self.log_path = log
        self.max_seconds = max_seconds
        self.repeat = repeat
        self.path = unix
        self.port = None
        self.t0 = time.monotonic()
        self.end = self.t0 + max_seconds
        self.conn = None
        self.cur = None
        self.conns = []
        self.events = []
        self.fillers = []
        self.error = None
        self.stopping = threading.Event()
        if any(s["op"] == "fill" for s in self.steps):
            backlog = 0
        if unix:
            try:
                os.unlink(unix)
            except FileNotFoundError:
                pass
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                     rcvbuf)
            self.sock.bind(unix)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                     rcvbuf)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(backlog)
        self.rcvbuf = rcvbuf
        # leading fill steps run now: once constructed (and before the
        # port is printed), the queue is full and a connect hangs
        while self.steps and self.steps[0]["op"] == "fill":
            self.do_fill(self.steps.pop(0))

    @property
    def address(self):
        """For a config: "127.0.0.1:PORT" or "unix:PATH"."""
        if self.path:
            return "unix:" + self.path
        return "127.0.0.1:%d" % self.port

    def now(self):
        return round(time.monotonic() - self.t0, 4)

    def event(self, ev, **kw):
        kw["t"] = self.now()
        kw["ev"] = ev
        self.events.append(kw)
        if self.cur is not None:
            self.cur["events"].append(kw)

    def left(self, until=None):
        """Seconds left before until (None: no own limit) or max_seconds."""
        end = self.end if until is None else min(self.end, until)
        if self.stopping.is_set():
            return 0.0
        return max(end - time.monotonic(), 0.0)

    @staticmethod
    def until(s):
        """The absolute end of a step's own "ms" limit, None when 0."""
        ms = s.get("ms", 0)
        return time.monotonic() + ms / 1000.0 if ms else None

    # -- reading ---------------------------------------------------------

    def _wait(self, fd, events, until=None):
        """poll() one descriptor until ready or the time is up."""
        p = select.poll()
        p.register(fd, events)
        while True:
            # once the time is up, what is already there is still taken
            t = self.left(until)
            r = p.poll(min(t, 0.2) * 1000)
            if r:
                return r[0][1]
            if t <= 0:
                return 0

    def recv(self, n, until=None):
        """Read up to n bytes.  b"" at end of file; None when time is up."""
        c = self.conn
        if c is None:
            raise RuntimeError("no connection: accept first")
        if not self._wait(c.fileno(), select.POLLIN, until):
            return None
        try:
            b = c.recv(n)
        except ConnectionResetError:
            self.cur["reset_by_client"] = True
            self.event("reset_by_client")
            b = b""
        if b:
            self.cur["bytes"] += len(b)
            k = self.cur["_head"]
            if len(k) < KEEP_BYTES:
                k.extend(b[:KEEP_BYTES - len(k)])
        elif not self.cur["client_closed"]:
            self.cur["client_closed"] = True
            self.cur["closed_at"] = self.now()
            self.event("client_closed")
        return b

    def recv_exact(self, n, until=None):
        buf = bytearray()
        while len(buf) < n:
            b = self.recv(min(n - len(buf), 65536), until)
            if b is None:
                raise Deadline()
            if not b:
                break
            buf += b
        return bytes(buf)

    # -- steps -----------------------------------------------------------

    def do_accept(self, s):
        if not self._wait(self.sock.fileno(), select.POLLIN, self.until(s)):
            raise Deadline()
        c, _ = self.sock.accept()
        if self.conn is not None:
            self._close_conn()
        self.conn = c
        self.cur = {"events": [], "commands": [], "bytes": 0, "_head":
                    bytearray(), "client_closed": False, "closed_at": None,
                    "reset_by_client": False, "instream": None,
                    "accepted_at": self.now(), "sent": 0}
        self.conns.append(self.cur)
        self.event("accept")

    def do_fill(self, s):
        if self.path:
            fam, addr = socket.AF_UNIX, self.path
        else:
            fam, addr = socket.AF_INET, ("127.0.0.1", self.port)
        for _ in range(64):
            f = socket.socket(fam, socket.SOCK_STREAM)
            f.setblocking(False)
            try:
                f.connect(addr)
                done = True
            except BlockingIOError:
                done = False
            except OSError as e:
                # a Unix socket refuses at once (EAGAIN) when full
                f.close()
                if e.errno in (errno.EAGAIN, errno.ECONNREFUSED):
                    break
                raise
            if not done:
                p = select.poll()
                p.register(f.fileno(), select.POLLOUT)
                if not p.poll(300):
                    f.close()
                    break
            self.fillers.append(f)
        self.event("filled", connections=len(self.fillers))

    def do_command(self, s):
        until = self.until(s)
        first = self.recv_exact(1, until)
        if not first:
            self.event("command", data=None)
            self.cur["commands"].append(None)
            return
        end = b"\n" if first == b"n" else b"\0"
        buf = bytearray(first)
        while not buf.endswith(end) and len(buf) < 4096:
            b = self.recv_exact(1, until)
            if not b:
                break
            buf += b
        cmd = bytes(buf).decode("latin-1")
        self.cur["commands"].append(cmd)
        self.event("command", data=cmd)

    def do_expect(self, s):
        b = self.recv_exact(s["n"])
        self.event("expect", n=len(b), hex=b[:256].hex())

    def do_until(self, s):
        pat = unescape(s["str"]) if "str" in s else bytes.fromhex(s["hex"])
        buf = bytearray()
        while not buf.endswith(pat):
            b = self.recv(1)
            if b is None:
                raise Deadline()
            if not b:
                break
            buf += b
        self.event("until", found=bytes(buf).endswith(pat), n=len(buf))

    def do_instream(self, s):
        limit = s.get("limit", 0)
        st = {"bytes": 0, "chunks": 0, "end": False, "eof": False,
              "over_limit": False, "bad_frame": False, "max_chunk": 0}
        self.cur["instream"] = st
        try:
            while True:
                h = self.recv_exact(4)
                if len(h) < 4:
                    st["eof"] = True
                    st["partial_header"] = len(h)
                    break
                (n,) = struct.unpack(">I", h)
                if n == 0:
                    st["end"] = True
                    break
                if n > 64 * 1024 * 1024:
                    st["bad_frame"] = True
                    st["bad_length"] = n
                    break
                st["chunks"] += 1
                st["max_chunk"] = max(st["max_chunk"], n)
                got = 0
                while got < n:
                    b = self.recv(min(n - got, 65536))
                    if b is None:
                        raise Deadline()
                    if not b:
                        break
                    got += len(b)
                st["bytes"] += got
                if got < n:
                    st["eof"] = True
                    st["partial_chunk"] = got
                    break
                if limit and st["bytes"] > limit:
                    st["over_limit"] = True
                    break
        finally:
            self.event("instream", **{k: v for k, v in st.items()})

    def do_drain(self, s):
        n, until = 0, self.until(s)
        while True:
            b = self.recv(65536, until)
            if not b:
                break
            n += len(b)
        self.event("drain", n=n, closed=self.cur["client_closed"])

    def do_trickle(self, s):
        n = 0
        while True:
            b = self.recv(s["n"])
            if not b:
                break
            n += len(b)
            if self.stopping.wait(s["ms"] / 1000.0):
                break
        self.event("trickle", n=n, closed=self.cur["client_closed"])

    def do_hold(self, s):
        c = self.conn
        ev = select.POLLRDHUP | select.POLLHUP | select.POLLERR
        r = self._wait(c.fileno(), ev, self.until(s))
        if r and not self.cur["client_closed"]:
            self.cur["client_closed"] = True
            self.cur["closed_at"] = self.now()
            self.event("client_closed")
        self.event("hold", closed=bool(r))

    def _send(self, data):
        c = self.conn
        off = 0
        while off < len(data):
            if not self._wait(c.fileno(), select.POLLOUT):
                raise Deadline()
            try:
                off += c.send(data[off:off + 65536])
            except (BrokenPipeError, ConnectionResetError) as e:
                self.event("send_failed", error=e.__class__.__name__,
                           sent=off)
                self.cur["sent"] += off
                return False
        self.cur["sent"] += off
        return True

    def do_send(self, s):
        data = unescape(s["str"]) if "str" in s else bytes.fromhex(s["hex"])
        ok = self._send(data)
        self.event("send", n=len(data), ok=ok)

    do_sendhex = do_send

    def do_sendn(self, s):
        data = unescape(s["str"]) * s["count"]
        ok = self._send(data)
        self.event("sendn", n=len(data), ok=ok)

    def do_random(self, s):
        rnd = _random.Random(s.get("seed", 1))
        data = bytes(rnd.getrandbits(8) for _ in range(s["n"]))
        ok = self._send(data)
        self.event("random", n=len(data), ok=ok)

    def do_drip(self, s):
        data = unescape(s["str"]) if "str" in s else bytes.fromhex(s["hex"])
        n = 0
        for i in range(len(data)):
            if i:
                if self.left() <= s["ms"] / 1000.0:
                    raise Deadline()
                if self.stopping.wait(s["ms"] / 1000.0):
                    raise Deadline()
            if not self._send(data[i:i + 1]):
                break
            n += 1
        self.event("drip", n=n)

    def do_sleep(self, s):
        t = min(s["ms"] / 1000.0, self.left())
        self.stopping.wait(t)
        self.event("sleep", ms=s["ms"])

    def do_shutdown(self, s):
        try:
            self.conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.event("shutdown")

    def _close_conn(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def do_close(self, s):
        self._close_conn()
        self.event("close")

    def do_reset(self, s):
        if self.conn is not None:
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        self._close_conn()
        self.event("reset")

    # -- running ---------------------------------------------------------

    def run(self):
        try:
            while True:
                for s in self.steps:
                    getattr(self, "do_" + s["op"])(s)
                if not self.repeat or self.left() <= 0:
                    break
        except Deadline:
            self.event("time_up")
        except Exception as e:  # reported in the result, never raised
            self.error = "%s: %s" % (e.__class__.__name__, e)
            self.event("error", error=self.error)
        finally:
            self.event("done")
            self._finish()

    def _finish(self):
        # a scenario that ends without close closes here
        self._close_conn()
        for f in self.fillers:
            f.close()
        self.fillers = []
        try:
            self.sock.close()
        except OSError:
            pass
        if self.path:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        if self.log_path:
            with open(self.log_path, "w") as f:
                json.dump(self.result(), f, indent=1)
                f.write("\n")

    def result(self):
        conns = []
        for c in self.conns:
            d = {k: v for k, v in c.items() if not k.startswith("_")}
            d["head"] = bytes(c["_head"]).hex()
            conns.append(d)
        return {"conns": conns, "events": self.events, "error": self.error,
                "address": self.address}

    def stop(self):
        """Make every wait end now."""
        self.stopping.set()

    def wait(self, timeout=None):
        """Join the thread (stopping it after timeout) and return result."""
        self.join(timeout)
        if self.is_alive():
            self.stop()
            self.join(5)
        return self.result()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        self.join(5)
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(description="scripted hostile clamd peer")
    ap.add_argument("scenario", nargs="?", help="steps separated by ';'")
    ap.add_argument("--file", help="scenario as a JSON list of steps")
    ap.add_argument("--unix", help="listen on this Unix socket path")
    ap.add_argument("--log", help="write what the client sent (JSON)")
    ap.add_argument("--max-seconds", type=float, default=30.0)
    ap.add_argument("--rcvbuf", type=int, help="SO_RCVBUF of the socket")
    ap.add_argument("--repeat", action="store_true",
                    help="run the scenario again for each new connection")
    a = ap.parse_args(argv)
    try:
        if a.file:
            with open(a.file) as f:
                steps = json.load(f)
        elif a.scenario:
            steps = parse_steps(a.scenario)
        else:
            ap.error("a scenario or --file is needed")
        peer = Peer(steps, unix=a.unix, log=a.log,
                    max_seconds=a.max_seconds, rcvbuf=a.rcvbuf,
                    repeat=a.repeat)
    except (ValueError, OSError, IndexError) as e:
        print("hostile.py: %s" % e, file=sys.stderr)
        return 1
    print(a.unix if a.unix else peer.port, flush=True)
    peer.start()
    try:
        while peer.is_alive():
            peer.join(0.2)
    except KeyboardInterrupt:
        peer.stop()
        peer.join(5)
    if peer.error:
        print("hostile.py: %s" % peer.error, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
