#!/usr/bin/env bash
# Checks both baselines against the hand-computed expectations for the tiny
# hand-made export in testdata/tiny (see testdata/tiny/README.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tiny="$here/testdata/tiny"
tmp="$(mktemp -d /tmp/winback-tiny.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

check() {  # check TOOL SUFFIX [flags...]
  local tool="$1" suffix="$2"; shift 2
  local out="$tmp/$tool$suffix"
  if [[ "$tool" == pandas ]]; then
    /usr/bin/python3 "$here/pandas_pipeline.py" --data "$tiny" --out "$out" --write-sessions "$@" >/dev/null
  else
    node "$here/duckdb_pipeline.mjs" --data "$tiny" --out "$out" --write-sessions "$@" >/dev/null
  fi
  for f in labels sessions_per_customer sessions; do
    if diff -u "$tiny/expected_$f$suffix.csv" "$out/$f.csv"; then
      pass=$((pass + 1))
    else
      echo "FAIL $tool $f$suffix"; fail=$((fail + 1))
    fi
  done
}

for tool in pandas duckdb; do
  if [[ "$tool" == duckdb && ! -d "$here/node_modules/@duckdb/node-api" ]]; then
    echo "duckdb: skipped (@duckdb/node-api not installed)"; continue
  fi
  check "$tool" ""
  check "$tool" "_asof_2022-03-26" --as-of 2022-03-26T00:00:00Z
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
