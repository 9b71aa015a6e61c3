#!/usr/bin/env python3
"""
Helper for maintaining tests/data/tshark-differences.tsv (not a test).

After test_tshark_agreement.py failed on unlisted differences, run
    TIPOFF_SENSOR=<build>/sensor/tipoff-sensor python3 tshark_differences.py [REPORT_DIR]
It reads REPORT_DIR/tipoff-tshark-differences.new.tsv, gathers evidence for each difference
(the capture's link type, the sensor's exit code, error and non-zero decode counters, tshark's
flags for the value) and prints the rows with a proposed reason where the evidence alone
settles it, else with "?" and the evidence. Reasons start with their kind (see the TSV's
header: sensor right, by design, malformed, not decoded, limitation). Every row still needs a human to check it before it
goes into the TSV: the reason must be true, not merely plausible.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tipoff_harness as h  # noqa: E402

SUPPORTED_LINKS = {"ether", "linux-sll", "linux-sll2", "rawip", "rawip4", "rawip6", "null"}


def observables():
    out = {}
    p = os.path.join(h.CORPUS_PCAPS, "TSHARK-OBSERVABLES.jsonl")
    for line in open(p):
        d = json.loads(line)
        out[d["file"]] = d
    return out


def main():
    rdir = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(
        rdir, "tipoff-tshark-differences.new.tsv")) if l.strip()]
    obs = observables()
    runs = {}
    for cap, cat, val, side, evidence in rows:
        path = os.path.join(h.CORPUS_PCAPS, cap)
        if cap not in runs:
            runs[cap] = h.run_sensor([path])
        run = runs[cap]
        ref = h.tshark_reference(path)
        encap = obs.get(cap, {}).get("encap")
        info = ref["raw"][cat].get(val.replace("\\x09", "\t"), {})
        flags = info.get("flags", [])
        decode = {k: v for k, v in ((run.stats or {}).get("decode") or {}).items() if v}
        reason = "?"
        if encap not in SUPPORTED_LINKS:
            reason = ("not decoded: link type %s: not among the link types the sensor reads "
                      "(Ethernet, Linux SLL/SLL2, raw IP, BSD loopback/null)" % encap)
        elif cat == "ip" and side == "missing" and "icmp_error_only" in flags:
            reason = ("by design: address appears only in ICMP error packets, which are not "
                      "flows (DESIGN.md), so no observation carries it")
        ev = "rc=%s decode=%s tshark_flags=%s frames=%s err=%s" % (
            run.rc, decode, flags, info.get("frames"),
            (run.stderr.strip().splitlines() or [""])[-2][:150] if run.rc else "")
        print("\t".join([cap, cat, val, side, reason]) + "\t#" + ev)


if __name__ == "__main__":
    main()
