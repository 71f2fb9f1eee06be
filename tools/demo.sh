#!/usr/bin/env bash
# Command 1: install what is missing, build, generate the demo export
# (5,000 customers), run the nightly pipeline once and show where the
# results are.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
BUILD_DIR="${BUILD_DIR:-build/release}"
BUILD_DIR="$BUILD_DIR" tools/build.sh winback winback-datagen

DATA=var/demo/data
if [[ ! -f "$DATA/click_stream.csv" ]]; then
  echo "demo: generating the demo export into $DATA"
  "$BUILD_DIR/tools/datagen/winback-datagen" --customers 5000 --seed 42 --out "$DATA"
fi
"$BUILD_DIR/jobs/pipeline/winback" run --config config/winback.yaml

cat <<MSG

demo: the run is stored in var/demo/winback.db. For example:
  sqlite3 -header -column var/demo/winback.db \\
    "SELECT run_id, state, published, as_of_us FROM runs ORDER BY run_id DESC LIMIT 5"
  sqlite3 -header -column var/demo/winback.db \\
    "SELECT month, COUNT(*) AS customers, SUM(churned) AS churned, SUM(censored) AS censored
     FROM churn_labels WHERE run_id = (SELECT MAX(run_id) FROM runs WHERE published = 1)
     GROUP BY month ORDER BY month DESC LIMIT 6"
MSG
