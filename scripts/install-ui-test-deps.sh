#!/usr/bin/env bash
# Installs what the browser test of the checker page needs (tests/ui, docs/ui.md): Debian's
# chromium (large, so not in install-deps.sh: building and the other tests do not need it), the
# DejaVu fonts the page names (stable screenshots), node and npm, then playwright-core from
# tests/ui/package-lock.json. Idempotent: nothing is installed or fetched when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(chromium fonts-dejavu-core)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "flowguard ui tests: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "flowguard ui tests: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file is newer than what was installed from it.
stamp=tests/ui/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ tests/ui/package-lock.json -nt "$stamp" ]; then
  echo "flowguard ui tests: npm ci in tests/ui"
  npm ci --prefix tests/ui --no-audit --no-fund --loglevel=error
fi
