#!/usr/bin/env bash
# The benchmark command (not part of the tests). In one run, so ratios hold on a noisy machine:
#   - native training samples/s per model (tutorial defaults, flex CPU device, one thread);
#   - a PyTorch CPU reference of the same models at the same thread count, and the ratio;
#   - in headless Chromium: samples/s on the CPU device inside wasm and its ratio to native,
#     WebGPU where a hardware adapter exists, the longest main-thread task while training, and
#     the time until the controls are interactive;
#   - the shipped .wasm files, raw and gzip.
# Usage: ./scripts/bench.sh [--no-torch] [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mtl-playground/target}"
torch=1
seconds=4
while [ $# -gt 0 ]; do
  case "$1" in
    --no-torch) torch=0 ;;
    --seconds) seconds="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
# shellcheck source=tools.sh
source scripts/tools.sh test
out="$(mktemp -d)"

printf '\n==> building (release)\n'
cargo build --release -p mtl --bin mtl
# The browser figures are of dist/ as built by `trunk build --release`; build it if missing.
[ -f dist/index.html ] || trunk build --release

printf '\n==> native (flex CPU device)\n'
"$CARGO_TARGET_DIR/release/mtl" bench --seconds "$seconds" | tee "$out/native.jsonl"

if [ "$torch" = 1 ]; then
  printf '\n==> PyTorch CPU reference (same models, one thread)\n'
  bench/setup_venv.sh
  "$HOME/.cache/mtl-playground/bench-venv/bin/python" bench/torch_reference.py --threads 1 | tee "$out/torch.jsonl"
fi

printf '\n==> browser (headless Chromium, release build)\n'
node tests/e2e/bench.mjs --seconds "$seconds" | tee "$out/browser.jsonl"

printf '\n==> report\n'
python3 scripts/bench_report.py "$out" dist
