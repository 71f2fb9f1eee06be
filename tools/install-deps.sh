#!/usr/bin/env bash
# Installs the Debian 12 packages Winback needs to build, run and test, but
# only those that are missing. Safe to run repeatedly.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libabsl-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libsqlitecpp-dev libsqlite3-dev sqlite3
  libeigen3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  prometheus-cpp-dev nlohmann-json3-dev libssl-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-grpcio python3-grpc-tools python3-yaml
)
if [[ "${1:-}" == "--with-test-tools" ]]; then
  # The differential baselines, deploy-file checkers and the TLS test's
  # certificate maker (openssl) used by the tests.
  PACKAGES+=(python3-pandas python3-sklearn python3-imblearn systemd openssl)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
