"""
An independent, deliberately naive model of DESIGN.md's "What makes an alert", for
test_alerts_e2e.py.

It knows nothing of the sensor: the traffic comes from one tshark pass over the capture, the rules
from the plain-list files and participants the test wrote, and every decision is a linear scan
over those lists with DESIGN.md's text written out in Python. Only what the tests use is modelled:
plain lists (IP, CIDR, ip:port, domain, comments), participants with IP and domain assets, no ASN
database, no allowlists, no expiry.
"""

import ipaddress
import json
import os
import re
import subprocess

# ---------------------------------------------------------------------------------------------
# tshark's view of a capture

_FIELDS = ("frame.number", "frame.time_epoch", "frame.protocols",
           "ip.src", "ip.dst", "ip.proto", "ip.frag_offset",
           "ipv6.src", "ipv6.dst",
           "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin",
           "tcp.flags.reset", "udp.srcport", "udp.dstport", "icmp.type", "icmpv6.type",
           "dns.flags.response", "dns.count.answers", "dns.qry.name", "dns.resp.name",
           "dns.resp.type", "dns.resp.ttl", "dns.a", "dns.aaaa", "dns.cname",
           "tls.handshake.extensions_server_name", "http.host", "http.request")

# ICMP errors (unreachable, source quench, redirect, time exceeded, parameter problem; ICMPv6
# 1..4) are not flows (DESIGN.md, "Initiator").
_ICMP_ERR = {"icmp": {"3", "4", "5", "11", "12"}, "icmpv6": {"1", "2", "3", "4"}}
_TRANSPORTS = ("tcp", "udp", "icmp", "icmpv6")
# The tunnels the sensor unwraps (DESIGN.md, "Tunnels"); tshark names of the layers.
_TUNNEL_LAYERS = {"gre", "erspan", "vxlan", "geneve", "gtp", "teredo"}


def _tshark_env():
    d = os.environ.get("TIPOFF_E2E_TSHARK_HOME")
    env = dict(os.environ)
    if d:
        env["HOME"] = env["XDG_CONFIG_HOME"] = env["WIRESHARK_CONFIG_DIR"] = d
    return env


def _flag(v):
    return v in ("1", "True", "true")


def tshark_view(path, cache_dir):
    """
    One tshark pass over path (cached as JSON in cache_dir). Returns a list of packets in file
    order: dict(n, ts, src, dst, proto, sport, dport, syn, ack, finrst, dns, snis, hosts),
    only for packets that are part of a flow (IP, not an ICMP error, not a later fragment).
    dns = None or dict(qr, questions[], answers[(name, type, data, ttl)]).
    """
    key = re.sub(r"\W", "_", os.path.basename(path)) + ".json"
    cpath = os.path.join(cache_dir, key)
    if os.path.exists(cpath):
        with open(cpath) as f:
            return json.load(f)
    args = ["tshark", "-n", "-r", path, "-T", "json",
            "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
            "-o", "tcp.reassemble_out_of_order:TRUE"]
    for f in _FIELDS:
        args += ["-e", f]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_tshark_env(),
                       timeout=300)
    frames = json.loads(p.stdout.decode("utf-8", "replace") or "[]")
    out = [x for x in (_packet(fr["_source"]["layers"]) for fr in frames) if x is not None]
    os.makedirs(cache_dir, exist_ok=True)
    with open(cpath, "w") as f:
        json.dump(out, f)
    return out


