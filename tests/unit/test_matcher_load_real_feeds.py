#!/usr/bin/env python3
"""Real feeds load with the counts an independent, deliberately naive reader expects.

For each feed shipped in rules/examples and a selection of the shared corpus (at least one
per format), this script counts by itself, with Python's ipaddress/csv/json and regular
expressions (not the matcher's code), how many entries of each type the file holds and how
many DESIGN.md drops for which reason, then runs `tipoff-rules check --indicators FMT:PATH`
and compares every number. Usage: test_matcher_load_real_feeds.py TIPOFF_RULES EXAMPLES CORPUS
"""
import csv
import io
import ipaddress
import json
import os
import re
import subprocess
import sys
import time

# Special-purpose blocks as docs/rules.md lists them (IANA registries minus globally reachable
# blocks, plus multicast and fec0::/10).
SPECIAL = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "255.255.255.255/32", "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001:2::/48",
    "2001:10::/28", "2001:db8::/32", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8")]


def is_special(net):
    if net.prefixlen == 0:
        return False
    # naive: enumerate down to the blocks: covered when every special block split covers it
    todo = [net]
    while todo:
        n = todo.pop()
        if any(n.version == s.version and n.subnet_of(s) for s in SPECIAL):
            continue
        inner = [s for s in SPECIAL if s.version == n.version and s.subnet_of(n) and s != n]
        if not inner:
            return False
        todo.extend(n.subnets(1))
    return True


