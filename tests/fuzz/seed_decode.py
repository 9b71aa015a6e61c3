#!/usr/bin/env python3
"""Write the seed corpus of fuzz_decode: frames of real captures plus a few built ones.

Each seed is a 2-byte big-endian selector of the link type (an index into the table in
fuzz_decode.c, kept in step with LINKS below) followed by the frame. Real frames are cut out
of the shared corpus with editcap (Wireshark's), so that pcapng files work too.

usage: seed_decode.py PCAPS_DIR OUT_DIR
"""
import os
import struct
import subprocess
import sys
import tempfile

# Link types in the order of fuzz_decode_links[] in fuzz_decode.c.
LINKS = [1, 0, 108, 12, 228, 229, 113, 276, 9, 50, 51, 104, 14, 101, 192, 239, 127]

# (capture under PCAPS_DIR, frame number as tshark counts, seed name)
REAL = [
    ("tcpdump/vxlan.pcap", 1, "vxlan-icmp"),
    ("tcpdump/vxlan.pcap", 2, "vxlan-arp"),
    ("tcpdump/ipv6-srh-ipproto-ether.pcap", 1, "ipv6-srh-ethernet"),
    ("tcpdump/geneve.pcap", 3, "geneve-tcp"),
    ("suricata-verify/geneve-decoder__input.pcap", 3, "geneve-icmp"),
    ("tcpdump/various_gre.pcap", 11, "gre-cmd-keepalive-in-gre"),
    ("tcpdump/various_gre.pcap", 25, "gre-cmd-icmp"),
    ("ndpi/gre.pcapng", 1, "gre-pptp-ppp-sip"),
    ("ndpi/ipv6_in_gtp.pcap", 1, "gtp-ipv6-udp-qinq"),
    ("ndpi/ipv6_in_gtp.pcap", 2, "gtp-ipv6-esp"),
    ("ndpi/ja3_lots_of_cipher_suites_2_anon.pcap", 1, "gtp-ipv4-tcp"),
    ("ndpi/teredo.pcap", 2, "teredo-ra-origin"),
    ("ndpi/4in4tunnel.pcap", 1, "4in4"),
    ("ndpi/4in6tunnel.pcap", 1, "4in6"),
    ("ndpi/6in4tunnel.pcap", 1, "6in4"),
    ("ndpi/6in4tunnel.pcap", 3, "6in4-icmpv6-error"),
    ("ndpi/6in6tunnel.pcap", 1, "6in6"),
    ("tcpdump/mpls-over-udp.pcap", 1, "mpls-over-udp"),
    ("ndpi/dns.pcap", 4, "qinq-pppoe-dns"),
    ("tcpdump/802.1ad_QinQ.pcap", 1, "qinq-arp"),
    ("suricata-verify/bug-4810__pppoe-session-http.pcap", 1, "pppoe-session"),
    ("ndpi/ajp.pcap", 29, "fabricpath"),
    ("tcpdump/ipv6-srh-ext-header.pcap", 1, "ipv6-srh"),
    ("tcpdump/ipv6_mobility_1.pcap", 1, "ipv6-mobility"),
    ("tcpdump/ipv6_jumbogram_1.pcap", 1, "ipv6-jumbogram"),
    ("tcpdump/ipv6_frag6_negative_len.pcap", 1, "ipv6-fragment-bad"),
    ("ndpi/dns_fragmented.pcap", 3, "ipv4-later-fragment"),
    ("ndpi/ah.pcapng", 5, "ipv4-ah-icmp"),
    ("ndpi/nats.pcap", 1, "null-ipv4"),
    ("tcpdump/quic_handshake.pcap", 1, "null-ipv6-quic"),
    ("tcpdump/LINKTYPE_RAW_ipv4.pcap", 1, "raw-ipv4"),
    ("tcpdump/LINKTYPE_RAW_ipv6.pcap", 1, "raw-ipv6"),
    ("tcpdump/LINKTYPE_IPV6.pcap", 1, "linktype-ipv6"),
    ("ndpi/KakaoTalk_chat.pcap", 1, "sll"),
    ("suricata-verify/decode-sll2-01__input.pcap", 1, "sll2"),
    ("ndpi/dlt_ppp.pcap", 1, "ppp"),
    ("ndpi/BGP_Cisco_hdlc_slarp.pcap", 1, "ppp-link-cisco-hdlc"),
    ("ndpi/BGP_redist.pcap", 1, "chdlc-mpls"),
    ("ndpi/icmp-tunnel.pcap", 3, "icmp-echo"),
]


def eth(typ):
    return bytes.fromhex("001122334455020000000001") + struct.pack(">H", typ)


def ip4(proto, payload, src=b"\xcb\x00\x71\x01", dst=b"\xcb\x00\x71\x02"):
    hdr = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0)
    return hdr + src + dst + payload


DOC6 = b"\x20\x01\x0d\xb8" + bytes(11)


def ip6(nxt, payload, src=DOC6 + b"\x01", dst=DOC6 + b"\x02"):
    return struct.pack(">IHBB", 0x60000000, len(payload), nxt, 64) + src + dst + payload


def udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, payload=b"hello"):
    return struct.pack(">HHIIBBHHH", sport, dport, 1000, 0, 0x50, 0x02, 65535, 0, 0) + payload


INNER = ip4(6, tcp(40000, 443), src=b"\x0a\x01\x01\x01", dst=b"\x0a\x02\x02\x02")
INNER_ETH = eth(0x0800) + INNER

