#!/usr/bin/env bash
# Installs what the baseline pipelines need, only when missing:
#   - Debian 12 packages python3-pandas python3-sklearn python3-imblearn nodejs npm
#   - the DuckDB Node package (npm ci in this directory, from package-lock.json)
# Exits 0 with a clear message when the npm registry cannot be reached; callers
# then skip the DuckDB baseline (check for node_modules/@duckdb/node-api).
set -uo pipefail
cd "$(dirname "$0")"

log() { echo "[baselines/install] $*"; }

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

missing=()
for pkg in python3-pandas python3-sklearn python3-imblearn nodejs npm; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# nodejs/npm may come from outside Debian (e.g. a preinstalled Node); accept them.
if command -v node >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}")
fi
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"

if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || log "apt-get update failed; trying the install anyway"
  if ! $SUDO apt-get install -y -qq "${missing[@]}"; then
    log "ERROR: apt-get install ${missing[*]} failed"
    exit 1
  fi
else
  log "Debian packages present (pandas, scikit-learn, imbalanced-learn, node, npm)"
fi

if ! /usr/bin/python3 -c 'import pandas, sklearn, imblearn' 2>/dev/null; then
  log "ERROR: /usr/bin/python3 cannot import pandas, sklearn and imblearn"
  exit 1
fi

if [[ -f node_modules/@duckdb/node-api/package.json ]] &&
   node -e 'import("@duckdb/node-api").then(()=>process.exit(0),()=>process.exit(1))' 2>/dev/null; then
  log "@duckdb/node-api already installed"
  exit 0
fi

log "installing @duckdb/node-api (npm ci)"
if timeout 600 npm ci --no-audit --no-fund --loglevel=error; then
  log "DuckDB baseline ready"
else
  log "WARNING: npm could not install @duckdb/node-api (registry unreachable?);" \
      "the DuckDB baseline will be skipped"
fi
exit 0
