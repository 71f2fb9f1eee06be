#!/usr/bin/env bash
# Checks a systemd unit with `systemd-analyze verify`. The unit's binary is not
# installed in a build tree, so the unit is verified inside a scratch root that
# holds a stand-in executable at the ExecStart path. Exits 77 (ctest: skipped)
# with a message when systemd-analyze is missing or cannot run here.
set -euo pipefail
unit="$1"
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not installed (Debian package systemd)"
  exit 77
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit" | head -1)
env_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}\(.*\)$/\1/p' "$unit" | head -1)
mkdir -p "$scratch/etc/systemd/system" "$scratch$(dirname "$exec_path")" \
  "$scratch/usr/lib/systemd"
# The stock units (targets such as sysinit.target) the unit is checked against.
cp -r /usr/lib/systemd/system "$scratch/usr/lib/systemd/"
cp "$unit" "$scratch/etc/systemd/system/"
printf '#!/bin/sh\nexit 0\n' > "$scratch$exec_path"
chmod +x "$scratch$exec_path"
if [[ -n "$env_file" ]]; then
  mkdir -p "$scratch$(dirname "$env_file")"
  : > "$scratch$env_file"
fi
out=$(systemd-analyze verify --root="$scratch" \
  "$scratch/etc/systemd/system/$(basename "$unit")" 2>&1) || status=$?
status=${status:-0}
echo "$out"
if [[ $status -ne 0 ]]; then
  if grep -qiE "Failed to (initialize|connect|setup|create|allocate)|not been booted|No such file or directory.*manager|Operation not permitted" <<<"$out"; then
    echo "SKIP: systemd-analyze cannot run in this container"
    exit 77
  fi
  echo "FAIL: systemd-analyze verify reported problems"
  exit 1
fi
# Warnings about the unit itself count as failures too.
if grep -E "$(basename "$unit")" <<<"$out" | grep -qiE "unknown|invalid|ignoring|failed"; then
  echo "FAIL: systemd-analyze verify warned about the unit"
  exit 1
fi
echo "OK: $(basename "$unit") verifies"