def _canon(a):
    ip = ipaddress.ip_address(a)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _packet(L):
    protos = L.get("frame.protocols", [""])[0].split(":")
    # Everything after an ICMP error is the quoted packet; the error itself is no flow.
    counters = {}
    for pr in protos:
        if pr in _ICMP_ERR:
            k = counters.get(pr, 0)
            counters[pr] = k + 1
            t = L.get(pr + ".type", [])
            if k < len(t) and t[k] in _ICMP_ERR[pr]:
                return _icmp_error(L, protos, pr)
    # The innermost IP layer (tunnels are unwrapped) and the transport after it.
    ip_layers = [(i, pr) for i, pr in enumerate(protos) if pr in ("ip", "ipv6")]
    if not ip_layers:
        return None
    nv4 = sum(1 for _, pr in ip_layers if pr == "ip")
    nv6 = len(ip_layers) - nv4
    idx, fam = ip_layers[-1]
    k = (nv4 if fam == "ip" else nv6) - 1
    try:
        src = _canon(L[fam + ".src"][k])
        dst = _canon(L[fam + ".dst"][k])
    except (KeyError, IndexError):
        return None
    if fam == "ip":
        fo = L.get("ip.frag_offset", [])
        if k < len(fo) and fo[k] not in ("0", ""):
            return None  # later fragment: counted, no flow
    tr = None
    for pr in protos[idx + 1:]:
        if pr in _TRANSPORTS:
            tr = pr
            break
    pkt = {"n": int(L["frame.number"][0]), "ts": float(L["frame.time_epoch"][0]),
           "src": src, "dst": dst, "proto": tr or "ip-%s" % protos[idx + 1:idx + 2],
           "sport": 0, "dport": 0, "syn": False, "ack": False, "finrst": False,
           "dns": None, "snis": [], "hosts": []}
    if tr in ("tcp", "udp"):
        ntr = sum(1 for pr in protos[:idx + 1] if pr == tr)  # outer layers of that transport
        try:
            pkt["sport"] = int(L[tr + ".srcport"][ntr])
            pkt["dport"] = int(L[tr + ".dstport"][ntr])
        except (KeyError, IndexError):
            return None
    if tr == "tcp":
        pkt["syn"] = _flag(L.get("tcp.flags.syn", ["0"])[-1])
        pkt["ack"] = _flag(L.get("tcp.flags.ack", ["0"])[-1])
        pkt["finrst"] = (_flag(L.get("tcp.flags.fin", ["0"])[-1]) or
                         _flag(L.get("tcp.flags.reset", ["0"])[-1]))
    if "dns" in protos and 53 in (pkt["sport"], pkt["dport"]):
        resp = L.get("dns.flags.response", [])
        if len(resp) == 1:  # one message per packet: the captures used have no more
            pkt["dns"] = _dns(L, _flag(resp[0]))
    pkt["snis"] = list(L.get("tls.handshake.extensions_server_name", []))
    if tr == "tcp" and L.get("http.request"):
        pkt["hosts"] = [_host_without_port(h) for h in L.get("http.host", [])]
    return pkt


def _icmp_error(L, protos, pr):
    """An ICMP error, kept only to be ignored: its own (outer-most after tunnels) addresses."""
    idx = protos.index(pr)
    fam = "ipv6" if pr == "icmpv6" else "ip"
    k = sum(1 for x in protos[:idx] if x == fam) - 1
    try:
        return {"n": int(L["frame.number"][0]), "icmp_error": True,
                "src": _canon(L[fam + ".src"][k]), "dst": _canon(L[fam + ".dst"][k])}
    except (KeyError, IndexError):
        return None


def _host_without_port(h):
    h = h.strip()
    if h.startswith("["):
        return h[1:h.find("]")]
    if h.count(":") == 1:
        return h.split(":")[0]
    return h


def _dns(L, qr):
    names = L.get("dns.resp.name", [])
    types = L.get("dns.resp.type", [])
    ttls = L.get("dns.resp.ttl", [])
    a, aaaa, cname = (list(L.get(f, [])) for f in ("dns.a", "dns.aaaa", "dns.cname"))
    nan = int(L.get("dns.count.answers", ["0"])[0]) if qr else 0
    answers = []
    # tshark lists the records of all sections in order; the answer section comes first, and
    # each A/AAAA/CNAME record gives one value of its field, in the same order.
    for i, (name, t) in enumerate(zip(names, types)):
        data = None
        if t == "1" and a:
            data = _canon(a.pop(0))
        elif t == "28" and aaaa:
            data = _canon(aaaa.pop(0))
        elif t == "5" and cname:
            data = cname.pop(0)
        if i < nan:
            ttl = int(ttls[i]) if i < len(ttls) else 0
            answers.append((name, int(t), data, ttl))
    return {"qr": qr, "questions": list(L.get("dns.qry.name", [])), "answers": answers}


