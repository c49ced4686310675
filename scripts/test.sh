#!/usr/bin/env bash
# Runs every test of the project. Installs what is missing first, so it works on a fresh Debian
# machine with only Rust (rustup) installed. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Builds live outside the clone, so later runs on the same machine reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mtl-playground/target}"
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: rustfmt, clippy and the wasm32 target"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native, warnings denied)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo clippy (wasm32, the core library as the browser worker builds it)"
cargo clippy -p mtl --target wasm32-unknown-unknown --no-default-features -- -D warnings

step "native tests (flex CPU device, seeded)"
cargo test --workspace
