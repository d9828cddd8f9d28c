#!/usr/bin/env bash
# Configures (once) the instrumented build that scripts/test-sanitizers.sh and scripts/fuzz.sh share:
# clang-14 with ASan + UBSan, libFuzzer's coverage instrumentation, the tests and the fuzz targets.
# One build instead of two halves the time CI spends compiling (docs/hardening.md, "Sanitizers").
#   scripts/configure-sanitized.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$1
./scripts/install-deps.sh
./scripts/install-fuzz-deps.sh
[ -f "$build_dir/build.ninja" ] && exit 0
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# -O1: the sanitizers' usual level (readable reports, less compile time than -O2); NDEBUG as in the
# normal build, so the code under test is the code shipped. No benchmarks.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" \
  -DFLOWGUARD_SANITIZE=address,undefined -DFLOWGUARD_BUILD_FUZZERS=ON -DFLOWGUARD_BUILD_BENCH=OFF \
  ${FLOWGUARD_SHARED_DIR:+-DFLOWGUARD_SHARED_DIR=$FLOWGUARD_SHARED_DIR} "${launcher[@]}" >/dev/null
