#!/usr/bin/env bash
# Compares talent-integrity's eddsa-rdfc-2022 transformation (JSON-LD toRdf, safe mode,
# RDFC-1.0) with jsonld.js, the JSON-LD processor the W3C test suites run, over the
# documents of scripts/rdfc-crosscheck/corpus.json: the same canonical N-Quads for each, or
# an error from both. jsonld.js is installed from the npm registry into
# target/rdfc-crosscheck (pinned by package.json); both sides get the contexts of
# integrity/contexts/ and the registry's own. Exits non-zero on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
here=scripts/rdfc-crosscheck
work="${CARGO_TARGET_DIR:-target}/rdfc-crosscheck"
mkdir -p "$work"
cp "$here/package.json" "$here/canonize.mjs" "$work/"
if [ ! -d "$work/node_modules/jsonld" ]; then
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

contexts=(
  "https://www.w3.org/ns/credentials/v2=integrity/contexts/credentials-v2.jsonld"
  "https://www.w3.org/2018/credentials/v1=integrity/contexts/credentials-v1.jsonld"
  "https://www.w3.org/ns/credentials/undefined-terms/v2=integrity/contexts/credentials-undefined-terms-v2.jsonld"
  "https://w3id.org/security/data-integrity/v2=integrity/contexts/data-integrity-v2.jsonld"
  "https://w3id.org/security/data-integrity/v1=integrity/contexts/data-integrity-v1.jsonld"
  "https://w3id.org/security/multikey/v1=integrity/contexts/multikey-v1.jsonld"
  "https://www.w3.org/ns/credentials/examples/v2=integrity/contexts/credentials-examples-v2.jsonld"
  "https://talent-registry.example/ns/v1=schemas/context/v1.jsonld"
)
absolute=()
for context in "${contexts[@]}"; do
  absolute+=("${context%%=*}=$PWD/${context#*=}")
done

python3 -c 'import json,sys; print(json.dumps([c["document"] for c in json.load(open(sys.argv[1]))]))' \
  "$here/corpus.json" >"$work/documents.json"
cargo run --quiet --locked -p talent-integrity --example rdfc_nquads -- "${absolute[@]}" \
  <"$work/documents.json" >"$work/ours.json"
node "$work/canonize.mjs" "${absolute[@]}" <"$work/documents.json" >"$work/theirs.json"

python3 - "$here/corpus.json" "$work/ours.json" "$work/theirs.json" <<'PY'
import json, sys
corpus, ours, theirs = (json.load(open(path)) for path in sys.argv[1:])
failed = 0
for case, mine, reference in zip(corpus, ours, theirs):
    if "nquads" in mine and mine == reference:
        verdict = "same N-Quads"
    elif "error" in mine and "error" in reference:
        verdict = "both refuse"
    else:
        verdict = "DIFFERENT"
        failed += 1
    print(f"{verdict:13} {case['name']}")
    if verdict == "DIFFERENT":
        print(f"  talent-integrity: {json.dumps(mine, ensure_ascii=False)}")
        print(f"  jsonld.js:        {json.dumps(reference, ensure_ascii=False)}")
print(f"{len(corpus) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
