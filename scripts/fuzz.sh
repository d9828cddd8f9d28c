#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, docs/hardening.md) with clang, ASan and UBSan in build-asan (the build
# scripts/test-sanitizers.sh uses) and
# runs each for a bounded time from its seed corpus, after replaying its regression inputs. Fails on
# any crash, leak, timeout, out-of-memory or sanitizer report.
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]      default 30 s, every target; at most 3600 s
# The corpus a run grows is kept in build-asan/corpus/<target> (the committed seeds stay as they are);
# a crashing input is written to build-asan/artifacts/<target>/ and named in the output.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ] || [ "$seconds" -gt 3600 ]; then
  echo "fuzz.sh: SECONDS_PER_TARGET is '$seconds'; expected a whole number of seconds from 1 to 3600" >&2
  exit 2
fi
all_targets=(json schema dip registry config lua http messages)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

build_dir=${FLOWGUARD_SANITIZE_BUILD_DIR:-build-asan}  # the sanitizer build, shared with test-sanitizers.sh
./scripts/configure-sanitized.sh "$build_dir"
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_string_checks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/scripts/sanitizers/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=()
for target in "${targets[@]}"; do
  fuzzer="$build_dir/bin/fuzz_$target"
  corpus="$build_dir/corpus/$target"
  artifacts="$build_dir/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  log="$build_dir/fuzz-$target.log"
  # What was found before must stay fixed: each reproducer runs once (no fuzzing).
  if compgen -G "fuzz/regressions/$target/*" >/dev/null; then
    if ! "$fuzzer" -runs=0 fuzz/regressions/"$target"/* >"$log.regressions" 2>&1; then
      echo "== fuzz_$target: a regression input fails again (see $log.regressions)"
      tail -30 "$log.regressions"
      failed+=("$target")
      continue
    fi
  fi
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: growth past 2 GB is a finding.
  status=0
  "$fuzzer" "$corpus" "fuzz/corpus/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  if [ "$status" -ne 0 ]; then
    echo "== fuzz_$target: FAILED (exit $status) after $runs executions; see $log"
    grep -E 'ERROR|SUMMARY|runtime error|fuzz contract|Test unit written' "$log" | head -20 || true
    failed+=("$target")
  else
    echo "== fuzz_$target: $runs executions in ${seconds} s, nothing found"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
