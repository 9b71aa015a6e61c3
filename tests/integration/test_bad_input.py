"""
Bad input: truncated files, snaplen-cut captures, random corruption of real captures, an empty
file, a file that is not a capture, a missing file among good ones, and reading from stdin.
Runs on the captures in pcaps/ (no shared corpus needed); the CI runs this file against both
the release and the ASan+UBSan build (TIPOFF_SENSOR), so every run also checks stderr for a
sanitizer report.

What "right" means here comes from the issue: exit 0 on success, 1 when an input failed (the
others still read), 2 for usage errors; what was read before a cut is still observed, i.e. the
observations of a file cut inside packet k+1 equal those of the file holding only its first k
packets (made independently with editcap -r).
"""

import collections
import os
import random
import struct
import subprocess

import pytest

import tipoff_harness as h

MAIN = os.path.join(h.PCAPS, "android.pcap")        # Ethernet, IPv4: DNS, TLS, HTTP
SECOND = os.path.join(h.PCAPS, "vxlan.pcap")        # VXLAN tunnel, DNS, TLS
PCAPNG = os.path.join(h.PCAPS, "quic-v2.pcapng")    # pcapng, Linux SLL, IPv6, QUIC v2
CORRUPT_SOURCES = ["android.pcap", "vxlan.pcap", "dns.pcap", "6in4tunnel.pcap",
                   "ja4-quic__input.pcap", "quic-v2.pcapng", "bug-4810__pppoe-session-http.pcap",
                   "http_origin_different_than_host.pcap"]


def obs_set(run):
    return collections.Counter(h.strip_per_run(o) for o in run.observations)


def check_sane(run, allowed=(0, 1)):
    assert not run.timed_out, run.describe()
    assert run.sanitizer_report() is None, run.describe()
    assert run.rc in allowed, run.describe()
    assert run.stats is not None, "no stats line on stderr\n" + run.describe()


def diff_text(a, b):
    only_a = list((a - b).elements())[:4]
    only_b = list((b - a).elements())[:4]
    return "only in the first run (%d): %s\nonly in the second (%d): %s" % (
        sum((a - b).values()), only_a, sum((b - a).values()), only_b)


