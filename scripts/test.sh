#!/usr/bin/env bash
# Runs every test of the project: formatting, clippy (native and wasm32), the native tests, the
# browser tests (wasm-pack, headless Chromium) and the end-to-end tests (Playwright against the
# release build). Installs what is missing first, so it works on a fresh Debian machine with only
# Rust (rustup) installed. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Builds live outside the clone, so later runs on the same machine reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mtl-playground/target}"
export CARGO_TERM_COLOR=never
started=$(date +%s)

# shellcheck source=tools.sh
source scripts/tools.sh test

step() { printf '\n==> %s (at %ss)\n' "$*" "$(($(date +%s) - started))"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native, warnings denied)"
cargo clippy --workspace --all-targets --features mtl-playground/ml -- -D warnings

step "cargo clippy (wasm32: the page, both workers and the browser tests)"
cargo clippy --target wasm32-unknown-unknown -p mtl-playground --all-targets --features ui,gpu,web -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p mtl-playground --bin app --no-default-features --features ui -- -D warnings

step "native tests (flex CPU device, seeded)"
cargo test --workspace --features mtl-playground/ml

step "release build (trunk build --release)"
trunk build --release

step "browser tests (wasm-bindgen-test in headless Chromium)"
# Options after the path go to `cargo test`.
WASM_BINDGEN_TEST_TIMEOUT=300 wasm-pack test --release --headless --chrome --chromedriver /usr/bin/chromedriver \
  . --features ui,gpu,web --test browser

step "end-to-end tests (Playwright driving Chromium)"
node tests/e2e/run.mjs

step "the model file the page downloaded loads natively (mtl eval)"
scored=$(cargo run -q -p mtl -- eval tests/e2e/screenshots/downloaded-model.bpk --json)
echo "$scored"
grep -q '"event":"eval"' <<<"$scored"

step "all tests passed in $(($(date +%s) - started)) s"
