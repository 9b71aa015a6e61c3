"""
Fast checks of the sensor's observations on the small captures in pcaps/ against tshark run by
the test on the same files (no shared corpus needed):

- DNS: every message (sender, receiver, first question, answer section, response code) the
  same as tshark's dissection, message for message;
- names: DNS question names, TLS SNIs, QUIC SNIs and HTTP hosts, as sets, exactly tshark's;
- IP addresses of all records (tunnel outer addresses included) exactly tshark's;
- flows: TCP and UDP 5-tuples exactly `tshark -z conv,tcp` / `conv,udp` (minus the outer UDP
  conversations of VXLAN/GENEVE/GTP-U/Teredo tunnels, which the sensor unwraps), with the same
  packet counts per direction; the initiator where DESIGN.md defines it (TCP SYN sender, DNS
  query sender, the side above 1023 when one port is below 1024); Community ID v1 recomputed
  here from the record's 5-tuple.
"""

import base64
import collections
import glob
import hashlib
import ipaddress
import json
import os
import struct

import pytest

import tipoff_harness as h

FAST = sorted(glob.glob(os.path.join(h.PCAPS, "*.pcap")) +
              glob.glob(os.path.join(h.PCAPS, "*.pcapng")))
IDS = [os.path.basename(f) for f in FAST]
TUNNEL_UDP_PORTS = {4789, 6081, 2152, 3544}  # VXLAN, GENEVE, GTP-U, Teredo
DNS_TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
             33: "SRV", 41: "OPT", 64: "SVCB", 65: "HTTPS", 255: "ANY"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def test_fast_pcaps_are_present():
    assert len(FAST) >= 5, "pcaps/ should hold the fast-test captures (see pcaps/README.md)"


_runs = {}


def sensor_run(sensor, path):
    if path not in _runs:
        r = h.run_sensor([path], timeout=120, sensor=sensor)
        assert r.rc == 0 and not r.sanitizer_report(), r.describe()
        _runs[path] = r
    return _runs[path]


# ---------------------------------------------------------------------------------------------
# DNS message by message

def _pairs(pairs):
    return pairs  # keep duplicate keys (tshark repeats "ip", "dns", ...)


def _get(pairs, key):
    return [v for k, v in pairs if k == key]


def _first(pairs, key, default=None):
    for k, v in pairs:
        if k == key:
            return v
    return default


def _find(pairs, key):
    """Depth-first: every value under key anywhere below pairs."""
    out = []
    for k, v in pairs:
        if k == key:
            out.append(v)
        if isinstance(v, list):
            out += _find(v, key)
    return out


def dtype(t):
    if isinstance(t, int) or (isinstance(t, str) and t.isdigit()):
        return DNS_TYPES.get(int(t), "TYPE%d" % int(t))
    return str(t).upper()


def rcode(r):
    if isinstance(r, int) or (isinstance(r, str) and r.isdigit()):
        return RCODES.get(int(r), "RCODE%d" % int(r))
    return str(r).upper()


def answer_data(t, data):
    if data is None:
        return None
    if t in ("A", "AAAA"):
        return h.canon_ip(data)
    if t in ("CNAME", "PTR", "NS"):
        return h.canon_sensor_name(data)
    return None  # other types: data formats differ, not compared


def tshark_dns_messages(path):
    out = h.tshark_lines(["-r", path, "-Y", "dns && (udp.port == 53 || tcp.port == 53) && "
                          "!icmp && !icmpv6", "-T", "json", "-J", "ip ipv6 dns"])
    frames = json.loads(out or "[]", object_pairs_hook=_pairs)
    msgs = []
    for fr in frames:
        layers = _first(_first(fr, "_source"), "layers")
        src = dst = None
        for k, v in layers:  # innermost IP layer wins
            if k in ("ip", "ipv6"):
                src = h.canon_ip(_first(v, k + ".src"))
                dst = h.canon_ip(_first(v, k + ".dst"))
        for dns in _get(layers, "dns"):
            if not isinstance(dns, list):
                continue
            flags = _first(dns, "dns.flags_tree") or []
            queries = _first(dns, "Queries") or []
            qname = qtype = None
            if queries:
                q = queries[0][1]
                qname = h.canon_tshark_name(_first(q, "dns.qry.name", ""))
                qtype = dtype(_first(q, "dns.qry.type"))
            answers = []
            for _label, a in (_first(dns, "Answers") or []):
                t = dtype(_first(a, "dns.resp.type"))
                data = (_first(a, "dns.a") or _first(a, "dns.aaaa") or _first(a, "dns.cname") or
                        _first(a, "dns.ptr.domain_name") or _first(a, "dns.ns"))
                if t in ("CNAME", "PTR", "NS") and data is not None:
                    data = h.canon_tshark_name(data)
                answers.append((h.canon_tshark_name(_first(a, "dns.resp.name", "")), t,
                                answer_data(t, data) if t in ("A", "AAAA") else
                                (data if t in ("CNAME", "PTR", "NS") else None),
                                int(_first(a, "dns.resp.ttl", "0"))))
            is_resp = _first(flags, "dns.flags.response") == "1"
            msgs.append((src, dst, qname, qtype, rcode(_first(flags, "dns.flags.rcode", "0"))
                         if is_resp else None, tuple(sorted(answers, key=repr))))
    return msgs


