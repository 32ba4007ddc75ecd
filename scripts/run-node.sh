#!/usr/bin/env bash
# Runs the registry (release build). Without arguments: `registry-node demo`, the five-member
# Chengdu–Chongqing federation on 127.0.0.1:7101–7105 with dev-only keys and data in
# ./data/demo. With arguments, they go to `registry-node`, e.g.
#   scripts/run-node.sh serve                      # one development member on :8080, data in ./data
#   scripts/run-node.sh serve --config federation-config/chengdu-chongqing/federation.toml --member cq-sc
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p registry-node -p talent-verify
if [ "$#" -eq 0 ]; then
    exec target/release/registry-node demo
fi
exec target/release/registry-node "$@"
