#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, the shared vectors, the multi-process
# integration tests (real registry-node and talent-verify binaries on 127.0.0.1), and the
# W3C interoperability suites (scripts/w3c-suites.sh). The web
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
# The W3C interoperability suites against a fresh node over TLS; a suite that passes fewer
# tests than interop/w3c-expected.txt records fails the run. The fuzz targets (their own
# workspace, run by hand with `cargo fuzz`) must still compile against the libraries. Both
# are skipped when a test filter is given (`scripts/test.sh <filter>` runs just those tests).
if [ $# -eq 0 ]; then
  cargo check --locked --quiet --manifest-path fuzz/Cargo.toml --bins
  bash scripts/w3c-suites.sh --check interop/w3c-expected.txt
fi
