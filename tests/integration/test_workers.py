"""
The set of observations does not depend on the number of workers: for varied captures (DNS,
TLS, QUIC, HTTP, tunnels, VLAN/PPPoE, IPv6, fragments, big ones) and for all of them read as one
stream (-r repeated), --workers 1, 2 and 4 give the same observations, each as often, once the
per-run fields (event.id, ...) are removed. The captures of pcaps/ are always used; corpus
captures are added when the corpus is present.
"""

import collections
import glob
import os

import pytest

import tipoff_harness as h

CORPUS_PICKS = [
    "ndpi/iphone.pcap",                            # DNS with CNAMEs, TLS, IPv6, mDNS
    "ndpi/teams.pcap",                             # many TLS flows
    "ndpi/1kxun.pcap",                             # big: HTTP, DNS, many flows
    "ndpi/quic-mvfst-22.pcap",                     # QUIC
    "ndpi/4in6tunnel.pcap",                        # IPv4 in IPv6
    "ndpi/6in6tunnel.pcap",                        # IPv6 in IPv6
    "ndpi/teredo.pcap",                            # Teredo
    "ndpi/dns_fragmented.pcap",                    # IP fragments, DNS
    "suricata-verify/geneve-decoder__input.pcap",  # GENEVE
    "suricata-verify/vxlan-decoder-02__vxlan.pcap",
    "suricata-verify/dns-tcp-ts-gap__input.pcap",  # DNS over TCP
    "ndpi/BGP_redist.pcap",                        # MPLS
]
WORKERS = (1, 2, 4)


def captures():
    out = sorted(glob.glob(os.path.join(h.PCAPS, "*.pcap")) +
                 glob.glob(os.path.join(h.PCAPS, "*.pcapng")))
    if h.have_corpus():
        out += [os.path.join(h.CORPUS_PCAPS, r) for r in CORPUS_PICKS
                if os.path.exists(os.path.join(h.CORPUS_PCAPS, r))]
    return out


CAPTURES = captures()


def observation_multiset(sensor, inputs, workers):
    run = h.run_sensor(inputs, extra=["--workers", str(workers)], sensor=sensor, timeout=300)
    assert run.rc == 0 and not run.timed_out and run.sanitizer_report() is None, run.describe()
    return collections.Counter(h.strip_per_run(o) for o in run.observations), run


def compare(sensor, inputs):
    base, run1 = observation_multiset(sensor, inputs, WORKERS[0])
    assert base, "no observations at all from %s" % inputs
    problems = []
    for n in WORKERS[1:]:
        got, run = observation_multiset(sensor, inputs, n)
        if got != base:
            miss, extra = base - got, got - base
            problems.append("--workers %d vs 1: %d missing, %d extra\n  missing: %s\n  extra: %s"
                            % (n, sum(miss.values()), sum(extra.values()),
                               list(miss.elements())[:3], list(extra.elements())[:3]))
        if run.stats and run1.stats and run.stats.get("packets") != run1.stats.get("packets"):
            problems.append("--workers %d read %s packets, --workers 1 %s" % (
                n, run.stats.get("packets"), run1.stats.get("packets")))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CAPTURES, ids=[os.path.basename(c) for c in CAPTURES])
def test_observations_do_not_depend_on_worker_count(sensor, path):
    compare(sensor, [path])


def test_observations_of_one_stream_of_many_files_do_not_depend_on_worker_count(sensor):
    assert len(CAPTURES) >= 9
    compare(sensor, CAPTURES)
