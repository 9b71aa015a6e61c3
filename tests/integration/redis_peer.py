"""A real redis-server on loopback for the sink tests, and a minimal RESP2 client to read it.

Shared by test_sinks.py (the sink code through its driver) and test_sensor_sinks.py (the
sensor). The server binds 127.0.0.1 only, keeps nothing on disk, and is always stopped.
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

REDIS_SERVER = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or ""
needs_redis = pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK),
                                 reason="redis-server not installed")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Resp:
    """A minimal RESP2 client (enough for PING, SELECT, XLEN, XRANGE)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")

    def close(self):
        self.f.close()
        self.s.close()

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("bad RESP reply %r" % line)


class RedisServer:
    """redis-server on 127.0.0.1:port, logging into workdir; start() waits for PING."""

    def __init__(self, workdir, port):
        self.port = port
        self.dir = workdir
        self.p = None

    def _answers(self):
        try:
            c = Resp(self.port)
            ok = c.cmd("PING") == "PONG"
            c.close()
            return ok
        except OSError:
            return False

    def start(self, timeout=20.0):
        log = open(os.path.join(self.dir, "redis-%d.log" % self.port), "a")
        self.p = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", self.dir,
             "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        end = time.monotonic() + timeout
        while not self._answers():
            if time.monotonic() > end or self.p.poll() is not None:
                raise AssertionError("redis-server did not answer PING on port %d" % self.port)
            time.sleep(0.05)

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p = None

    def xrange(self, stream, db=0):
        """The `alert` field of every entry of stream, in order."""
        c = Resp(self.port)
        if db:
            c.cmd("SELECT", db)
        entries = c.cmd("XRANGE", stream, "-", "+")
        c.close()
        out = []
        for _eid, fields in entries:
            d = dict(zip(fields[0::2], fields[1::2]))
            out.append(d[b"alert"].decode())
        return out

    def xlen(self, stream, db=0):
        c = Resp(self.port)
        if db:
            c.cmd("SELECT", db)
        n = c.cmd("XLEN", stream)
        c.close()
        return n
