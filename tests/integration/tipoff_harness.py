"""
Shared helpers of the integration tests: where the sensor and the corpus are, how to run the
sensor and read its observations and stats, and an independent reference extraction of the same
observables with tshark (cached under /tmp, keyed by file content and tshark version).

Environment:
  TIPOFF_SENSOR   path of tipoff-sensor (ctest sets it; any build, e.g. the ASan one)
  TIPOFF_CORPUS   the shared corpus (default: <repo>/../shared/corpus)
  TIPOFF_REF_CACHE  folder for cached tshark results (default /tmp/tipoff-tshark-ref)
  TIPOFF_JOBS     parallel processes (default 2, the most this project may use)
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PCAPS = os.path.join(REPO, "pcaps")
DATA = os.path.join(REPO, "tests", "data")
CORPUS = os.environ.get("TIPOFF_CORPUS") or os.path.join(REPO, "..", "shared", "corpus")
CORPUS_PCAPS = os.path.join(CORPUS, "pcaps")
JOBS = max(1, min(2, int(os.environ.get("TIPOFF_JOBS", "2"))))
REF_CACHE = os.environ.get("TIPOFF_REF_CACHE", "/tmp/tipoff-tshark-ref")

# Bump when the reference extraction below changes meaning: old cache entries are ignored.
REF_VERSION = "5"

SANITIZER_MARKERS = ("runtime error", "AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "ThreadSanitizer")


def sensor_path():
    """The sensor under test, or None when TIPOFF_SENSOR is unset or not executable."""
    p = os.environ.get("TIPOFF_SENSOR")
    if p and os.access(p, os.X_OK):
        return p
    return None


def have_corpus():
    return os.path.isdir(CORPUS_PCAPS)


def corpus_files(*folders):
    """Sorted corpus paths (relative to pcaps/) of the capture files in the given folders."""
    out = []
    for folder in folders:
        base = os.path.join(CORPUS_PCAPS, folder)
        for root, _dirs, files in os.walk(base):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), CORPUS_PCAPS)
                out.append(rel)
    return sorted(out)


def pmap(fn, items, jobs=JOBS):
    """Map fn over items with at most `jobs` concurrent subprocesses, keeping order."""
    items = list(items)
    if jobs <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        return list(ex.map(fn, items))


# ---------------------------------------------------------------------------------------------
# Running the sensor


class SensorRun:
    """Result of one sensor run: exit code, observations (dicts), stats (dict or None), stderr."""

    def __init__(self, args, rc, observations, stats, stderr, timed_out=False):
        self.args = args
        self.rc = rc
        self.observations = observations
        self.stats = stats
        self.stderr = stderr
        self.timed_out = timed_out

    def of(self, dataset):
        return [o for o in self.observations if dget(o, "event.dataset") == dataset]

    def sanitizer_report(self):
        """The first sanitizer line of stderr, or None."""
        for line in self.stderr.splitlines():
            if any(m in line for m in SANITIZER_MARKERS):
                return line
        return None

    def describe(self):
        tail = "\n".join(self.stderr.splitlines()[-15:])
        return "sensor %s -> rc=%s%s\nstderr (tail):\n%s" % (
            " ".join(self.args), self.rc, " (timed out)" if self.timed_out else "", tail)


def run_sensor(inputs, extra=(), timeout=120, stdin=None, sensor=None):
    """
    Run the sensor over inputs (a list of paths, each passed as -r), observations to a temporary
    file. Returns a SensorRun. stdin: bytes fed to the sensor's standard input (for -r -).
    """
    sensor = sensor or sensor_path()
    with tempfile.TemporaryDirectory(prefix="tipoff-it-") as tmp:
        obs_path = os.path.join(tmp, "obs.jsonl")
        args = [sensor]
        for i in inputs:
            args += ["-r", i]
        args += ["--observations", obs_path, "--observer-name", "it"]
        args += list(extra)
        env = dict(os.environ)
        # Sanitizer builds: report everything, never abort silently, no leak noise from
        # third-party libraries unless it is ours (leaks still fail through exitcode).
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        timed_out = False
        try:
            p = subprocess.run(args, input=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout, env=env)
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, err, timed_out = None, e.stderr or b"", True
        stderr = err.decode("utf-8", "replace")
        observations = read_jsonl(obs_path) if os.path.exists(obs_path) else []
    return SensorRun(args, rc, observations, parse_stats(stderr), stderr, timed_out)


def read_jsonl(path):
    out = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise AssertionError("%s:%d: not JSON (%s): %r" % (path, n, e, line[:200]))
    return out


def parse_stats(stderr):
    """The last stderr line that starts with '{' and parses as JSON, else None."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def dget(obj, dotted, default=None):
    """obj['a']['b'] for 'a.b'; also accepts flattened keys ('a.b' at any level)."""
    cur = obj
    parts = dotted.split(".")
    i = 0
    while i < len(parts):
        if not isinstance(cur, dict):
            return default
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in cur:
                cur = cur[key]
                i = j
                break
        else:
            return default
    return cur


