#!/usr/bin/env bash
# flowguard vs ajv 8 (+ hand-written JS checks), side by side: same run, same machine, same files.
#
#   bench/run.sh [--records N] [--iterations K] [--cold-runs R] [--quick] [--big] [--no-build]
#
# Builds flowguard and the bench targets (cmake --build $FLOWGUARD_BUILD_DIR, default build/),
# installs ajv into bench/ajv/node_modules (npm ci), generates the DFS batches into bench/out, runs
# every measurement on the same files and prints the table (also written to bench/out/results.md;
# the raw measurements, one JSON line each, to bench/out/measurements.jsonl).
#
#   --records N      records per batch (default 5000, the DFS API's per-call maximum)
#   --iterations K   timed warm iterations per measurement (default 10; 3 with --quick)
#   --rounds R       warm measurements of both tools repeated R times, alternating (default 3; 1 with
#                    --quick); the table shows each figure's median over the rounds, so a slow spell
#                    of a shared machine does not decide a ratio
#   --cold-runs R    process runs per cold measurement (default 5; 3 with --quick)
#   --big            also the streaming/memory target: a ~1 GB JSON array and the same records as
#                    NDJSON (bench/out/big.*), checked once each, peak memory recorded (adds minutes)
#   --jobs-records N records in the --jobs batch (default 200000, ~154 MB; 0 skips the --jobs
#                    measurement): one job against two, in process (Engine::check of the whole
#                    document) and from the command line (a file this large is streamed)
#   --no-build       use the binaries already in the build directory
#   --types A,B      only these batch types, with or without "dfs." (default: all four)
#
# Not part of the test suite: it measures, it does not assert (except that it exits non-zero when a
# tool fails to run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${FLOWGUARD_BUILD_DIR:-$ROOT/build}
OUT=$ROOT/bench/out
JOBS=${JOBS:-2}
RECORDS=5000
ROUNDS=3
ITER=10
COLD_RUNS=5
WARMUP=2
BIG=0
TYPES_ARG=()
SELECTED=()
BUILD_STEP=1
BIG_BYTES=${BIG_BYTES:-1000000000}
JOBS_RECORDS=200000

while [[ $# -gt 0 ]]; do
  case $1 in
    --records) RECORDS=$2; shift 2 ;;
    --iterations) ITER=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --cold-runs) COLD_RUNS=$2; shift 2 ;;
    --quick) ITER=3; COLD_RUNS=3; WARMUP=1; ROUNDS=1; shift ;;
    --big) BIG=1; shift ;;
    --jobs-records) JOBS_RECORDS=$2; shift 2 ;;
    --no-build) BUILD_STEP=0; shift ;;
    --types) IFS=, read -r -a TYPES_ARG <<< "$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*" >&2; }