# ---------------------------------------------------------------------------------------------
# Flows (DESIGN.md, "Initiator"; docs/observations.md for timeouts and TCP reuse)

IDLE = {"tcp": 300.0, "udp": 120.0}
IDLE_OTHER = 60.0
ACTIVE = 1800.0


def is_private(a):
    return in_special(ipaddress.ip_network(a))


def flows(packets):
    """
    The flows of the capture in order of their first packet: dict(first (frame number), ts,
    init, resp, proto, iport, rport, dns (a port-53 flow), names set, packets [frame numbers]).
    """
    open_flows = {}
    out = []
    for p in packets:
        if p.get("icmp_error"):
            continue  # not a flow, raises nothing
        a, b = (p["src"], p["sport"]), (p["dst"], p["dport"])
        key = (p["proto"],) + tuple(sorted([a, b]))
        f = open_flows.get(key)
        syn_only = p["syn"] and not p["ack"]
        if f is not None:
            idle = IDLE.get(p["proto"], IDLE_OTHER)
            if p["ts"] > f["last"] and p["ts"] - f["last"] > idle:
                f = None
            elif p["ts"] > f["ts"] and p["ts"] - f["ts"] > ACTIVE:
                f = None
            elif syn_only and f["finrst"]:
                f = None
        if f is None:
            f = _new_flow(p)
            open_flows[key] = f
            out.append(f)
        else:
            # a later SYN without ACK from the side taken as responder swaps the roles,
            # unless a name of the flow was already seen
            if syn_only and p["src"] == f["resp"] and p["sport"] == f["rport"] and \
                    not f["names"]:
                f["init"], f["resp"] = f["resp"], f["init"]
                f["iport"], f["rport"] = f["rport"], f["iport"]
                f["swapped"] = True
        f["last"] = p["ts"]
        f["finrst"] = f["finrst"] or p["finrst"]
        f["packets"].append(p["n"])
        for n in p["snis"] + p["hosts"]:
            f["names"].add(n)
        p["flow"] = f["first"]
    return out


def _new_flow(p):
    init, resp = (p["src"], p["sport"]), (p["dst"], p["dport"])
    if p["syn"] and not p["ack"]:
        pass
    elif p["dns"] is not None:
        if p["dns"]["qr"]:
            init, resp = resp, init
    elif (p["sport"] < 1024) != (p["dport"] < 1024) and p["proto"] in ("tcp", "udp"):
        if p["sport"] < 1024:
            init, resp = resp, init
    return {"first": p["n"], "ts": p["ts"], "last": p["ts"], "proto": p["proto"],
            "init": init[0], "iport": init[1], "resp": resp[0], "rport": resp[1],
            "dns": p["proto"] in ("tcp", "udp") and 53 in (p["sport"], p["dport"]),
            "names": set(), "packets": [], "finrst": False, "swapped": False}


# ---------------------------------------------------------------------------------------------
# Rules: plain lists and participants, parsed naively

_SPECIAL = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "255.255.255.255/32",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001:2::/48", "2001:10::/28",
    "2001:db8::/32", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10",
    "ff00::/8")]


def in_special(net):
    """True when the prefix lies wholly in special-purpose space (0.0.0.0/0 and ::/0 kept)."""
    if net.prefixlen == 0:
        return False
    lo, hi = int(net.network_address), int(net.broadcast_address)
    spans = sorted((int(s.network_address), int(s.broadcast_address))
                   for s in _SPECIAL if s.version == net.version)
    cur = lo
    for a, b in spans:
        if a <= cur <= b:
            cur = b + 1
            if cur > hi:
                return True
    return False


_PSL = None


