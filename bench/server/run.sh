#!/usr/bin/env bash
# The server benchmark: flowguard serve vs the server a user would otherwise write, fastify 5 + ajv 8
# over the same generated DIP schemas (bench/server/fastify/server.js), same machine, same requests.
#
#   bench/server/run.sh [--duration S] [--connections C] [--threads T] [--rounds R] [--soak S]
#                       [--jobs N] [--workers N] [--fg-config FILE] [--repeat-refs] [--build|--no-build]
#
#   --duration S     seconds per measured wrk run (default 10)
#   --connections C  wrk keep-alive connections (default 32); --threads T wrk threads (default 1)
#   --rounds R       alternating rounds (default 3): every round measures every server on the valid
#                    requests (all must answer 201) and the faulty ones (all 400); odd rounds go
#                    fastify first, even rounds flowguard first
#   --jobs N         flowguard serve --jobs N (default: the machine's cores)
#   --workers N      also measure fastify with N node:cluster workers (default: --jobs); node runs
#                    JavaScript on one thread, so single-process fastify is measured too
#   --soak S         then run flowguard for S seconds at half its peak rate with unique references,
#                    sampling its RSS (VmRSS) every 10 s, and say whether it stays flat (default 0: no soak)
#   --soak-no-dedupe then soak a flowguard serve with dedupe.window_seconds: 0 too, at the same rate
#                    (tells a leak from the duplicate-reference window filling up)
#   --fg-config FILE flowguard serve --config FILE
#   --fg-registry R  also measure a second flowguard serve with --registry R (a registry YAML or
#                    "default": the DIP market rules too), as flowguard-registry
#   --repeat-refs    send the request files as they are (default: every request gets unique
#                    senderUniqueReferences, wrk.lua unique=1, for every server alike)
#   --build          cmake --build build --target flowguard_cli first (default: only check that
#                    build/bin/flowguard exists; --no-build is that default)
#
# Requests: bench/server/make-bodies.js writes one file per DIP variant (146) into bench/out/server/
# valid/ and faulty/ (one message per request); wrk (Debian's 4.1) cycles through them with
# bench/server/wrk.lua, which counts the statuses. After the rounds, every server is measured at
# half of its own peak rate (valid requests): wrk.lua rate=R paces the sends with wrk's delay()
# (send slots 1/R apart, whole milliseconds), so wrk's latency there is that of an unsaturated
# server. Every server listens on an ephemeral 127.0.0.1 port (nothing leaves loopback); every
# process started here is stopped on exit; every run is bounded in time.
# Results: appended to bench/out/server/results.md; raw lines in bench/out/server/measurements.jsonl.
# If build/bin/flowguard serve is not there yet, fastify is measured alone and that is said.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/server
BUILD=${FLOWGUARD_BUILD_DIR:-$ROOT/build}
FG=$BUILD/bin/flowguard
OUT=$ROOT/bench/out/server
NPROC=$(nproc)
ORIG_ARGS="$*"
DURATION=10
CONNECTIONS=32
THREADS=1
ROUNDS=3
SOAK=0
JOBS=$NPROC
WORKERS=
FG_CONFIG=
FG_REGISTRY=
SOAK_NO_DEDUPE=0
UNIQUE=1
BUILD_STEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --soak) SOAK=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --fg-config) FG_CONFIG=$2; shift 2 ;;
    --fg-registry) FG_REGISTRY=$2; shift 2 ;;
    --soak-no-dedupe) SOAK_NO_DEDUPE=1; shift ;;
    --repeat-refs) UNIQUE=0; shift ;;
    --build) BUILD_STEP=1; shift ;;
    --no-build) BUILD_STEP=0; shift ;;
    -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
WORKERS=${WORKERS:-$JOBS}
for v in DURATION CONNECTIONS THREADS ROUNDS SOAK JOBS WORKERS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: --${v,,} must be a whole number" >&2; exit 2; }
done
(( THREADS >= 1 && CONNECTIONS >= THREADS && DURATION >= 1 && ROUNDS >= 1 )) || { echo "run.sh: need 1 <= threads <= connections, duration >= 1, rounds >= 1" >&2; exit 2; }
[[ -z $FG_CONFIG || -f $FG_CONFIG ]] || { echo "run.sh: --fg-config $FG_CONFIG is not a file" >&2; exit 2; }
say() { printf '\n== %s\n' "$*" >&2; }