def load_psl():
    rules = set()
    icann = False
    with open("/usr/share/publicsuffix/public_suffix_list.dat", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if "BEGIN ICANN DOMAINS" in line:
                icann = True
            elif "END ICANN DOMAINS" in line:
                icann = False
            elif icann and line and not line.startswith("//"):
                rules.add(line)
    return rules


PSL = load_psl()


def is_public_suffix(name):
    # ICANN section, exception rules honoured, "*" rules not used (PSL_TYPE_NO_STAR_RULE)
    try:
        name = name.encode("ascii").decode()
    except UnicodeError:
        return False
    if "!" + name in PSL:
        return False
    if name in PSL:
        return True
    # an A-label rule may be listed in U-label form
    try:
        u = name.encode().decode("idna")
        return u in PSL
    except UnicodeError:
        return False


DOMAIN_RE = re.compile(r"^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$")


def refang(s):
    for a, b in (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("(dot)", "."),
                 ("[:]", ":"), ("[://]", "://")):
        s = s.replace(a, b)
    if s.startswith("hxxp"):
        s = "http" + s[4:]
    return s


def classify(tok):
    """-> ('ipv4'|'ipv6', network) | ('domain', name) | ('asn', n) | ('url-path',) | ('junk',)"""
    s = refang(tok.strip())
    if not s or any(c.isspace() for c in s):
        return ("junk",)
    if "://" in s:
        host = s.split("://", 1)[1]
        m = re.search(r"[/?#]", host)
        rest = host[m.start():] if m else ""
        host = host[:m.start()] if m else host
        if rest not in ("", "/"):
            return ("url-path",)
        host = host.rsplit("@", 1)[-1]
    else:
        m = re.search(r"[/?#]", s)
        if m:
            left, rest = s[:m.start()], s[m.start():]
            if rest.startswith("/") and rest[1:].isdigit():
                try:
                    return net_of(ipaddress.ip_network(left + rest, strict=False))
                except ValueError:
                    return ("junk",)
            if rest not in ("", "/"):
                return ("url-path",)
            s = left
        host = s
    if host.startswith("["):
        m = re.match(r"^\[([^\]]+)\](:(\d+))?$", host)
        if not m or (m.group(3) and int(m.group(3)) > 65535):
            return ("junk",)
        try:
            return net_of(ipaddress.ip_network(m.group(1)))
        except ValueError:
            return ("junk",)
    if host.count(":") >= 2:
        try:
            return net_of(ipaddress.ip_network(host, strict=False))
        except ValueError:
            return ("junk",)
    if ":" in host:
        host, port = host.split(":")
        if not port.isdigit() or int(port) > 65535 or not host:
            return ("junk",)
    try:
        return net_of(ipaddress.ip_network(host))
    except ValueError:
        pass
    m = re.match(r"^(?i:asn?)(\d+)$", host)
    if m and int(m.group(1)) <= 0xFFFFFFFF:
        return ("asn", int(m.group(1)))
    name = host.lower()
    if name.startswith("*."):
        name = name[2:]
    elif name.startswith("."):
        name = name[1:]
    if name.endswith("."):
        name = name[:-1]
    if not name.isascii():
        try:
            name = name.encode("idna").decode()
        except UnicodeError:
            return ("junk",)
    if not DOMAIN_RE.match(name) or len(name) > 253 or name.split(".")[-1].isdigit():
        return ("junk",)
    return ("domain", name)


def net_of(net):
    if net.version == 6 and net.prefixlen >= 96 and net.network_address.ipv4_mapped:
        net = ipaddress.ip_network("%s/%d" % (net.network_address.ipv4_mapped,
                                              net.prefixlen - 96))
    return ("ipv4" if net.version == 4 else "ipv6", net)


class Count:
    KEYS = ("ipv4", "ipv6", "domain", "asn", "skipped", "special", "public-suffix",
            "url-path", "not-to-ids", "expired", "other")

    def __init__(self):
        self.c = dict.fromkeys(self.KEYS, 0)

    def value(self, v, want=None):
        kind = v[0]
        if kind == "junk":
            self.c["skipped"] += 1
        elif kind == "url-path":
            self.c["url-path"] += 1
        elif want and not (kind == want or (want == "ip" and kind in ("ipv4", "ipv6"))):
            self.c["skipped"] += 1
        elif kind in ("ipv4", "ipv6") and is_special(v[1]):
            self.c["special"] += 1
        elif kind == "domain" and is_public_suffix(v[1]):
            self.c["public-suffix"] += 1
        else:
            self.c[kind] += 1


def count_list(path, cnt):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.strip()
            if line.startswith("#"):
                continue
            if "://" in line:
                line = re.split(r"\s#", line, 1)[0]
            else:
                line = line.split("#", 1)[0]
            line = line.strip()
            if not line or line[0] in "!;" or line.startswith("//"):
                continue
            if line.startswith("@@"):
                cnt.c["other"] += 1
                continue
            if line.startswith("||"):
                cnt.value(classify(line[2:].split("^", 1)[0]), "domain")
                continue
            toks = line.split()
            if len(toks) > 1:
                first = classify(toks[0])
                if first[0] in ("ipv4", "ipv6"):
                    for t in toks[1:]:
                        if t.lower() in ("localhost", "localhost.localdomain", "local",
                                         "broadcasthost", "ip6-localhost", "ip6-loopback",
                                         "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes",
                                         "ip6-allrouters", "ip6-allhosts", "0.0.0.0"):
                            continue
                        cnt.value(classify(t), "domain")
                else:
                    cnt.c["skipped"] += 1
                continue
            cnt.value(classify(line))


def count_zeek(path, cnt):
    fields = None
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
                continue
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != len(fields):
                cnt.c["skipped"] += 1
                continue
            rec = dict(zip(fields, cols))
            t, v = rec["indicator_type"], rec["indicator"]
            if t in ("Intel::ADDR", "Intel::SUBNET"):
                cnt.value(classify(v), "ip")
            elif t == "Intel::DOMAIN":
                cnt.value(classify(v), "domain")
            elif t == "Intel::URL":
                if "/" in v and "://" not in v and len(v.split("/", 1)[1]) > 0:
                    cnt.c["url-path"] += 1
                else:
                    cnt.value(classify(v))
            else:
                cnt.c["other"] += 1


def count_csv(path, cnt):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip().lower() for h in rows[0]]
    for row in rows[1:]:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rec = dict(zip(header, [c.strip() for c in row]))
        t = rec.get("type", "").lower()
        if t in ("ip", "ipv4", "ipv6"):
            cnt.value(classify(rec["indicator"]), "ip")
        elif t in ("domain", "hostname"):
            cnt.value(classify(rec["indicator"]), "domain")
        elif t in ("url",):
            cnt.value(classify(rec["indicator"]))
        elif t in ("md5", "sha1", "sha256", "email"):
            cnt.c["other"] += 1
        else:
            cnt.value(classify(rec["indicator"]))


