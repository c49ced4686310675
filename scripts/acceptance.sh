#!/usr/bin/env bash
# Issue 2's acceptance run: each model with the tutorial defaults, early stopping (patience 3,
# at most 20 epochs), seeds 1, 2 and 3, on the CPU device. Prints the mean test AUC per task.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p mtl
bin=target/release/mtl
for model in single_task shared_bottom mmoe omoe cgc ple esmm; do
  for seed in 1 2 3; do
    "$bin" train --model "$model" --seed "$seed" --epochs 20 --patience 3 --json | tail -n 1
  done
done | python3 scripts/acceptance_summary.py
