#!/usr/bin/env bash
# The JetStream baseline ("without flowguard"): bare js_PublishAsync of DIP-sized messages to a
# file-storage stream on a local nats-server, PubAcks awaited (bench/jetstream/bench_jetstream.cpp).
#
#   bench/jetstream/run.sh [--messages M] [--batch N] [--rounds R] [--no-build]
#
#   --messages M   messages per run (default 100000), cycling through tests/corpus/dip's 146 valid messages
#   --batch N      the sink-like run publishes N then waits for their PubAcks (default 256, the
#                  JetStream sink's max_batch); a pipelined run (4096 PubAcks in flight) is measured too,
#                  and the same messages through flowguard's JetStream sink (deliver() of N)
#   --rounds R     repeat both runs R times (default 3); each line is printed as measured
#   --no-build     use build/bin/fg_bench_jetstream as it is
#
# The server listens on an ephemeral 127.0.0.1 port (nothing leaves loopback), stores in a temporary
# directory, and is stopped (and the directory removed) when the script exits, however it exits.
# Every run is bounded (timeout 300 s). Results: appended to bench/out/jetstream/measurements.jsonl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${FLOWGUARD_BUILD_DIR:-$ROOT/build}
OUT=$ROOT/bench/out/jetstream
MESSAGES=100000
BATCH=256
ROUNDS=3
BUILD_STEP=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --messages) MESSAGES=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-build) BUILD_STEP=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

NATS_SERVER=${FLOWGUARD_NATS_SERVER:-$(command -v nats-server || true)}
for candidate in /usr/sbin/nats-server /usr/bin/nats-server; do
  [[ -z $NATS_SERVER && -x $candidate ]] && NATS_SERVER=$candidate
done
[[ -x ${NATS_SERVER:-} ]] || { echo "run.sh: nats-server not found (Debian package nats-server)" >&2; exit 1; }

if [[ $BUILD_STEP == 1 ]]; then
  cmake --build "$BUILD" --target fg_bench_jetstream -j2 >/dev/null
fi
BENCH=$BUILD/bin/fg_bench_jetstream
[[ -x $BENCH ]] || { echo "run.sh: $BENCH is not built" >&2; exit 1; }

STORE=$(mktemp -d /tmp/fg-bench-jetstream.XXXXXX)
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$STORE"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
timeout 900 "$NATS_SERVER" -js -a 127.0.0.1 -p "$PORT" -sd "$STORE/js" -l "$STORE/nats.log" &
SERVER_PID=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
  sleep 0.1
done

mkdir -p "$OUT"
echo "nats-server $("$NATS_SERVER" --version | awk '{print $NF}') on 127.0.0.1:$PORT, file storage in $STORE; $MESSAGES messages per run"
for round in $(seq "$ROUNDS"); do
  for mode in "0" "$BATCH" "$BATCH --via-sink"; do
    # shellcheck disable=SC2086  # mode is "N" or "N --via-sink"
    line=$(timeout 300 "$BENCH" --url "nats://127.0.0.1:$PORT" --corpus "$ROOT/tests/corpus/dip" --messages "$MESSAGES" --batch $mode)
    echo "$line"
    echo "{\"round\":$round,\"when\":\"$(date -u +%FT%TZ)\",\"result\":$line}" >> "$OUT/measurements.jsonl"
  done
done