def _public_suffixes():
    global _PSL
    if _PSL is None:
        _PSL = set()
        path = "/usr/share/publicsuffix/public_suffix_list.dat"
        if os.path.exists(path):
            icann = False
            for line in open(path, encoding="utf-8"):
                line = line.strip()
                if "BEGIN ICANN DOMAINS" in line:
                    icann = True
                elif "END ICANN DOMAINS" in line:
                    icann = False
                elif icann and line and not line.startswith(("//", "*", "!")):
                    _PSL.add(line.encode("idna").decode() if not line.isascii() else line)
    return _PSL


def parse_value(v):
    """('ip', network) or ('domain', name) or None (junk, URL path, dropped)."""
    v = v.strip()
    if not v:
        return None
    try:
        return ("ip", ipaddress.ip_network(v, strict=False))
    except ValueError:
        pass
    m = re.fullmatch(r"([0-9.]+):(\d+)", v)
    if m:
        try:
            return ("ip", ipaddress.ip_network(m.group(1)))
        except ValueError:
            return None
    if "/" in v or ":" in v:
        return None  # URLs with a path and anything else: not used by these tests
    name = v.lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    if name.startswith("."):
        name = name[1:]
    if not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*", name) or name.split(".")[-1].isdigit():
        return None
    return ("domain", name)


def load_list(path):
    """The indicators of a plain list, after load-time drops: [(kind, value, text)]."""
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line or line.startswith(("#", ";", "!")):
            continue
        line = re.split(r"\s#", line)[0].strip()
        pv = parse_value(line)
        if pv is None:
            continue
        kind, val = pv
        if kind == "ip" and in_special(val):
            continue
        if kind == "domain" and val in _public_suffixes():
            continue
        out.append((kind, val, indicator_text(kind, val)))
    return out


def indicator_text(kind, val):
    if kind == "ip":
        if val.prefixlen == val.max_prefixlen:
            return str(val.network_address)
        return str(val)
    return val


def name_under(name, dom):
    """name is dom or a subdomain of it (label boundary)."""
    return name == dom or name.endswith("." + dom)


def norm_name(n):
    return n.lower().rstrip(".")


class Rules:
    """Indicators (list files) and participants, scanned linearly."""

    def __init__(self, indicator_files, participants_json):
        self.indicators = []  # (kind, value, text)
        seen = set()
        for f in indicator_files:
            for ind in load_list(f):
                if ind[2] not in seen:  # the same entry in several feeds is one indicator
                    seen.add(ind[2])
                    self.indicators.append(ind)
        self.participants = []  # (id, [(network, text)], [domain])
        for p in participants_json["participants"]:
            ips = []
            for a in p.get("assets", {}).get("ips", []):
                net = ipaddress.ip_network(a, strict=False)
                ips.append((net, indicator_text("ip", net)))
            doms = [norm_name(d) for d in p.get("assets", {}).get("domains", [])]
            self.participants.append((p["id"], ips, doms))

    def ip_indicators(self, addr):
        a = ipaddress.ip_address(addr)
        return [t for k, v, t in self.indicators if k == "ip" and a.version == v.version
                and a in v]

    def name_indicators(self, name):
        name = norm_name(name)
        return [t for k, v, t in self.indicators if k == "domain" and name_under(name, v)]

    def asset_of(self, pid, addr):
        """P's most specific asset covering addr (host, then longer prefixes), or None."""
        a = ipaddress.ip_address(addr)
        best = None
        for p, ips, _d in self.participants:
            if p != pid:
                continue
            for net, text in ips:
                if net.version == a.version and a in net:
                    if best is None or net.prefixlen > best[0]:
                        best = (net.prefixlen, text)
        return best and best[1]

    def owners(self, addr):
        """{participant: most specific asset} for addr."""
        out = {}
        for p, _ips, _d in self.participants:
            asset = self.asset_of(p, addr)
            if asset is not None:
                out[p] = asset
        return out

    def name_owners(self, name):
        name = norm_name(name)
        return {p for p, _ips, doms in self.participants if any(name_under(name, d) for d in doms)}

    def listed(self):
        """{(participant, indicator, asset)}: indicators that are themselves P's assets."""
        out = set()
        for p, ips, doms in self.participants:
            for k, v, t in self.indicators:
                if k == "ip":
                    for net, text in ips:
                        if net.version == v.version and net.overlaps(v):
                            out.add((p, t, text))
                else:
                    for d in doms:
                        if name_under(v, d) or name_under(d, v):
                            out.add((p, t, d))
        return out