def count_misp_event(path, cnt):
    with open(path, encoding="utf-8") as f:
        ev = json.load(f)["Event"]
    attrs = list(ev.get("Attribute", []))
    for o in ev.get("Object", []):
        attrs += o.get("Attribute", [])
    for a in attrs:
        t, v = a["type"], a["value"]
        net = {"ip-src": "ip", "ip-dst": "ip", "domain": "domain", "hostname": "domain",
               "ip-src|port": "ip", "ip-dst|port": "ip", "domain|ip": "pair", "url": "url",
               "AS": "asn"}.get(t)
        if net is None or a.get("deleted") is True:
            cnt.c["other"] += 1
        elif a.get("to_ids", True) in (False, "0", 0):
            cnt.c["not-to-ids"] += 1
        elif net == "pair":
            d, i = v.split("|", 1)
            cnt.value(classify(d), "domain")
            cnt.value(classify(i), "ip")
        elif net == "asn":
            cnt.value(("asn", int(v.upper().lstrip("AS").lstrip("N"))))
        elif net == "url":
            cnt.value(classify(v))
        else:
            cnt.value(classify(v.split("|")[0]), net)


def count_misp_dir(path, cnt):
    with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
        for uuid in json.load(f):
            count_misp_event(os.path.join(path, uuid + ".json"), cnt)


CMP = (r"\s*(?:(?:ipv4-addr:value|ipv6-addr:value|domain-name:value|url:value)\s*=\s*"
       r"'(?:[^'\\]|\\.)*'|autonomous-system:number\s*=\s*\d+)\s*")
OBS = r"\s*\[" + CMP + r"(?:OR" + CMP + r")*\]\s*"
PATTERN = re.compile(r"^" + OBS + r"(?:OR" + OBS + r")*$")
VALUE = re.compile(r"(ipv4-addr|ipv6-addr|domain-name|url):value\s*=\s*'((?:[^'\\]|\\.)*)'|"
                   r"autonomous-system:number\s*=\s*(\d+)")


