#!/usr/bin/env bash
# Serves the playground on http://127.0.0.1:8080/ with the Adult data built in. Installs what
# is missing first (scripts/tools.sh). The first build takes a while; later ones are quick.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mtl-playground/target}"
# shellcheck source=tools.sh
source scripts/tools.sh serve
printf '\n==> trunk serve --release: open http://127.0.0.1:8080/ when the build is done\n'
exec trunk serve --release "$@"
