# SPDX-License-Identifier: ISC
"""A scripted clamd of the 0.103 era, speaking the legacy STREAM protocol.

    -> "zSTREAM\\0"  (or "nSTREAM\\n", "STREAM\\n")
    <- "PORT n\\0"   (newline-ended for the n and bare forms)
       the client connects to port n, sends the message bytes, closes
    <- "stream: OK\\0" | "stream: Eicar-Test-Signature FOUND\\0"

FOUND is answered when the data holds the EICAR test file (eicar() of
tests/integration/eicar.py).  PING and VERSION are answered too, anything
else gets "UNKNOWN COMMAND".

Modes (what the peer does on STREAM):
  ok        the exchange above
  refuse    announce a port nobody listens on
  line      answer the given line (port_line) instead of "PORT n"; the
            client should give up and close
  unknown   answer "UNKNOWN COMMAND", as clamd 0.104 and later do
  early     stop reading the data after early_after bytes, close the data
            connection and answer "stream: OK" (an old clamd's
            StreamMaxLength), at once or after reply_delay seconds

What each client sent is recorded in .conns, one dict per command
connection: command (str), cmd_from (its source address), port (the one
announced), data (bytes received on the data connection), data_end ("eof",
"reset", "timeout", "early", None when none came), data_closed (True
once the peer has closed the data connection), data_from (the data
connection's source address), reply (the last line sent), verdict (the
reply sent after the data, None when none was), and cmd_end (how the
client ended the command connection after that: "eof", "reset",
"timeout").  Every wait is bounded; the peer stops after max_seconds.

As a module:
    peer = LegacyClamd(mode="ok").start()     # peer.port
    ...
    peer.stop(); peer.conns

As a program:
    python3 legacy_clamd.py [--mode MODE] [--port-line TEXT]
        [--early-after N] [--max-seconds S]
prints the port on its first line, then serves until max_seconds.
"""

import argparse
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from eicar import eicar  # noqa: E402

SIGNATURE = "Eicar-Test-Signature"
VERSION = "ClamAV 0.103.8/26000/Thu Jan  1 00:00:00 2026"
COMMAND_MAX = 4096
DATA_MAX = 64 * 1024 * 1024


def _closed_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LegacyClamd:
    def __init__(self, mode="ok", port_line=None, early_after=0,
                 max_seconds=60, host="127.0.0.1", io_timeout=10,
                 reply_delay=0):
        if mode not in ("ok", "refuse", "line", "unknown", "early"):
            raise ValueError("unknown mode %r" % mode)
        self.mode = mode
        self.port_line = port_line
        self.early_after = early_after
        self.reply_delay = reply_delay
        self.host = host
        self.io_timeout = io_timeout
        self.end = time.monotonic() + max_seconds
        self.conns = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.threads = []

    def start(self):
        t = threading.Thread(target=self._serve, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.stopping = True
        for t in list(self.threads):
            t.join(self.io_timeout + 5)
        self.sock.close()
        return self.conns

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _left(self):
        return max(0.01, min(self.io_timeout, self.end - time.monotonic()))

    def _serve(self):
        while not self.stopping and time.monotonic() < self.end:
            try:
                c, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            rec = {"command": None, "cmd_from": addr[0], "port": None,
                   "data": b"", "data_end": None, "data_closed": False,
                   "data_from": None,
                   "reply": None, "verdict": None, "cmd_end": None}
            with self.lock:
                self.conns.append(rec)
            t = threading.Thread(target=self._client, args=(c, rec),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def _command(self, c):
        """One command: "zCMD\\0", "nCMD\\n" or "CMD\\n"; (name, term)."""
        buf = b""
        while len(buf) < COMMAND_MAX:
            c.settimeout(self._left())
            b = c.recv(1)
            if not b:
                return None, None
            if buf[:1] == b"z" and b == b"\0":
                return buf[1:].decode("latin-1"), b"\0"
            if b == b"\n":
                name = buf[1:] if buf[:1] == b"n" else buf
                return name.decode("latin-1"), b"\n"
            buf += b
        return None, None

    def _reply(self, c, rec, text, term):
        rec["reply"] = text
        try:
            c.sendall(text.encode("latin-1") + term)
        except OSError:
            pass

    def _wait_close(self, c):
        """How the client ends a connection: eof, reset or timeout."""
        try:
            c.settimeout(self._left())
            while True:
                b = c.recv(65536)
                if not b:
                    return "eof"
        except socket.timeout:
            return "timeout"
        except ConnectionResetError:
            return "reset"
        except OSError:
            return "reset"

    def _client(self, c, rec):
        try:
            name, term = self._command(c)
            rec["command"] = name
            if name is None:
                return
            if name == "PING":
                self._reply(c, rec, "PONG", term)
            elif name == "VERSION":
                self._reply(c, rec, VERSION, term)
            elif name != "STREAM" or self.mode == "unknown":
                self._reply(c, rec, "UNKNOWN COMMAND", term)
            elif self.mode == "line":
                self._reply(c, rec, self.port_line, term)
                rec["cmd_end"] = self._wait_close(c)
            elif self.mode == "refuse":
                rec["port"] = _closed_port(self.host)
                self._reply(c, rec, "PORT %d" % rec["port"], term)
                rec["cmd_end"] = self._wait_close(c)
            else:
                self._stream(c, rec, term)
        except OSError:
            pass
        finally:
            c.close()

    def _stream(self, c, rec, term):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
            ls.bind((self.host, 0))
            ls.listen(1)
            rec["port"] = ls.getsockname()[1]
            self._reply(c, rec, "PORT %d" % rec["port"], term)
            ls.settimeout(self._left())
            try:
                d, addr = ls.accept()
            except socket.timeout:
                rec["cmd_end"] = self._wait_close(c)
                return
        rec["data_from"] = addr[0]
        with d:
            rec["data_end"] = self._data(d, rec)
        rec["data_closed"] = True
        if rec["data_end"] == "reset":
            rec["cmd_end"] = self._wait_close(c)
            return
        if rec["data_end"] == "timeout":
            return
        time.sleep(self.reply_delay)
        found = eicar() in rec["data"]
        rec["verdict"] = ("stream: %s FOUND" % SIGNATURE if found
                          else "stream: OK")
        self._reply(c, rec, rec["verdict"], term)
        rec["cmd_end"] = self._wait_close(c)

    def _data(self, d, rec):
        data = bytearray()
        limit = self.early_after if self.mode == "early" else DATA_MAX
        try:
            while len(data) < limit:
                d.settimeout(self._left())
                b = d.recv(min(65536, limit - len(data)))
                if not b:
                    rec["data"] = bytes(data)
                    return "eof"
                data += b
        except socket.timeout:
            rec["data"] = bytes(data)
            return "timeout"
        except OSError:
            rec["data"] = bytes(data)
            return "reset"
        rec["data"] = bytes(data)
        return "early" if self.mode == "early" else "eof"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--port-line")
    ap.add_argument("--early-after", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=60)
    a = ap.parse_args()
    peer = LegacyClamd(a.mode, a.port_line, a.early_after,
                       a.max_seconds).start()
    print(peer.port, flush=True)
    while time.monotonic() < peer.end:
        time.sleep(0.2)
    peer.stop()
    for rec in peer.conns:
        rec = dict(rec, data=len(rec["data"]))
        print(rec, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
