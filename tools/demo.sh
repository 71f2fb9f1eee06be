#!/usr/bin/env bash
# Command 1: install what is missing, build, generate the demo export (5,000
# customers), run the nightly pipeline once, start the daemon, and print how
# to fetch a target list.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
BUILD_DIR="${BUILD_DIR:-build/release}"
BUILD_DIR="$BUILD_DIR" tools/build.sh winback winback-datagen winbackd winbackctl

DEMO=var/demo
DATA=$DEMO/data
mkdir -p "$DEMO"
if [[ ! -f "$DATA/click_stream.csv" ]]; then
  echo "demo: generating the demo export into $DATA"
  "$BUILD_DIR/tools/datagen/winback-datagen" --customers 5000 --seed 42 --out "$DATA"
fi

# API keys for the demo: one reader (marketing tools), one operator.
KEYS=$DEMO/api_keys
if [[ ! -f "$KEYS" ]]; then
  umask 077
  printf 'reader %s\noperator %s\n' "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" \
    "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" > "$KEYS"
fi
READER_KEY=$(awk '$1 == "reader" {print $2}' "$KEYS")
OPERATOR_KEY=$(awk '$1 == "operator" {print $2}' "$KEYS")

# A daemon from an earlier demo holds the database: stop it first.
PIDFILE=$DEMO/winbackd.pid
if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  kill -TERM "$(cat "$PIDFILE")"
  for _ in $(seq 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.2; done
fi

"$BUILD_DIR/jobs/pipeline/winback" run --config config/winback.yaml

nohup "$BUILD_DIR/services/winbackd" --config config/winback.yaml \
  > "$DEMO/winbackd.log" 2>&1 &
echo $! > "$PIDFILE"
for _ in $(seq 50); do
  if "$BUILD_DIR/tools/winbackctl/winbackctl" --addr 127.0.0.1:50051 --key "$READER_KEY" \
      campaigns > /dev/null 2>&1; then
    break
  fi
  sleep 0.2
done
"$BUILD_DIR/tools/winbackctl/winbackctl" --addr 127.0.0.1:50051 --key "$READER_KEY" campaigns

cat <<MSG

demo: winbackd is serving on 127.0.0.1:50051 (pid $(cat "$PIDFILE"), log $DEMO/winbackd.log,
metrics on http://127.0.0.1:9464/metrics). API keys are in $KEYS.

Fetch a target list:
  export WINBACK_API_KEY=$READER_KEY
  $BUILD_DIR/tools/winbackctl/winbackctl --addr 127.0.0.1:50051 export keep-at-risk-loyal --out keep.csv
  /usr/bin/python3 tools/clients/page_targets.py --addr 127.0.0.1:50051 --campaign win-back-lapsed-high-value --page-size 500

Operate it (operator key):
  export WINBACK_API_KEY=$OPERATOR_KEY
  $BUILD_DIR/tools/winbackctl/winbackctl --addr 127.0.0.1:50051 start --follow
  $BUILD_DIR/tools/winbackctl/winbackctl --addr 127.0.0.1:50051 model-report
  $BUILD_DIR/tools/winbackctl/winbackctl --addr 127.0.0.1:50051 diagnosis

Stop it: kill \$(cat $PIDFILE)
MSG
