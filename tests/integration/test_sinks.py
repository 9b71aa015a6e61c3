"""
Alert sinks against real peers, through sink_driver (stdin alert lines -> alertq -> the real
alert output thread, sinks and spool of tipoff-sensor):

- a real redis-server on a free loopback port receives every alert in order (XRANGE), also
  when it is stopped mid-run and started again (the spool keeps what it missed);
- a Python stand-in for the notifier on a unix socket answers `OK <event.id>`; with its reader
  stopped for a while, or its listener closed and reopened, nothing is lost or reordered;
  delivery is at-least-once, so an alert may come twice only when a connection was lost while
  it was unanswered (the notifier deduplicates by event.id); `ERR` answers are counted as
  rejected and not retried; garbage answers reset the connection;
- a dead sink never blocks the producer: pushes stay fast and the spool grows; what was
  spooled is delivered, in order, by the next run (restart).

Environment: SINK_DRIVER (path of sink_driver), REDIS_SERVER (path of redis-server).
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from redis_peer import RedisServer, free_port, needs_redis

DRIVER = os.environ.get("SINK_DRIVER", "")

pytestmark = pytest.mark.skipif(not os.access(DRIVER, os.X_OK),
                                reason="SINK_DRIVER is not set to the sink_driver binary")


def wait_until(pred, timeout=20.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def alert_lines(n, prefix, start=0, pad=120):
    """n alert JSON lines with unique event.id `prefix-i` (i from start)."""
    out = []
    for i in range(start, start + n):
        doc = {
            "@timestamp": "2026-12-04T21:00:00.000Z",
            "event": {"kind": "alert", "id": "%s-%d" % (prefix, i), "severity": 73},
            "tipoff": {"kind": "contact", "participant": {"id": "p1"}, "seq": i},
            "message": "x" * pad,
        }
        out.append(json.dumps(doc, separators=(",", ":")))
    return out


def ids_of(lines):
    return [json.loads(l)["event"]["id"] for l in lines]


def first_occurrences(seq):
    seen, out = set(), []
    for x in seq:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="test_sinks_")
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ----- the driver --------------------------------------------------------------------------


class Driver:
    """sink_driver running with stdin open; stats read from its periodically rewritten file."""

    def __init__(self, workdir, sinks, spool=True, extra=(), name="drv"):
        self.stats_path = os.path.join(workdir, name + ".stats.json")
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        # a generous drain timeout: a loaded CI box under sanitizers is slow; tests that want
        # the timeout pass their own --timeout-ms (the last one given wins)
        args = [DRIVER, "--stats", self.stats_path, "--stats-interval-ms", "50",
                "--backoff-max-ms", "300", "--timeout-ms", "120000"]
        for s in sinks:
            args += ["--alerts", s]
        if spool:
            args += ["--spool", os.path.join(workdir, "spool")]
        args += list(extra)
        self.args = args
        self.stderr = open(self.stderr_path, "w")
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=self.stderr)

    def feed(self, lines):
        self.p.stdin.write(("\n".join(lines) + "\n").encode())
        self.p.stdin.flush()

    def finish(self, timeout=240):
        """Close stdin and wait; returns (exit code, final stats)."""
        self.p.stdin.close()
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise
        finally:
            self.stderr.close()
        return rc, self.stats()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if not self.stderr.closed:
            self.stderr.close()

    def stats(self):
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def sink(self, i=0):
        st = self.stats()
        return st["sinks"][i] if st else None

    def log(self):
        with open(self.stderr_path) as f:
            return f.read()


def check_clean(drv):
    log = drv.log()
    for marker in ("runtime error", "AddressSanitizer", "LeakSanitizer", "ThreadSanitizer"):
        assert marker not in log, log


# ----- Redis -------------------------------------------------------------------------------


@pytest.fixture
def redis(workdir):
    r = RedisServer(workdir, free_port())
    r.start()
    yield r
    r.stop()


@needs_redis
def test_redis_stream_receives_every_alert_in_order(workdir, redis):
    lines = alert_lines(2000, "r")
    drv = Driver(workdir, ["redis://127.0.0.1:%d?stream=tipoff-test" % redis.port])
    try:
        drv.feed(lines)
        rc, st = drv.finish()
    finally:
        drv.kill()
    assert rc == 0, drv.log()
    assert redis.xrange("tipoff-test") == lines
    s = st["sinks"][0]
    assert (s["acked"], s["rejected"], s["dropped"]) == (2000, 0, 0)
    assert s["spool"]["alerts"] == 0
    assert st["queue_dropped"] == 0
    check_clean(drv)


@needs_redis
def test_redis_db_number_selects_database_and_default_stream(workdir, redis):
    lines = alert_lines(50, "db")
    drv = Driver(workdir, ["redis://127.0.0.1:%d/3" % redis.port])
    try:
        drv.feed(lines)
        rc, _ = drv.finish()
    finally:
        drv.kill()
    assert rc == 0, drv.log()
    assert redis.xrange("tipoff-alerts", db=3) == lines
    assert redis.xlen("tipoff-alerts", db=0) == 0


@needs_redis
def test_redis_restart_mid_run_loses_nothing_and_keeps_order(workdir, redis):
    part1, part2, part3 = (alert_lines(400, "rr", 0), alert_lines(400, "rr", 400),
                           alert_lines(400, "rr", 800))
    drv = Driver(workdir, ["redis://127.0.0.1:%d" % redis.port])
    try:
        drv.feed(part1)
        wait_until(lambda: (drv.sink() or {}).get("acked") == 400, 30, "first 400 acked")
        # redis runs without persistence: what it held is gone after the restart
        before = redis.xrange("tipoff-alerts")
        redis.stop()
        drv.feed(part2)
        wait_until(lambda: (drv.sink() or {}).get("spool", {}).get("alerts", 0) >= 400, 30,
                   "alerts spooled while redis is down")
        assert drv.sink()["connected"] is False
        redis.start()
        drv.feed(part3)
        rc, st = drv.finish()
    finally:
        drv.kill()
    assert rc == 0, drv.log()
    after = redis.xrange("tipoff-alerts")
    assert before == part1
    got = ids_of(before + after)
    want = ids_of(part1 + part2 + part3)
    assert first_occurrences(got) == want
    assert len(got) == len(want)  # redis answered everything before it stopped: no resends
    s = st["sinks"][0]
    assert s["reconnects"] >= 1
    assert s["acked"] == 1200 and s["dropped"] == 0 and s["spool"]["alerts"] == 0
    check_clean(drv)


# ----- the notifier's unix socket ----------------------------------------------------------


class Peer:
    """
    Stand-in for tipoff-notifier's intake: a unix stream socket answering each alert line with
    `OK <event.id>`, or what policy(id, seen_before) returns: ("OK",), ("ERR", reason),
    ("RAW", bytes) for a garbage answer, or None for no answer.
    """

    def __init__(self, path, policy=None):
        self.path = path
        self.policy = policy or (lambda i, seen: ("OK",))
        self.lock = threading.Lock()
        self.conns = []          # list of lists: ids received per connection
        self.acked = []          # ids answered OK
        self.reading = threading.Event()
        self.reading.set()
        self.srv = None
        self.socks = []
        self.threads = []

    def listen(self):
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.srv.bind(self.path)
        self.srv.listen(8)
        t = threading.Thread(target=self._accept, args=(self.srv,), daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self, srv):
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with self.lock:
                self.socks.append(c)
                received = []
                self.conns.append(received)
            t = threading.Thread(target=self._serve, args=(c, received), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c, received):
        buf = b""
        seen = set()
        while True:
            self.reading.wait()
            try:
                data = c.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                eid = json.loads(line)["event"]["id"]
                with self.lock:
                    again = any(eid in conn for conn in self.conns)
                    received.append(eid)
                seen.add(eid)
                ans = self.policy(eid, again)
                if ans is None:
                    continue
                if ans[0] == "OK":
                    out = b"OK " + eid.encode() + b"\n"
                    with self.lock:
                        self.acked.append(eid)
                elif ans[0] == "ERR":
                    out = b"ERR " + eid.encode() + b" " + ans[1].encode() + b"\n"
                else:
                    out = ans[1]
                try:
                    c.sendall(out)
                except OSError:
                    return

    def close(self):
        """Close the listener and every connection (the notifier went away)."""
        # unlink first so no new connection can reach the old listener, then wake its
        # accept() (a plain close() would leave it listening while accept() blocks)
        if os.path.exists(self.path):
            os.unlink(self.path)
        if self.srv is not None:
            try:
                self.srv.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.srv.close()
            self.srv = None
        with self.lock:
            for c in self.socks:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.socks = []

    def received(self):
        with self.lock:
            return [i for conn in self.conns for i in conn]


@pytest.fixture
def peer(workdir):
    p = Peer(os.path.join(workdir, "notifier.sock"))
    p.listen()
    yield p
    p.reading.set()
    p.close()


def test_unix_peer_acknowledges_every_alert_in_order(workdir, peer):
    lines = alert_lines(1000, "u")
    drv = Driver(workdir, ["unix:" + peer.path])
    try:
        drv.feed(lines)
        rc, st = drv.finish()
    finally:
        drv.kill()
    assert rc == 0, drv.log()
    assert peer.received() == ids_of(lines)
    s = st["sinks"][0]
    assert (s["sent"], s["acked"], s["resent"], s["garbage"]) == (1000, 1000, 0, 0)
    assert s["spool"] == {"alerts": 0, "bytes": 0, "overflow": 0}
    check_clean(drv)


def test_unix_peer_reader_stopped_then_resumed_loses_and_reorders_nothing(workdir, peer):
    first, second = alert_lines(3000, "st", 0, pad=400), alert_lines(500, "st", 3000)
    drv = Driver(workdir, ["unix:" + peer.path], extra=["--window", "256"])
    try:
        drv.feed(alert_lines(0, "x"))
        wait_until(lambda: (drv.sink() or {}).get("connected"), 20, "connection")
        peer.reading.clear()  # the notifier stops reading (after the chunk it is in)
        drv.feed(first)
        # the window and the socket buffers fill up; the rest waits in the spool
        wait_until(lambda: drv.stats()["pushed"] == 3000 and
                   drv.sink()["spool"]["alerts"] + drv.sink()["acked"] == 3000, 20,
                   "alerts held in the spool")
        stalled = drv.sink()
        time.sleep(0.5)
        assert drv.sink()["acked"] == stalled["acked"] < 1000
        assert drv.sink()["spool"]["alerts"] > 2000
        assert drv.sink()["sent"] <= stalled["acked"] + 256  # the window
        peer.reading.set()
        drv.feed(second)
        rc, st = drv.finish()
    finally:
        drv.kill()
    assert rc == 0, drv.log()
    # the connection stayed up: every alert exactly once, in order
    assert peer.received() == ids_of(first + second)
    assert st["sinks"][0]["acked"] == 3500
    check_clean(drv)


def test_unix_peer_away_then_back_gets_everything_in_order(workdir, peer):
    a, b, c = alert_lines(300, "aw", 0), alert_lines(700, "aw", 300), alert_lines(300, "aw", 1000)
    drv = Driver(workdir, ["unix:" + peer.path])
    try:
        drv.feed(a)
        wait_until(lambda: (drv.sink() or {}).get("acked") == 300, 20, "first part acked")
        peer.close()  # listener and connection gone
        drv.feed(b)
        wait_until(lambda: drv.sink()["spool"]["alerts"] == 700, 20, "spooled while away")
        assert drv.sink()["connected"] is False
        peer.listen()
        drv.feed(c)
        rc, st = drv.finish()
    finally:
        drv.kill()
    assert rc == 0, drv.log()
    got, want = peer.received(), ids_of(a + b + c)
    assert first_occurrences(got) == want
    # at-least-once: an alert comes twice only if it was unanswered when a connection broke
    dups = [i for i in set(got) if got.count(i) > 1]
    assert all(i not in peer.acked[: peer.acked.index(i)] for i in dups)
    s = st["sinks"][0]
    assert s["reconnects"] >= 1 and s["acked"] == 1300 and s["spool"]["alerts"] == 0
    check_clean(drv)


def test_unix_err_answers_are_rejected_once_and_not_retried(workdir):
    path = os.path.join(workdir, "n.sock")

    def policy(eid, again):
        n = int(eid.split("-")[1])
        if n % 10 == 7:
            return ("ERR", "unknown participant")
        if n % 10 == 3:
            return ("ERR", "bad schema")
        return ("OK",)
    p = Peer(path, policy)
    p.listen()
    lines = alert_lines(100, "e")
    drv = Driver(workdir, ["unix:" + path])
    try:
        drv.feed(lines)
        rc, st = drv.finish()
    finally:
        drv.kill()
        p.close()
    assert rc == 0, drv.log()
    assert p.received() == ids_of(lines)  # rejected ones are not sent again
    s = st["sinks"][0]
    assert (s["acked"], s["rejected"], s["garbage"]) == (80, 20, 0)
    assert s["spool"]["alerts"] == 0
    # logged once per distinct reason, not per alert
    assert drv.log().count("rejected by peer") == 2, drv.log()
    check_clean(drv)


@pytest.mark.parametrize("garbage", [b"HELLO\n", b"OK not-the-oldest-id\n", b"OK\n"])
def test_unix_garbage_answer_resets_connection_and_resends(workdir, garbage):
    path = os.path.join(workdir, "g.sock")

    def policy(eid, again):
        if eid == "g-5" and not again:
            return ("RAW", garbage)
        return ("OK",)
    p = Peer(path, policy)
    p.listen()
    lines = alert_lines(20, "g")
    drv = Driver(workdir, ["unix:" + path])
    try:
        drv.feed(lines)
        rc, st = drv.finish()
    finally:
        drv.kill()
        p.close()
    assert rc == 0, drv.log()
    got = p.received()
    assert first_occurrences(got) == ids_of(lines)
    assert got.count("g-5") == 2  # sent again on the new connection
    assert set(p.acked) == set(ids_of(lines))
    s = st["sinks"][0]
    assert s["garbage"] == 1 and s["reconnects"] >= 1 and s["acked"] == 20
    assert s["resent"] >= 1
    check_clean(drv)


def test_dead_sink_never_blocks_the_producer_and_spool_replays_after_restart(workdir):
    path = os.path.join(workdir, "dead.sock")  # nothing listens here
    lines = alert_lines(20000, "d")
    drv = Driver(workdir, ["unix:" + path],
                 extra=["--drop", "--queue", "65536", "--timeout-ms", "300"])
    t0 = time.monotonic()
    try:
        drv.feed(lines)
        rc, st = drv.finish()
    finally:
        drv.kill()
    elapsed = time.monotonic() - t0
    assert rc == 3, st  # timed out waiting for acknowledgements
    assert st["lines"] == 20000 and st["pushed"] == 20000 and st["queue_dropped"] == 0, st
    # a push is a copy into a preallocated slot: microseconds on average whatever the sink
    # does; the maximum only allows for the scheduler of a loaded machine
    assert st["push_total_ns"] / 20000 < 200000, st
    assert st["push_max_ns"] < 1000 * 1000000, st
    assert elapsed < 60
    s = st["sinks"][0]
    assert s["spool"]["alerts"] == 20000 and s["sent"] == 0 and s["connected"] is False
    assert s["connect_fails"] >= 1

    # restart with the notifier up: the spool is replayed in order, before new alerts
    p = Peer(path)
    p.listen()
    more = alert_lines(10, "d", 20000)
    drv2 = Driver(workdir, ["unix:" + path], name="drv2")
    try:
        drv2.feed(more)
        rc, st2 = drv2.finish()
    finally:
        drv2.kill()
        p.close()
    assert rc == 0, drv2.log()
    assert p.received() == ids_of(lines + more)
    assert st2["sinks"][0]["acked"] == 20010
    check_clean(drv)
    check_clean(drv2)


def test_spool_cap_counts_overflow_and_keeps_the_oldest(workdir):
    path = os.path.join(workdir, "capped.sock")
    lines = alert_lines(6000, "c", pad=300)  # ~2.4 MB, cap 1 MiB
    drv = Driver(workdir, ["unix:" + path],
                 extra=["--spool-max-mb", "1", "--spool-segment-kb", "64", "--timeout-ms",
                        "200"])
    try:
        drv.feed(lines)
        rc, st = drv.finish()
    finally:
        drv.kill()
    assert rc == 3
    s = st["sinks"][0]
    kept, over = s["spool"]["alerts"], s["spool"]["overflow"]
    assert kept + over == 6000 and over > 0 and s["dropped"] == over
    assert s["spool"]["bytes"] <= 1 << 20

    p = Peer(path)
    p.listen()
    drv2 = Driver(workdir, ["unix:" + path], name="drv2")
    try:
        rc, _ = drv2.finish()
    finally:
        drv2.kill()
        p.close()
    assert rc == 0, drv2.log()
    assert p.received() == ids_of(lines[:kept])  # the newest were dropped, never the oldest


def test_unix_alert_without_event_id_is_rejected_in_place_not_sent(workdir, peer):
    lines = alert_lines(5, "n")
    lines.insert(2, '{"event":{"kind":"alert"},"tipoff":{"kind":"contact"}}')
    drv = Driver(workdir, ["unix:" + peer.path])
    try:
        drv.feed(lines)
        rc, st = drv.finish()
    finally:
        drv.kill()
    assert rc == 0, drv.log()
    assert peer.received() == ["n-0", "n-1", "n-2", "n-3", "n-4"]
    s = st["sinks"][0]
    assert (s["acked"], s["rejected"], s["garbage"]) == (5, 1, 0)
    assert s["spool"]["alerts"] == 0


def test_unix_peer_that_never_answers_is_reset_after_ack_timeout(workdir):
    path = os.path.join(workdir, "mute.sock")

    def policy(eid, again):
        # the first connection takes alerts and never answers; later ones answer
        return ("OK",) if len(p.conns) > 1 else None
    p = Peer(path, policy)
    p.listen()
    lines = alert_lines(50, "m")
    drv = Driver(workdir, ["unix:" + path], extra=["--ack-timeout-ms", "300"])
    try:
        drv.feed(lines)
        rc, st = drv.finish()
    finally:
        drv.kill()
        p.close()
    assert rc == 0, drv.log()
    assert p.conns[0] == ids_of(lines)  # all sent once, none answered
    assert first_occurrences(p.received()) == ids_of(lines)
    assert sorted(p.acked) == sorted(ids_of(lines))
    s = st["sinks"][0]
    assert s["timeouts"] >= 1 and s["acked"] == 50 and s["resent"] >= 50


def test_spool_survives_a_killed_sensor(workdir):
    path = os.path.join(workdir, "later.sock")
    lines = alert_lines(1000, "k")
    drv = Driver(workdir, ["unix:" + path])
    try:
        drv.feed(lines)
        wait_until(lambda: (drv.sink() or {}).get("spool", {}).get("alerts") == 1000, 30,
                   "alerts spooled")
        time.sleep(0.1)
    finally:
        drv.kill()  # SIGKILL: no drain, no final sync
    p = Peer(path)
    p.listen()
    drv2 = Driver(workdir, ["unix:" + path], name="drv2")
    try:
        rc, st = drv2.finish()
    finally:
        drv2.kill()
        p.close()
    assert rc == 0, drv2.log()
    assert p.received() == ids_of(lines)
    assert st["sinks"][0]["acked"] == 1000
    check_clean(drv2)