def sensor_dns_messages(observations):
    msgs = []
    for o in observations:
        if h.dget(o, "event.dataset") != "tipoff.dns":
            continue
        answers = []
        for a in h.dget(o, "dns.answers") or []:
            t = dtype(a.get("type"))
            answers.append((h.canon_sensor_name(a.get("name", "")), t,
                            answer_data(t, a.get("data")), int(a.get("ttl", 0))))
        rc = h.dget(o, "dns.response_code")
        qn = h.dget(o, "dns.question.name")
        qt = h.dget(o, "dns.question.type")
        msgs.append((h.canon_ip(h.dget(o, "source.ip")), h.canon_ip(h.dget(o, "destination.ip")),
                     None if qn is None else h.canon_sensor_name(qn),
                     None if qt is None else dtype(qt),
                     None if rc is None else rcode(rc), tuple(sorted(answers, key=repr))))
    return msgs


@pytest.mark.parametrize("path", FAST, ids=IDS)
def test_dns_messages_match_tshark_one_for_one(sensor, tshark, path):
    want = collections.Counter(tshark_dns_messages(path))
    got = collections.Counter(sensor_dns_messages(sensor_run(sensor, path).observations))
    assert sum(got.values()) == sum(want.values()), "DNS messages: sensor %d, tshark %d" % (
        sum(got.values()), sum(want.values()))
    assert got == want, "only tshark: %s\nonly sensor: %s" % (
        sorted(want - got, key=repr)[:5], sorted(got - want, key=repr)[:5])


# ---------------------------------------------------------------------------------------------
# Names and addresses

@pytest.mark.parametrize("path", FAST, ids=IDS)
def test_names_and_addresses_match_tshark(sensor, tshark, path):
    ref = h.tshark_reference(path, use_cache=False)
    got = h.sensor_values(sensor_run(sensor, path).observations)
    problems = []
    for cat in h.CATEGORIES:
        want = set(ref[cat])
        if cat == "ip":
            want = {a for a, i in ref["ip"].items() if "icmp_error_only" not in i["flags"]}
        if got[cat] != want:
            problems.append("%s: only tshark %s, only sensor %s" % (
                cat, sorted(want - got[cat]), sorted(got[cat] - want)))
    assert not problems, "\n".join(problems)


def test_fast_set_covers_every_category(sensor, tshark):
    """The fast set must keep exercising each category (guards against an empty comparison)."""
    seen = collections.Counter()
    for path in FAST:
        v = h.sensor_values(sensor_run(sensor, path).observations)
        for cat in h.CATEGORIES:
            seen[cat] += len(v[cat])
    assert all(seen[c] > 0 for c in h.CATEGORIES), seen


# ---------------------------------------------------------------------------------------------
# Flows

def tshark_conversations(path):
    """{(transport, frozenset({(ip, port), (ip, port)})): {(ip, port): frames sent}}."""
    out = h.tshark_lines(["-r", path, "-q", "-z", "conv,tcp", "-z", "conv,udp"])
    convs = {}
    transport = None
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            transport = "tcp"
        elif line.startswith("UDP Conversations"):
            transport = "udp"
        elif "<->" in line and transport:
            left, right = line.split("<->")
            a_ip, a_port = left.strip().rsplit(":", 1)
            tok = right.split()
            b_ip, b_port = tok[0].rsplit(":", 1)
            # columns: <- frames, bytes (2 tokens), -> frames, bytes ...
            b_to_a, a_to_b = int(tok[1]), int(tok[4])
            a = (h.canon_ip(a_ip), int(a_port))
            b = (h.canon_ip(b_ip), int(b_port))
            if transport == "udp" and (a[1] in TUNNEL_UDP_PORTS or b[1] in TUNNEL_UDP_PORTS):
                continue
            key = (transport, frozenset((a, b)))
            d = convs.setdefault(key, collections.Counter())
            d[a] += a_to_b
            d[b] += b_to_a
    return convs