def editcap(*args):
    subprocess.run(["editcap"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


# ---------------------------------------------------------------------------------------------
# Where the records are, for classic pcap and pcapng

def records(data):
    """[(record_start, header_len, data_start, data_len)] of every packet record."""
    magic = data[:4]
    out = []
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4",
                 b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
            out.append((off, 16, off + 16, incl))
            off += 16 + incl
        return out
    assert magic == b"\x0a\x0d\x0d\x0a", "not pcap or pcapng"
    e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    off = 0
    while off + 12 <= len(data):
        btype, blen = struct.unpack(e + "II", data[off:off + 8])
        if btype == 6:  # enhanced packet block
            caplen = struct.unpack(e + "I", data[off + 20:off + 24])[0]
            out.append((off, 28, off + 28, caplen))
        elif btype == 3:  # simple packet block
            out.append((off, 12, off + 12, blen - 16))
        off += blen
    return out


# ---------------------------------------------------------------------------------------------
# Truncated files

def prefix_file(src, k, dst):
    """The first k packets of src as a classic pcap file, written by editcap."""
    if k == 0:
        editcap("-F", "pcap", "-r", src, dst, "0")  # selects no packet: header only
    else:
        editcap("-F", "pcap", "-r", src, dst, "1-%d" % k)


@pytest.fixture(scope="module")
def main_pcapng(tmp_path_factory):
    p = str(tmp_path_factory.mktemp("ng") / "android.pcapng")
    editcap("-F", "pcapng", MAIN, p)
    return p


def cut_points(data):
    """(label, cut offset, packets complete before the cut)."""
    recs = records(data)
    n = len(recs)
    pts = [("mid-file-header", 10, 0)]
    for k in (0, 1, n // 3, n // 2, n - 1):
        start, hlen, dstart, dlen = recs[k]
        pts.append(("mid-record-header-%d" % (k + 1), start + hlen // 2, k))
        if dlen > 2:
            pts.append(("mid-packet-%d" % (k + 1), dstart + dlen // 2, k))
    return pts


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_truncated_file_fails_and_keeps_what_was_read(sensor, tmp_path, main_pcapng, fmt):
    src = MAIN if fmt == "pcap" else main_pcapng
    data = open(src, "rb").read()
    problems = []
    for label, off, k in cut_points(data):
        if fmt == "pcapng" and label == "mid-file-header":
            off = 20  # inside the section header block
        cut = str(tmp_path / ("cut-%s.%s" % (label, fmt)))
        with open(cut, "wb") as f:
            f.write(data[:off])
        run = h.run_sensor([cut], sensor=sensor)
        check_sane(run)
        if run.rc != 1:
            problems.append("%s: exit %s, want 1" % (label, run.rc))
        if os.path.basename(cut) not in run.stderr:
            problems.append("%s: the error does not name the file:\n%s" % (label, run.stderr[-500:]))
        if run.stats.get("inputs_failed") != 1:
            problems.append("%s: stats inputs_failed=%r, want 1" % (label,
                                                                    run.stats.get("inputs_failed")))
        if label == "mid-file-header":
            if run.observations:
                problems.append("%s: %d observations from an unreadable file" % (
                    label, len(run.observations)))
            continue
        ref = str(tmp_path / ("first-%d.%s" % (k, fmt)))
        prefix_file(src, k, ref)
        want = h.run_sensor([ref], sensor=sensor)
        check_sane(want, allowed=(0,))
        if obs_set(run) != obs_set(want):
            problems.append("%s (first %d packets): %s" % (label, k,
                                                          diff_text(obs_set(run), obs_set(want))))
        if run.stats.get("packets") != k:
            problems.append("%s: stats packets=%r, want %d" % (label, run.stats.get("packets"), k))
    assert not problems, "\n".join(problems)


def test_cut_at_a_record_boundary_is_a_complete_file(sensor, tmp_path):
    """The near miss of the cuts above: ending exactly after packet k is a valid file."""
    data = open(MAIN, "rb").read()
    recs = records(data)
    k = len(recs) // 2
    cut = str(tmp_path / "boundary.pcap")
    with open(cut, "wb") as f:
        f.write(data[:recs[k][0]])
    ref = str(tmp_path / "first.pcap")
    prefix_file(MAIN, k, ref)
    run, want = h.run_sensor([cut], sensor=sensor), h.run_sensor([ref], sensor=sensor)
    check_sane(run, allowed=(0,))
    check_sane(want, allowed=(0,))
    assert run.stats["packets"] == k
    assert obs_set(run) == obs_set(want), diff_text(obs_set(run), obs_set(want))


def test_truncated_file_among_good_ones_fails_but_the_rest_is_read(sensor, tmp_path):
    data = open(MAIN, "rb").read()
    recs = records(data)
    k = 40
    cut = str(tmp_path / "cut.pcap")
    with open(cut, "wb") as f:
        f.write(data[:recs[k][2] + 10])  # inside packet k+1
    ref = str(tmp_path / "first.pcap")
    prefix_file(MAIN, k, ref)
    run = h.run_sensor([cut, SECOND], sensor=sensor)
    want = h.run_sensor([ref, SECOND], sensor=sensor)
    check_sane(run, allowed=(1,))
    check_sane(want, allowed=(0,))
    assert run.stats["inputs_failed"] == 1
    assert obs_set(run) == obs_set(want), diff_text(obs_set(run), obs_set(want))


# ---------------------------------------------------------------------------------------------
# Snaplen-cut captures

def flow_table(run):
    """{(transport, frozenset(endpoints)): Counter(endpoint -> packets, (endpoint, 'b') -> bytes)}"""
    out = {}
    for o in run.of("tipoff.flow"):
        t = h.dget(o, "network.transport")
        s = (h.dget(o, "source.ip"), h.dget(o, "source.port"))
        d = (h.dget(o, "destination.ip"), h.dget(o, "destination.port"))
        c = out.setdefault((t, frozenset((s, d))), collections.Counter())
        c[s] += h.dget(o, "source.packets", 0)
        c[d] += h.dget(o, "destination.packets", 0)
        c[(s, "b")] += h.dget(o, "source.bytes", 0)
        c[(d, "b")] += h.dget(o, "destination.bytes", 0)
    return out


@pytest.mark.parametrize("snaplen", [96, 64])
def test_snaplen_cut_capture_still_forms_the_same_flows(sensor, tmp_path, snaplen):
    """
    android.pcap is Ethernet + IPv4 without options: every TCP and UDP header ends by byte 54,
    so even at 64 bytes every TCP/UDP flow, with its packet and byte counts (bytes count what
    was on the wire, not what was captured), must be what the intact file gives.
    """
    cut = str(tmp_path / ("s%d.pcap" % snaplen))
    editcap("-s", str(snaplen), MAIN, cut)
    run = h.run_sensor([cut], sensor=sensor)
    full = h.run_sensor([MAIN], sensor=sensor)
    check_sane(run, allowed=(0,))
    check_sane(full, allowed=(0,))
    want = {k: v for k, v in flow_table(full).items() if k[0] in ("tcp", "udp")}
    got = {k: v for k, v in flow_table(run).items() if k[0] in ("tcp", "udp")}
    assert set(got) == set(want), "only intact: %s\nonly cut: %s" % (
        sorted(set(want) - set(got), key=repr)[:5], sorted(set(got) - set(want), key=repr)[:5])
    wrong = {repr(k): (dict(got[k]), dict(want[k])) for k in want if got[k] != want[k]}
    assert not wrong, "packets/bytes per direction differ (cut, intact): %s" % list(
        wrong.items())[:3]
    assert run.stats["packets"] == full.stats["packets"]


def test_snaplen_cut_dns_keeps_the_readable_questions(sensor, tmp_path, tshark):
    """At 96 bytes a query's question is complete when 14+20+8+12+len(wire name)+4 <= 96."""
    cut = str(tmp_path / "s96.pcap")
    editcap("-s", "96", MAIN, cut)
    out = h.tshark_lines(["-r", MAIN, "-Y", "dns && udp.port == 53 && dns.flags.response == 0",
                          "-T", "fields", "-e", "dns.qry.name", "-e", "eth.type"])
    readable = set()
    for line in out.splitlines():
        name, etype = line.split("\t")[:2]
        wire = len(name) + 2  # label lengths + root
        if etype == "0x0800" and 14 + 20 + 8 + 12 + wire + 4 <= 96:
            readable.add(name)
    assert readable, "the test capture should have short DNS queries"
    got = h.sensor_values(h.run_sensor([cut], sensor=sensor).observations)["dns"]
    assert readable <= got, "questions lost to the snaplen: %s" % sorted(readable - got)


# ---------------------------------------------------------------------------------------------
# Random corruption with fixed seeds

def corrupt(data, recs, rng, where, density):
    """Flip bytes inside packet data ('body') or inside record headers ('header')."""
    b = bytearray(data)
    if where == "body":
        spans = [(d, n) for _s, _hl, d, n in recs if n > 0]
    else:
        spans = [(s, hl) for s, hl, _d, _n in recs]
    total = sum(n for _o, n in spans)
    flips = max(1, int(total * density))
    for _ in range(flips):
        o, n = rng.choice(spans)
        pos = o + rng.randrange(n)
        if pos < len(b):
            b[pos] ^= rng.randrange(1, 256)
    return bytes(b)


@pytest.mark.parametrize("name", CORRUPT_SOURCES)
def test_corrupted_packet_bodies_are_read_to_the_end(sensor, tmp_path, name):
    """Record headers intact: every record is still read (exit 0, packets == records)."""
    src = os.path.join(h.PCAPS, name)
    data = open(src, "rb").read()
    recs = records(data)
    rng = random.Random("body:" + name)
    problems = []
    for i, density in enumerate((0.001, 0.005, 0.02, 0.05, 0.2, 0.5)):
        p = str(tmp_path / ("body-%d-%s" % (i, name)))
        with open(p, "wb") as f:
            f.write(corrupt(data, recs, rng, "body", density))
        run = h.run_sensor([p], sensor=sensor, timeout=60)
        check_sane(run, allowed=(0,))
        if run.stats.get("packets") != len(recs):
            problems.append("%s density %s: packets=%r, want %d" % (
                name, density, run.stats.get("packets"), len(recs)))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", CORRUPT_SOURCES)
def test_corrupted_record_headers_never_crash(sensor, tmp_path, name):
    src = os.path.join(h.PCAPS, name)
    data = open(src, "rb").read()
    recs = records(data)
    rng = random.Random("header:" + name)
    for i, density in enumerate((0.001, 0.01, 0.05, 0.2)):
        p = str(tmp_path / ("hdr-%d-%s" % (i, name)))
        with open(p, "wb") as f:
            f.write(corrupt(data, recs, rng, "header", density))
        check_sane(h.run_sensor([p], sensor=sensor, timeout=60))


def test_corrupted_dns_payloads_never_crash(sensor, tmp_path, tshark):
    """Corruption aimed at DNS messages only (after the UDP header), many seeds."""
    out = h.tshark_lines(["-r", MAIN, "-Y", "dns && udp.port == 53", "-T", "fields",
                          "-e", "frame.number"])
    frames = {int(x) for x in out.split()}
    data = open(MAIN, "rb").read()
    recs = records(data)
    spans = [(d + 42, n - 42) for i, (_s, _hl, d, n) in enumerate(recs)
             if i + 1 in frames and n > 42]
    assert len(spans) > 20
    for seed in range(12):
        rng = random.Random(seed)
        b = bytearray(data)
        for o, n in spans:
            for _ in range(1 + rng.randrange(4)):
                b[o + rng.randrange(n)] ^= rng.randrange(1, 256)
        p = str(tmp_path / ("dns-%d.pcap" % seed))
        with open(p, "wb") as f:
            f.write(bytes(b))
        run = h.run_sensor([p], sensor=sensor, timeout=60)
        check_sane(run, allowed=(0,))
        assert run.stats["packets"] == len(recs)


# ---------------------------------------------------------------------------------------------
# Files that are not captures, missing files, stdin, usage

def test_empty_file_is_a_failed_input(sensor, tmp_path):
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    run = h.run_sensor([str(p)], sensor=sensor)
    check_sane(run, allowed=(1,))
    assert run.observations == []
    assert "empty.pcap" in run.stderr
    assert run.stats.get("inputs_failed") == 1


def test_header_only_capture_is_a_good_empty_input(sensor, tmp_path):
    p = str(tmp_path / "none.pcap")
    prefix_file(MAIN, 0, p)
    run = h.run_sensor([p], sensor=sensor)
    check_sane(run, allowed=(0,))
    assert run.observations == []
    assert run.stats.get("packets") == 0
    assert run.stats.get("inputs_failed") == 0


def test_non_capture_file_is_a_failed_input(sensor, tmp_path):
    p = tmp_path / "notes.pcap"
    p.write_bytes(b"This is a text file, not a capture.\n" * 50)
    run = h.run_sensor([str(p)], sensor=sensor)
    check_sane(run, allowed=(1,))
    assert run.observations == []
    assert "notes.pcap" in run.stderr


def test_missing_file_among_good_ones_fails_but_the_good_ones_are_read(sensor, tmp_path):
    missing = str(tmp_path / "no-such-file.pcap")
    run = h.run_sensor([MAIN, missing, SECOND], sensor=sensor)
    want = h.run_sensor([MAIN, SECOND], sensor=sensor)
    check_sane(run, allowed=(1,))
    check_sane(want, allowed=(0,))
    assert "no-such-file.pcap" in run.stderr
    assert run.stats["inputs_failed"] == 1
    assert run.stats["packets"] == want.stats["packets"]
    assert obs_set(run) == obs_set(want), diff_text(obs_set(run), obs_set(want))


@pytest.mark.parametrize("src", [MAIN, PCAPNG], ids=["pcap", "pcapng"])
def test_stdin_reads_like_the_file(sensor, src):
    data = open(src, "rb").read()
    run = h.run_sensor(["-"], sensor=sensor, stdin=data)
    want = h.run_sensor([src], sensor=sensor)
    check_sane(run, allowed=(0,))
    check_sane(want, allowed=(0,))
    assert run.observations, "nothing observed from stdin"
    assert obs_set(run) == obs_set(want), diff_text(obs_set(run), obs_set(want))


def test_garbage_on_stdin_is_a_failed_input(sensor):
    run = h.run_sensor(["-"], sensor=sensor, stdin=b"\x00garbage" * 100)
    check_sane(run, allowed=(1,))


def test_unknown_option_is_a_usage_error(sensor):
    run = h.run_sensor([MAIN], extra=["--no-such-option"], sensor=sensor)
    assert not run.timed_out and run.sanitizer_report() is None, run.describe()
    assert run.rc == 2, run.describe()
    assert run.observations == []
