#!/usr/bin/env bash
# Instructions per DIP message, warm (callgrind; the machine's noise does not move it):
# (I(--iterations 3) - I(--iterations 1)) / (2 * messages), each run with one warm-up check.
#
#   bench/dip/instructions.sh FILE [MODE...]     MODE: --schema-only, "" (all rules), "--registry default"
#
# e.g. node bench/dip/generate.js --records 1000 --out-dir /tmp/dip1k &&
#      bench/dip/instructions.sh /tmp/dip1k/dip.valid.json --schema-only "" "--registry default"
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ENGINE=${FLOWGUARD_BUILD_DIR:-$ROOT/build}/bin/fg_bench_engine
FILE=$1; shift
[[ $# -eq 0 ]] && set -- "--schema-only" "" "--registry default"
MESSAGES=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d) if isinstance(d, list) else 1)' "$FILE")
refs() {  # refs ITERATIONS MODE...
  local it=$1; shift
  # shellcheck disable=SC2068
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$ENGINE" --type dip $@ --fresh-dip-references --warmup 1 \
    --iterations "$it" "$FILE" 2>&1 >/dev/null | grep 'refs:' | tr -d ',' | awk '{print $NF}'
}
for mode in "$@"; do
  a=$(refs 1 "$mode"); b=$(refs 3 "$mode")
  echo "$(basename "$FILE") ${mode:-(all rules)}: $(( (b - a) / (2 * MESSAGES) )) instructions/message"
done
