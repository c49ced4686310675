#!/usr/bin/env bash
# Creates the venv for bench/torch_reference.py and installs bench/requirements.txt into it.
# Idempotent: does nothing when the venv already holds exactly these requirements.
# Override the location with BENCH_VENV=/path; the interpreter with PYTHON=python3.11.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${BENCH_VENV:-$HOME/.cache/mtl-playground/bench-venv}"
python="${PYTHON:-python3}"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
    "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    echo "bench venv up to date: $venv"
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi
# About 3.0 GB from PyPI (torch's CUDA libraries are required at import even on CPU).
"$venv/bin/python" -m pip install --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "in", "'"$venv"'")'
echo "$want" > "$stamp"
