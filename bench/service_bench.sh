#!/usr/bin/env bash
# Measures winbackd's read API on loopback: builds a 100,000-target database,
# starts winbackd on it (schedule off), runs `service_bench load`, stops it.
#   bench/service_bench.sh [BUILD_DIR] [CUSTOMERS]
set -euo pipefail
build=${1:-build/release}
customers=${2:-100000}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$build/bench/service_bench" make-db --db "$work/winback.db" --customers "$customers"
mkdir -p "$work/data"
cat > "$work/winback.yaml" <<YAML
data:
  dir: data
store:
  path: winback.db
service:
  listen: 127.0.0.1:0
  metrics_listen: ""
  default_page_size: 1000
  max_page_size: 10000
schedule:
  enabled: false
YAML
WINBACK_API_KEYS="reader:bench-key" "$build/services/winbackd" \
  --config "$work/winback.yaml" --port-file "$work/ports" --log-level warn &
pid=$!
for _ in $(seq 100); do [[ -s "$work/ports" ]] && break; sleep 0.1; done
port=$(sed -n 's/^grpc=//p' "$work/ports")
"$build/bench/service_bench" load --addr "127.0.0.1:$port" --key bench-key \
  --clients "${CLIENTS:-8}" --seconds "${SECONDS_:-5}" --page-size 1000
kill -TERM "$pid"
wait "$pid"
