#!/usr/bin/env bash
# Runs both baselines on one export directory, times them with /usr/bin/time -v
# and checks that labels.csv and sessions_per_customer.csv are identical.
#
#   bench/baselines/compare.sh DATA_DIR [OUT_DIR] [-- extra flags for both,
#                                                  e.g. --as-of 2022-07-01]
# Exit status: 0 when the outputs agree (or the DuckDB baseline is unavailable
# and the pandas one ran), 1 when they differ.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:?usage: compare.sh DATA_DIR [OUT_DIR] [-- flags]}"
shift
out="${1:-$(mktemp -d /tmp/winback-baselines.XXXXXX)}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
mkdir -p "$out/pandas" "$out/duckdb"

timev() {  # timev NAME CMD...: runs CMD under /usr/bin/time -v when present
  local name="$1"; shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$out/$name.time" "$@" >"$out/$name.log"
  else
    "$@" >"$out/$name.log"
  fi
}
report() {
  local name="$1"
  /usr/bin/python3 - "$out/$name/summary.json" "$out/$name.time" "$name" <<'EOF'
import json, sys, os
s = json.load(open(sys.argv[1]))
t = s["timings"]
line = f"{sys.argv[3]:7s} " + " ".join(f"{k}={v:.2f}s" for k, v in t.items())
line += f" peak_rss={s['peak_rss_mb']:.0f}MB"
if os.path.exists(sys.argv[2]):
    for l in open(sys.argv[2]):
        if "Maximum resident set size" in l:
            line += f" (time -v max RSS {int(l.split(':')[1]) / 1024:.0f}MB)"
        if "Elapsed (wall clock)" in l:
            line += f" wall={l.split(': ')[1].strip()}"
print(line)
EOF
}

echo "data: $data   outputs: $out"
timev pandas /usr/bin/python3 "$here/pandas_pipeline.py" --data "$data" --out "$out/pandas" "$@"
report pandas
if [[ ! -d "$here/node_modules/@duckdb/node-api" ]]; then
  echo "duckdb: SKIPPED (@duckdb/node-api not installed; run bench/baselines/install.sh)"
  exit 0
fi
timev duckdb node "$here/duckdb_pipeline.mjs" --data "$data" --out "$out/duckdb" "$@"
report duckdb

status=0
for f in labels.csv sessions_per_customer.csv; do
  if cmp -s "$out/pandas/$f" "$out/duckdb/$f"; then
    echo "AGREE  $f ($(($(wc -l <"$out/pandas/$f") - 1)) rows)"
  else
    echo "DIFFER $f"; diff "$out/pandas/$f" "$out/duckdb/$f" | head -10; status=1
  fi
done
/usr/bin/python3 - "$out/pandas/summary.json" "$out/duckdb/summary.json" <<'EOF' || status=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["customers", "products", "products_repaired", "bookings", "line_items",
        "click_events", "click_events_used", "session_ids", "sessions",
        "sessions_linked", "purchases", "labeled", "censored", "churned", "as_of_us"]
bad = [k for k in keys if a.get(k) != b.get(k)]
for k in bad:
    print(f"DIFFER summary.{k}: pandas={a.get(k)} duckdb={b.get(k)}")
if not bad:
    print("AGREE  summary counts: " + ", ".join(f"{k}={a.get(k)}" for k in keys))
sys.exit(1 if bad else 0)
EOF
exit $status
