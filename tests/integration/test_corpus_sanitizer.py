"""
Every capture under the corpus' pcaps/ (all subfolders, 930+ files, the malformed ones on purpose
too) is read by the sensor without a crash, a sanitizer report or a hang. The CI runs this file
with the ASan+UBSan build (TIPOFF_SENSOR).

Files go in batches (`-r a -r b ...` is one stream) to keep the run short; a batch that does not
end cleanly (exit other than 0, a sanitizer report, a timeout) is re-run file by file to find the
culprit. A file alone may exit 1 (an input libpcap cannot read: unsupported link type, cut
short, not a capture) but nothing else. A clean batch must also have read exactly the packets
capinfos/tshark count in those files (TSHARK-OBSERVABLES.jsonl), so that "no crash" cannot come
from reading nothing.

Report: $TIPOFF_REPORT_DIR (default /tmp)/tipoff-corpus-sanitizer.txt.
"""

import json
import os
import time

import tipoff_harness as h

FOLDERS = ("ndpi", "suricata-verify", "tcpdump", "flow-export")
BATCH_FILES = 12
BATCH_BYTES = 3 << 20
FILE_TIMEOUT = 60
REPORT_DIR = os.environ.get("TIPOFF_REPORT_DIR", "/tmp")


def batches(files):
    out, cur, size = [], [], 0
    for rel in sorted(files, key=lambda r: os.path.getsize(os.path.join(h.CORPUS_PCAPS, r))):
        sz = os.path.getsize(os.path.join(h.CORPUS_PCAPS, rel))
        if cur and (len(cur) >= BATCH_FILES or size + sz > BATCH_BYTES):
            out.append(cur)
            cur, size = [], 0
        cur.append(rel)
        size += sz
    if cur:
        out.append(cur)
    return out


def abnormal(run):
    """Why a run is not acceptable, or None."""
    if run.timed_out:
        return "hang (no exit within the timeout)"
    if run.sanitizer_report():
        return "sanitizer: " + run.sanitizer_report().strip()
    if run.rc is None or run.rc < 0:
        return "killed by signal %s" % (-run.rc if run.rc is not None else "?")
    if run.rc not in (0, 1):
        return "exit code %d" % run.rc
    if run.stats is None:
        return "no stats line on stderr"
    return None


def _batch(files):
    paths = [os.path.join(h.CORPUS_PCAPS, f) for f in files]
    run = h.run_sensor(paths, timeout=FILE_TIMEOUT * 2)
    result = {"files": files, "rc": run.rc, "why": abnormal(run),
              "packets": (run.stats or {}).get("packets"), "alone": {}}
    if run.rc == 0 and result["why"] is None:
        return result
    for f, p in zip(files, paths):
        r = h.run_sensor([p], timeout=FILE_TIMEOUT)
        why = abnormal(r)
        result["alone"][f] = {"rc": r.rc, "why": why,
                              "err": "" if why else r.stderr.strip().splitlines()[-2:] if r.rc
                              else ""}
        if why:
            result["alone"][f]["detail"] = r.describe()
    return result


def load_counts():
    counts = {}
    p = os.path.join(h.CORPUS_PCAPS, "TSHARK-OBSERVABLES.jsonl")
    if os.path.exists(p):
        for line in open(p):
            d = json.loads(line)
            if d.get("valid"):
                counts[d["file"]] = d.get("packets")
    return counts


def test_every_corpus_capture_is_read_without_crash_sanitizer_report_or_hang(sensor, corpus):
    t0 = time.time()
    files = h.corpus_files(*FOLDERS)
    assert len(files) >= 930, "expected the 930+ corpus captures, found %d" % len(files)
    results = h.pmap(_batch, batches(files))
    counts = load_counts()

    bad, failed_inputs, count_mismatch = [], [], []
    ok = 0
    for r in results:
        if r["rc"] == 0 and r["why"] is None:
            ok += len(r["files"])
            want = sum(counts.get(f) or 0 for f in r["files"])
            if all(f in counts for f in r["files"]) and r["packets"] != want:
                count_mismatch.append((r["files"], r["packets"], want))
            continue
        alone_bad = False
        for f, a in r["alone"].items():
            if a["why"]:
                bad.append((f, a["why"], a.get("detail", "")))
                alone_bad = True
            elif a["rc"] == 1:
                failed_inputs.append((f, " / ".join(a["err"])))
            else:
                ok += 1
        if r["why"] and not alone_bad:
            bad.append((" + ".join(r["files"]), "only together: " + r["why"], ""))

    lines = ["corpus sanitizer run over %d captures in %d batches, %.0f s" % (
        len(files), len(results), time.time() - t0),
        "read cleanly: %d; failed inputs (exit 1, no crash): %d; abnormal: %d" % (
            ok, len(failed_inputs), len(bad)), "", "failed inputs:"]
    lines += ["  %s: %s" % x for x in failed_inputs]
    lines += ["", "packet count mismatches (sensor, capinfos):"]
    lines += ["  %s: %s vs %s" % (" ".join(f), a, b) for f, a, b in count_mismatch]
    lines += ["", "abnormal:"] + ["  %s: %s\n%s" % x for x in bad]
    report = "\n".join(lines) + "\n"
    os.makedirs(REPORT_DIR, exist_ok=True)
    with open(os.path.join(REPORT_DIR, "tipoff-corpus-sanitizer.txt"), "w") as f:
        f.write(report)
    print(report)

    assert not bad, "%d captures crashed, hung or made a sanitizer report:\n%s" % (
        len(bad), "\n".join("%s: %s\n%s" % x for x in bad[:10]))
    assert not count_mismatch, "batches that did not read every packet (sensor, capinfos):\n%s" % (
        "\n".join("%s: %s vs %s" % (" ".join(f), a, b) for f, a, b in count_mismatch[:10]))
