#!/usr/bin/env bash
# The routing benchmark (issue 13): messages/s through flowguard's whole routing path, validate →
# journal (SQLite WAL, fsync'd, group commit) → sink, against bare JetStream publishing of the same
# messages without flowguard, on the same local nats-server, in the same run.
#
#   bench/routing/run.sh [--duration S] [--connections C] [--rounds R] [--messages M] [--jobs N]
#                        [--batches "1 10"] [--route-files N] [--build|--no-build]
#
#   --duration S     seconds of load per flowguard serve run (default 10)
#   --connections C  wrk keep-alive connections (default 32; serve's max_in_flight is 64)
#   --rounds R       alternating rounds (default 3): odd rounds run the cases in order, even rounds
#                    in reverse, so a slow spell of the shared machine does not hit one case only
#   --messages M     messages per bare JetStream run (default 100000; the js_Publish one-at-a-time
#                    run sends M/20)
#   --jobs N         flowguard serve --jobs N (default: the machine's cores)
#   --batches LIST   DIP messages per POST /v1/messages request (default "1 10")
#   --route-files N  also time `flowguard route` over N files of 10 messages each, to JetStream
#                    (default 500; 0: skip)
#   --build          cmake --build build --target flowguard_cli fg_dip fg_bench_jetstream first
#                    (default: use what is built; --no-build is that default)
#
# The cases of a round:
#   bare-pipelined   fg_bench_jetstream: js_PublishAsync, 4096 PubAcks in flight, one wait at the end
#   bare-batch256    publish 256, wait for their PubAcks, repeat (the JetStream sink's pattern)
#   bare-sync        js_Publish: one message, its PubAck, the next (M/20 messages)
#   fg-js-bN         flowguard serve (routing: a JetStream sink into a file-storage stream on the same
#                    nats-server) ← wrk POST /v1/messages, N messages a request, unique
#                    senderUniqueReferences: accepted messages/s (202s × N over wrk's time) and
#                    delivered messages/s (202'd messages over the time from wrk's start until the
#                    stream holds every one of them: fg_bench_jetstream --count --until)
#   fg-file-bN       the same with a file sink (JSON lines, fsync'd per batch), counted in the file
#   fg-route         flowguard route --routes … FILE… (--route-files files of 10), JetStream sink,
#                    from the command's start (engine load included) until it exits, all delivered
# Every flowguard case starts a fresh server with a fresh journal (fsync on: SQLite synchronous=FULL,
# group_commit_ms 2) in a temporary directory on the same disk as the nats-server's store. CPU per
# message = user + system time of flowguard serve (or of the bare publisher) and of nats-server over
# the case, per message; when `perf stat` can count syscall tracepoints, the server's fdatasync +
# fsync calls over wrk's time are counted too (the journal's fsync batching, docs/journal.md).
#
# Bodies: bench/server/make-bodies.js (the valid corpus message of every DIP variant, 146, in turn),
# sent by bench/server/wrk.lua with path=/v1/messages; the bare runs publish the same corpus messages
# ({"payload": …} elements, as the router delivers them). Needs node, wrk (Debian's 4.1: if it is
# missing and this runs as root, it says so and runs `apt-get install -y wrk`), python3, curl,
# nats-server. Loopback only (ephemeral 127.0.0.1 ports); every process started here is stopped on
# exit, every step is bounded in time. Results: bench/out/routing/measurements.jsonl (one line per
# case and round) and a summary table on stdout, also appended to bench/out/routing/results.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${FLOWGUARD_BUILD_DIR:-$ROOT/build}
FG=$BUILD/bin/flowguard
BENCH=$BUILD/bin/fg_bench_jetstream
OUT=$ROOT/bench/out/routing
ORIG_ARGS="$*"
DURATION=10
CONNECTIONS=32
ROUNDS=3
MESSAGES=100000
JOBS=$(nproc)
BATCHES="1 10"
ROUTE_FILES=500
BUILD_STEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --messages) MESSAGES=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --batches) BATCHES=$2; shift 2 ;;
    --route-files) ROUTE_FILES=$2; shift 2 ;;
    --build) BUILD_STEP=1; shift ;;
    --no-build) BUILD_STEP=0; shift ;;
    -h|--help) sed -n '2,46p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in DURATION CONNECTIONS ROUNDS MESSAGES JOBS ROUTE_FILES; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: --${v,,} must be a whole number" >&2; exit 2; }