# Per-run fields that legitimately differ between runs of the same input.
PER_RUN_FIELDS = ("event.id", "event.ingested", "event.created", "observer.name",
                  "observer.hostname", "agent.id", "process.pid")


def strip_per_run(obj):
    """A copy of an observation without per-run fields, as a canonical JSON string."""
    o = json.loads(json.dumps(obj))
    for f in PER_RUN_FIELDS:
        parts = f.split(".")
        cur = o
        for p in parts[:-1]:
            cur = cur.get(p) if isinstance(cur, dict) else None
            if cur is None:
                break
        if isinstance(cur, dict):
            cur.pop(parts[-1], None)
            cur.pop(f, None)
        o.pop(f, None)
    _drop_empty(o)
    return json.dumps(o, sort_keys=True, separators=(",", ":"))


def _drop_empty(o):
    if isinstance(o, dict):
        for k in list(o):
            _drop_empty(o[k])
            if o[k] == {}:
                del o[k]


# ---------------------------------------------------------------------------------------------
# Names: the sensor writes raw bytes with non-printable ones as \DDD (decimal); tshark 4.0
# writes printable ASCII as is, control characters as C escapes or \ooo (octal), valid UTF-8 as
# text and each invalid byte as U+FFFD. Both sides are turned into the same canonical text:
# the bytes decoded as UTF-8 with invalid sequences replaced (a run of replacement characters
# counts as one), control characters as \xHH.

_CTRL_RE = re.compile(r"[\x00-\x1f\x7f]")
_C_ESC = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def _canon_bytes(b):
    # tshark and Python split invalid UTF-8 into replacement characters differently (per byte
    # vs. per maximal subpart), so a run of them counts as one.
    s = re.sub("\ufffd+", "\ufffd", b.decode("utf-8", "replace"))
    return _CTRL_RE.sub(lambda m: "\\x%02x" % ord(m.group()), s)


