#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, the shared vectors, and the multi-process
# integration tests (real registry-node and talent-verify binaries on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The integration tests run the real binaries, so build them first.
cargo build --locked --workspace --bins
cargo test --locked --workspace "$@"