done
for b in $BATCHES; do [[ $b =~ ^[1-9][0-9]*$ && $b -le 100 ]] || { echo "run.sh: --batches takes numbers 1..100" >&2; exit 2; }; done
(( DURATION >= 1 && ROUNDS >= 1 && CONNECTIONS >= 1 && MESSAGES >= 20 )) || { echo "run.sh: need duration, rounds, connections >= 1 and messages >= 20" >&2; exit 2; }
say() { printf '\n== %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "wrk is missing (a bench tool, not a test dependency): running apt-get install -y wrk"
    apt-get install -y wrk >&2
  else
    echo "run.sh: wrk is needed: apt-get install -y wrk (Debian's wrk 4.1)" >&2; exit 1
  fi
fi
for tool in node wrk python3 curl; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed" >&2; exit 1; }
done
NATS_SERVER=${FLOWGUARD_NATS_SERVER:-$(command -v nats-server || true)}
for candidate in /usr/sbin/nats-server /usr/bin/nats-server; do
  [[ -z $NATS_SERVER && -x $candidate ]] && NATS_SERVER=$candidate
done
[[ -x ${NATS_SERVER:-} ]] || { echo "run.sh: nats-server not found (Debian package nats-server)" >&2; exit 1; }
if [[ $BUILD_STEP == 1 ]]; then
  say "build ($BUILD: flowguard_cli fg_dip fg_bench_jetstream)"
  cmake --build "$BUILD" --target flowguard_cli fg_dip fg_bench_jetstream -j2 >&2
fi
for b in "$FG" "$BENCH" "$BUILD/lib/flowguard/plugins/fg_dip.so"; do
  [[ -e $b ]] || { echo "run.sh: $b is not built (--build builds it: flowguard_cli fg_dip fg_bench_jetstream)" >&2; exit 1; }
done

# --- the processes this script starts, all stopped on exit ---------------------------------------
PIDS=()
WORK=$(mktemp -d /tmp/fg-bench-routing.XXXXXX)
stop_pid() {  # SIGTERM, up to 15 s, then SIGKILL
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
forget_pid() {  # a stopped process leaves PIDS, so cleanup never signals a reused pid
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
now_s() { python3 -c 'import time; print(f"{time.time():.4f}")'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_ticks() {  # user+system clock ticks of PID
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null || true)
  [[ -n $stat ]] || { echo 0; return; }
  stat=${stat##*) }
  read -r -a f <<<"$stat"
  echo $(( f[11] + f[12] ))
}
TCK=$(getconf CLK_TCK)
PERF_OK=0
if command -v perf >/dev/null && perf stat -x, -e syscalls:sys_enter_fdatasync -- true >/dev/null 2>&1; then PERF_OK=1; fi

# --- nats-server, file storage under WORK (the same disk as the journals) ------------------------
NATS_PORT=$(free_port)
NATS_URL=nats://127.0.0.1:$NATS_PORT
timeout 3600 "$NATS_SERVER" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$WORK/js" -l "$WORK/nats.log" &
PIDS+=("$!")
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$NATS_PORT") 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/"$NATS_PORT") 2>/dev/null || { echo "run.sh: nats-server did not start (log: $WORK/nats.log)" >&2; exit 1; }
NATS_PID=$(pgrep -P "${PIDS[0]}" | head -n1 || true)  # the server under `timeout`, for its CPU time
[[ -n $NATS_PID ]] || NATS_PID=${PIDS[0]}

mkdir -p "$OUT"
MEAS=$OUT/measurements.jsonl
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
RUN_TAG=$(python3 -c 'import random,string; print("".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(3)))')
NONCE_N=0
say "requests: bench/server/make-bodies.js --batch N for N in $BATCHES"
for b in $BATCHES; do node "$ROOT/bench/server/make-bodies.js" --out-dir "$WORK/bodies-b$b" --batch "$b"; done

# --- one flowguard serve case -------------------------------------------------------------------
# write_routes DIR KIND: DIR/routes.yaml with one sink "out" of KIND (jetstream|file) for every DIP message
write_routes() {
  local dir=$1 kind=$2
  mkdir -p "$dir"
  {
    echo "# written by bench/routing/run.sh"
    echo "journal: {path: journal.db, group_commit_ms: 2}"
    echo "sinks:"
    if [[ $kind == jetstream ]]; then
      echo "  out: {kind: jetstream, servers: ['$NATS_URL'], subject: fgbench.dip, stream: FGBENCH, ack_timeout_ms: 10000}"
    else
      echo "  out: {kind: file, path: out/messages.jsonl, rotate_mb: 0}"
    fi
    echo "  dead: {kind: spool, directory: dead-letter}"
    echo "dead_letter: dead"
    echo "routes:"
    echo "  - name: dip"
    echo "    match: {type: 'dip.*'}"
    echo "    sinks: [out]"
  } > "$dir/routes.yaml"
}
# lines_until FILE N TIMEOUT: poll FILE's line count (incrementally) until >= N; prints JSON with epoch_s
lines_until() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, os, sys, time
path, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline, count, off = time.time() + timeout, 0, 0
while True:
    try:
        with open(path, "rb") as f:
            f.seek(off)
            chunk = f.read()
            count += chunk.count(b"\n"); off += len(chunk)
    except FileNotFoundError:
        pass
    if count >= n or time.time() > deadline: break
    time.sleep(0.002)
print(json.dumps({"messages": count, "until": n, "reached": count >= n, "epoch_s": round(time.time(), 4)}))
sys.exit(0 if count >= n else 1)
PY
}
# count_dead DIR: files in the dead-letter spool (should be 0)
count_dead() { find "$1/dead-letter" -type f 2>/dev/null | wc -l; }

# fg_serve_case KIND BATCH ROUND
fg_serve_case() {
  local kind=$1 batch=$2 round=$3 name dir port pid t0 t1 out line accepted reached c0 c1 n0 n1 load
  name=fg-${kind/jetstream/js}-b$batch
  dir=$WORK/$name-r$round
  write_routes "$dir" "$kind"
  port=$(free_port)
  printf '# written by bench/routing/run.sh\nlisten: 127.0.0.1:%s\njobs: %s\nrouting: routes.yaml\n' "$port" "$JOBS" > "$dir/serve.yaml"
  if [[ $kind == jetstream ]]; then
    timeout 30 "$BENCH" --url "$NATS_URL" --stream FGBENCH --subjects 'fgbench.>' --create >/dev/null
  fi
  "$FG" serve --config "$dir/serve.yaml" >"$dir/serve.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  local t_ready=$SECONDS
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz" || true) == 200 ]]; do
    if ! kill -0 "$pid" 2>/dev/null || (( SECONDS - t_ready > 120 )); then
      echo "run.sh: $name: flowguard serve did not become ready; last lines of its log:" >&2; tail -n 20 "$dir/serve.log" >&2
      stop_pid "$pid"; forget_pid "$pid"; return 1
    fi
    sleep 0.3
  done
  NONCE_N=$((NONCE_N + 1))
  load=$(loadavg)
  c0=$(cpu_ticks "$pid")
  n0=$(cpu_ticks "$NATS_PID")
  # The fsync batching, counted: fdatasync/fsync calls of the server over wrk's time (group commits,
  # delivery marks and the file sink's fsyncs together), when perf can count syscall tracepoints.
  local perf_pid=
  if [[ $PERF_OK == 1 ]]; then
    perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync -o "$dir/fsync.stat" -p "$pid" -- sleep "$DURATION" 2>/dev/null &
    perf_pid=$!; PIDS+=("$perf_pid")
  fi
  t0=$(now_s)
  out=$(timeout $((DURATION + 60)) wrk -t 1 -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency \
          -s "$ROOT/bench/server/wrk.lua" "http://127.0.0.1:$port" -- \
          dir="$WORK/bodies-b$batch" list=valid threads=1 unique=1 nonce="$RUN_TAG$(printf '%02d' $((NONCE_N % 100)))" \
          expect=202 path=/v1/messages label="$name" 2>"$dir/wrk.stderr") || true
  t1=$(now_s)
  if [[ -n $perf_pid ]]; then
    for _ in $(seq 20); do kill -0 "$perf_pid" 2>/dev/null || break; sleep 0.5; done
    stop_pid "$perf_pid"; forget_pid "$perf_pid"
  fi
  local fsyncs
  fsyncs=$(awk -F, '/sys_enter_f(data)?sync/ && $1 ~ /^[0-9]+$/ {n += $1; seen = 1} END {print seen ? n : "null"}' "$dir/fsync.stat" 2>/dev/null || echo null)
  [[ -n $fsyncs ]] || fsyncs=null
  line=$(grep '^wrkjson ' <<<"$out" | head -n1 || true)
  if [[ -z $line ]]; then echo "run.sh: $name: no result from wrk" >&2; cat "$dir/wrk.stderr" >&2; stop_pid "$pid"; forget_pid "$pid"; return 1; fi
  line=${line#wrkjson }
  if [[ -s $dir/wrk.stderr ]]; then echo "   $name: answers other than 202 (first samples):" >&2; head -n 3 "$dir/wrk.stderr" | cut -c1-300 >&2; fi
  accepted=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"].get("202", 0) * int(sys.argv[2]))' "$line" "$batch")
  if [[ $kind == jetstream ]]; then
    reached=$(timeout 200 "$BENCH" --url "$NATS_URL" --stream FGBENCH --count --until "$accepted" --timeout 180 || true)
  else
    reached=$(lines_until "$dir/out/messages.jsonl" "$accepted" 180 || true)  # bounded inside (180 s)
  fi
  c1=$(cpu_ticks "$pid")
  n1=$(cpu_ticks "$NATS_PID")
  [[ -n $reached ]] || reached='{"reached":false}'
  local dead
  dead=$(count_dead "$dir")
  stop_pid "$pid"; forget_pid "$pid"
  echo "{\"run\":\"$RUN_ID\",\"round\":$round,\"case\":\"$name\",\"sink\":\"$kind\",\"batch\":$batch,\"loadavg_before\":\"$load\",\"t0\":$t0,\"t_wrk_end\":$t1,\"accepted_messages\":$accepted,\"fsyncs_during_wrk\":$fsyncs,\"dead_letter_files\":$dead,\"server_cpu_s\":$(python3 -c "print(round(($c1 - $c0) / $TCK, 2))"),\"nats_cpu_s\":$(python3 -c "print(round(($n1 - $n0) / $TCK, 2))"),\"delivered\":$reached,\"wrk\":$line}" >> "$MEAS"
  python3 - "$(tail -n1 "$MEAS")" >&2 <<'PY'
import json, sys
r = json.loads(sys.argv[1]); w = r["wrk"]; d = r["delivered"]
acc = r["accepted_messages"] / w["duration_s"]
e2e = r["accepted_messages"] / (d["epoch_s"] - r["t0"]) if d.get("reached") else 0
print(f"   {r['case']:<14} accepted {acc:>8,.0f} msg/s ({w['rps']:,.0f} req/s, p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms)  "
      f"delivered {e2e:>8,.0f} msg/s{'' if d.get('reached') else ' (NOT all delivered: ' + str(d.get('messages')) + ')'}  "
      f"statuses {w['status']}  dead-letter {r['dead_letter_files']}  CPU/msg {1e6 * (r['server_cpu_s'] + r['nats_cpu_s']) / max(1, r['accepted_messages']):.0f} µs "
      f"(flowguard {1e6 * r['server_cpu_s'] / max(1, r['accepted_messages']):.0f})"
      + (f"  fsyncs {r['fsyncs_during_wrk'] / w['duration_s']:,.0f}/s ({w['requests'] / max(1, r['fsyncs_during_wrk']):.1f} requests each)" if r.get("fsyncs_during_wrk") else "")
      + f"  load {r['loadavg_before']}")
PY
}

# bare_case MODE ROUND: fg_bench_jetstream on the corpus messages
bare_case() {
  local mode=$1 round=$2 args line load n0 n1
  case $mode in
    bare-pipelined) args=(--messages "$MESSAGES" --batch 0) ;;
    bare-batch256) args=(--messages "$MESSAGES" --batch 256) ;;
    bare-sync) args=(--messages $((MESSAGES / 20)) --sync) ;;
  esac
  load=$(loadavg)
  n0=$(cpu_ticks "$NATS_PID")
  line=$(timeout 300 "$BENCH" --url "$NATS_URL" --corpus "$ROOT/tests/corpus/dip" "${args[@]}") || { echo "run.sh: $mode failed" >&2; return 1; }
  n1=$(cpu_ticks "$NATS_PID")  # includes the bench's stream set-up and check: a few ms
  echo "{\"run\":\"$RUN_ID\",\"round\":$round,\"case\":\"$mode\",\"loadavg_before\":\"$load\",\"nats_cpu_s\":$(python3 -c "print(round(($n1 - $n0) / $TCK, 2))"),\"result\":$line}" >> "$MEAS"
  python3 - "$(tail -n1 "$MEAS")" >&2 <<'PY'
import json, sys
m = json.loads(sys.argv[1]); r = m["result"]
print(f"   {m['case']:<14} {r['messages_per_s']:>8,.0f} msg/s  ({r['messages']:,} messages, {r['seconds']} s)  "
      f"CPU/msg {1e6 * (r.get('cpu_s', 0) + m['nats_cpu_s']) / r['messages']:.0f} µs (publisher {1e6 * r.get('cpu_s', 0) / r['messages']:.0f})  load {m['loadavg_before']}")
PY
}

# route_case ROUND: flowguard route over ROUTE_FILES files of 10 messages, JetStream sink
route_case() {
  local round=$1 dir t0 t1 rc=0 load reached n
  dir=$WORK/fg-route-r$round
  write_routes "$dir" jetstream
  mkdir -p "$dir/in"
  python3 - "$WORK/bodies-b10" "$dir/in" "$ROUTE_FILES" "$RUN_TAG$round" <<'PY'
import os, re, sys
src, dst, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
names = open(os.path.join(src, "valid.list")).read().split()
bodies = [open(os.path.join(src, p)).read().split("\n", 1)[1] for p in names]
k = 0
def fresh(_):
    global k
    k += 1
    return (tag + f"{k:016d}")[-16:]
for i in range(n):
    with open(os.path.join(dst, f"{i:06d}.json"), "w") as f:
        f.write(re.sub(r"FGREF\d{11}", fresh, bodies[i % len(bodies)]))
PY
  n=$((ROUTE_FILES * 10))
  timeout 30 "$BENCH" --url "$NATS_URL" --stream FGBENCH --subjects 'fgbench.>' --create >/dev/null
  load=$(loadavg)
  t0=$(now_s)
  timeout 600 "$FG" route --routes "$dir/routes.yaml" --wait 300 "$dir"/in/*.json >"$dir/route.log" 2>&1 || rc=$?
  t1=$(now_s)
  reached=$(timeout 30 "$BENCH" --url "$NATS_URL" --stream FGBENCH --count || true)
  echo "{\"run\":\"$RUN_ID\",\"round\":$round,\"case\":\"fg-route\",\"files\":$ROUTE_FILES,\"messages\":$n,\"exit\":$rc,\"loadavg_before\":\"$load\",\"seconds\":$(python3 -c "print(round($t1 - $t0, 3))"),\"stream\":${reached:-null}}" >> "$MEAS"
  python3 - "$(tail -n1 "$MEAS")" >&2 <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"   fg-route       {r['messages'] / r['seconds']:>8,.0f} msg/s  ({r['files']} files of 10, {r['seconds']} s incl. start-up, "
      f"exit {r['exit']}, stream holds {(r['stream'] or {}).get('messages')})  load {r['loadavg_before']}")
PY
}

CASES=(bare-pipelined bare-batch256 bare-sync)
for b in $BATCHES; do CASES+=("fg-js-b$b" "fg-file-b$b"); done
(( ROUTE_FILES > 0 )) && CASES+=(fg-route)
run_case() {
  case $1 in
    bare-*) bare_case "$1" "$2" ;;
    fg-js-b*) fg_serve_case jetstream "${1#fg-js-b}" "$2" ;;
    fg-file-b*) fg_serve_case file "${1#fg-file-b}" "$2" ;;
    fg-route) route_case "$2" ;;
  esac
}

say "nats-server $("$NATS_SERVER" --version | awk '{print $NF}') on $NATS_URL (file storage in $WORK/js); flowguard serve --jobs $JOBS; load average $(loadavg)"
say "warm-up (not recorded): a short bare run"
timeout 120 "$BENCH" --url "$NATS_URL" --corpus "$ROOT/tests/corpus/dip" --messages 20000 >/dev/null
for ((round = 1; round <= ROUNDS; round++)); do
  order=("${CASES[@]}")
  if (( round % 2 == 0 )); then order=(); for ((i = ${#CASES[@]} - 1; i >= 0; i--)); do order+=("${CASES[i]}"); done; fi
  say "round $round of $ROUNDS: ${order[*]}"
  for c in "${order[@]}"; do run_case "$c" "$round" || true; done
done

say "report"
python3 - "$MEAS" "$RUN_ID" "$ORIG_ARGS" "$DURATION" "$CONNECTIONS" "$ROUNDS" "$JOBS" <<'PY' | tee -a "$OUT/results.md"
import json, sys
meas, run, args, dur, conns, rounds, jobs = sys.argv[1:]
rows = [r for r in map(json.loads, open(meas)) if r.get("run") == run]
def med(xs):
    xs = sorted(xs); return xs[len(xs) // 2] if xs else None
def rate(r, what):
    if r["case"].startswith("bare"): return r["result"]["messages_per_s"]
    if r["case"] == "fg-route": return r["messages"] / r["seconds"] if r["exit"] == 0 else 0
    w, d = r["wrk"], r["delivered"]
    if what == "accepted": return r["accepted_messages"] / w["duration_s"]
    return r["accepted_messages"] / (d["epoch_s"] - r["t0"]) if d.get("reached") else 0
cases = []
for r in rows:
    if r["case"] not in cases: cases.append(r["case"])
by_round = {}
for r in rows: by_round.setdefault(r["round"], {})[r["case"]] = r
print(f"\n## {run}: routing, validate → journal → sink vs bare JetStream\n")
print(f"`bench/routing/run.sh {args}`".replace(" `", "`") + f" — {rounds} rounds, {dur} s of wrk per serve case, {conns} connections, serve --jobs {jobs}; "
      f"load average before the cases: {', '.join(sorted(set(r['loadavg_before'].split()[0] for r in rows)))}\n")
def cpu_us(r):  # CPU per message: the publisher (flowguard serve, or the bare bench) + nats-server
    if r["case"].startswith("bare"):
        return 1e6 * (r["result"].get("cpu_s", 0) + r.get("nats_cpu_s", 0)) / r["result"]["messages"]
    if r["case"] == "fg-route": return None
    return 1e6 * (r["server_cpu_s"] + r.get("nats_cpu_s", 0)) / max(1, r["accepted_messages"])
print("| case | messages/s, accepted (202) | messages/s, delivered end to end | range (delivered) | ratio to bare-sync (js_Publish) | ratio to bare-batch256 | ratio to bare-pipelined | CPU µs/msg (publisher + nats-server) |")
print("|---|---|---|---|---|---|---|---|")
def ratio_med(case, base, what):
    rs = [rate(rr[case], what) / rate(rr[base], what) for rr in by_round.values() if case in rr and base in rr and rate(rr[base], what)]
    return med(rs), (min(rs), max(rs)) if rs else (None, None)
for c in cases:
    rs = [r for r in rows if r["case"] == c]
    acc = med([rate(r, "accepted") for r in rs]) if c.startswith("fg-") and c != "fg-route" else None
    dl = [rate(r, "delivered") for r in rs]
    cells = []
    for base in ("bare-sync", "bare-batch256", "bare-pipelined"):
        m, (lo, hi) = ratio_med(c, base, "delivered")
        cells.append("—" if m is None else f"{m:.2f} ({lo:.2f}–{hi:.2f})")
    cu = [x for x in (cpu_us(r) for r in rs) if x is not None]
    print(f"| {c} | {'' if acc is None else f'{acc:,.0f}'} | {med(dl):,.0f} | {min(dl):,.0f} – {max(dl):,.0f} | {cells[0]} | {cells[1]} | {cells[2]} | "
          f"{'' if not cu else f'{med(cu):.0f}'} |")
fs = [r for r in rows if r.get("fsyncs_during_wrk")]
if fs:
    print("\nThe journal's fsync batching, as counted (fdatasync + fsync calls of flowguard serve during wrk: group commits, "
          "delivery marks and the file sink's fsyncs together):\n")
    print("| case | fsyncs/s | requests (202) per fsync | messages per fsync |")
    print("|---|---|---|---|")
    for c in cases:
        rs = [r for r in fs if r["case"] == c]
        if not rs: continue
        print(f"| {c} | {med([r['fsyncs_during_wrk'] / r['wrk']['duration_s'] for r in rs]):,.0f} | "
              f"{med([r['wrk']['requests'] / r['fsyncs_during_wrk'] for r in rs]):.1f} | "
              f"{med([r['accepted_messages'] / r['fsyncs_during_wrk'] for r in rs]):.1f} |")
bad = [r for r in rows if r["case"].startswith("fg-") and r["case"] != "fg-route" and
       (not r["delivered"].get("reached") or r["dead_letter_files"] or set(r["wrk"]["status"]) - {"202"})]
print("\nEvery serve case: all 202, every accepted message delivered, nothing dead-lettered." if not bad else
      "\nNOT clean: " + "; ".join(f"{r['case']} r{r['round']}: statuses {r['wrk']['status']}, dead-letter {r['dead_letter_files']}, delivered {r['delivered']}" for r in bad))
PY
