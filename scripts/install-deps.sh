#!/usr/bin/env bash
# Installs the Debian 12 packages flowguard builds with. Idempotent: does nothing (not even
# `apt-get update`) when everything is already installed.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config       # toolchain
  liblua5.4-dev                          # Lua 5.4 rules
  libvalijson-dev                        # JSON Schema draft-07 reference validator
  libyaml-cpp-dev                        # YAML (DIP OpenAPI import, registry)
  libboost-dev libboost-filesystem-dev   # Boost.DLL plugin loading
  libspdlog-dev                          # logging
  prometheus-cpp-dev                     # serve: Prometheus metric model and text format (/metrics)
  libsqlite3-dev                         # routing: the message journal (WAL, fsync'd commits)
  libcurl4-openssl-dev                   # routing: the webhook sink (HTTP/1.1, TLS, mTLS)
  libssl-dev                             # serve: SHA-256 of bodies for Idempotency-Key; tests: the receiver's TLS (Asio SSL)
  libnats-dev                            # routing: the JetStream sink and `flowguard consume`
  nats-server                            # tests: the real JetStream server the integration tests start
  openssl                                # tests: certificates for the webhook receiver's TLS, made by `openssl req`
  catch2                                 # tests (v2)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "flowguard setup: these packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
echo "flowguard setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
