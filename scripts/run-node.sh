#!/usr/bin/env bash
# Runs a registry node (release build). Without arguments: one development member with its
# data in ./data, listening on http://127.0.0.1:8080. Arguments go to `registry-node serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p registry-node -p talent-verify
exec target/release/registry-node serve "$@"
