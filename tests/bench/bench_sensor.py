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

Alerts mode (default; --no-alerts leaves it out): a rule set generated once into --workdir
(rules-<key>/, reused while the workload and the sizes stay the same): --ip-indicators
(1,000,000) random public IPv4 addresses and --domain-indicators (1,000,000) random names,
plus up to 3,000 of each taken from the workload itself (responder addresses, DNS questions,
TLS SNIs and HTTP Hosts of the sensor's observations of the workload), so that alerts really
fire; --participants (100,000) participants owning random public prefixes (/16../24), plus
participants owning the workload's client /24 blocks (the flows' initiators). Random values
stay out of the workload's own /8 blocks (11/8 onwards) and out of special-purpose space.
--smoke uses 10,000 / 10,000 / 1,000.

Timed by wall-clock time of the whole process, page cache warm, in --repeat (3) rounds that
interleave the programs (a change of machine load hits all alike); each one's best round counts:
  pcap_floor WORKLOAD                                              (floor_*)
  tipoff-sensor -r WORKLOAD --observations /dev/null --workers 1   (sensor_*, ratio)
  tipoff-sensor -r FIRST-PACKET --observations /dev/null           (startup_seconds)
  tipoff-sensor -r WORKLOAD --observations /dev/null --workers 2   (sensor_workers2_*)
In alerts mode, the same rounds also run three programs reading the workload from standard
input (-r -), timed from the first packet written to the exit, after the program has loaded
everything and gone idle (the rule load of millions of entries takes far longer than the
packets and varies with machine load, so a whole-process time would measure the load):
  pcap_floor -                                                     (stream_floor_*)
(the data reaches the pipe by sendfile(2); a pipe is slower than a file for the floor too)
  tipoff-sensor -r - --observations /dev/null --workers 1          (stream_sensor_*)
  the same + RULES --alerts file:/dev/null                         (stream_sensor_alerts_*)
