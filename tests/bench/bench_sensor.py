#!/usr/bin/env python3
"""Throughput of tipoff-sensor against the floor of a bare libpcap read loop, in one run.

Full run (manual, takes a few minutes; run it on a quiet machine):

    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && make -C build -j tipoff-sensor pcap_floor
    tests/bench/bench_sensor.py --sensor build/sensor/tipoff-sensor \
        --floor build/tests/bench/pcap_floor --corpus ../shared/corpus/pcaps

Smoke run (what ctest runs, label `bench`): the same with `--smoke` (about 50,000 packets,
no goal enforced, counts checked).

The workload: a fixed, varied set of real captures from the corpus (DNS, TLS, QUIC, HTTP,
bulk TCP and mixed application traffic; BASE_SET below), each converted to classic pcap and
retimed to start one second after the previous one ends (inside a capture time never goes back
and no gap exceeds 600 s: some were merged by their authors from captures years apart), joined
with mergecap -a into a base capture. Then copies of the base: copy k rewritten by tcprewrite
--pnat into its own address blocks (IPv4 0/0 -> (11+k).0.0.0/8, IPv6 ::/0 -> 2001:db8:k::/48,
so flows of different copies are distinct) and shifted with editcap -t by k times the base's
span, concatenated with mergecap -a (timestamps never go back), cut to exactly --packets
packets. It is cached in --workdir (default $TMPDIR/tipoff-bench) and rebuilt when missing or
when its recipe changes.

Timed by wall-clock time of the whole process, page cache warm, in --repeat (3) rounds that
interleave the programs (a change of machine load hits all alike); each one's best round counts:
  pcap_floor WORKLOAD                                              (floor_*)
  tipoff-sensor -r WORKLOAD --observations /dev/null --workers 1   (sensor_*, ratio)
  tipoff-sensor -r FIRST-PACKET --observations /dev/null           (startup_seconds)
  tipoff-sensor -r WORKLOAD --observations /dev/null --workers 2   (sensor_workers2_*)
Peak RSS from /usr/bin/time -f %M (else wait4()'s rusage). The sensor's packet count (its
stats line at exit) must equal the floor's, or the run fails.

Output, one "name value" per line: floor_pps, sensor_pps, ratio (sensor/floor), the same for
--workers 2, peak RSS, start-up time, load average and the workload's composition. Exit 0;
1 when a check fails or the ratio is below --min-ratio; 77 (ctest: skipped) when the corpus
or a tool is missing.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77

# (category, path under the corpus' pcaps/ folder). All Ethernet, readable by libpcap.
BASE_SET = [
    ("dns", "ndpi/dns-tunnel-iodine.pcap"),
    ("dns", "ndpi/dns_exfiltration.pcap"),
    ("dns", "suricata-verify/dns__bug-1158__input.pcap"),
    ("dns", "ndpi/dnscrypt-v1-and-resolver-pings.pcap"),
    ("dns", "ndpi/avast_securedns.pcapng"),
    ("tls", "ndpi/reddit.pcap"),
    ("tls", "ndpi/pinterest.pcap"),
    ("tls", "ndpi/tumblr.pcap"),
    ("tls", "suricata-verify/tls__tls-subjectaltname__input.pcap"),
    ("tls", "ndpi/443-firefox.pcap"),
    ("tls", "ndpi/dnscrypt-v2-doh.pcap"),
    ("quic", "ndpi/quic-mvfst-22.pcap"),
    ("quic", "ndpi/snapchat_call_v1.pcapng"),
    ("quic", "ndpi/doq_adguard.pcapng"),
    ("quic", "ndpi/quic-28.pcap"),
    ("quic", "ndpi/quic_interop_V.pcapng"),
    ("quic", "ndpi/quic_frags_ch_out_of_order_same_packet_craziness.pcapng"),
    ("quic", "ndpi/sites.pcapng"),
    ("http", "ndpi/WebattackRCE.pcap"),
    ("http", "ndpi/1kxun.pcap"),
    ("http", "ndpi/http_ua_splitted_in_two_pkts.pcapng"),
    ("http", "suricata-verify/http-range-file__input.pcap"),
    ("http", "ndpi/ocsp.pcapng"),
    ("http", "ndpi/starcraft_battle.pcap"),
    ("bulk-tcp", "ndpi/netflix.pcap"),
    ("bulk-tcp", "ndpi/instagram.pcap"),
    ("bulk-tcp", "ndpi/vnc.pcap"),
    ("bulk-tcp", "ndpi/opera-vpn.pcapng"),
    ("bulk-tcp", "ndpi/fix2.pcap"),
    ("mixed", "ndpi/alexa-app.pcapng"),
    ("mixed", "ndpi/teams.pcap"),
    ("mixed", "ndpi/android.pcap"),
    ("mixed", "ndpi/iphone.pcap"),
    ("mixed", "ndpi/wechat.pcap"),
    ("mixed", "ndpi/telegram.pcap"),
    ("mixed", "ndpi/whatsapp_login_call.pcap"),
]
RECIPE_VERSION = 2
TOOLS = ("editcap", "mergecap", "tcprewrite")


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    """Runs a tool, failing loudly with its output."""
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if res.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), res.returncode,
                                                  res.stderr.strip() or res.stdout.strip()))
    return res


def pcap_summary(path):
    """Packet count, captured bytes, first and last timestamp (max seen) and how many times the
    timestamp goes back, of a classic pcap file (as written by editcap -F pcap)."""
    with open(path, "rb") as f:
        gh = f.read(24)
        magic = struct.unpack("<I", gh[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end = "<"
        else:
            end = ">"
            magic = struct.unpack(">I", gh[:4])[0]
        div = 1e9 if magic == 0xA1B23C4D else 1e6
        rec = struct.Struct(end + "IIII")
        packets = nbytes = back = 0
        first = last = prev = None
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            sec, frac, caplen, _ = rec.unpack(h)
            f.seek(caplen, 1)
            ts = sec + frac / div
            if first is None:
                first = ts
            if prev is not None and ts < prev:
                back += 1
            prev = ts
            last = ts if last is None else max(last, ts)
            packets += 1
            nbytes += caplen
    return {"packets": packets, "bytes": nbytes, "first": first, "last": last, "backsteps": back}


def retime(src, dst, start, max_gap=600.0):
    """Copies a classic pcap file, rewriting timestamps so that the first packet is at `start`,
    time never goes back, and no gap between packets exceeds max_gap seconds (several corpus
    captures were merged by their authors from captures years apart). Gaps up to max_gap are
    kept, so idle timeouts (120 s UDP, 300 s TCP) still expire flows where they did.
    Returns the summary of the result (as pcap_summary)."""
    with open(src, "rb") as f, open(dst, "wb") as o:
        gh = f.read(24)
        magic = struct.unpack("<I", gh[:4])[0]
        end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        magic = struct.unpack(end + "I", gh[:4])[0]
        div = 1000000000 if magic == 0xA1B23C4D else 1000000
        o.write(gh)
        rec = struct.Struct(end + "IIII")
        gap_max = int(max_gap * div)
        t_out = int(start * div)
        prev_in = None
        packets = nbytes = 0
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            sec, frac, caplen, wirelen = rec.unpack(h)
            data = f.read(caplen)
            t_in = sec * div + frac
            if prev_in is not None:
                t_out += min(max(t_in - prev_in, 0), gap_max)
            prev_in = t_in
            o.write(rec.pack(t_out // div, t_out % div, caplen, wirelen))
            o.write(data)
            packets += 1
            nbytes += caplen
    return {"packets": packets, "bytes": nbytes, "first": start,
            "last": (t_out / div) if packets else start, "backsteps": 0}


def build_base(corpus, tmp):
    """Converts each capture of BASE_SET to pcap and retimes it to start one second after the
    previous one ended; returns the joined file, its span and its composition."""
    start = cursor = 1700000000.0  # an arbitrary, fixed start
    parts, comp = [], {}
    for i, (cat, rel) in enumerate(BASE_SET):
        src = os.path.join(corpus, rel)
        conv = os.path.join(tmp, "conv%02d.pcap" % i)
        run(["editcap", "-F", "pcap", src, conv])
        shifted = os.path.join(tmp, "base%02d.pcap" % i)
        s = retime(conv, shifted, cursor)
        os.unlink(conv)
        if not s["packets"]:
            os.unlink(shifted)
            continue
        cursor = s["last"] + 1.0
        parts.append(shifted)
        c = comp.setdefault(cat, {"files": 0, "packets": 0, "bytes": 0})
        c["files"] += 1
        c["packets"] += s["packets"]
        c["bytes"] += s["bytes"]
    base = os.path.join(tmp, "base.pcap")
    run(["mergecap", "-a", "-F", "pcap", "-w", base] + parts)
    for p in parts:
        os.unlink(p)
    return base, cursor - start, comp


def build_workload(corpus, target, workdir):
    """Builds (or reuses) the workload of exactly `target` packets; returns (path, meta)."""
    recipe = {"version": RECIPE_VERSION, "target": target, "set": BASE_SET}
    key = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:12]
    path = os.path.join(workdir, "workload-%d.pcap" % target)
    meta_path = path + ".json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("key") == key and os.path.getsize(path) == meta.get("file_size"):
            log("reusing %s" % path)
            return path, meta
    os.makedirs(workdir, exist_ok=True)
    log("building %s (%d packets)" % (path, target))
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        base, span, comp = build_base(corpus, tmp)
        base_packets = sum(c["packets"] for c in comp.values())
        copies = -(-target // base_packets)
        if copies > 88:
            raise RuntimeError("too many copies (%d) for distinct /8 blocks" % copies)
        step = int(span) + 2  # seconds between copy starts: copies never overlap in time
        parts = []
        for k in range(copies):
            nat = os.path.join(tmp, "nat%03d.pcap" % k)
            pnat = "0.0.0.0/0:%d.0.0.0/8,[::]/0:[2001:db8:%x::]/48" % (11 + k, k)
            run(["tcprewrite", "--pnat=" + pnat, "-i", base, "-o", nat])
            out = os.path.join(tmp, "copy%03d.pcap" % k)
            run(["editcap", "-F", "pcap", "-t", str(k * step), nat, out])
            os.unlink(nat)
            parts.append(out)
        joined = os.path.join(tmp, "joined.pcap")
        run(["mergecap", "-a", "-F", "pcap", "-w", joined] + parts)
        for p in parts:
            os.unlink(p)
        partial = path + ".part"
        run(["editcap", "-F", "pcap", "-r", joined, partial, "1-%d" % target])
        os.replace(partial, path)
    s = pcap_summary(path)
    if s["packets"] != target:
        raise RuntimeError("workload has %d packets, wanted %d" % (s["packets"], target))
    meta = {"key": key, "packets": s["packets"], "bytes": s["bytes"],
            "file_size": os.path.getsize(path),
            "copies": copies, "base_packets": base_packets, "base_span_s": span,
            "backsteps": s["backsteps"], "composition": comp}
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    log("built in %.1f s" % (time.monotonic() - t0))
    return path, meta


def timed(cmd):
    """Runs cmd once; returns (wall seconds, peak RSS KiB, exit code, stdout, stderr).
    Peak RSS from /usr/bin/time when there is one (a child forked from this Python process
    would report Python's own RSS as its peak), else from wait4()'s rusage."""
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as rss_file:
        full = (["/usr/bin/time", "-f", "%M", "-o", rss_file.name] if gnu_time else []) + cmd
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        rss = ru.ru_maxrss
        if gnu_time:
            lines = rss_file.read().split()
            rss = int(lines[-1]) if lines and lines[-1].isdigit() else rss
        out.seek(0)
        err.seek(0)
        return wall, rss, p.returncode, out.read().decode(errors="replace"), \
            err.read().decode(errors="replace")


def last_stats(stderr):
    for line in reversed(stderr.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no stats line on the sensor's stderr")


def measure(name, cmd, check):
    """One timed run of cmd, checked; returns (wall seconds, peak RSS KiB)."""
    wall, rss, rc, out, err = timed(cmd)
    if rc != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), rc, err.strip()[-2000:]))
    check(out, err)
    log("%s: %.3f s, %d KiB" % (name, wall, rss))
    return wall, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor")
    ap.add_argument("--floor", help="the pcap_floor program")
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "../../../shared/corpus/pcaps"))
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "tipoff-bench"))
    ap.add_argument("--packets", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="about 50,000 packets")
    ap.add_argument("--min-ratio", type=float, default=None,
                    help="fail when sensor/floor (one worker) is below this")
    ap.add_argument("--no-workers2", action="store_true")
    ap.add_argument("--build-only", action="store_true",
                    help="build (or find) the workload, print its path and stop (for profiling)")
    a = ap.parse_args()
    if a.smoke:
        a.packets = 50000

    if not a.build_only and not (a.sensor and a.floor):
        ap.error("--sensor and --floor are required")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        print("SKIP: tools missing: %s" % " ".join(missing))
        return SKIP
    absent = [rel for _, rel in BASE_SET if not os.path.exists(os.path.join(a.corpus, rel))]
    if absent:
        print("SKIP: corpus captures absent under %s (first: %s)" % (a.corpus, absent[0]))
        return SKIP

    path, meta = build_workload(a.corpus, a.packets, a.workdir)
    print("workload %s" % path)
    print("workload_packets %d" % meta["packets"])
    print("workload_bytes %d" % meta["bytes"])
    print("workload_copies %d" % meta["copies"])
    print("workload_base_packets %d" % meta["base_packets"])
    for cat, c in sorted(meta["composition"].items()):
        print("workload_base_%s files=%d packets=%d bytes=%d"
              % (cat.replace("-", "_"), c["files"], c["packets"], c["bytes"]))
    if a.build_only:
        return 0
    with open(path, "rb") as f:  # warm the page cache so that no run pays for the disk
        while f.read(1 << 20):
            pass

    packets = meta["packets"]

    def check_floor(out, _err):
        n = int(out.split()[1])
        if n != packets:
            raise RuntimeError("floor read %d packets, the workload has %d" % (n, packets))

    def check_sensor(_out, err):
        st = last_stats(err)
        if st.get("packets") != packets:
            raise RuntimeError("sensor counted %r packets, the workload has %d"
                               % (st.get("packets"), packets))

    one = os.path.join(a.workdir, "first-packet.pcap")
    run(["editcap", "-F", "pcap", "-r", path, one, "1"])
    sensor_cmd = [a.sensor, "-r", path, "--observations", "/dev/null"]
    runs = [("floor", [a.floor, path], check_floor),
            ("sensor", sensor_cmd + ["--workers", "1"], check_sensor),
            ("startup", [a.sensor, "-r", one, "--observations", "/dev/null"], lambda _o, _e: None)]
    if not a.no_workers2:
        runs.append(("sensor_workers2", sensor_cmd + ["--workers", "2"], check_sensor))
    print("cpus %d" % os.cpu_count())
    print("loadavg_before %.2f" % os.getloadavg()[0])
    # Rounds interleave the programs so that a change in machine load hits all of them alike;
    # each program's best round counts.
    best = {}
    for _ in range(a.repeat):
        for name, cmd, check in runs:
            wall, rss = measure(name, cmd, check)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, rss)
    print("loadavg_after %.2f" % os.getloadavg()[0])
    floor_pps = packets / best["floor"][0]
    for name, _cmd, _check in runs:
        wall, rss = best[name]
        print("%s_seconds %.3f" % (name, wall))
        if name == "startup":
            continue
        print("%s_pps %.0f" % (name, packets / wall))
        print("%s_rss_kib %d" % (name, rss))
        if name != "floor":
            label = "ratio" if name == "sensor" else "ratio_" + name[len("sensor_"):]
            print("%s %.3f" % (label, (packets / wall) / floor_pps))
    ratio = (packets / best["sensor"][0]) / floor_pps
    sys.stdout.flush()
    if a.min_ratio is not None and ratio < a.min_ratio:
        print("FAIL: ratio %.3f below %.3f" % (ratio, a.min_ratio))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