for tool in node npm wrk python3 curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed (wrk: apt-get install -y wrk)" >&2; exit 1; }
done

# --- the processes this script starts, all stopped on exit ---------------------------------------
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6; do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.5
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $BUILD_STEP == 1 ]]; then
  say "build ($BUILD, flowguard_cli)"
  cmake --build "$BUILD" --target flowguard_cli -j"$JOBS" >&2
fi
FG_OK=0
FG_WHY=
if [[ ! -x $FG ]]; then
  FG_WHY="$FG does not exist"
elif ! timeout 20 "$FG" serve --help >/dev/null 2>&1; then
  FG_WHY="$FG serve --help fails"
else
  FG_OK=1
fi
if [[ $FG_OK == 0 ]]; then
  say "flowguard serve not available ($FG_WHY): measuring fastify + ajv alone"
fi

if [[ ! -f $HERE/fastify/node_modules/fastify/package.json || ! -f $HERE/fastify/node_modules/ajv/package.json ]]; then
  say "npm ci (bench/server/fastify)"
  (cd "$HERE/fastify" && npm ci --no-audit --no-fund >&2)
fi

mkdir -p "$OUT"
say "requests into bench/out/server"
node "$HERE/make-bodies.js" --out-dir "$OUT"
MEAS=$OUT/measurements.jsonl
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
# 3 characters of this run + 2 of the wrk run: the nonce that keeps references unique across runs
RUN_TAG=$(python3 -c 'import random,string; print("".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(3)))')
WRK_N=0

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# wait_ready NAME PID PORT: polls GET /readyz until 200 (120 s at most)
wait_ready() {
  local name=$1 pid=$2 port=$3 t0=$SECONDS
  while (( SECONDS - t0 < 120 )); do
    if ! kill -0 "$pid" 2>/dev/null; then echo "run.sh: $name exited before it was ready (log: $OUT/$name.log)" >&2; tail -n 20 "$OUT/$name.log" >&2; return 1; fi
    if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz" || true) == 200 ]]; then
      say "$name ready on 127.0.0.1:$port (pid $pid, $((SECONDS - t0)) s)"
      return 0
    fi
    sleep 0.5
  done
  echo "run.sh: $name not ready after 120 s" >&2
  return 1
}
# cpu_ticks PID: user+system clock ticks of PID and its children (node:cluster workers)
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    if [[ -r /proc/$p/stat ]]; then
      local stat
      stat=$(cat "/proc/$p/stat" 2>/dev/null || true)
      [[ -n $stat ]] || continue
      stat=${stat##*) }                                  # past "pid (comm) "
      read -r -a f <<<"$stat"
      total=$(( total + f[11] + f[12] ))                 # utime, stime (fields 14, 15)
    fi
  done
  echo "$total"
}
# busy clock ticks of the whole machine so far (/proc/stat: all but idle and iowait)
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_tree_kib() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do total=$(( total + $(rss_kib "$p") )); done
  echo "$total"
}

declare -A PORT PID
SERVERS=()
start_fastify() {
  local name=$1 workers=$2 port
  port=$(free_port)
  node "$HERE/fastify/server.js" --port "$port" --workers "$workers" >"$OUT/$name.log" 2>&1 &
  PID[$name]=$!; PIDS+=("$!"); PORT[$name]=$port
  wait_ready "$name" "${PID[$name]}" "$port"
  SERVERS+=("$name")
}
# start_flowguard NAME [ARG...]: flowguard serve on a free port, with the extra arguments
start_flowguard() {
  local name=$1 port args
  shift
  port=$(free_port)
  args=(serve --listen "127.0.0.1:$port" --jobs "$JOBS")
  [[ -n $FG_CONFIG ]] && args+=(--config "$FG_CONFIG")
  args+=("$@")
  say "starting: $FG ${args[*]}"
  "$FG" "${args[@]}" >"$OUT/$name.log" 2>&1 &
  PID[$name]=$!; PIDS+=("$!"); PORT[$name]=$port
  if wait_ready "$name" "${PID[$name]}" "$port"; then SERVERS+=("$name")
  elif [[ $name == flowguard ]]; then FG_OK=0; FG_WHY="flowguard serve did not become ready (see $OUT/flowguard.log)"; fi
}

