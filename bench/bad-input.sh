#!/bin/sh
# The hostile inputs of docs/hardening.md, each run once with its time and peak memory checked
# against a bound (a script, not a timed unit test). Usage: bench/bad-input.sh [BUILD_DIR]
# Writes its inputs under ${TMPDIR:-/tmp}/flowguard-bad-input; needs python3 and GNU time.
set -eu
build=${1:-build}
fg="$build/bin/flowguard"
work="${TMPDIR:-/tmp}/flowguard-bad-input"
mkdir -p "$work/rules"
failed=0
stdin=

# NAME MAX_SECONDS MAX_MIB EXPECTED_EXIT ARGS...   (standard input: the file $stdin, else /dev/null)
run() {
  name=$1 max_s=$2 max_mib=$3 want=$4
  shift 4
  set +e
  /usr/bin/time -f "%e %M" -o "$work/time" "$fg" "$@" < "${stdin:-/dev/null}" > "$work/out" 2>&1
  rc=$?
  set -e
  read -r secs kib <<EOT
$(tail -n 1 "$work/time")
EOT
  mib=$((kib / 1024))
  verdict=ok
  if [ "$rc" -ne "$want" ] || [ "$mib" -gt "$max_mib" ] || [ "$(echo "$secs > $max_s" | bc)" -eq 1 ]; then
    verdict=FAILED
    failed=1
  fi
  printf '%-28s exit %s (want %s)  %6ss (max %s)  %5s MiB (max %s)  %s\n' "$name" "$rc" "$want" "$secs" "$max_s" \
    "$mib" "$max_mib" "$verdict"
  [ "$verdict" = ok ] || tail -3 "$work/out"
}

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
rec = {"Event ID": 612, "Event Type": "Upwards", "Delivery Date": "14-01-2027", "Registered DFS Participant": "NFE",
       "DFS Unit ID": "NFE-1-Z2", "DFS Volume MW": 4.5, "From_Local": "17:00", "To_Local": "17:30",
       "Utilisation price GBP per MWh": 350.5}
bad = dict(rec, **{"Delivery Date": "2027-01-14"})
one = json.dumps(rec, separators=(",", ":"))
open(f"{w}/minified-60mb.json", "w").write("[" + ",".join([one] * 250000) + "," + json.dumps(bad) + "]")
open(f"{w}/empty-records.json", "w").write("[" + ",".join(["{}"] * 3000000) + "]")
with open(f"{w}/array-200mb.json", "w") as f:  # past the 64 MiB streaming threshold
    f.write("[")
    for i in range(8):
        f.write(",".join([one] * 100000) + ",")
    f.write(one + "]")
open(f"{w}/huge-number.json", "w").write('[{"Event ID": 1e400}]')
laughs = "format: flowguard-registry/1\na0: &a0 [x, x, x, x, x, x, x, x, x]\n"
for i in range(1, 10):
    laughs += f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 9) + "]\n"
open(f"{w}/laughs.yaml", "w").write(laughs)
open(f"{w}/rules/patterns.lua", "w").write(
    'return { id = "BAD-PATTERN", severity = "error", description = "d", spec = "s", types = {"dfs.*"},\n'
    '  record = function(r, report) string.find(("a"):rep(150), (".-"):rep(5) .. "b") end }\n')
open(f"{w}/rules/loop.lua", "w").write(
    'return { id = "BAD-LOOP", severity = "error", description = "d", spec = "s", types = {"dfs.*"},\n'
    '  record = function(r, report) for i = 1, 1000000 do report(nil, "again") end end }\n')
PY

run "one finding, 60 MB line" 10 1500 1 check --no-rules "$work/minified-60mb.json"
run "27 M schema findings" 30 2000 1 check --type dfs.bid-submission "$work/empty-records.json"
run "pathological pattern" 20 500 1 check --rules "$work/rules" examples/dfs/bid-submission.json
run "number beyond double" 5 200 2 check "$work/huge-number.json"
run "billion laughs registry" 5 500 2 check --registry "$work/laughs.yaml" examples/dip/if-001-initial-registration.json
run "/dev/zero by path" 2 100 2 check /dev/zero
stdin=/dev/zero
run "/dev/zero on stdin" 2 100 2 check -
stdin="$work/array-200mb.json"
run "200 MB array on stdin" 60 400 1 check --no-rules -
stdin=
run "200 MB array by path" 60 400 1 check --no-rules "$work/array-200mb.json"
exit $failed
