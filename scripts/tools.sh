#!/usr/bin/env bash
# Installs what the build (and, with `test`, the tests) need, if it is missing. Safe to rerun:
# every step checks first. Versions and traps: ../shared/TOOLCHAIN.md.
#
#   source scripts/tools.sh [serve|test]    # also puts the tools on PATH
set -euo pipefail
_mode="${1:-test}"
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# scripts/bin first: its wasm-opt puts a cache in front of the npm one (see the script).
export PATH="$_root/scripts/bin:$HOME/.cargo/bin:$_root/tests/e2e/node_modules/.bin:$PATH"

_say() { printf '\n==> %s\n' "$*"; }
_has_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }
_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

_say "tools: the wasm32 target, rustfmt and clippy"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy

# Debian packages: Node.js for wasm-opt (binaryen from npm) and the E2E tests; Chromium and its
# driver for the browser tests; Mesa's Vulkan drivers so WebGPU has a (software) adapter.
_debs=()
command -v node >/dev/null 2>&1 || _debs+=(nodejs)
command -v npm >/dev/null 2>&1 || _debs+=(npm)
if [ "$_mode" = test ]; then
  command -v chromium >/dev/null 2>&1 || _debs+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || _debs+=(chromium-driver)
  dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || _debs+=(mesa-vulkan-drivers)
fi
if [ "${#_debs[@]}" -gt 0 ]; then
  _say "tools: apt-get install ${_debs[*]}"
  _sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive _sudo apt-get install -y -qq "${_debs[@]}"
fi

# trunk and wasm-pack are built without LTO and at opt-level 1 (the environment overrides their
# manifests' release profile): trunk's asks for fat LTO and one codegen unit, 15 min on 2 cores,
# which buys nothing for programs that mostly wait on cargo, wasm-bindgen and wasm-opt.
# wasm-bindgen keeps its own profile: it does real work on every build.
_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false cargo install "$@"
}
# Cargo tools, pinned. wasm-bindgen-cli must equal the wasm-bindgen crate (0.2.130); it
# installs without --locked (with it, the lock file asks for a missing webpki-roots).
if ! _has_version wasm-bindgen 0.2.130; then
  _say "tools: cargo install wasm-bindgen-cli 0.2.130"
  cargo install wasm-bindgen-cli --version 0.2.130 --force
fi
if ! _has_version trunk 0.21.14; then
  _say "tools: cargo install trunk 0.21.14"
  _install --locked trunk --version 0.21.14 --force
fi
if [ "$_mode" = test ] && ! _has_version wasm-pack 0.15.1; then
  _say "tools: cargo install wasm-pack 0.15.1"
  _install --locked wasm-pack --version 0.15.1 --force
fi

# npm: binaryen 132's wasm-opt (never Debian's 108, whose output crashes at load),
# playwright-core and axe-core (the accessibility scan), pinned by tests/e2e/package-lock.json.
if ! _has_version wasm-opt 'version 132' || { [ "$_mode" = test ] && { [ ! -d "$_root/tests/e2e/node_modules/playwright-core" ] || [ ! -f "$_root/tests/e2e/node_modules/axe-core/axe.min.js" ]; }; }; then
  _say "tools: npm ci (binaryen 132, playwright-core, axe-core)"
  (cd "$_root/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi
# Trunk runs cargo with --offline (Trunk.toml), so on a fresh machine the crates must be in
# the local registry before the first build: fetch them (for every target) from the registry.
_say "tools: cargo fetch --locked (the crates the builds need)"
(cd "$_root" && cargo fetch --locked)

_say "tools: ready ($(trunk --version), $(wasm-bindgen --version), $(wasm-opt --version | head -1))"
