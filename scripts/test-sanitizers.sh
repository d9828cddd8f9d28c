#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (docs/hardening.md), in
# its own build folder (build-asan) so the normal build is untouched. Any sanitizer report stops the
# process that made it with exit status 86, so the test that ran it fails (a leak report included).
#   scripts/test-sanitizers.sh [ctest arguments...]      e.g. -R core_json
# FLOWGUARD_SANITIZE_BUILD_DIR overrides the folder (shared with scripts/fuzz.sh; clang-14).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${FLOWGUARD_SANITIZE_BUILD_DIR:-build-asan}
./scripts/configure-sanitized.sh "$build_dir"
cmake --build "$build_dir" -j "$(nproc)"

supp="$PWD/scripts/sanitizers"
# exitcode=86: a sanitizer's death must not look like one of flowguard's own statuses (1: findings).
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:exitcode=86:detect_leaks=1:strict_string_checks=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86:suppressions=$supp/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