# ---------------------------------------------------------------------------------------------
# The expected alerts

DNS_MEMORY_MIN_TTL = 3600.0


def expected_alerts(packets, flow_list, rules):
    """
    The alerts DESIGN.md asks for, as a set of tuples
      ("contact"|"inbound", participant, indicator, asset, source.ip, destination.ip, via,
       source.port, destination.port)
      ("lookup", participant, indicator, asset, asking host, other end, "", None, None)
    where via is "" or, for a match through DNS memory, "dnsmem:" + the name looked up; and the
    "listed" tuples (participant, indicator, asset). Returns (alerts, listed).
    """
    alerts = set()
    # DNS memory: (asking host, address) -> [(frame, ts, expiry, [names], question)]
    memory = {}
    for p in packets:
        d = p.get("dns")
        if d is None:
            continue
        asker, other = (p["dst"], p["src"]) if d["qr"] else (p["src"], p["dst"])
        owners = rules.owners(asker)
        # lookup: the question names (query, or response), answer addresses (IP indicators,
        # exact or CIDR) and CNAME targets
        hits = []
        for q in d["questions"]:
            hits += rules.name_indicators(q)
        if d["qr"]:
            for name, t, data, ttl in d["answers"]:
                if data is None:
                    continue
                if t in (1, 28):
                    hits += rules.ip_indicators(data)
                elif t == 5:
                    hits += rules.name_indicators(data)
        for ind in hits:
            for pid, asset in owners.items():
                alerts.add(("lookup", pid, ind, asset, asker, other, "", None, None))
        if d["qr"] and d["questions"]:
            _remember(memory, p, asker, d)
    for f in flow_list:
        I, R = f["init"], f["resp"]
        io, ro = rules.owners(I), rules.owners(R)
        r_ip = rules.ip_indicators(R)
        i_ip = rules.ip_indicators(I)
        for pid, asset in io.items():
            if pid in ro:
                continue  # own traffic
            for ind in r_ip:
                alerts.add(("contact", pid, ind, asset, I, R, "", f["iport"], f["rport"]))
            if f["dns"]:
                continue  # a DNS flow counts only through R's address
            for n in f["names"]:
                if pid in rules.name_owners(n):
                    continue
                for ind in rules.name_indicators(n):
                    alerts.add(("contact", pid, ind, asset, I, R, "", f["iport"], f["rport"]))
            for frame, ts, expiry, names, question in memory.get((I, R), []):
                if frame > f["first"] or f["ts"] > expiry:
                    continue
                for n in names:
                    if pid in rules.name_owners(n):
                        continue
                    for ind in rules.name_indicators(n):
                        alerts.add(("contact", pid, ind, asset, I, R, "dnsmem:" + question,
                                    f["iport"], f["rport"]))
        for pid, asset in ro.items():
            if pid in io:
                continue
            for ind in i_ip:
                alerts.add(("inbound", pid, ind, asset, I, R, "", f["iport"], f["rport"]))
    return alerts, rules.listed()


def _remember(memory, p, asker, d):
    q = norm_name(d["questions"][0])
    cnames = {}
    for name, t, data, ttl in d["answers"]:
        if t == 5 and data is not None:
            cnames.setdefault(norm_name(name), norm_name(data))
    for name, t, data, ttl in d["answers"]:
        if t not in (1, 28) or data is None:
            continue
        owner = norm_name(name)
        chain, cur = [q], q
        while cur != owner and cur in cnames and len(chain) < 16:
            cur = cnames[cur]
            chain.append(cur)
        if cur != owner:
            chain = [q, owner]  # not connected: the question and the owner
        expiry = p["ts"] + max(DNS_MEMORY_MIN_TTL, float(ttl))
        memory.setdefault((asker, data), []).append((p["n"], p["ts"], expiry, chain, q))
