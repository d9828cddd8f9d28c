#!/usr/bin/env bash
# First command of the README: install what is missing, build, and check the shipped examples.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
echo
echo "== flowguard check examples/dfs/bid-submission.json (a valid batch)"
./build/bin/flowguard check examples/dfs/bid-submission.json
echo
echo "== flowguard check examples/dfs/bid-submission-with-errors.json (typical mistakes)"
status=0
./build/bin/flowguard check examples/dfs/bid-submission-with-errors.json || status=$?
echo "(exit status $status: 0 clean, 1 error findings, 2 usage/input error, 3 a plugin or rule failed to load)"
[ "$status" -eq 1 ]  # the example is meant to have error findings; anything else is a setup problem
