#!/usr/bin/env bash
# The extra Debian 12 packages of scripts/fuzz.sh (developers and CI only; users need none of them).
# Idempotent like install-deps.sh.
set -euo pipefail

packages=(
  clang-14           # libFuzzer needs clang (-fsanitize=fuzzer)
  libfuzzer-14-dev   # libFuzzer's runtime and FuzzedDataProvider.h
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "flowguard fuzz setup: these packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
echo "flowguard fuzz setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
