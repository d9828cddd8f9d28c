#!/usr/bin/env python3
"""Turns bench/out/measurements.jsonl (written by bench/run.sh) into the comparison table.

Prints the table and writes it, with the machine and the settings, to --out (bench/out/results.md).
"""
import argparse
import json
import os
import platform
import subprocess
import sys

TYPES = ["dfs.unit-meter-point-schedule", "dfs.bid-submission", "dfs.weekly-settlement", "dfs.mpan-forecast"]


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
                    break
    except OSError:
        pass
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "?"

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except Exception:
            return "absent"

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "load": load,
        "kernel": platform.release(),
        "node": version(["node", "--version"]),
        "hyperfine": version(["hyperfine", "--version"]),
    }


def fmt_rate(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return "%.2f M" % (v / 1e6)
    if v >= 1e3:
        return "%.1f k" % (v / 1e3)
    return "%.0f" % v


def fmt(v, pattern):
    return "–" if v is None else pattern % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("measurements")
    ap.add_argument("--out")
    ap.add_argument("--records", default="?")
    ap.add_argument("--iterations", default="?")
    ap.add_argument("--rounds", default="1")
    ap.add_argument("--cold-runs", default="?")
    ap.add_argument("--build-type", default="?")
    ap.add_argument("--elapsed", default="?")
    args = ap.parse_args()

    rows = []
    with open(args.measurements) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))

    def find_all(tool, mode, typ, inp):
        # Every round of one measurement, in the order they ran.
        found = []
        for r in rows:
            if r.get("tool") == tool and r.get("mode") == mode and r.get("type", typ) == typ and r.get("input") == inp:
                if tool == "simdjson" and not r.get("file", "").endswith("%s.%s.json" % (typ, inp)):
                    continue
                found.append(r)
        return found

    def find(tool, mode, typ, inp):
        # Several rounds of the same measurement: the one with the median rate stands for them.
        found = sorted(find_all(tool, mode, typ, inp), key=lambda r: r.get("records_per_s", 0))
        return found[len(found) // 2] if found else None

    def round_ratios(mode, typ, inp):
        # flowguard / ajv within each round (the two ran back to back, so a slow spell of the
        # machine tends to hit both): steadier than the ratio of two separate medians.
        a = find_all("ajv", mode, typ, inp)
        g = find_all("flowguard", mode, typ, inp)
        return sorted(gr["records_per_s"] / ar["records_per_s"] for ar, gr in zip(a, g)
                      if ar.get("records_per_s") and gr.get("records_per_s"))

    m = machine()
    out = []
    out.append("# flowguard vs ajv 8: DFS submission batches\n")
    out.append("Machine: %s CPUs, %s, %s memory, Linux %s; load average at the end %s. Node %s, %s.  " %
               (m["cpus"], m["cpu"], m["memory"], m["kernel"], m["load"], m["node"], m["hyperfine"]))
    out.append("Settings: %s records per batch, %s timed warm iterations (median) in each of %s alternating rounds "
               "per tool (the median round is shown), %s runs per cold measurement, "
               "flowguard build type %s; the whole run took %s s.\n" %
               (args.records, args.iterations, args.rounds, args.cold_runs, args.build_type, args.elapsed))
    out.append("Warm = in process, file already in memory, parse + validate (+ rules) per iteration "
               "(ajv: JSON.parse + validate + JS checks; flowguard: Engine::check). Cold = one process per file "
               "(`flowguard check --quiet`; `node bench.js --iterations 1`), start-up included. "
               "ratio = flowguard warm / ajv warm (> 1: flowguard faster), the median of the rounds' own ratios "
               "(each round runs ajv, then flowguard), with their range. "
               "simdjson = parse only (no validation), the ceiling; \"fg/simdjson\" = flowguard warm as a share of it. "
               "findings fg/ajv: the number of findings each reported (they should agree).\n")
    header = ("| type | input | checks | ajv rec/s | flowguard rec/s | ratio | ratio range | flowguard cold ms | ajv cold ms "
              "| simdjson rec/s | fg/simdjson | findings fg/ajv |")
    out.append(header)
    out.append("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")
    slower = []
    for typ in TYPES:
        for inp in ("valid", "faulty"):
            simd = find("simdjson", "parse", typ, inp)
            simd_rate = simd.get("records_per_s") if simd else None
            for mode in ("schema", "schema+rules"):
                a = find("ajv", mode, typ, inp)
                g = find("flowguard", mode, typ, inp)
                gc = find("flowguard", mode + ",cold", typ, inp)
                ac = find("ajv", mode + ",cold", typ, inp)
                if not (a or g):
                    continue
                ar = a.get("records_per_s") if a else None
                gr = g.get("records_per_s") if g else None
                ratios = round_ratios(mode, typ, inp)
                ratio = ratios[len(ratios) // 2] if ratios else None
                spread = "%.2f–%.2fx" % (ratios[0], ratios[-1]) if len(ratios) > 1 else "–"
                if ratio is not None and ratio < 0.995:
                    slower.append("%s %s %s (%.2fx)" % (typ, inp, mode, ratio))
                frac = gr / simd_rate if gr and simd_rate else None
                findings = "%s/%s" % (g.get("findings", "?") if g else "–", a.get("findings", "?") if a else "–")
                out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    typ.replace("dfs.", ""), inp, mode, fmt_rate(ar), fmt_rate(gr), fmt(ratio, "%.2fx"), spread,
                    fmt(gc.get("mean_ms") if gc else None, "%.0f"), fmt(ac.get("mean_ms") if ac else None, "%.0f"),
                    fmt_rate(simd_rate), fmt(frac * 100 if frac else None, "%.0f%%"), findings))
    big = [r for r in rows if r.get("input") == "big"]
    if big:
        out.append("\n## Big input (streaming / memory target)\n")
        out.append("| tool | checks | file | MB | records | seconds | rec/s | peak RSS MB | result |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for r in big:
            # flowguard exits 1 when it has error findings (the big array exceeds maxItems 5000).
            ok = r.get("exit") == 0 or (r["tool"] == "flowguard" and r.get("exit") == 1)
            res = "ok (exit %d)" % r["exit"] if ok else "failed (exit %s): %s" % (r.get("exit"), r.get("stderr", ""))
            out.append("| %s | %s | %s | %.0f | %d | %.1f | %s | %.0f | %s |" % (
                r["tool"], r["mode"], os.path.basename(r["file"]), r["bytes"] / 1e6, r["records"], r["seconds"],
                fmt_rate(r["records"] / r["seconds"]) if ok and r["seconds"] else "–", r["peak_rss_mb"], res))
    jobs = [r for r in rows if r.get("input") == "jobs"]
    if jobs:
        out.append("\n## --jobs: one job against two (Unit Meter Point Schedule, %s records, schema + rules)\n" %
                   jobs[0].get("records", "?"))
        out.append("| how | jobs | seconds | rec/s | speedup over 1 job |")
        out.append("|---|---|---|---|---|")
        for how, mode in (("in process, Engine::check (median of 3)", "schema+rules"),
                          ("flowguard check, streamed (mean of runs)", "schema+rules,cli")):
            base = None
            for r in sorted((r for r in jobs if r.get("mode") == mode), key=lambda r: r.get("jobs", 1)):
                secs = r["median_s"] if "median_s" in r else r["mean_ms"] / 1000.0
                base = base or secs
                out.append("| %s | %d | %.2f | %s | %.2fx |" % (how, r.get("jobs", 1), secs,
                                                               fmt_rate(r["records"] / secs), base / secs))
        for r in (r for r in jobs if r.get("mode") == "pairs,cli"):
            out.append("| flowguard check, streamed, 1 and 2 jobs alternated (%d pairs; per-pair range %.2f–%.2fx) "
                       "| 2 | %.2f | %s | %.2fx |" % (r["pairs"], r["min_ratio"], r["max_ratio"], r["median_2_s"],
                                                     fmt_rate(r["records"] / r["median_2_s"]), r["median_ratio"]))
        # Two one-job processes at once check twice the records in the slower one's time.
        solo = [r for r in jobs if r.get("mode") == "schema+rules" and r.get("jobs") == 1]
        for r in (r for r in jobs if r.get("mode") == "two-processes"):
            if solo:
                secs = r["median_s"]
                out.append("| two one-job processes at once: the machine's two-core ceiling | 2 × 1 | %.2f | %s | %.2fx |" % (
                    secs, fmt_rate(2 * r["records"] / secs), 2 * solo[0]["median_s"] / secs))
    if slower:
        out.append("\nflowguard is SLOWER than ajv in: " + "; ".join(slower) + ".")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        sys.stderr.write("\nwritten to %s\n" % args.out)


if __name__ == "__main__":
    main()