def count_stix(path, cnt, now):
    with open(path, encoding="utf-8") as f:
        bundle = json.load(f)
    for o in bundle.get("objects", []):
        if o.get("type") != "indicator":
            continue
        p = o.get("pattern", "")
        if o.get("pattern_type", "stix") != "stix" or o.get("revoked") or not PATTERN.match(p):
            cnt.c["other"] += 1
            continue
        vu = o.get("valid_until")
        expired = False
        if vu:
            expired = time.mktime(time.strptime(vu[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone <= now
        for m in VALUE.finditer(p):
            if m.group(3):
                v = ("asn", int(m.group(3)))
                want = "asn"
            else:
                v = classify(m.group(2).replace("\\'", "'").replace("\\\\", "\\"))
                want = {"ipv4-addr": "ip", "ipv6-addr": "ip", "domain-name": "domain",
                        "url": None}[m.group(1)]
            before = dict(cnt.c)
            cnt.value(v, want)
            if expired:
                for k in ("ipv4", "ipv6", "domain", "asn"):
                    if cnt.c[k] != before[k]:
                        cnt.c[k] -= 1
                        cnt.c["expired"] += 1


LINE = re.compile(r"^feed .*?: ipv4 (\d+), ipv6 (\d+), domain (\d+), asn (\d+); skipped (\d+); "
                  r"dropped: special (\d+), public-suffix (\d+), url-path (\d+), "
                  r"not-to-ids (\d+), expired (\d+), other (\d+); allowlisted (\d+)$")


def run_check(tool, spec, now):
    out = subprocess.run([tool, "check", "--now", str(now), "--indicators", spec],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr
    got = dict.fromkeys(Count.KEYS, 0)
    for line in out.stdout.splitlines():
        m = LINE.match(line)
        if m:
            for k, v in zip(Count.KEYS, m.groups()):
                got[k] += int(v)
    return got, out.stderr


def main():
    tool, examples, corpus = sys.argv[1:4]
    now = 1767225600  # 2026-01-01: the time that decides expiry, fixed
    ex = os.path.join(examples, "feeds")
    ind = os.path.join(corpus, "indicators")
    fmt = os.path.join(corpus, "formats")
    cases = [
        ("list", os.path.join(ex, "maltrail-emotet.txt"), count_list),
        ("list", os.path.join(ex, "maltrail-dridex.txt"), count_list),
        ("list", os.path.join(ex, "maltrail-mass-scanner-cidr.txt"), count_list),
        ("zeek", os.path.join(ex, "abuse-ch-ipblocklist.intel"), count_zeek),
        ("csv", os.path.join(ex, "infoblox-emotet-20221006.csv"), count_csv),
        ("misp", os.path.join(ex, "infoblox-misp"), count_misp_dir),
        ("stix", os.path.join(ex, "oasis-apt1.stix.json"), None),
        ("list", os.path.join(ind, "firehol-2016/firehol_level1.netset"), count_list),
        ("list", os.path.join(ind, "firehol-2016/cidr_report_bogons.netset"), count_list),
        ("list", os.path.join(ind, "blocklistproject/ransomware.txt"), count_list),
        ("list", os.path.join(ind, "blocklistproject/ransomware-ags.txt"), count_list),
        ("list", os.path.join(ind, "blocklistproject/abuse.ip"), count_list),
        ("list", os.path.join(ind, "maltrail/static/mass_scanner.txt"), count_list),
        ("zeek", os.path.join(ind, "zeek-intel-criticalpath/cps-collected-iocs.intel"),
         count_zeek),
        ("zeek", os.path.join(ind, "zeek-intel-criticalpath/Amnesty_NSO_Domains.intel"),
         count_zeek),
        ("zeek", os.path.join(ind, "zeek-intel-criticalpath/abuse-ch-urlhaus.intel"),
         count_zeek),
        ("csv", os.path.join(ind, "infoblox-csv/usps_cta_20231219.csv"), count_csv),
        ("misp", os.path.join(fmt, "misp-feed-infoblox"), count_misp_dir),
        ("misp", os.path.join(fmt, "misp-events/synovus-ursnif-with-sightings.json"),
         count_misp_event),
        ("stix", os.path.join(fmt, "stix2.0-unit42-playbooks/tridentursa.json"), None),
        ("stix", os.path.join(fmt, "stix2.0-unit42-playbooks/emotet.json"), None),
        ("stix", os.path.join(fmt, "stix2.1-oasis/threat-reports__apt1.json"), None),
    ]
    failed = 0
    for kind, path, counter in cases:
        if not os.path.exists(path):
            print("SKIP %s (missing)" % path)
            continue
        cnt = Count()
        if counter is None:
            count_stix(path, cnt, now)
        else:
            counter(path, cnt)
        got, err = run_check(tool, "%s:%s" % (kind, path), now)
        name = os.path.relpath(path, os.path.dirname(path.rstrip("/")) + "/..")
        if got is None:
            print("FAIL %s: did not load: %s" % (name, err.strip()))
            failed += 1
        elif got != cnt.c:
            diff = {k: (got[k], cnt.c[k]) for k in Count.KEYS if got[k] != cnt.c[k]}
            print("FAIL %s: (tipoff-rules, expected) differ: %s" % (name, diff))
            failed += 1
        else:
            total = sum(cnt.c[k] for k in ("ipv4", "ipv6", "domain", "asn"))
            print("ok   %s: %d loaded %s" % (name, total,
                                             {k: v for k, v in cnt.c.items() if v}))
    print("%d feeds, %d failed" % (len(cases), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
