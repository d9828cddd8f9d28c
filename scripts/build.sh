#!/usr/bin/env bash
# Configures (once) and builds flowguard into ./build. Incremental: fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
"./scripts/install-deps.sh"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build -j "$(nproc)"
