# SPDX-License-Identifier: ISC
"""Listeners that take clamhook's connections and never help: for the
fail-over tests of a server pool.  Unlike tests/peer/hostile.py, which runs
one scripted conversation, a Blackhole serves any number of connections at
once, the same way, until stopped.

Modes:

  noaccept   listen with a backlog of 0 and fill the queue with the
             listener's own connections: the kernel drops a client's SYN,
             so its connect hangs until the client gives up
  silent     accept every connection, read and drop everything the client
             sends, never answer; close when the client does
  cut N      accept, read N bytes (the command and part of the message),
             then close with unread data pending: the client sees a reset
             in the middle of its message

As a module:

    with Blackhole("silent") as b:      # listening at construction
        b.address                        # "127.0.0.1:PORT" for a config
        ...
        b.accepted                       # connections accepted so far
        b.received                       # bytes read, one entry each

As a program:

    python3 blackhole.py [--host ADDR] [--max-seconds S] MODE [N]

prints the port on its first line, then serves until killed or S pass.
"""

import argparse
import errno
import selectors
import socket
import sys
import threading
import time


class Blackhole(threading.Thread):
    """One listener in one of the modes above; a daemon thread."""

    def __init__(self, mode, arg=0, host="127.0.0.1", max_seconds=120.0):
        super().__init__(daemon=True)
        if mode not in ("noaccept", "silent", "cut"):
            raise ValueError("unknown mode %r" % mode)
        self.mode, self.arg = mode, int(arg)
        self.host = host
        self.end = time.monotonic() + max_seconds
        self.lock = threading.Lock()
        self.accepted = 0
        self.received = []          # bytes read, per accepted connection
        self.fillers = []
        self.stopping = threading.Event()
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        if mode == "noaccept":
            self.sock.listen(0)
            self._fill()
        else:
            self.sock.listen(128)
            self.sock.setblocking(False)

    @property
    def address(self):
        """For a config: "HOST:PORT" or "[V6]:PORT"."""
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def _fill(self):
        """Connect to ourselves until a connect no longer completes."""
        for _ in range(64):
            f = socket.socket(self.sock.family, socket.SOCK_STREAM)
            f.setblocking(False)
            self.fillers.append(f)
            try:
                f.connect((self.host, self.port))
                continue
            except BlockingIOError:
                pass
            sel = selectors.DefaultSelector()
            sel.register(f, selectors.EVENT_WRITE)
            ready = sel.select(0.3)
            sel.close()
            if not ready:
                return          # this one hangs: the queue is full
        raise RuntimeError("the listen queue never filled")

    def run(self):
        if self.mode == "noaccept":
            self.stopping.wait(max(self.end - time.monotonic(), 0))
            return
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        conns = {}
        try:
            while not self.stopping.is_set() and time.monotonic() < self.end:
                for key, _ in sel.select(0.1):
                    if key.data is None:
                        self._accept(sel, conns)
                    else:
                        self._read(sel, conns, key.fileobj, key.data)
        finally:
            for c in list(conns):
                sel.unregister(c)
                c.close()
            sel.close()

    def _accept(self, sel, conns):
        try:
            c, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        c.setblocking(False)
        with self.lock:
            idx = len(self.received)
            self.received.append(0)
            self.accepted += 1
        conns[c] = idx
        sel.register(c, selectors.EVENT_READ, idx)

    def _read(self, sel, conns, c, idx):
        want = 65536
        if self.mode == "cut":
            want = max(1, min(want, self.arg - self.received[idx]))
        try:
            b = c.recv(want)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            if e.errno not in (errno.ECONNRESET, errno.EPIPE):
                raise
            b = b""
        with self.lock:
            self.received[idx] += len(b)
        if b and not (self.mode == "cut" and
                      self.received[idx] >= self.arg):
            return
        # the client closed, or the cut: closing with unread data
        # pending makes the kernel answer with a reset
        sel.unregister(c)
        del conns[c]
        c.close()

    def stop(self):
        self.stopping.set()
        if self.is_alive():
            self.join(5)
        self.sock.close()
        for f in self.fillers:
            f.close()
        self.fillers = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("mode", choices=("noaccept", "silent", "cut"))
    ap.add_argument("n", nargs="?", type=int, default=0)
    a = ap.parse_args(argv)
    b = Blackhole(a.mode, a.n, a.host, a.max_seconds)
    print(b.port, flush=True)
    b.start()
    try:
        b.join()
    except KeyboardInterrupt:
        pass
    b.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
