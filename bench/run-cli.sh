#!/usr/bin/env bash
# The whole process against the in-process bench: `flowguard check --format json --type T` over
# COPIES copies of one RECORDS-record batch (start-up, reading, recognition, checking and report
# writing all included), pinned to one core, beside fg_bench_engine's warm in-process check of the
# same batch and ajv + the JS checks in process (bench/ajv/bench.js), in alternating rounds.
#
#   bench/run-cli.sh [--type T] [--records N] [--copies C] [--runs K] [--rounds R] [--input valid|faulty] [--no-build]
#
# Defaults: dfs.unit-meter-point-schedule, 5000 records, 40 copies, 5 CLI runs per round (the
# median stands for the round), 3 rounds, valid input, with all rules. Each round runs ajv, then
# flowguard in process, then the CLI; ratios are each round's own, the median and range shown.
# Pinned with `taskset -c ${CORE:-0}` when taskset exists. Table on stdout and in
# bench/out/results-cli.md; raw lines in bench/out/measurements-cli.jsonl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${FLOWGUARD_BUILD_DIR:-$ROOT/build}
OUT=$ROOT/bench/out
JOBS=${JOBS:-2}
TYPE=dfs.unit-meter-point-schedule
RECORDS=5000
COPIES=40
RUNS=5
ROUNDS=3
INPUT=valid
BUILD_STEP=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --type) TYPE=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --copies) COPIES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --input) INPUT=$2; shift 2 ;;
    --no-build) BUILD_STEP=0; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-cli.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { printf '\n== %s\n' "$*" >&2; }

if [[ $BUILD_STEP == 1 ]]; then
  say "build ($BUILD)"
  if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLOWGUARD_BUILD_TESTS=OFF >&2
  fi
  cmake --build "$BUILD" --target flowguard_cli fg_dfs fg_bench_generate fg_bench_engine -j"$JOBS" >&2
fi
BIN=$BUILD/bin
for exe in "$BIN/flowguard" "$BIN/fg_bench_generate" "$BIN/fg_bench_engine"; do
  [[ -x $exe ]] || { echo "run-cli.sh: $exe is missing (build failed?)" >&2; exit 1; }
done
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c "${CORE:-0}")
HAVE_NODE=0
if command -v node >/dev/null; then
  HAVE_NODE=1
  if [[ ! -f $ROOT/bench/ajv/node_modules/ajv/package.json ]]; then
    say "npm ci (bench/ajv)"
    (cd "$ROOT/bench/ajv" && npm ci --no-audit --no-fund >&2)
  fi
fi

mkdir -p "$OUT"
BATCH=$OUT/$TYPE.$INPUT.json
if [[ ! -f $BATCH ]] || [[ $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$BATCH" 2>/dev/null) != "$RECORDS" ]]; then
  say "generate $RECORDS-record batches into bench/out"
  "$BIN/fg_bench_generate" --out-dir "$OUT" --records "$RECORDS" >&2
fi
COPY_DIR=$OUT/cli-copies
rm -rf "$COPY_DIR" && mkdir -p "$COPY_DIR"
for ((i = 1; i <= COPIES; i++)); do cp "$BATCH" "$COPY_DIR/$(printf 'batch-%03d.json' "$i")"; done
MEAS=$OUT/measurements-cli.jsonl
: > "$MEAS"

for ((round = 1; round <= ROUNDS; round++)); do
  if [[ $HAVE_NODE == 1 ]]; then
    say "round $round of $ROUNDS: ajv + JS checks, in process"
    "${PIN[@]}" node "$ROOT/bench/ajv/bench.js" "$BATCH" --type "$TYPE" --iterations 10 --warmup 3 |
      grep '^{' | sed "s/^{/{\"round\":$round,/" >> "$MEAS"
  fi
  say "round $round of $ROUNDS: flowguard in process"
  "${PIN[@]}" "$BIN/fg_bench_engine" --type "$TYPE" --iterations 10 --warmup 3 "$BATCH" |
    grep '^{' | sed "s/^{/{\"round\":$round,/" >> "$MEAS"
  say "round $round of $ROUNDS: flowguard check --format json over $COPIES copies ($RUNS runs)"
  python3 - "$MEAS" "$round" "$RUNS" "$TYPE" "$((RECORDS * COPIES))" "${PIN[@]}" "$BIN/flowguard" check --format json \
      --type "$TYPE" "$COPY_DIR"/*.json <<'PY'
import json, statistics, subprocess, sys, time
meas, rnd, runs, typ, records, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6:]
times = []
subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm the page cache
for _ in range(runs):
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    times.append(time.perf_counter() - t0)
    if rc not in (0, 1):
        sys.exit(f"run-cli.sh: flowguard check exited {rc}")
med = statistics.median(times)
line = {"round": rnd, "tool": "flowguard", "mode": "cli", "type": typ, "records": records, "runs": runs,
        "median_s": med, "records_per_s": records / med}
open(meas, "a").write(json.dumps(line) + "\n")
PY
done

python3 - "$MEAS" "$OUT/results-cli.md" "$TYPE" "$RECORDS" "$COPIES" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def of(tool, mode):
    return {r["round"]: r for r in rows if r["tool"] == tool and r["mode"] == mode}
ajv, inproc, cli = of("ajv", "schema+rules"), of("flowguard", "schema+rules"), of("flowguard", "cli")
def rate(v): return f"{v/1e6:.2f} M" if v >= 1e6 else f"{v/1e3:.1f} k"
def summary(xs):
    xs = sorted(xs)
    return (f"{statistics.median(xs):.2f}x", f"{xs[0]:.2f}–{xs[-1]:.2f}x" if len(xs) > 1 else "—") if xs else ("—", "—")
lines = [f"{sys.argv[3]}, {sys.argv[4]} records, all schemas and rules; CLI: `flowguard check --format json` over "
         f"{sys.argv[5]} copies (the whole process), pinned to one core; rates: the median round; ratios: the median of "
         "the rounds' own ratios and their range", "",
         "| how | flowguard rec/s | vs ajv+JS in process | range | CLI / in process |", "|---|---|---|---|---|"]
for name, table in (("in process (fg_bench_engine)", inproc), ("whole process (flowguard check)", cli)):
    rounds = sorted(table)
    if not rounds: continue
    med = statistics.median(table[r]["records_per_s"] for r in rounds)
    vs_ajv = [table[r]["records_per_s"] / ajv[r]["records_per_s"] for r in rounds if r in ajv]
    share = [table[r]["records_per_s"] / inproc[r]["records_per_s"] for r in rounds if r in inproc]
    m, spread = summary(vs_ajv)
    lines.append(f"| {name} | {rate(med)} | {m} | {spread} | {statistics.median(share):.0%} |")
if ajv:
    lines.append(f"| (ajv + JS checks, in process) | {rate(statistics.median(r['records_per_s'] for r in ajv.values()))} | | | |")
text = "\n".join(lines) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
PY