def sensor_flows(observations):
    flows = {}
    for o in observations:
        if h.dget(o, "event.dataset") != "tipoff.flow":
            continue
        t = h.dget(o, "network.transport")
        if t not in ("tcp", "udp"):
            continue
        s = (h.canon_ip(h.dget(o, "source.ip")), h.dget(o, "source.port"))
        d = (h.canon_ip(h.dget(o, "destination.ip")), h.dget(o, "destination.port"))
        c = flows.setdefault((t, frozenset((s, d))), collections.Counter())
        c[s] += h.dget(o, "source.packets", 0)
        c[d] += h.dget(o, "destination.packets", 0)
    return flows


@pytest.mark.parametrize("path", FAST, ids=IDS)
def test_flows_match_tshark_conversations(sensor, tshark, path):
    want = tshark_conversations(path)
    got = sensor_flows(sensor_run(sensor, path).observations)
    assert set(got) == set(want), "only tshark: %s\nonly sensor: %s" % (
        sorted(set(want) - set(got), key=repr), sorted(set(got) - set(want), key=repr))
    wrong = {k: (dict(got[k]), dict(want[k])) for k in want if got[k] != want[k]}
    assert not wrong, "packets per direction (sensor, tshark): %s" % wrong


def tshark_syn_senders(path):
    out = h.tshark_lines(["-r", path, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0 && "
                          "!icmp && !icmpv6", "-T", "fields", "-e", "ip.src", "-e", "ipv6.src",
                          "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e",
                          "tcp.dstport", "-E", "occurrence=l"])
    senders = {}
    for line in out.splitlines():
        f = line.split("\t")
        src = (h.canon_ip(f[0] or f[1]), int(f[2]))
        dst = (h.canon_ip(f[3] or f[4]), int(f[5]))
        senders.setdefault(frozenset((src, dst)), src)
    return senders


@pytest.mark.parametrize("path", FAST, ids=IDS)
def test_flow_initiator_follows_design(sensor, tshark, path):
    syn = tshark_syn_senders(path)
    dns_queriers = {(m[0], m[1]) for m in tshark_dns_messages(path) if m[4] is None}
    bad = []
    checked = 0
    for o in sensor_run(sensor, path).observations:
        if h.dget(o, "event.dataset") != "tipoff.flow":
            continue
        t = h.dget(o, "network.transport")
        s = (h.canon_ip(h.dget(o, "source.ip")), h.dget(o, "source.port"))
        d = (h.canon_ip(h.dget(o, "destination.ip")), h.dget(o, "destination.port"))
        key = frozenset((s, d))
        if t == "tcp" and key in syn:
            checked += 1
            if syn[key] != s:
                bad.append(("SYN sender", syn[key], s, d))
        elif 53 in (s[1], d[1]) and ((s[0], d[0]) in dns_queriers or
                                     (d[0], s[0]) in dns_queriers):
            checked += 1
            if (s[0], d[0]) not in dns_queriers:
                bad.append(("DNS querier", d, s, d))
        elif t in ("tcp", "udp") and (s[1] < 1024) != (d[1] < 1024):
            checked += 1
            if s[1] < 1024:
                bad.append(("port < 1024 is the responder", d, s, d))
    assert not bad, "flows with the wrong initiator (rule, expected, source, destination): %s" \
        % bad[:10]


def community_id_v1(proto, sip, dip, sport, dport, seed=0):
    """Community ID v1 (https://github.com/corelight/community-id-spec) for TCP/UDP."""
    a = ipaddress.ip_address(sip).packed
    b = ipaddress.ip_address(dip).packed
    if not (a < b or (a == b and sport < dport)):
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack("!H", seed) + a + b + struct.pack("!BBHH", proto, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


@pytest.mark.parametrize("path", FAST, ids=IDS)
def test_flow_records_carry_community_id_and_times(sensor, path):
    bad = []
    n = 0
    for o in sensor_run(sensor, path).observations:
        if h.dget(o, "event.dataset") != "tipoff.flow":
            continue
        t = h.dget(o, "network.transport")
        start, end = h.dget(o, "event.start"), h.dget(o, "event.end")
        if not start or not end or start > end:
            bad.append(("times", start, end))
        if t not in ("tcp", "udp"):
            continue
        n += 1
        want = community_id_v1(6 if t == "tcp" else 17, h.dget(o, "source.ip"),
                               h.dget(o, "destination.ip"), h.dget(o, "source.port"),
                               h.dget(o, "destination.port"))
        if h.dget(o, "network.community_id") != want:
            bad.append(("community_id", h.dget(o, "network.community_id"), want))
    assert n > 0
    assert not bad, bad[:10]