say "starting the servers (fastify: compiling 146 schemas per process takes a few seconds)"
start_fastify fastify 1
(( WORKERS > 1 )) && start_fastify "fastify-x$WORKERS" "$WORKERS"
if [[ $FG_OK == 1 ]]; then
  start_flowguard flowguard
  [[ -n $FG_REGISTRY && $FG_OK == 1 ]] && start_flowguard flowguard-registry --registry "$FG_REGISTRY"
fi

alive() { kill -0 "${PID[$1]}" 2>/dev/null; }
crashed() {
  echo "run.sh: $1 (pid ${PID[$1]}) is gone; last lines of $OUT/$1.log:" >&2
  tail -n 30 "$OUT/$1.log" >&2 || true
  echo "{\"run\":\"$RUN_ID\",\"kind\":\"crash\",\"server\":\"$1\"}" >> "$MEAS"
}

say "probe: every request once, valid must answer 201 and faulty 400"
for s in "${SERVERS[@]}"; do
  rc=0
  node "$HERE/probe.js" --url "http://127.0.0.1:${PORT[$s]}" --dir "$OUT" --label "$s" >"$OUT/probe.out" 2>&1 || rc=$?
  sed 's/^/   /' "$OUT/probe.out" | cut -c1-500 >&2
  (( rc == 0 )) || echo "run.sh: $s answers some requests wrongly (above, exit $rc); measuring it all the same" >&2
  line=$(grep '^probejson ' "$OUT/probe.out" | head -n1 || true)
  [[ -n $line ]] && echo "{\"run\":\"$RUN_ID\",\"kind\":\"probe\",\"server\":\"$s\",\"probe\":${line#probejson }}" >> "$MEAS"
done

