#!/usr/bin/env bash
# Times the test command cold: a fresh, empty CARGO_TARGET_DIR (so every crate is compiled and
# wasm-opt's cache is empty), the tools as installed. Prints each step's start and the total;
# the whole log goes to $COLD_LOG (default /tmp/mtl-cold-test.log). The build directory is
# removed afterwards unless KEEP=1. Run it on an otherwise idle machine: the figure is only as
# good as the machine's quiet.
#   scripts/time-cold.sh
set -euo pipefail
cd "$(dirname "$0")/.."
log="${COLD_LOG:-/tmp/mtl-cold-test.log}"
target="$(mktemp -d "${TMPDIR:-/tmp}/mtl-cold-target.XXXXXX")"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$target"' EXIT
echo "cold run: CARGO_TARGET_DIR=$target, log in $log"
start=$(date +%s)
status=0
CARGO_TARGET_DIR="$target" ./scripts/test.sh >"$log" 2>&1 || status=$?
total=$(($(date +%s) - start))
grep -E '^==> ' "$log" || true
printf 'cold test command: exit %s after %dm %02ds\n' "$status" $((total / 60)) $((total % 60))
exit "$status"