ERSPAN2 = struct.pack(">HHI", 0x1000, 0x88BE, 1) + struct.pack(">II", 0x10640005, 0)
ERSPAN3 = struct.pack(">HHI", 0x1000, 0x22EB, 1) + struct.pack(">IIHH", 0x20640005, 7, 0, 1)
GRE_TEB = struct.pack(">HHIII", 0xB000, 0x6558, 0, 1, 2)
GTP_EXT = struct.pack(">BBHIHBBBBBB", 0x34, 0xFF, 8 + len(INNER), 1, 0, 0, 0x85, 1, 0x10, 5, 0)
TEREDO_AUTH = struct.pack(">HBBHB", 1, 2, 1, 0xABCD, 0xEF) + bytes(9)
TEREDO_ORIGIN = struct.pack(">HHI", 0, 0xFFFF, 0xFFFFFFFF)
EXT_CHAIN = (bytes([43, 0]) + bytes(6)              # hop-by-hop
             + bytes([60, 0]) + bytes(6)            # routing
             + bytes([44, 0]) + bytes(6)            # destination options
             + struct.pack(">BBHI", 51, 0, 1, 9)    # first fragment
             + bytes([6, 2]) + bytes(14))           # AH

# Layers the captures lack: (seed name, link type, frame)
BUILT = [
    ("erspan2", 1, eth(0x0800) + ip4(47, ERSPAN2 + INNER_ETH)),
    ("erspan1", 1, eth(0x0800) + ip4(47, struct.pack(">HH", 0, 0x88BE) + INNER_ETH)),
    ("erspan3-subheader", 1, eth(0x0800) + ip4(47, ERSPAN3 + bytes(8) + INNER_ETH)),
    ("gre-teb-key-seq-csum", 1,
     eth(0x0800) + ip4(47, GRE_TEB + eth(0x8100) + struct.pack(">HH", 5, 0x0800) + INNER)),
    ("gre-mpls", 1,
     eth(0x86DD) + ip6(47, struct.pack(">HHI", 0, 0x8847, 77 << 12 | 0x1FF) + INNER)),
    ("gtp-ext-headers", 1, eth(0x0800) + ip4(17, udp(2152, 2152, GTP_EXT + INNER))),
    ("teredo-auth-origin", 1,
     eth(0x0800) + ip4(17, udp(3544, 50000, TEREDO_AUTH + TEREDO_ORIGIN + ip6(59, b"")))),
    ("geneve-options-ip", 1,
     eth(0x0800) + ip4(17, udp(1, 6081, struct.pack(">BBHI", 2, 0, 0x0800, 0x100) + bytes(8)
                               + INNER))),
    ("mpls-pw-ether", 1, eth(0x8847) + struct.pack(">II", 16 << 12 | 0x140, 0) + INNER_ETH),
    ("etherip", 1, eth(0x0800) + ip4(97, struct.pack(">H", 0x3000) + INNER_ETH)),
    ("pppoe-ipv6", 1,
     eth(0x8864) + struct.pack(">BBHHH", 0x11, 0, 1, 0, 0x0057) + ip6(6, tcp(1, 2))),
    ("ipip-nested-5", 1, eth(0x0800) + ip4(4, ip4(4, ip4(4, ip4(41, ip6(4, ip4(4, INNER))))))),
    ("ipv6-ext-chain", 1, eth(0x86DD) + ip6(0, EXT_CHAIN + tcp(1, 2))),
    ("null-big-endian-ipv6", 0, struct.pack(">I", 28) + ip6(17, udp(1, 53, b"q"))),
    ("loop-ipv4", 108, struct.pack(">I", 2) + INNER),
    ("ppp-serial", 50, struct.pack(">HH", 0xFF03, 0x0021) + INNER),
    ("ppp-ether", 51, struct.pack(">BBHHH", 0x11, 0, 1, 0, 0x0021) + INNER),
    ("radiotap-unsupported", 127, bytes(8) + INNER),
    ("ppi-ether", 192, struct.pack("<BBHI", 0, 0, 8, 1) + eth(0x0800) + INNER),
    ("nflog-ipv4", 239, struct.pack(">BBH", 2, 0, 0) + struct.pack("<HH", 8, 1) + bytes(4)
     + struct.pack("<HH", 4 + len(INNER), 9) + INNER),
    # found by the fuzzer: an empty frame, which the target passes as NULL
    ("crash-empty-frame-null", 1, b""),
]


def read_classic_pcap(path):
    """(link type, [frames]) of a classic pcap file."""
    with open(path, "rb") as f:
        b = f.read()
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError(path + ": not a classic pcap")
    link = struct.unpack(e + "I", b[20:24])[0] & 0x0FFFFFFF
    frames, off = [], 24
    while off + 16 <= len(b):
        incl = struct.unpack(e + "I", b[off + 8:off + 12])[0]
        frames.append(b[off + 16:off + 16 + incl])
        off += 16 + incl
    return link, frames


def write_seed(out, name, link, frame):
    with open(os.path.join(out, name), "wb") as f:
        f.write(struct.pack(">H", LINKS.index(link)) + frame)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pcaps, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for rel, nr, name in REAL:
            one = os.path.join(tmp, "one.pcap")
            subprocess.run(["editcap", "-F", "pcap", "-r", os.path.join(pcaps, rel), one,
                            str(nr)], check=True, stdout=subprocess.DEVNULL)
            link, frames = read_classic_pcap(one)
            if len(frames) != 1:
                sys.exit("%s: frame %d not found" % (rel, nr))
            write_seed(out, name, link, frames[0])
    for name, link, frame in BUILT:
        write_seed(out, name, link, frame)


if __name__ == "__main__":
    main()