def canon_sensor_name(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and re.match(r"[0-9]{3}", s[i + 1:i + 4]):
            out.append(int(s[i + 1:i + 4]) & 0xFF)
            i += 4
            continue
        if c == "\\" and i + 1 < len(s):
            out += s[i + 1].encode("utf-8")
            i += 2
            continue
        out += c.encode("utf-8")
        i += 1
    name = _canon_bytes(bytes(out))
    return "" if name == "." else name


def canon_tshark_name(s):
    if s == "<Root>":
        return ""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and re.match(r"[0-7]{3}", s[i + 1:i + 4]):
            out.append(int(s[i + 1:i + 4], 8) & 0xFF)
            i += 4
            continue
        if c == "\\" and i + 1 < len(s) and s[i + 1] in _C_ESC:
            out.append(_C_ESC[s[i + 1]])
            i += 2
            continue
        if c == "\ufffd":
            out += b"\xff"  # any invalid byte: decodes to U+FFFD again
        else:
            out += c.encode("utf-8")
        i += 1
    return _canon_bytes(bytes(out))


def host_without_port(h):
    """HTTP Host without its port; IPv6 literals lose their brackets."""
    h = h.strip()
    if h.startswith("["):
        end = h.find("]")
        return h[1:end] if end > 0 else h
    if h.count(":") == 1:
        host, port = h.split(":")
        if port.isdigit() or port == "":
            return host
    return h


# ---------------------------------------------------------------------------------------------
# Sensor observations -> comparable values per category

CATEGORIES = ("dns", "tls", "quic", "http", "ip")


def sensor_values(observations):
    """{category: set(values)} from a list of observations."""
    v = {c: set() for c in CATEGORIES}
    for o in observations:
        ds = dget(o, "event.dataset")
        for f in ("source.ip", "destination.ip"):
            a = dget(o, f)
            if a:
                v["ip"].add(canon_ip(a))
        tun = dget(o, "tipoff.tunnel")
        if isinstance(tun, dict):
            for a in _walk_strings(tun):
                if _looks_ip(a):
                    v["ip"].add(canon_ip(a))
        if ds == "tipoff.dns":
            n = dget(o, "dns.question.name")
            if n is not None:
                v["dns"].add(canon_sensor_name(n))
            for q in dget(o, "dns.questions") or []:  # only when there are several
                if isinstance(q, dict) and q.get("name") is not None:
                    v["dns"].add(canon_sensor_name(q["name"]))
        elif ds == "tipoff.tls":
            n = dget(o, "tls.client.server_name")
            if n is not None:
                v["tls"].add(canon_sensor_name(n))
        elif ds == "tipoff.quic":
            n = dget(o, "tls.client.server_name")
            if n is not None:
                v["quic"].add(canon_sensor_name(n))
        elif ds == "tipoff.http":
            n = dget(o, "url.domain")
            if n is not None:
                v["http"].add(canon_sensor_name(host_without_port(n)))
    return v


def _walk_strings(o):
    if isinstance(o, dict):
        for x in o.values():
            yield from _walk_strings(x)
    elif isinstance(o, list):
        for x in o:
            yield from _walk_strings(x)
    elif isinstance(o, str):
        yield o


def _looks_ip(s):
    import ipaddress
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def canon_ip(s):
    import ipaddress
    try:
        a = ipaddress.ip_address(s)
        if a.version == 6 and a.ipv4_mapped is not None:
            a = a.ipv4_mapped
        return str(a)
    except ValueError:
        return s


# ---------------------------------------------------------------------------------------------
# Reference extraction with tshark
#
# One tshark pass per capture, every frame, with the fields below in JSON. The raw result (every
# value with flags saying where it was seen) is cached; _select() then applies DESIGN.md's
# definitions, not tshark's protocol guesses:
#  - dns:  dns.qry.name of messages on UDP or TCP port 53 (mDNS 5353 and LLMNR 5355 are not
#          DNS; neither is tshark's heuristic DNS on other ports);
#  - tls:  tls.handshake.extensions_server_name in frames without a QUIC layer;
#  - quic: the same field in frames with a QUIC layer (tshark decrypts v1/v2 Initials);
#  - http: http.host, port removed (tshark's HTTP includes SSDP/HTTPU over UDP);
#  - ip:   ip.src/dst and ipv6.src/dst of every IP layer, outer (tunnel) ones included.
# Whatever tshark dissects inside an ICMP/ICMPv6 error or an sFlow sample (the copied header of
# another packet) is left out: it is not traffic of that packet. The addresses of the ICMP error packet itself are
# kept but flagged "icmp_error_only" when they appear in no other packet, because DESIGN.md says
# ICMP errors are not flows.

_TSHARK_FIELDS = ("frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
                  "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "dns.qry.name",
                  "dns.id", "dns.flags.response", "tls.handshake.extensions_server_name",
                  "http.host", "icmp.type", "icmpv6.type", "ip.frag_offset", "ip.flags.mf")

_ICMP_ERR = {"icmp": {"3", "4", "5", "11", "12"}, "icmpv6": {"1", "2", "3", "4"}}


_TSHARK_VERSION = None


def tshark_version():
    global _TSHARK_VERSION
    if _TSHARK_VERSION is None:
        p = subprocess.run(["tshark", "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        _TSHARK_VERSION = p.stdout.decode().splitlines()[0].strip()
    return _TSHARK_VERSION


def _file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


_TSHARK_ENV = None


def _tshark_env():
    """An empty configuration folder, so that no personal preference changes the dissection."""
    global _TSHARK_ENV
    if _TSHARK_ENV is None:
        d = tempfile.mkdtemp(prefix="tipoff-tshark-conf-")
        env = dict(os.environ)
        env["HOME"] = d
        env["XDG_CONFIG_HOME"] = d
        env["WIRESHARK_CONFIG_DIR"] = d
        _TSHARK_ENV = env
    return _TSHARK_ENV


def tshark_reference(path, use_cache=True):
    """
    The reference observables of one capture:
      {"readable": bool, "error": str, "frames": n,
       "dns": {value: info}, "tls": {...}, "quic": {...}, "http": {...}, "ip": {...},
       "dns_messages": n}
    info = {"frames": [first few frame numbers], "flags": [...]}.
    """
    sha = _file_sha(path)
    key = "%s-%s-%s" % (sha[:32], REF_VERSION, re.sub(r"\W", "", tshark_version())[:40])
    cpath = os.path.join(REF_CACHE, key + ".json")
    if use_cache and os.path.exists(cpath):
        with open(cpath) as f:
            return _select(json.load(f))
    ref = _tshark_extract(path)
    if use_cache:
        os.makedirs(REF_CACHE, exist_ok=True)
        tmp = cpath + ".%d.tmp" % os.getpid()
        with open(tmp, "w") as f:
            json.dump(ref, f)
        os.replace(tmp, cpath)
    return _select(ref)


# Dissection settings that follow DESIGN.md rather than tshark's defaults: IP fragments are not
# reassembled (the first fragment counts for its flow), TCP segments are put in order (the
# sensor's name parsers reassemble out-of-order segments too).
TSHARK_PREFS = ("-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
                "-o", "tcp.reassemble_out_of_order:TRUE")


def _tshark_extract(path):
    args = ["tshark", "-n", "-r", path, "-T", "json"] + list(TSHARK_PREFS)
    for f in _TSHARK_FIELDS:
        args += ["-e", f]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_tshark_env())
    ref = {"readable": True, "error": "", "frames": 0, "dns_messages": 0, "raw": {}}
    for c in CATEGORIES:
        ref["raw"][c] = {}
    err = p.stderr.decode("utf-8", "replace")
    err = "\n".join(l for l in err.splitlines() if "Running as user" not in l)
    try:
        frames = json.loads(p.stdout.decode("utf-8", "replace") or "[]")
    except ValueError:
        frames = []
    if p.returncode != 0 and not frames:
        ref["readable"] = False
        ref["error"] = err.strip()[:300]
        return ref
    if err.strip():
        ref["error"] = err.strip()[:300]  # e.g. "cut short in the middle of a packet"
    for fr in frames:
        ref["frames"] += 1
        _frame(ref["raw"], fr["_source"]["layers"], ref)
    for a, info in ref["raw"]["ip"].items():
        if "icmp_error" in info["flags"] and "not_icmp_error" not in info["flags"]:
            info["flags"].append("icmp_error_only")
    return ref


def _select(ref):
    """Fill ref[cat] from ref['raw'] by the rules at the top of this section."""
    for cat in CATEGORIES:
        sel = {}
        for v, info in ref.get("raw", {}).get(cat, {}).items():
            fl = info["flags"]
            if "live" not in fl:
                continue  # only ever inside an ICMP error's quoted packet
            if cat == "dns" and "port53" not in fl:
                continue  # mDNS, LLMNR, tshark's heuristic DNS on other ports
            sel[re.sub("\ufffd+", "\ufffd", v)] = info  # as _canon_bytes (older caches)
        ref[cat] = sel
    return ref


def _add(raw, cat, value, frame, flags=()):
    info = raw[cat].setdefault(value, {"frames": [], "flags": []})
    if len(info["frames"]) < 5 and frame not in info["frames"]:
        info["frames"].append(frame)
    for f in flags:
        if f not in info["flags"]:
            info["flags"].append(f)


def _frame(raw, L, ref):
    num = int(L.get("frame.number", ["0"])[0])
    protos = L.get("frame.protocols", [""])[0].split(":")
    base = ["malformed"] if "_ws.malformed" in protos else []
    # Index of the first ICMP error layer: everything after it is a quoted packet. The same
    # holds after an sFlow layer (its samples are copies of other packets' headers).
    cut = len(protos)
    counters = {}
    for i, pr in enumerate(protos):
        if pr == "sflow":
            cut = i + 1
            break
        if pr in _ICMP_ERR:
            k = counters.get(pr, 0)
            types = L.get(pr + ".type", [])
            t = types[k] if k < len(types) else None
            counters[pr] = k + 1
            if t in _ICMP_ERR[pr]:
                cut = i
                break
    icmp_err = cut < len(protos) and protos[cut] in _ICMP_ERR
    quoting = cut < len(protos)

    def where(idx):
        """'live' for layers before the first ICMP error (all of them when there is none)."""
        return ["live"] if idx < cut or not quoting else ["quoted"]

    # IP addresses of every layer, in order.
    n_ip = n_ip6 = 0
    for i, pr in enumerate(protos):
        if pr not in ("ip", "ipv6"):
            continue
        n = n_ip if pr == "ip" else n_ip6
        for f in (pr + ".src", pr + ".dst"):
            vals = L.get(f, [])
            if n < len(vals):
                fl = base + where(i)
                if i < cut:
                    fl.append("icmp_error" if icmp_err else "not_icmp_error")
                _add(raw, "ip", canon_ip(vals[n]), num, fl)
        if pr == "ip":
            n_ip += 1
        else:
            n_ip6 += 1

    def ports_before(idx):
        """Transport ('udp'/'tcp') and ports of the last transport layer before protos[idx]."""
        last, n = None, {"udp": 0, "tcp": 0}
        for p in protos[:idx]:
            if p in n:
                last = p
                n[p] += 1
        if last is None:
            return None, ()
        k = n[last] - 1
        sp = L.get(last + ".srcport", [])
        dp = L.get(last + ".dstport", [])
        return last, tuple(int(x[k]) for x in (sp, dp) if k < len(x))

    for proto in ("dns", "mdns", "llmnr"):
        if proto in protos:
            i = protos.index(proto)
            tr, ports = ports_before(i)
            fl = base + where(i) + [proto, tr or "no-transport"]
            if 53 in ports:
                fl.append("port53")
                if i < cut:
                    ref["dns_messages"] += len(L.get("dns.id", []))
            for n in L.get("dns.qry.name", []):
                _add(raw, "dns", canon_tshark_name(n), num, fl)
            break
    sni = L.get("tls.handshake.extensions_server_name", [])
    if sni:
        i = protos.index("quic") if "quic" in protos else (
            protos.index("tls") if "tls" in protos else len(protos))
        cat = "quic" if "quic" in protos else "tls"
        tr, ports = ports_before(i)
        for n in sni:
            _add(raw, cat, canon_tshark_name(n), num,
                 base + where(i) + [tr or "no-transport", "port%d" % min(ports or (0,))])
    if L.get("http.host"):
        i = next((protos.index(p) for p in ("http", "ssdp") if p in protos), len(protos))
        tr, ports = ports_before(i)
        for hh in L["http.host"]:
            _add(raw, "http", canon_tshark_name(host_without_port(hh)), num,
                 base + where(i) + [tr or "no-transport", "port%d" % min(ports or (0,))])


def tshark_lines(args, timeout=300):
    """Run tshark with args; stdout as text (stderr ignored)."""
    p = subprocess.run(["tshark", "-n"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=_tshark_env(), timeout=timeout)
    return p.stdout.decode("utf-8", "replace")


def have_tool(name):
    return shutil.which(name) is not None