(a sensor's end is its final stats line, printed before it frees the rules at exit)
ratio_alerts_vs_observations = stream_sensor_seconds / stream_sensor_alerts_seconds (goal
>= 0.90), ratio_alerts_vs_floor = stream_floor_seconds / stream_sensor_alerts_seconds (goal
>= 0.25); --min-alerts-vs-observations and --min-alerts-ratio enforce them.
rules_load_seconds: from start to the sensor's "rules: loaded" notice, every round.
Peak RSS from /usr/bin/time -f %M (else wait4()'s rusage). The sensor's packet count (its
stats line at exit) must equal the floor's, or the run fails; the alerts run must raise
contact and lookup alerts and drop none.

Output, one "name value" per line: floor_pps, sensor_pps, ratio (sensor/floor), the same for
--workers 2, peak RSS, start-up time, load average and the workload's composition. Exit 0;
1 when a check fails or the ratio is below --min-ratio; 77 (ctest: skipped) when the corpus
or a tool is missing.
"""
import argparse
import hashlib
import ipaddress
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
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


# ----- alerts mode: the rule set --------------------------------------------------------------

RULES_VERSION = 1
# IPv4 special-purpose space (RFC 6890 registry) and the workload's own /8 blocks (11/8 and up):
# random indicators and participants stay out of them.
_SPECIAL4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3")]
_WORKLOAD_FIRST8, _WORKLOAD_LAST8 = 11, 11 + 88


def _random_public4(rng):
    while True:
        v = rng.getrandbits(32)
        if _WORKLOAD_FIRST8 <= (v >> 24) <= _WORKLOAD_LAST8:
            continue
        a = ipaddress.IPv4Address(v)
        if not any(a in n for n in _SPECIAL4):
            return v


_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
_TLDS = ("com", "net", "org", "info", "ru", "cn", "de", "nl", "xyz", "top", "io", "biz")


def _random_name(rng):
    labels = ["".join(rng.choice(_LETTERS) for _ in range(rng.randint(4, 12)))
              for _ in range(rng.randint(1, 2))]
    return ".".join(labels) + "." + rng.choice(_TLDS)


def workload_values(sensor, path, tmp):
    """Responder addresses, names and initiator /24 blocks (IPv4) the sensor observes in the
    workload."""
    obs = os.path.join(tmp, "obs.jsonl")
    run([sensor, "-r", path, "--observations", obs, "--workers", "1"])
    responders, initiators, names = set(), set(), set()
    with open(obs, "rb") as f:
        for raw in f:
            d = json.loads(raw)
            ds = d["event"]["dataset"]
            src = d.get("source", {}).get("ip", "")
            dst = d.get("destination", {}).get("ip", "")
            if ds == "tipoff.flow":
                if "." in src and "." in dst:
                    initiators.add(src)
                    responders.add(dst)
            elif ds == "tipoff.dns":
                q = d.get("dns", {}).get("question", {}).get("name")
                if q:
                    names.add(q.lower().rstrip("."))
            elif ds == "tipoff.tls":
                n = d.get("tls", {}).get("client", {}).get("server_name")
                if n:
                    names.add(n.lower())
            elif ds == "tipoff.http":
                n = d.get("url", {}).get("domain")
                if n:
                    names.add(n.lower())
    os.unlink(obs)
    responders -= initiators
    blocks = {".".join(a.split(".")[:3]) + ".0/24" for a in initiators}
    names = {n for n in names if "." in n and all(c.isalnum() or c in "-._" for c in n)}
    return sorted(responders), sorted(names), sorted(blocks)


def build_rules(sensor, workload, meta, workdir, n_ips, n_domains, n_participants):
    """Generates (or reuses) the alerts-mode rule files; returns (flags, rules meta)."""
    recipe = {"version": RULES_VERSION, "workload": meta["key"], "packets": meta["packets"],
              "ips": n_ips, "domains": n_domains, "participants": n_participants}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    d = os.path.join(workdir, "rules-" + key)
    files = {"ips": os.path.join(d, "ips.txt"), "domains": os.path.join(d, "domains.txt"),
             "participants": os.path.join(d, "participants.json")}
    meta_path = os.path.join(d, "rules.json")
    flags = ["--indicators", "list:" + files["ips"], "--indicators", "list:" + files["domains"],
             "--participants", files["participants"]]
    if os.path.exists(meta_path) and all(os.path.exists(f) for f in files.values()):
        with open(meta_path) as f:
            rmeta = json.load(f)
        if rmeta.get("key") == key:
            log("reusing %s" % d)
            return flags, rmeta
    log("building rule set %s (%d IPs, %d domains, %d participants)"
        % (d, n_ips, n_domains, n_participants))
    t0 = time.monotonic()
    os.makedirs(d, exist_ok=True)
    rng = random.Random(20261204)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        responders, names, blocks = workload_values(sensor, workload, tmp)
    real_ips = rng.sample(responders, min(3000, len(responders)))
    real_names = rng.sample(names, min(3000, len(names)))
    seen = set(real_ips)
    with open(files["ips"] + ".part", "w") as f:
        f.write("# random public IPv4 addresses plus some of the workload's responders\n")
        for a in real_ips:
            f.write(a + "\n")
        n = len(real_ips)
        while n < n_ips:
            a = str(ipaddress.IPv4Address(_random_public4(rng)))
            if a in seen:
                continue
            seen.add(a)
            f.write(a + "\n")
            n += 1
    os.replace(files["ips"] + ".part", files["ips"])
    seen = set(real_names)
    with open(files["domains"] + ".part", "w") as f:
        f.write("# random names plus some of the workload's DNS questions, SNIs and Hosts\n")
        for nm in real_names:
            f.write(nm + "\n")
        n = len(real_names)
        while n < n_domains:
            nm = _random_name(rng)
            if nm in seen:
                continue
            seen.add(nm)
            f.write(nm + "\n")
            n += 1
    os.replace(files["domains"] + ".part", files["domains"])
    parts = []
    for i, b in enumerate(blocks):
        parts.append({"id": "client-%d" % i, "name": "workload clients %s" % b,
                      "assets": {"ips": [b], "domains": [], "asns": []}})
    i = 0
    while len(parts) < n_participants:
        plen = rng.choice((16, 20, 22, 24, 24, 24))
        v = _random_public4(rng) & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)
        parts.append({"id": "p-%d" % i, "name": "random participant %d" % i,
                      "assets": {"ips": ["%s/%d" % (ipaddress.IPv4Address(v), plen)],
                                 "domains": ["p%d.example" % i], "asns": []}})
        i += 1
    with open(files["participants"] + ".part", "w") as f:
        json.dump({"participants": parts}, f, separators=(",", ":"))
    os.replace(files["participants"] + ".part", files["participants"])
    rmeta = {"key": key, "recipe": recipe, "real_ips": len(real_ips),
             "real_names": len(real_names), "client_blocks": len(blocks),
             "participants": len(parts)}
    with open(meta_path, "w") as f:
        json.dump(rmeta, f, indent=1)
    log("rule set built in %.1f s" % (time.monotonic() - t0))
    return flags, rmeta


def streamed(name, cmd, path, ready):
    """One run of cmd reading the workload on its standard input (`-r -`): the pcap header is
    written at once, the rest only when ready(stderr lines) says the program has loaded
    everything and is idle, so the time from the first packet written to the program's exit
    is packet processing only (plus the final drain), whatever the start-up costs. The end is
    the sensor's final stats line (printed before it frees its rules), else the exit.
    Returns (processing seconds, peak RSS KiB, seconds until the rules were loaded or None,
    seconds until ready, stderr text)."""
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    lines, lock = [], threading.Lock()
    with tempfile.NamedTemporaryFile(mode="r") as rss_file, open(path, "rb") as f:
        full = (["/usr/bin/time", "-f", "%M", "-o", rss_file.name] if gnu_time else []) + cmd
        t_start = time.monotonic()
        p = subprocess.Popen(full, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)

        def read_err():
            for raw in p.stderr:
                with lock:
                    lines.append((time.monotonic(), raw.decode(errors="replace")))
        t = threading.Thread(target=read_err, daemon=True)
        t.start()
        p.stdin.write(f.read(24))
        p.stdin.flush()
        deadline = t_start + 900
        while True:
            with lock:
                snapshot = list(lines)
            if ready([l for _, l in snapshot]):
                break
            if p.poll() is not None or time.monotonic() > deadline:
                p.kill()
                raise RuntimeError("%s never became ready: %s" % (
                    name, "".join(l for _, l in snapshot)[-2000:]))
            time.sleep(0.05)
        t_ready = time.monotonic()
        load = None
        for ts, l in snapshot:
            if "rules: loaded" in l:
                load = ts - t_start
        t0 = time.monotonic()
        # the kernel copies page cache -> pipe (no Python in the data path)
        size, off = os.fstat(f.fileno()).st_size, 24
        while off < size:
            n = os.sendfile(p.stdin.fileno(), f.fileno(), off, min(size - off, 1 << 24))
            if n == 0:
                break
            off += n
        p.stdin.close()
        _, status, ru = os.wait4(p.pid, 0)
        t_exit = time.monotonic()
        t.join(30)
        # the sensor prints its final stats before it frees the rules: the end of processing
        t1 = next((ts for ts, l in lines if "tipoff.stats.final" in l), t_exit)
        rc = os.waitstatus_to_exitcode(status)
        rss = ru.ru_maxrss
        if gnu_time:
            v = rss_file.read().split()
            rss = int(v[-1]) if v and v[-1].isdigit() else rss
    err = "".join(l for _, l in lines)
    if rc != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), rc, err.strip()[-2000:]))
    log("%s (streamed): %.3f s processing, %d KiB, ready after %.1f s, exit %.3f s later"
        % (name, t1 - t0, rss, t_ready - t_start, t_exit - t1))
    return t1 - t0, rss, load, t_ready - t_start, err


def sensor_ready(with_rules):
    """The sensor is ready when it prints stats (it does so once it reads) and, with rules,
    once the `listed` alerts of the start have left for the sinks (the alert sink count stays
    the same over two stats lines)."""
    def ready(lines):
        stats = [json.loads(l) for l in lines if l.startswith("{")]
        if not stats:
            return False
        if not with_rules:
            return True
        if len(stats) < 2:
            return False
        sent = [sum(x["sent"] for x in st["sinks"]["sinks"]) for st in stats[-2:]]
        return sent[0] == sent[1] and stats[-1]["alerts"]["listed"] == sent[1]
    return ready


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
    ap.add_argument("--no-alerts", action="store_true", help="leave the alerts mode out")
    ap.add_argument("--ip-indicators", type=int, default=None)
    ap.add_argument("--domain-indicators", type=int, default=None)
    ap.add_argument("--participants", type=int, default=None)
    ap.add_argument("--min-alerts-ratio", type=float, default=None,
                    help="fail when sensor_alerts/floor is below this (goal 0.25)")
    ap.add_argument("--min-alerts-vs-observations", type=float, default=None,
                    help="fail when sensor_alerts/sensor is below this (goal 0.90)")
    ap.add_argument("--build-only", action="store_true",
                    help="build (or find) the workload, print its path and stop (for profiling)")
    a = ap.parse_args()
    if a.smoke:
        a.packets = 50000
    small = a.smoke
    a.ip_indicators = a.ip_indicators if a.ip_indicators is not None else (
        10000 if small else 1000000)
    a.domain_indicators = a.domain_indicators if a.domain_indicators is not None else (
        10000 if small else 1000000)
    a.participants = a.participants if a.participants is not None else (
        1000 if small else 100000)

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
    alert_stats = {}
    streams = []

    def check_floor_err(_out, _err):
        pass

    if not a.no_alerts:
        rule_flags, rmeta = build_rules(a.sensor, path, meta, a.workdir, a.ip_indicators,
                                        a.domain_indicators, a.participants)
        print("rules_ip_indicators %d" % a.ip_indicators)
        print("rules_domain_indicators %d" % a.domain_indicators)
        print("rules_participants %d" % rmeta["participants"])
        print("rules_matching_ips %d" % rmeta["real_ips"])
        print("rules_matching_names %d" % rmeta["real_names"])
        print("rules_client_blocks %d" % rmeta["client_blocks"])

        def check_alerts(_out, err):
            check_sensor(_out, err)
            st = last_stats(err)
            al = st["alerts"]
            if al.get("contact", 0) == 0 or al.get("lookup", 0) == 0:
                raise RuntimeError("the alerts run raised no contact or no lookup alerts: %r"
                                   % al)
            if al.get("dropped", 0) or st["sinks"]["queue_dropped"]:
                raise RuntimeError("the alerts run dropped alerts: %r" % al)
            alert_stats.update(al)
            alert_stats["lookups"] = st.get("lookups", 0)

        stdin_cmd = [a.sensor, "-r", "-", "--observations", "/dev/null", "--workers", "1",
                     "--stats-interval", "1"]
        streams = [("stream_floor", [a.floor, "-"], lambda _l: True, check_floor_err),
                   ("stream_sensor", stdin_cmd, sensor_ready(False), check_sensor),
                   ("stream_sensor_alerts", stdin_cmd + rule_flags +
                    ["--alerts", "file:/dev/null"], sensor_ready(True), check_alerts)]
    if not a.no_workers2:
        runs.append(("sensor_workers2", sensor_cmd + ["--workers", "2"], check_sensor))
    print("cpus %d" % os.cpu_count())
    print("loadavg_before %.2f" % os.getloadavg()[0])
    # Rounds interleave the programs so that a change in machine load hits all of them alike;
    # each program's best round counts.
    best = {}
    loads = []
    for _ in range(a.repeat):
        for name, cmd, check in runs:
            wall, rss = measure(name, cmd, check)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, rss)
        for name, cmd, ready, check in streams:
            wall, rss, load, _ready_s, err = streamed(name, cmd, path, ready)
            check("", err)
            if load is not None:
                loads.append(load)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, rss)
    print("loadavg_after %.2f" % os.getloadavg()[0])
    floor_pps = packets / best["floor"][0]
    for name, _cmd, _check in runs:
        wall, rss = best[name]
        print("%s_seconds %.3f" % (name, wall))
        if name.startswith("startup"):
            print("%s_rss_kib %d" % (name, rss))
            continue
        print("%s_pps %.0f" % (name, packets / wall))
        print("%s_rss_kib %d" % (name, rss))
        if name != "floor":
            label = "ratio" if name == "sensor" else "ratio_" + name[len("sensor_"):]
            print("%s %.3f" % (label, (packets / wall) / floor_pps))
    ratio = (packets / best["sensor"][0]) / floor_pps
    failed = False
    if not a.no_alerts:
        # Packet processing only (streamed runs: start-up and the rule load excluded).
        for name, _cmd, _ready, _check in streams:
            wall, rss = best[name]
            print("%s_seconds %.3f" % (name, wall))
            print("%s_pps %.0f" % (name, packets / wall))
            print("%s_rss_kib %d" % (name, rss))
        print("rules_load_seconds %s" % " ".join("%.1f" % x for x in loads))
        vs_obs = best["stream_sensor"][0] / best["stream_sensor_alerts"][0]
        vs_floor = best["stream_floor"][0] / best["stream_sensor_alerts"][0]
        print("ratio_stream_sensor_vs_floor %.3f"
              % (best["stream_floor"][0] / best["stream_sensor"][0]))
        print("ratio_alerts_vs_observations %.3f (goal 0.90: %s)"
              % (vs_obs, "met" if vs_obs >= 0.90 else "NOT met"))
        print("ratio_alerts_vs_floor %.3f (goal 0.25: %s)"
              % (vs_floor, "met" if vs_floor >= 0.25 else "NOT met"))
        print("sensor_alerts_counts %s" % json.dumps(alert_stats, sort_keys=True))
        if a.min_alerts_vs_observations is not None and vs_obs < a.min_alerts_vs_observations:
            print("FAIL: alerts/observations %.3f below %.3f"
                  % (vs_obs, a.min_alerts_vs_observations))
            failed = True
        if a.min_alerts_ratio is not None and vs_floor < a.min_alerts_ratio:
            print("FAIL: alerts/floor %.3f below %.3f" % (vs_floor, a.min_alerts_ratio))
            failed = True
    sys.stdout.flush()
    if a.min_ratio is not None and ratio < a.min_ratio:
        print("FAIL: ratio %.3f below %.3f" % (ratio, a.min_ratio))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
