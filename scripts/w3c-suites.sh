#!/usr/bin/env bash
# Runs the three W3C interoperability suites (interop/w3c-suites: vc-di-eddsa,
# vc-bitstring-status-list, vc-data-model-2.0) against a fresh local node over HTTPS and
# prints their counts. Needs Node.js and npm (the npm registry only).
#
#   scripts/w3c-suites.sh [--failures] [--check FILE] [SUITE…]
#
# With --check, FILE lists `SUITE MIN_PASSED` lines (interop/w3c-expected.txt): a suite that
# passes fewer tests fails the run (exit 1), so a regression is caught in CI.
# Environment: W3C_WORK (default target/w3c-suites), W3C_TLS_PORT (7352): the node's HTTPS port.
# Exit status: 0 when every suite ran (and met its floor), 1 below a floor, 2 when one could
# not run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${W3C_WORK:-$root/target/w3c-suites}
tls_port=${W3C_TLS_PORT:-7352}
failures=""
check=""
suites=()
while [ $# -gt 0 ]; do
  case "$1" in
    --failures) failures="--failures" ;;
    --check) check=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
    *) suites+=("$1") ;;
  esac
  shift
done
if [ ${#suites[@]} -eq 0 ]; then
  suites=(vc-di-eddsa-test-suite vc-bitstring-status-list-test-suite vc-data-model-2.0-test-suite)
fi
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "w3c-suites: Node.js and npm are needed (scripts/setup.sh installs them)" >&2
  exit 2
}

# The suites, copied beside their two local dependencies; node_modules are kept between
# runs and installed again only when a package.json changed.
mkdir -p "$work"
for folder in "$root"/interop/w3c-suites/*/; do
  name=$(basename "$folder")
  mkdir -p "$work/$name"
  (cd "$folder" && tar --exclude=node_modules -cf - .) | (cd "$work/$name" && tar -xf -)
done
for suite in "${suites[@]}"; do
  stamp="$work/$suite/node_modules/.installed-from"
  if [ ! -f "$stamp" ] || ! cmp -s "$stamp" "$work/$suite/package.json"; then
    echo "w3c-suites: npm install in $suite" >&2
    (cd "$work/$suite" && npm install --install-links --no-audit --no-fund --loglevel=error >&2)
    cp "$work/$suite/package.json" "$stamp"
  fi
done

# A fresh node with the open issuer, serving HTTPS itself at https://localhost:$tls_port.
cargo build --quiet -p registry-node
binary="$root/target/debug/registry-node"
data="$work/node-data"
rm -rf "$data"
token=$("$binary" token create --role admin --name w3c-suites --data "$data" 2>/dev/null | tail -n 1)
# A throwaway certificate authority and the node's certificate from it; mocha trusts the CA.
openssl req -x509 -newkey ed25519 -nodes -days 2 -subj "/CN=w3c-suites CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ed25519 -nodes -subj /CN=localhost \
  -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/tls.ext"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 2 -extfile "$work/tls.ext" -out "$work/tls.crt" 2>/dev/null
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
"$binary" serve --listen "127.0.0.1:$tls_port" --data "$data" --open-issuer \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" \
  --public-url "https://localhost:$tls_port" >"$work/node.log" 2>&1 &
pids+=($!)
base="https://localhost:$tls_port"
for _ in $(seq 1 100); do
  curl -sf --cacert "$work/ca.crt" "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
issuer=$(curl -sf --cacert "$work/ca.crt" "$base/api/v1/member" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).openIssuer))')
[ -n "$issuer" ] && [ "$issuer" != undefined ] || { echo "w3c-suites: the node did not start" >&2; exit 2; }

# One local implementation, with the tags each suite selects on: an issuer per cryptosuite
# (the open issuer signs with the one its request's options name), one verifier for all.
issuer() {
  local tags=$1 suite=$2
  cat <<ISSUER
    {
      id: '$issuer',
      endpoint: '$base/credentials/issue',
      headers: {authorization: 'Bearer $token'},
      options: {cryptosuite: '$suite'},
      supports: {vc: ['1.1', '2.0']},
      tags: [$tags]
    },
ISSUER
}
config() {
  local issuers=$1 tags=$2
  cat <<CONFIG
module.exports = {
  settings: {enableInteropTests: false, testAllImplementations: false},
  implementations: [{
    name: 'talent-registry',
    implementation: 'talent-registry node (local)',
    issuers: [
$issuers
    ],
    verifiers: [{id: '$issuer', endpoint: '$base/credentials/verify', tags: [$tags]}],
    vpVerifiers: [{id: '$issuer', endpoint: '$base/presentations/verify', tags: [$tags]}]
  }]
};
CONFIG
}
status=0
for suite in "${suites[@]}"; do
  case "$suite" in
    vc-di-eddsa-test-suite)
      tags="'eddsa-jcs-2022', 'eddsa-rdfc-2022'"
      issuers="$(issuer "'eddsa-jcs-2022'" eddsa-jcs-2022)$(issuer "'eddsa-rdfc-2022'" eddsa-rdfc-2022)" ;;
    vc-bitstring-status-list-test-suite)
      tags="'BitstringStatusList'"; issuers=$(issuer "$tags" eddsa-jcs-2022) ;;
    vc-data-model-2.0-test-suite)
      tags="'vc2.0'"; issuers=$(issuer "$tags" eddsa-jcs-2022) ;;
    *) echo "w3c-suites: unknown suite $suite" >&2; exit 2 ;;
  esac
  config "$issuers" "$tags" >"$work/$suite/localConfig.cjs"
  report="$work/$suite-report.json"
  rm -f "$report"
  (cd "$work/$suite" && NODE_EXTRA_CA_CERTS="$work/ca.crt" npx mocha tests/ --timeout 15000 \
    --preserve-symlinks --reporter json --reporter-option "output=$report" \
    >"$work/$suite.log" 2>&1) || true
  if [ -s "$report" ]; then
    node "$root/interop/count-results.mjs" "$suite" "$report" $failures
    if [ -n "$check" ]; then
      floor=$(awk -v suite="$suite" '$1 == suite { print $2 }' "$check")
      passed=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).stats.passes)' "$report")
      if [ -n "$floor" ] && [ "$passed" -lt "$floor" ]; then
        echo "$suite: $passed passed, fewer than the $floor of $check" >&2
        [ $status -eq 0 ] && status=1
      fi
    fi
  else
    echo "$suite: did not run (see $work/$suite.log)"
    status=2
  fi
done
exit $status
