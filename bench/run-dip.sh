#!/usr/bin/env bash
# DIP messages: flowguard vs ajv 8, same run, same machine, same files.
#
#   bench/run-dip.sh [--records N] [--iterations K] [--warmup W] [--rounds R] [--no-build]
#
# Generates bench/out/dip.valid.json and dip.faulty.json (bench/dip/generate.js: a DIPMessageArray of
# N messages, default 5000, cycling through the valid corpus message of all 146 variants; 10% broken
# in the faulty one), then measures warm records/s (records = messages):
#   ajv        bench/ajv/bench-dip.js: all 146 variant schemas compiled once (strict: false), per
#              iteration JSON.parse + the validator picked by S0 interfaceID/eventCode; schema only
#   flowguard  fg_bench_engine --type dip [--schema-only] --fresh-dip-references
# Each of R alternating rounds (default 3) runs ajv, then flowguard schema only, with all rules, and
# with all rules and --registry default; every ratio is the median of the rounds' own ratios to that
# round's ajv, with their range (the machine's slow spells tend to hit all of a round). Then prints
# the table (also bench/out/results-dip.md; raw lines in bench/out/measurements-dip.jsonl).
# ajv has no DIP rules: flowguard with rules is compared with ajv's schema-only rate.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${FLOWGUARD_BUILD_DIR:-$ROOT/build}
OUT=$ROOT/bench/out
JOBS=${JOBS:-2}
RECORDS=5000
ITER=10
WARMUP=2
ROUNDS=3
BUILD_STEP=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --records) RECORDS=$2; shift 2 ;;
    --iterations) ITER=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-build) BUILD_STEP=0; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-dip.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { printf '\n== %s\n' "$*" >&2; }

if [[ $BUILD_STEP == 1 ]]; then
  say "build ($BUILD)"
  if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLOWGUARD_BUILD_TESTS=OFF >&2
  fi
  cmake --build "$BUILD" --target fg_bench_engine flowguard_cli fg_dip -j"$JOBS" >&2
fi
ENGINE=$BUILD/bin/fg_bench_engine
[[ -x $ENGINE ]] || { echo "run-dip.sh: $ENGINE is missing (build failed?)" >&2; exit 1; }
command -v node >/dev/null || { echo "run-dip.sh: node is needed (generator and ajv)" >&2; exit 1; }
if [[ ! -f $ROOT/bench/ajv/node_modules/ajv/package.json ]]; then
  say "npm ci (bench/ajv)"
  (cd "$ROOT/bench/ajv" && npm ci --no-audit --no-fund >&2)
fi

mkdir -p "$OUT"
say "generate $RECORDS DIP messages into bench/out"
node "$ROOT/bench/dip/generate.js" --records "$RECORDS" --out-dir "$OUT"
MEAS=$OUT/measurements-dip.jsonl
: > "$MEAS"
FILES=("$OUT/dip.valid.json" "$OUT/dip.faulty.json")

for ((round = 1; round <= ROUNDS; round++)); do
  say "round $round of $ROUNDS: ajv, schema only (compiling 146 schemas takes a few seconds, not timed)"
  node "$ROOT/bench/ajv/bench-dip.js" "${FILES[@]}" --iterations "$ITER" --warmup "$WARMUP" | grep '^{' >> "$MEAS"
  say "round $round of $ROUNDS: flowguard, schema only"
  "$ENGINE" --type dip --schema-only --fresh-dip-references --iterations "$ITER" --warmup "$WARMUP" "${FILES[@]}" | grep '^{' >> "$MEAS"
  say "round $round of $ROUNDS: flowguard, schema + rules"
  "$ENGINE" --type dip --fresh-dip-references --iterations "$ITER" --warmup "$WARMUP" "${FILES[@]}" | grep '^{' >> "$MEAS"
  say "round $round of $ROUNDS: flowguard, schema + rules + registry (--registry default: the policy rules run, as in a server started with it)"
  "$ENGINE" --type dip --fresh-dip-references --registry default --iterations "$ITER" --warmup "$WARMUP" "${FILES[@]}" | grep '^{' >> "$MEAS"
done

python3 - "$MEAS" "$OUT/results-dip.md" "$RECORDS" "$ITER" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for r in rows:
    if r.get("registry"): r["mode"] += "+registry"
def get_all(tool, mode, inp):
    return [r for r in rows if r["tool"] == tool and r["mode"] == mode and os.path.basename(r["file"]) == f"dip.{inp}.json"]
def get(tool, mode, inp):
    # The round with the median rate stands for them.
    found = sorted(get_all(tool, mode, inp), key=lambda r: r["records_per_s"])
    return found[len(found) // 2] if found else None
def ratios(inp, mode="schema"):
    # round k of flowguard's `mode` against round k of ajv (both lists in run order)
    return sorted(f["records_per_s"] / a["records_per_s"] for a, f in zip(get_all("ajv", "schema", inp), get_all("flowguard", mode, inp)))
def rate(r): return "—" if not r else (f"{r['records_per_s']/1e6:.2f} M" if r['records_per_s'] >= 1e6 else f"{r['records_per_s']/1e3:.1f} k")
lines = [f"DIP messages: {sys.argv[3]} per file, warm, median of {sys.argv[4]} iterations, records = messages; "
         "schema only in alternating rounds (rates: the median round; ratio: the median of the rounds' own ratios, and their range)", "",
         "| input | checks | ajv rec/s | flowguard rec/s | ratio | ratio range | failing messages ajv | findings flowguard |",
         "|---|---|---|---|---|---|---|---|"]
for inp in ("valid", "faulty"):
    a, f = get("ajv", "schema", inp), get("flowguard", "schema", inp)
    rs = ratios(inp)
    ratio = f"{rs[len(rs) // 2]:.2f}x" if rs else "—"
    spread = f"{rs[0]:.2f}–{rs[-1]:.2f}x" if len(rs) > 1 else "—"
    lines.append(f"| {inp} | schema | {rate(a)} | {rate(f)} | {ratio} | {spread} | {a['failing'] if a else '—'} | {f['findings'] if f else '—'} |")
    for mode in ("schema+rules", "schema+rules+registry"):
        f = get("flowguard", mode, inp)
        rs = ratios(inp, mode)
        ratio = f"{rs[len(rs) // 2]:.2f}x (vs ajv schema only)" if rs else "—"
        spread = f"{rs[0]:.2f}–{rs[-1]:.2f}x" if len(rs) > 1 else "—"
        lines.append(f"| {inp} | {mode} | (no DIP rules) | {rate(f)} | {ratio} | {spread} | — | {f['findings'] if f else '—'} |")
text = "\n".join(lines) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
PY
