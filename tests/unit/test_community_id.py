#!/usr/bin/env python3
"""Community ID v1 of sensor/community_id.c against an independent Python implementation.

Written from the spec (corelight/community-id-spec README: seed . saddr . daddr . proto . 0 .
sport . dport, SHA-1, base64, "1:" prefix; smaller IP:port endpoint first; ICMP/ICMPv6
type/counter-type port equivalents as in pycommunityid's icmp.py/icmp6.py, other types
one-way with the code as destination port). Usage: test_community_id.py PATH/test_community_id
"""
import base64
import hashlib
import ipaddress
import random
import struct
import subprocess
import sys

ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131,
               131: 130, 139: 140, 140: 139, 144: 145, 145: 144}


def reference(proto, saddr, daddr, sport, dport, seed=0):
    s = ipaddress.ip_address(saddr).packed
    d = ipaddress.ip_address(daddr).packed
    has_ports = proto in (1, 6, 17, 58, 132)
    one_way = False
    if proto in (1, 58):
        pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
        if sport in pairs:
            dport = pairs[sport]
        else:
            one_way = True
    if not has_ports:
        sport = dport = 0
    if not one_way and not (s < d or (s == d and sport <= dport)):
        s, d, sport, dport = d, s, dport, sport
    data = struct.pack("!H", seed) + s + d + struct.pack("!BB", proto, 0)
    if has_ports:
        data += struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def random_tuple(rng):
    v6 = rng.random() < 0.4
    if v6:
        addrs = [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(2)]
    else:
        addrs = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(2)]
    if rng.random() < 0.05:
        addrs[1] = addrs[0]  # equal addresses: ports decide
    proto = rng.choice([6, 17, 132, 47, 50, 1 if not v6 else 58, 1 if not v6 else 58])
    if proto in (1, 58):
        pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
        t = rng.choice(list(pairs) + [3, 11, 5, 1, 2, 4, 137, rng.randrange(256)])
        return proto, addrs[0], addrs[1], t, rng.randrange(256)
    ports = [rng.randrange(65536), rng.randrange(65536)]
    if rng.random() < 0.05:
        ports[1] = ports[0]
    if proto in (47, 50):
        ports = [0, 0]
    return proto, addrs[0], addrs[1], ports[0], ports[1]


def main():
    rng = random.Random(20201001)
    tuples = [random_tuple(rng) for _ in range(3000)]
    text = "".join("%d %s %s %d %d\n" % t for t in tuples)
    out = subprocess.run([sys.argv[1], "--stdin"], input=text, capture_output=True, text=True,
                         check=True).stdout.split("\n")
    bad = 0
    for t, got in zip(tuples, out):
        want = reference(*t)
        if got != want:
            bad += 1
            if bad <= 10:
                print("MISMATCH %r: C %s, Python %s" % (t, got, want))
    print("%d tuples, %d mismatches" % (len(tuples), bad))
    return 1 if bad or len(out) < len(tuples) else 0


if __name__ == "__main__":
    sys.exit(main())