# run_wrk SERVER LIST DURATION KIND ROUND [RATE]: one wrk run, one jsonl line
run_wrk() {
  local s=$1 list=$2 dur=$3 kind=$4 round=$5 rate=${6:-0} expect=201 nonce out c0 c1 rss line load m0 m1
  [[ $list == faulty ]] && expect=400
  WRK_N=$((WRK_N + 1))
  nonce=$RUN_TAG$(printf '%02d' $((WRK_N % 100)))
  alive "$s" || { crashed "$s"; return 1; }
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  m0=$(machine_busy)
  c0=$(cpu_ticks "${PID[$s]}")
  rm -f "$OUT/wrk.time"
  out=$(timeout $((dur + 60)) /usr/bin/time -f '%U %S' -o "$OUT/wrk.time" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${dur}s" --timeout 10s --latency \
          -s "$HERE/wrk.lua" "http://127.0.0.1:${PORT[$s]}" -- \
          dir="$OUT" list="$list" threads="$THREADS" unique="$UNIQUE" nonce="$nonce" rate="$rate" \
          expect="$expect" label="$s" 2>"$OUT/wrk.stderr") || { echo "run.sh: wrk failed against $s:" >&2; cat "$OUT/wrk.stderr" >&2; }
  c1=$(cpu_ticks "${PID[$s]}")
  m1=$(machine_busy)
  rss=$(rss_tree_kib "${PID[$s]}")
  if [[ -s $OUT/wrk.stderr ]]; then
    echo "   unexpected answers from $s ($list, expected $expect), first samples:" >&2
    head -n 6 "$OUT/wrk.stderr" | cut -c1-400 | sed 's/^/     /' >&2
  fi
  line=$(grep '^wrkjson ' <<<"$out" | head -n1 || true)
  if [[ -z $line ]]; then echo "run.sh: no result from wrk against $s" >&2; alive "$s" || crashed "$s"; return 1; fi
  line=${line#wrkjson }
  echo "{\"run\":\"$RUN_ID\",\"kind\":\"$kind\",\"server\":\"$s\",\"list\":\"$list\",\"round\":$round,\"expect\":$expect,\"connections\":$CONNECTIONS,\"cpu_s\":$(python3 -c "print(round(($c1 - $c0) / $(getconf CLK_TCK), 3))"),\"rss_kib\":$rss,\"unique\":$UNIQUE,\"loadavg_before\":\"$load\",\"machine_cpu_s\":$(python3 -c "print(round(($m1 - $m0) / $(getconf CLK_TCK), 3))"),\"wrk_cpu_s\":$(awk 'END {print ($1 + $2) + 0}' "$OUT/wrk.time" 2>/dev/null || echo 0),\"wrk\":$line}" >> "$MEAS"
  python3 - "$line" "$s" "$list" "$kind" <<'PY' >&2
import json, sys
w = json.loads(sys.argv[1])
st = " ".join(f"{k}:{v}" for k, v in sorted(w["status"].items()))
err = {k: v for k, v in w["errors"].items() if v}
print(f"   {sys.argv[4]:>6} {sys.argv[2]:<13} {sys.argv[3]:<6} {w['rps']:>9.0f} req/s  p50 {w['p50_ms']:.2f} ms  p99 {w['p99_ms']:.2f} ms  max {w['max_ms']:.1f} ms  [{st}]" + (f"  socket errors {err}" if err else ""))
PY
  alive "$s" || { crashed "$s"; return 1; }
}

# How busy the machine is with the servers idle: another build or benchmark makes the numbers noisy.
b0=$(machine_busy); sleep 3; b1=$(machine_busy)
IDLE_BUSY=$(python3 -c "print(round(100 * ($b1 - $b0) / $(getconf CLK_TCK) / 3))")
if (( IDLE_BUSY > 15 )); then
  say "WARNING: with the servers idle the machine is ${IDLE_BUSY}% of a core busy (something else is running): the numbers will be noisy"
else
  say "machine quiet with the servers idle (${IDLE_BUSY}% of a core busy)"
fi
echo "{\"run\":\"$RUN_ID\",\"kind\":\"idle\",\"busy_pct_of_core\":$IDLE_BUSY}" >> "$MEAS"

say "warm-up: 3 s per server and list (not recorded)"
WARM_N=0
for s in "${SERVERS[@]}"; do
  for list in valid faulty; do
    WARM_N=$((WARM_N + 1))
    timeout 60 wrk -t "$THREADS" -c "$CONNECTIONS" -d 3s -s "$HERE/wrk.lua" "http://127.0.0.1:${PORT[$s]}" -- \
      dir="$OUT" list="$list" threads="$THREADS" unique="$UNIQUE" nonce="${RUN_TAG}W$((WARM_N % 10))" >/dev/null 2>&1 || true
  done
done

for ((round = 1; round <= ROUNDS; round++)); do
  order=("${SERVERS[@]}")
  if (( round % 2 == 0 )); then order=(); for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do order+=("${SERVERS[i]}"); done; fi
  say "round $round of $ROUNDS (${order[*]}), ${DURATION} s each, $CONNECTIONS connections, $THREADS wrk thread(s)"
  for list in valid faulty; do
    for s in "${order[@]}"; do run_wrk "$s" "$list" "$DURATION" peak "$round" || true; done
  done
done

# Half of each server's own peak (the median of its valid rounds).
peak_of() {
  python3 - "$MEAS" "$RUN_ID" "$1" <<'PY'
import json, sys
rs = sorted(r["wrk"]["rps"] for r in map(json.loads, open(sys.argv[1])) if r.get("run") == sys.argv[2]
            and r.get("kind") == "peak" and r.get("server") == sys.argv[3] and r.get("list") == "valid")
print(int(rs[len(rs) // 2]) if rs else 0)
PY
}
say "half of the peak rate (valid requests, wrk.lua rate=R paces the sends with delay())"
declare -A HALF
for s in "${SERVERS[@]}"; do
  alive "$s" || continue
  peak=$(peak_of "$s")
  (( peak > 0 )) || continue
  HALF[$s]=$((peak / 2))
  run_wrk "$s" valid "$DURATION" half 0 "${HALF[$s]}" || true
done

# soak_one SERVER RATE: SERVER at RATE req/s for SOAK s, VmRSS every 10 s
soak_one() {
  local s=$1 rate=$2 samples=$OUT/soak-rss.$1.tsv sampler
  say "soak: $s for $SOAK s at $rate req/s, unique references, VmRSS every 10 s"
  printf 't_s\trss_kib\n' > "$samples"
  ( t0=$SECONDS
    while kill -0 "${PID[$s]}" 2>/dev/null && (( SECONDS - t0 <= SOAK + 5 )); do
      printf '%d\t%d\n' $((SECONDS - t0)) "$(rss_tree_kib "${PID[$s]}")" >> "$samples"
      sleep 10
    done ) &
  sampler=$!; PIDS+=("$sampler")
  run_wrk "$s" valid "$SOAK" soak 0 "$rate" || true
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  alive "$s" && printf '%d\t%d\n' $((SOAK + 1)) "$(rss_tree_kib "${PID[$s]}")" >> "$samples"   # just after the load
  python3 - "$samples" "$RUN_ID" "$s" "$rate" "$SOAK" >> "$MEAS" <<'PY'
import json, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n")[1:] if l.strip()]
series = [[int(t), int(k)] for t, k in rows]
print(json.dumps({"run": sys.argv[2], "kind": "soak-rss", "server": sys.argv[3], "rate": int(sys.argv[4]),
                  "seconds": int(sys.argv[5]), "series_kib": series}))
PY
}
if (( SOAK > 0 )); then
  if [[ $FG_OK == 1 ]] && alive flowguard && [[ -n ${HALF[flowguard]:-} ]]; then
    soak_one flowguard "${HALF[flowguard]}"
    if [[ $SOAK_NO_DEDUPE == 1 ]]; then
      # The same rate against a flowguard serve whose duplicate-reference window is off, to tell a
      # leak from the window filling up (it keeps up to dedupe.max_entries references).
      if [[ -n $FG_CONFIG ]]; then
        say "--soak-no-dedupe: skipped (it writes its own config; --fg-config was given)"
      else
        printf '# written by bench/server/run.sh --soak-no-dedupe\ndedupe:\n  window_seconds: 0\n' > "$OUT/fg-nodedupe.yaml"
        FG_CONFIG=$OUT/fg-nodedupe.yaml start_flowguard flowguard-nodedupe
        FG_CONFIG=
        alive flowguard-nodedupe 2>/dev/null && soak_one flowguard-nodedupe "${HALF[flowguard]}"
      fi
    fi
  else
    say "no flowguard serve: the soak runs against fastify instead"
    [[ -n ${HALF[fastify]:-} ]] && soak_one fastify "${HALF[fastify]}"
  fi
fi

say "report"
python3 - "$MEAS" "$RUN_ID" "$OUT/results.md" "$FG_OK" "${FG_WHY:-}" "$NPROC" "$JOBS" "$WORKERS" "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$UNIQUE" "${FG_CONFIG:-}" "${FG_REGISTRY:-}" "$ORIG_ARGS" <<'PY'
import json, sys, platform, subprocess, statistics
meas, run, results, fg_ok, fg_why, nproc, jobs, workers, threads, conns, dur, rounds, unique, fg_config, fg_registry, orig_args = sys.argv[1:]
rows = [r for r in map(json.loads, open(meas)) if r.get("run") == run]
servers = []
for r in rows:
    if r.get("server") and r["server"] not in servers and r.get("kind") in ("peak", "probe"):
        servers.append(r["server"])
def runs(kind, server, lst):
    return [r for r in rows if r.get("kind") == kind and r.get("server") == server and r.get("list") == lst]
def med(xs):
    xs = sorted(xs); return xs[len(xs) // 2] if xs else None
def fmt_rate(x): return "—" if x is None else f"{x:,.0f}"
def fmt_ms(x): return "—" if x is None else f"{x:.2f}"
def statuses(rs):
    tot = {}
    for r in rs:
        for k, v in r["wrk"]["status"].items(): tot[k] = tot.get(k, 0) + v
    return " ".join(f"{k}: {v:,}" for k, v in sorted(tot.items())) or "—"
def sock_errors(rs):
    return sum(sum(r["wrk"]["errors"].values()) for r in rs)
cpu = ""
try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception: pass
L = []
L.append(f"## {run}: flowguard serve vs fastify + ajv")
L.append("")
L.append(f"`bench/server/run.sh {orig_args}`".replace(" `", "`"))
L.append("")
L.append(f"Machine: {nproc} cores ({cpu}), wrk 4.1 on the same cores; {threads} wrk thread(s), {conns} keep-alive connections, "
         f"{dur} s per run, {rounds} alternating rounds; one DIP message per request, the 146 variants in turn; "
         f"{'unique senderUniqueReferences per request' if unique == '1' else 'request files sent as they are'}. "
         f"flowguard serve --jobs {jobs}{' --config ' + fg_config if fg_config else ''}; fastify = one node process"
         + (f", fastify-x{workers} = node:cluster with {workers} workers" if int(workers) > 1 else "")
         + (f", flowguard-registry = flowguard serve --registry {fg_registry}" if fg_registry else "")
         + ". fastify checks the schema only; flowguard serve checks the schema and runs the DIP rules (it has no schema-only mode)"
         + (", flowguard-registry the market-registry rules too" if fg_registry else "") + ". Rates: the median round; ratio: the median of the rounds' own ratios (range).")
idle = [r for r in rows if r.get("kind") == "idle"]
if idle:
    L.append("")
    L.append(f"Before the rounds, with the servers idle, the machine was {idle[0]['busy_pct_of_core']}% of a core busy"
             + (" (something else was running: noisy)." if idle[0]['busy_pct_of_core'] > 15 else "."))
if fg_ok != "1":
    L.append("")
    L.append(f"**flowguard serve not available** ({fg_why}): fastify alone.")
probes = [r for r in rows if r.get("kind") == "probe"]
if probes:
    L.append("")
    L.append("Probe (every request once; valid must answer 201, faulty 400): " + "; ".join(
        f"{p['server']}: valid {p['probe']['valid']}, faulty {p['probe']['faulty']}, wrong {p['probe']['wrong']}" for p in probes))
L.append("")
L.append("| requests | server | req/s | p50 ms | p99 ms | max ms | server CPU ms / 1k req | cores: server / wrk / rest | statuses (all rounds) | socket errors |")
L.append("|---|---|---|---|---|---|---|---|---|---|")
for lst in ("valid", "faulty"):
    for s in servers:
        rs = runs("peak", s, lst)
        if not rs: continue
        m = sorted(rs, key=lambda r: r["wrk"]["rps"])[len(rs) // 2]
        cpu_per_k = med([r["cpu_s"] * 1e6 / max(1, r["wrk"]["requests"]) for r in rs])
        d = m["wrk"]["duration_s"]
        L.append(f"| {lst} | {s} | {fmt_rate(m['wrk']['rps'])} | {fmt_ms(m['wrk']['p50_ms'])} | {fmt_ms(m['wrk']['p99_ms'])} | "
                 f"{m['wrk']['max_ms']:.1f} | {cpu_per_k:.1f} | {m['cpu_s'] / d:.2f} / {m.get('wrk_cpu_s', 0) / d:.2f} / {max(0.0, m.get('machine_cpu_s', 0) - m['cpu_s'] - m.get('wrk_cpu_s', 0)) / d:.2f} | {statuses(rs)} | {sock_errors(rs)} |")
L.append("")
L.append("Server CPU: user + system time of the server's processes during the run (the fairer measure here: wrk and the "
         "kernel's loopback work share the same cores); wrk: the load generator's own; rest: the machine's other busy time "
         "during the run (interrupts, and any other process: more than ~0.1 means something else was running).")
fgs = [s for s in servers if s.startswith("flowguard")]
if fgs:
    L.append("")
    L.append("| requests | server | vs | ratio (req/s) | range | ratio (server CPU per request, lower is better) | rounds |")
    L.append("|---|---|---|---|---|---|---|")
    for lst in ("valid", "faulty"):
        for fg in fgs:
            f = {r["round"]: r for r in runs("peak", fg, lst)}
            for s in servers:
                if s.startswith("flowguard"): continue
                a = {r["round"]: r for r in runs("peak", s, lst)}
                ks = [k for k in f if k in a and a[k]["wrk"]["rps"] > 0]
                rs = sorted(f[k]["wrk"]["rps"] / a[k]["wrk"]["rps"] for k in ks)
                cpr = lambda r: r["cpu_s"] / max(1, r["wrk"]["requests"])
                cs = sorted(cpr(f[k]) / cpr(a[k]) for k in ks if cpr(a[k]) > 0)
                if rs:
                    L.append(f"| {lst} | {fg} | {s} | {rs[len(rs)//2]:.2f}x | {rs[0]:.2f}–{rs[-1]:.2f}x | "
                             f"{(f'{cs[len(cs)//2]:.2f}x' if cs else '—')} | {len(rs)} |")
half = [r for r in rows if r.get("kind") == "half"]
if half:
    L.append("")
    L.append("At half of each server's own peak (valid requests; wrk.lua rate=R paces sends with delay()):")
    L.append("")
    L.append("| server | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | statuses |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for r in half:
        w = r["wrk"]
        L.append(f"| {r['server']} | {fmt_rate(float(w['rate_target']))} | {fmt_rate(w['rps'])} | {fmt_ms(w['p50_ms'])} | {fmt_ms(w['p90_ms'])} | "
                 f"{fmt_ms(w['p99_ms'])} | {fmt_ms(w['p999_ms'])} | {w['max_ms']:.1f} | {statuses([r])} |")
for sr in [r for r in rows if r.get("kind") == "soak-rss"]:
    soak = [r for r in rows if r.get("kind") == "soak" and r.get("server") == sr["server"]]
    if not soak: continue
    w = soak[0]["wrk"]
    series = sr["series_kib"]
    L.append("")
    L.append(f"Soak: {sr['server']} for {sr['seconds']} s at {sr['rate']:,} req/s target (achieved {w['rps']:,.0f}), "
             f"p50 {w['p50_ms']:.2f} ms, p99 {w['p99_ms']:.2f} ms, max {w['max_ms']:.1f} ms, statuses {statuses(soak)}, socket errors {sock_errors(soak)}.")
    L.append("")
    L.append("VmRSS (KiB) at t s: " + ", ".join(f"{t}: {k:,}" for t, k in series))
    # Flat: after the first 10 s (warm), the last sample is within max(2 MiB, 3%) of the first warm one,
    # and (over 30 s or more) the least-squares slope over the warm samples is under 1 MiB/min.
    warm = [(t, k) for t, k in series if t >= 10] or series
    verdict = "not enough samples"
    if len(warm) >= 2:
        n = len(warm); mt = sum(t for t, _ in warm) / n; mk = sum(k for _, k in warm) / n
        den = sum((t - mt) ** 2 for t, _ in warm)
        slope = (sum((t - mt) * (k - mk) for t, k in warm) / den) * 60 if den else 0.0  # KiB/min
        growth = warm[-1][1] - warm[0][1]
        span = warm[-1][0] - warm[0][0]
        flat = growth <= max(2048, 0.03 * warm[0][1]) and (span < 30 or slope < 1024)
        per_req = growth * 1024 / max(1, w["rps"] * span) if span else 0
        verdict = (f"{'flat' if flat else 'NOT flat'}: {growth:+,} KiB from t={warm[0][0]} s to t={warm[-1][0]} s, "
                   f"slope {slope:+,.0f} KiB/min over the warm samples (about {per_req:.0f} bytes per request)")
    L.append("")
    L.append(f"RSS ({sr['server']}): {verdict}.")
crashes = [r for r in rows if r.get("kind") == "crash"]
for c in crashes:
    L.append("")
    L.append(f"**{c['server']} crashed during the run** (see bench/out/server/{c['server']}.log).")
text = "\n".join(L) + "\n"
with open(results, "a") as f: f.write("\n" + text)
print(text)
PY