TYPES=(dfs.unit-meter-point-schedule dfs.bid-submission dfs.weekly-settlement dfs.mpan-forecast)
if [[ ${#TYPES_ARG[@]} -gt 0 ]]; then
  for t in "${TYPES_ARG[@]}"; do
    # "unit-meter-point-schedule" is read as dfs.unit-meter-point-schedule, as the table names it.
    [[ " ${TYPES[*]} " == *" dfs.$t "* ]] && t="dfs.$t"
    [[ " ${TYPES[*]} " == *" $t "* ]] || { echo "bench/run.sh: unknown type '$t' (one of: ${TYPES[*]})" >&2; exit 2; }
    SELECTED+=("$t")
  done
  TYPES=("${SELECTED[@]}")
fi
INPUTS=(valid faulty)
mkdir -p "$OUT"
MEAS=$OUT/measurements.jsonl
: > "$MEAS"
START=$(date +%s)

# ---- dependencies --------------------------------------------------------------------------------
# flowguard's own (scripts/install-deps.sh) plus what only the benchmark uses, from Debian: simdjson
# (the parse-only ceiling), hyperfine (cold runs), and Node.js + npm when no node is installed (ajv).
if [[ $BUILD_STEP == 1 ]]; then
  "$ROOT/scripts/install-deps.sh"
  bench_packages=(libsimdjson-dev hyperfine)
  command -v node >/dev/null && command -v npm >/dev/null || bench_packages+=(nodejs npm)
  missing=()
  for p in "${bench_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]]; then
      say "apt-get install ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
        echo "run.sh: could not install ${missing[*]}; the columns that need them stay empty" >&2
    else
      echo "run.sh: not root, so ${missing[*]} are not installed; the columns that need them stay empty" >&2
    fi
  fi
fi

# ---- build ---------------------------------------------------------------------------------------
if [[ $BUILD_STEP == 1 ]]; then
  say "build ($BUILD)"
  if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLOWGUARD_BUILD_TESTS=OFF >&2
  elif ! grep -q "simdjson_DIR:PATH=/" "$BUILD/CMakeCache.txt" && dpkg-query -W libsimdjson-dev >/dev/null 2>&1; then
    cmake "$BUILD" >&2  # simdjson was installed after this build directory was configured
  fi
  targets=(flowguard_cli fg_dfs fg_bench_generate fg_bench_engine)
  if cmake --build "$BUILD" --target help 2>/dev/null | grep -q fg_bench_simdjson; then targets+=(fg_bench_simdjson); fi
  cmake --build "$BUILD" --target "${targets[@]}" -j"$JOBS" >&2
fi
BIN=$BUILD/bin
FG=$BIN/flowguard
PLUGINS=$BUILD/lib/flowguard/plugins
for exe in "$FG" "$BIN/fg_bench_generate" "$BIN/fg_bench_engine"; do
  [[ -x $exe ]] || { echo "run.sh: $exe is missing (build failed?)" >&2; exit 1; }
done
HAVE_SIMDJSON=0; [[ -x $BIN/fg_bench_simdjson ]] && HAVE_SIMDJSON=1
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)

# ---- ajv -----------------------------------------------------------------------------------------
HAVE_NODE=0
if command -v node >/dev/null && command -v npm >/dev/null; then
  HAVE_NODE=1
  if [[ ! -f $ROOT/bench/ajv/node_modules/ajv/package.json ||
        $ROOT/bench/ajv/package-lock.json -nt $ROOT/bench/ajv/node_modules/.package-lock.json ]]; then
    say "npm ci (bench/ajv)"
    (cd "$ROOT/bench/ajv" && npm ci --no-audit --no-fund >&2)
  fi
else
  say "node/npm not found: the ajv columns stay empty"
fi
HAVE_HYPERFINE=0; command -v hyperfine >/dev/null && HAVE_HYPERFINE=1

# ---- inputs --------------------------------------------------------------------------------------
say "generate $RECORDS-record batches into bench/out"
"$BIN/fg_bench_generate" --out-dir "$OUT" --records "$RECORDS" >&2

# ---- helpers -------------------------------------------------------------------------------------
# Appends a JSON line; tags it with input and type so the report can join rows.
record() {  # record INPUT JSON
  python3 -c 'import json,sys; d=json.loads(sys.argv[2]); d["input"]=sys.argv[1]; print(json.dumps(d))' "$1" "$2" >> "$MEAS"
}

# Mean wall time (ms) of R runs of a command; failures of the command (exit 1 = findings) are fine.
cold_ms() {
  if [[ $HAVE_HYPERFINE == 1 ]]; then
    local tmp; tmp=$(mktemp)
    hyperfine -N -i --style none --runs "$COLD_RUNS" --warmup 1 --export-json "$tmp" "$*" >/dev/null 2>&1
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"]*1000)' "$tmp"
    rm -f "$tmp"
  else
    local t0 t1
    "$@" >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    for ((r = 0; r < COLD_RUNS; r++)); do "$@" >/dev/null 2>&1 || true; done
    t1=$(date +%s%N)
    python3 -c "print(($t1 - $t0) / 1e6 / $COLD_RUNS)"
  fi
}

run_json() {  # run_json INPUT CMD...: runs a tool that prints JSON lines and records them
  local input=$1; shift
  local line
  while IFS= read -r line; do
    [[ $line == \{* ]] && record "$input" "$line"
  done < <("$@")
}

# ---- measurements --------------------------------------------------------------------------------
for type in "${TYPES[@]}"; do
  for input in "${INPUTS[@]}"; do
    file=$OUT/$type.$input.json
    say "$type, $input ($(du -h "$file" | cut -f1))"
    for mode in schema schema+rules; do
      flag=(); [[ $mode == schema ]] && flag=(--schema-only)
      for ((round = 0; round < ROUNDS; round++)); do
        if [[ $HAVE_NODE == 1 ]]; then
          run_json "$input" node "$ROOT/bench/ajv/bench.js" "$file" --type "$type" "${flag[@]}" --iterations "$ITER" --warmup "$WARMUP"
        fi
        run_json "$input" "$BIN/fg_bench_engine" --type "$type" "${flag[@]}" --iterations "$ITER" --warmup "$WARMUP" "$file"
      done
      # Cold: one process per check, start-up and schema/rule loading included.
      if [[ $mode == schema ]]; then
        fg_cmd=("$FG" check --quiet --no-default-dirs --plugins "$PLUGINS" --schemas "$ROOT/schemas" --type "$type" "$file")
      else
        fg_cmd=("$FG" check --quiet --type "$type" "$file")
      fi
      ms=$(cold_ms "${fg_cmd[@]}")
      record "$input" "{\"tool\":\"flowguard\",\"mode\":\"$mode,cold\",\"type\":\"$type\",\"file\":\"$file\",\"runs\":$COLD_RUNS,\"mean_ms\":$ms}"
      if [[ $HAVE_NODE == 1 ]]; then
        ms=$(cold_ms node "$ROOT/bench/ajv/bench.js" "$file" --type "$type" "${flag[@]}" --iterations 1 --warmup 0)
        record "$input" "{\"tool\":\"ajv\",\"mode\":\"$mode,cold\",\"type\":\"$type\",\"file\":\"$file\",\"runs\":$COLD_RUNS,\"mean_ms\":$ms}"
      fi
    done
    if [[ $HAVE_SIMDJSON == 1 ]]; then
      run_json "$input" "$BIN/fg_bench_simdjson" --iterations "$((ITER * 2))" --warmup "$WARMUP" "$file"
    fi
  done
done

# ---- --jobs: one job against two on a large batch --------------------------------------------------
if [[ $JOBS_RECORDS -gt 0 ]]; then
  say "--jobs: generate a $JOBS_RECORDS-record batch"
  mkdir -p "$OUT/jobs"
  "$BIN/fg_bench_generate" --out-dir "$OUT/jobs" --records "$JOBS_RECORDS" --types dfs.unit-meter-point-schedule >&2
  jobs_file=$OUT/jobs/dfs.unit-meter-point-schedule.valid.json
  for j in 1 2; do
    say "--jobs $j: in process"
    run_json jobs "$BIN/fg_bench_engine" --type dfs.unit-meter-point-schedule --jobs "$j" --iterations 3 --warmup 1 "$jobs_file"
    say "--jobs $j: flowguard check (streamed)"
    ms=$(cold_ms "$FG" check --quiet --jobs "$j" --type dfs.unit-meter-point-schedule "$jobs_file")
    record jobs "{\"tool\":\"flowguard\",\"mode\":\"schema+rules,cli\",\"type\":\"dfs.unit-meter-point-schedule\",\"file\":\"$jobs_file\",\"jobs\":$j,\"records\":$JOBS_RECORDS,\"runs\":$COLD_RUNS,\"mean_ms\":$ms}"
  done
  # The same, 1 and 2 jobs alternated run by run, so that both see the same spells of a noisy
  # machine: the median of the per-pair speedups (and their range).
  say "--jobs: 1 and 2 jobs alternated, $((COLD_RUNS + 3)) pairs"
  python3 - "$FG" "$jobs_file" "$((COLD_RUNS + 3))" "$JOBS_RECORDS" <<'EOF2' >> "$MEAS"
import json, statistics, subprocess, sys, time
fg, path, pairs, records = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def seconds(jobs):
    t = time.perf_counter()
    subprocess.run([fg, "check", "--quiet", "--jobs", str(jobs), "--type", "dfs.unit-meter-point-schedule", path],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
one, two = [], []
for _ in range(pairs):
    one.append(seconds(1))
    two.append(seconds(2))
ratios = sorted(a / b for a, b in zip(one, two))
print(json.dumps({"input": "jobs", "tool": "flowguard", "mode": "pairs,cli", "file": path, "records": records,
                  "pairs": pairs, "median_1_s": statistics.median(one), "median_2_s": statistics.median(two),
                  "median_ratio": statistics.median(ratios), "min_ratio": ratios[0], "max_ratio": ratios[-1]}))
EOF2
  # The machine's own two-core ceiling for this workload: two independent one-job processes at
  # once (no shared work at all). A virtual machine's second core is often worth less than one.
  say "--jobs: two one-job processes at once (the two-core ceiling)"
  pair_a=$(mktemp); pair_b=$(mktemp)
  "$BIN/fg_bench_engine" --type dfs.unit-meter-point-schedule --jobs 1 --iterations 3 --warmup 1 "$jobs_file" > "$pair_a" &
  "$BIN/fg_bench_engine" --type dfs.unit-meter-point-schedule --jobs 1 --iterations 3 --warmup 1 "$jobs_file" > "$pair_b"
  wait
  slower=$(python3 -c 'import json,sys; print(max(json.loads(l)["median_s"] for f in sys.argv[1:] for l in open(f) if l.startswith("{")))' "$pair_a" "$pair_b")
  rm -f "$pair_a" "$pair_b"
  record jobs "{\"tool\":\"flowguard\",\"mode\":\"two-processes\",\"type\":\"dfs.unit-meter-point-schedule\",\"file\":\"$jobs_file\",\"jobs\":2,\"records\":$JOBS_RECORDS,\"median_s\":$slower}"
fi

# ---- big: streaming / memory ---------------------------------------------------------------------
# Peak RSS (kB) and wall time of one process: "rss_kb seconds exit".
measure_rss() {
  python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
t = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
err = p.stderr.decode(errors="replace").strip().splitlines()
print(rss, t, p.returncode, (err[-1] if err else "")[:200].replace("\t", " "), sep="\t")
EOF
}
if [[ $BIG == 1 ]]; then
  say "big: generate ~$BIG_BYTES bytes (JSON array + NDJSON)"
  "$BIN/fg_bench_generate" --big --bytes "$BIG_BYTES" --out-dir "$OUT" >&2
  big_json=$OUT/big.dfs.unit-meter-point-schedule.json
  big_nd=$OUT/big.dfs.unit-meter-point-schedule.ndjson
  big_records=$(wc -l < "$big_nd")
  big_row() {  # big_row TOOL MODE FILE CMD...
    local tool=$1 mode=$2 file=$3; shift 3
    say "big: $tool $mode $(basename "$file")"
    IFS=$'\t' read -r rss secs rc err < <(measure_rss "$@")
    python3 -c 'import json,sys; print(json.dumps({"tool":sys.argv[1],"mode":sys.argv[2],"file":sys.argv[3],"input":"big",
      "type":"dfs.unit-meter-point-schedule","records":int(sys.argv[4]),"bytes":int(sys.argv[5]),"seconds":float(sys.argv[6]),
      "peak_rss_mb":int(sys.argv[7])/1024,"exit":int(sys.argv[8]),"stderr":sys.argv[9]}))' \
      "$tool" "$mode" "$file" "$big_records" "$(stat -c %s "$file")" "$secs" "$rss" "$rc" "${err:-}" >> "$MEAS"
  }
  big_row flowguard "schema+rules,cold" "$big_json" "$FG" check --quiet --type dfs.unit-meter-point-schedule "$big_json"
  if [[ $HAVE_SIMDJSON == 1 ]]; then
    big_row simdjson parse "$big_json" "$BIN/fg_bench_simdjson" --iterations 1 --warmup 0 "$big_json"
    big_row simdjson "parse,ndjson" "$big_nd" "$BIN/fg_bench_simdjson" --ndjson --iterations 1 --warmup 0 "$big_nd"
  fi
  if [[ $HAVE_NODE == 1 ]]; then
    big_row ajv "schema+rules" "$big_json" node "$ROOT/bench/ajv/bench.js" "$big_json" --type dfs.unit-meter-point-schedule --iterations 1 --warmup 0
    big_row ajv "schema+rules,ndjson" "$big_nd" node "$ROOT/bench/ajv/bench.js" --ndjson "$big_nd" --type dfs.unit-meter-point-schedule
  fi
fi

# ---- report --------------------------------------------------------------------------------------
ELAPSED=$(( $(date +%s) - START ))
python3 "$ROOT/bench/report.py" "$MEAS" --records "$RECORDS" --iterations "$ITER" --rounds "$ROUNDS" --cold-runs "$COLD_RUNS" \
  --build-type "${BUILD_TYPE:-?}" --elapsed "$ELAPSED" --out "$OUT/results.md"
