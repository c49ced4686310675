#!/bin/sh
# Clippy inside the real builds. scripts/test.sh sets this as RUSTC_WORKSPACE_WRAPPER for the
# native test build and the browser-test builds: cargo then compiles the workspace's own crates
# (and only those) with clippy's lints, warnings denied, and the dependencies exactly as a plain
# build does. A separate `cargo clippy` would check Burn, wgpu and CubeCL all over again, since a
# check build cannot reuse a real build's artifacts (about 15 minutes on 2 cores, cold).
# Same lints as `cargo clippy --all-targets -- -D warnings` over the same targets and features.
exec clippy-driver "$@" -D warnings
