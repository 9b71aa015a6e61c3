#!/usr/bin/env python3
"""tipoff-rules check/lookup/listed on rules/examples, checked against what the files say.

The expected `listed` triples are recomputed here from the feed files with the naive reader of
test_matcher_load_real_feeds.py (every distinct IPv4 indicator inside example-cloud's
138.197.0.0/16, plus prefixes overlapping it). Usage: test_matcher_load_cli.py TIPOFF_RULES
EXAMPLES CORPUS
"""
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_matcher_load_real_feeds as naive  # noqa: E402

NOW = "1767225600"
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL " + what)
    else:
        print("ok   " + what)


def run(tool, *args):
    return subprocess.run([tool, *args, "--now", NOW], capture_output=True, text=True)


def expected_listed(examples):
    """Distinct indicators of the example feeds that overlap 138.197.0.0/16."""
    asset = ipaddress.ip_network("138.197.0.0/16")
    feeds = os.path.join(examples, "feeds")
    values = set()
    for name in ("maltrail-emotet.txt", "maltrail-dridex.txt",
                 "maltrail-mass-scanner-cidr.txt"):
        with open(os.path.join(feeds, name), encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith("#") or not line:
                    continue
                v = naive.classify(line.split("#", 1)[0] if "://" not in line else line)
                if v[0] == "ipv4" and v[1].overlaps(asset):
                    values.add(v[1])
    with open(os.path.join(feeds, "abuse-ch-ipblocklist.intel"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            v = naive.classify(line.split("\t")[0])
            if v[0] == "ipv4" and v[1].overlaps(asset):
                values.add(v[1])
    with open(os.path.join(feeds, "infoblox-emotet-20221006.csv"), encoding="utf-8") as f:
        for line in f.read().splitlines()[1:]:
            v = naive.classify(line.split(",")[1])
            if v[0] == "ipv4" and v[1].overlaps(asset):
                values.add(v[1])
    return values


def main():
    tool, examples, _corpus = sys.argv[1:4]
    rules = os.path.join(examples, "tipoff.rules")

    r = run(tool, "check", "--rules", rules, "--strict")
    check(r.returncode == 0, "check --strict on rules/examples exits 0 (%s)" % r.stderr.strip())
    check("total: feeds 7," in r.stdout, "check reports the 7 feeds")

    r = run(tool, "listed", "--rules", rules, "--observer-name", "demo")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    want = expected_listed(examples)
    got = {ipaddress.ip_network(a["tipoff"]["indicator"]) for a in lines}
    check(r.returncode == 0 and got == want,
          "listed gives one alert per indicator in 138.197.0.0/16 (%d, expected %d)"
          % (len(got), len(want)))
    check(len(lines) == len(want), "listed has no duplicate triples")
    ok = all(a["event"]["kind"] == "alert" and a["tipoff"]["kind"] == "listed" and
             a["tipoff"]["direction"] == "none" and
             a["tipoff"]["participant"]["id"] == "example-cloud" and
             a["tipoff"]["asset"] == "138.197.0.0/16" and
             a["observer"]["name"] == "demo" and
             a["event"]["severity"] in (21, 47, 73, 99) and
             a["threat"]["indicator"]["type"] == "ipv4-addr" and
             a["threat"]["feed"]["name"] in a["tipoff"]["sources"] for a in lines)
    check(ok, "listed alerts carry the documented fields")
    check(len({a["event"]["id"] for a in lines}) == len(lines), "event.id is unique")

    r = run(tool, "lookup", "--rules", rules, "138.197.147.101", "10.2.25.102", "AS64500",
            "QUIET-TOWN.example.", "sub.lab.example", "8.8.8.8", "198.51.100.77")
    out = [json.loads(x) for x in r.stdout.splitlines()]
    check(r.returncode == 0 and len(out) == 7, "lookup prints one line per value")
    if len(out) == 7:
        inds = {i["indicator"]: i for i in out[0]["indicators"]}
        check(set(inds) == {"138.197.147.101", "138.197.147.0/24", "138.197.144.0/20"},
              "lookup 138.197.147.101: the address and both scanner prefixes")
        check(inds.get("138.197.147.101", {}).get("sources") ==
              ["maltrail-emotet", "ABUSE-CH"] and
              inds["138.197.147.101"]["feed"] == "ABUSE-CH",
              "lookup: sources in load order, feed the most confident")
        check(out[0]["participants"] == [{"id": "example-cloud", "asset": "138.197.0.0/16"}],
              "lookup 138.197.147.101: example-cloud's range")
        check(out[1]["indicators"] == [] and
              out[1]["participants"] == [{"id": "demo-lab", "asset": "10.0.0.0/8"}],
              "lookup 10.2.25.102: demo-lab, no indicator (10/8 in feeds is dropped)")
        check(out[2]["participants"] == [{"id": "quiet-town", "asset": "AS64500"}],
              "lookup AS64500")
        check(out[3]["participants"] == [{"id": "quiet-town", "asset": "quiet-town.example"}],
              "lookup normalises the name")
        check(out[4]["participants"] == [{"id": "demo-lab", "asset": "lab.example"}],
              "lookup: a subdomain is the participant's asset")
        check(out[5].get("allowlisted") is True and out[5]["indicators"] == [],
              "lookup 8.8.8.8: allowlisted")
        check(out[6]["participants"] == [{"id": "quiet-town", "asset": "198.51.100.0/24"}],
              "lookup 198.51.100.77: quiet-town")

    r = run(tool, "lookup", "--rules", rules, "not a value")
    check(r.returncode == 1 and "not a value" in r.stderr, "lookup of junk exits 1")

    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad.rules")
        with open(bad, "w") as f:
            f.write("[feed]\npath = missing.txt\nseverity = huge\n[participants]\n")
        r = run(tool, "check", "--rules", bad)
        check(r.returncode == 1 and bad + ":3:" in r.stderr and bad + ":4:" in r.stderr,
              "a bad rule file exits 1 naming every file:line")
        junk = os.path.join(d, "feed.txt")
        with open(junk, "w") as f:
            f.write("1.2.3.4\n^regex$\n")
        r = run(tool, "check", "--indicators", "list:" + junk)
        check(r.returncode == 0 and "skipped 1;" in r.stdout, "a junk line is skipped")
        r = run(tool, "check", "--indicators", "list:" + junk, "--strict")
        check(r.returncode == 1, "--strict fails on a skipped line")
        r = run(tool, "listed", "--indicators", "list:" + junk, "--participants",
                os.path.join(d, "absent.json"))
        check(r.returncode == 1 and "absent.json" in r.stderr, "a missing file fails the load")

    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
