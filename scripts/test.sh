#!/usr/bin/env bash
# Runs every test of the project: formatting, clippy (native and wasm32), the native tests, the
# browser tests (wasm-pack, headless Chromium) and the end-to-end tests (Playwright against the
# release build). Installs what is missing first, so it works on a fresh Debian machine with only
# Rust (rustup) installed. CI (.ci/run) calls exactly this.
#
# Burn is the slow part of every build (wgpu and CubeCL with it), so each step reuses a build
# that an earlier step made rather than building it again with other features or another
# profile: clippy runs inside the test builds (scripts/clippy-rustc.sh), the browser tests use
# the shipped bundles' profiles and features, and `mtl eval` uses the native test build.
set -euo pipefail
cd "$(dirname "$0")/.."

# Builds live outside the clone, so later runs on the same machine reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mtl-playground/target}"
export CARGO_TERM_COLOR=never
started=$(date +%s)

# shellcheck source=tools.sh
source scripts/tools.sh test

step() { printf '\n==> %s (at %ss)\n' "$*" "$(($(date +%s) - started))"; }
# The workspace's crates are compiled with clippy's lints, warnings denied; the dependencies
# exactly as in a plain build, so they are shared with it.
lint() { RUSTC_WORKSPACE_WRAPPER="$PWD/scripts/clippy-rustc.sh" "$@"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "native tests, clippy included (flex CPU device, seeded)"
lint cargo test --workspace --features mtl-playground/ml

step "release build (trunk build --release)"
trunk build --release

# The page's test with the page's profile and features, the worker's with the WebGPU worker's.
# These builds compile every wasm32 target of the crate (the bins too, as cargo does for
# integration tests), so they are also the wasm32 clippy run: the page, both workers, the tests.
step "browser tests, wasm32 clippy included (wasm-bindgen-test in headless Chromium)"
browser_test() {
  # Options after the path go to `cargo test`.
  # The WebGPU tests run on Chromium's software adapter, which compiles every kernel slowly:
  # the worker's suite takes about 4 minutes on 2 cores.
  WASM_BINDGEN_TEST_TIMEOUT=600 lint wasm-pack test --headless --chrome \
    --chromedriver /usr/bin/chromedriver . --no-default-features "$@"
}
browser_test --profile web-ui --features ui --test browser_page
browser_test --profile web --features gpu,web --test browser_worker

# The CLI, for the end-to-end tests (the paper figure's numbers against the CLI's) and after.
# The workspace, features and profile of the native tests above, so only the bin is linked.
lint cargo build -q --workspace --features mtl-playground/ml --bin mtl
export MTL_BIN="$CARGO_TARGET_DIR/debug/mtl"

step "end-to-end tests (Playwright driving Chromium)"
node tests/e2e/run.mjs

step "the model file the page downloaded loads natively (mtl eval)"
scored=$("$CARGO_TARGET_DIR/debug/mtl" eval tests/e2e/screenshots/downloaded-model.bpk --json)
echo "$scored"
grep -q '"event":"eval"' <<<"$scored"

step "the experiment command works (tiny correlation and funnel grids: one seed, few steps)"
# The real run (30 seeds, 1,500 steps) is an experiment, not a test: README "Experiments".
ran=$("$CARGO_TARGET_DIR/debug/mtl" experiment correlation --seeds 1 --steps 20 --p 1.0,0.0 --models shared_bottom,mmoe --json)
tail -n 1 <<<"$ran"
tail -n 1 <<<"$ran" | grep -q '"event":"experiment","name":"correlation"'
ran=$("$CARGO_TARGET_DIR/debug/mtl" experiment funnel --seeds 1 --steps 20 --json)
tail -n 1 <<<"$ran"
tail -n 1 <<<"$ran" | grep -q '"event":"experiment","name":"funnel"'

step "all tests passed in $(($(date +%s) - started)) s"
