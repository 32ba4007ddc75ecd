#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, the shared vectors, and the multi-process
# integration tests (real registry-node and talent-verify binaries on 127.0.0.1). The web
# console's tests (issue_8_*) drive a real headless Chromium, which setup.sh installs (or
# $CHROMIUM); they fail, never skip, without it. Their screenshots are kept as artifacts in
# <target dir>/console-screenshots/ (target/ unless CARGO_TARGET_DIR says otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The integration tests run the real binaries, so build them first. `--all-targets` resolves
# the same dependency features as `cargo test` (dev-dependencies included), so RocksDB is
# compiled once for both instead of twice.
cargo build --locked --workspace --all-targets
cargo test --locked --workspace "$@"
