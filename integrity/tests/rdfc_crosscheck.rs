//! `eddsa-rdfc-2022` against the implementation the W3C test suites run: jsonld.js and
//! Digital Bazaar's cryptosuite, installed from the npm registry into
//! `<target>/rdfc-crosscheck` (versions pinned by `tests/rdfc-crosscheck/package.json`) and
//! run with node.
//!
//! - The transformation: for every document of `tests/rdfc-crosscheck/corpus.json`, both
//!   give the same canonical N-Quads, or both refuse it (undefined terms, relative and
//!   invalid IRIs, base directions, unknown contexts, protected terms redefined).
//! - Proofs: each side verifies what the other signs (the W3C vector credential, a registry
//!   credential and a VC 1.1 credential, which both give the Data Integrity context, with
//!   the vector's key as a did:key) and refuses it once a value is changed; both sign the
//!   same `proofValue`, Ed25519 being deterministic.
//!
//! Both sides get the contexts embedded in this crate and the registry's own, nothing else.
//! Without node and npm the test fails (`scripts/setup.sh` installs them).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use talent_integrity::did::DidKey;
use talent_integrity::multibase;
use talent_integrity::proof::{ASSERTION_METHOD, ProofOptions, sign_rdfc, verify_with_contexts};
use talent_integrity::rdfc::{ContextLoader, canonical_nquads};

/// The registry's context, which the test registers as talent-core does.
const TALENT_CONTEXT_URL: &str = "https://talent-registry.example/ns/v1";

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every context both sides may load: URL and file.
fn context_files() -> Vec<(String, PathBuf)> {
    let contexts = manifest().join("contexts");
    let mut files: Vec<(String, PathBuf)> = [
        (
            "https://www.w3.org/ns/credentials/v2",
            "credentials-v2.jsonld",
        ),
        (
            "https://www.w3.org/2018/credentials/v1",
            "credentials-v1.jsonld",
        ),
        (
            "https://www.w3.org/ns/credentials/undefined-terms/v2",
            "credentials-undefined-terms-v2.jsonld",
        ),
        (
            "https://w3id.org/security/data-integrity/v2",
            "data-integrity-v2.jsonld",
        ),
        (
            "https://w3id.org/security/data-integrity/v1",
            "data-integrity-v1.jsonld",
        ),
        (
            "https://w3id.org/security/multikey/v1",
            "multikey-v1.jsonld",
        ),
        (
            "https://www.w3.org/ns/credentials/examples/v2",
            "credentials-examples-v2.jsonld",
        ),
    ]
    .into_iter()
    .map(|(url, file)| (url.to_owned(), contexts.join(file)))
    .collect();
    files.push((
        TALENT_CONTEXT_URL.to_owned(),
        manifest().join("../schemas/context/v1.jsonld"),
    ));
    files
}

fn loader() -> ContextLoader {
    let talent = std::fs::read_to_string(manifest().join("../schemas/context/v1.jsonld"))
        .expect("the registry's context");
    ContextLoader::new().with_context(TALENT_CONTEXT_URL, talent)
}

fn context_arguments() -> Vec<String> {
    context_files()
        .into_iter()
        .map(|(url, file)| format!("{url}={}", file.display()))
        .collect()
}

/// `<target>/rdfc-crosscheck` with the scripts and their packages installed, once per run.
fn workspace() -> &'static Path {
    static WORK: OnceLock<PathBuf> = OnceLock::new();
    WORK.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| manifest().join("../target"), PathBuf::from);
        let work = target.join("rdfc-crosscheck");
        std::fs::create_dir_all(&work).expect("a work directory");
        for file in ["package.json", "canonize.mjs", "interop.mjs"] {
            std::fs::copy(
                manifest().join("tests/rdfc-crosscheck").join(file),
                work.join(file),
            )
            .expect("copies the scripts");
        }
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&work)
            .stdout(Stdio::null())
            .status()
            .expect("npm runs (scripts/setup.sh installs node and npm)");
        assert!(status.success(), "npm install failed in {}", work.display());
        work
    })
}

/// Runs `node script arguments…` in the work directory with `input` on standard input.
fn node(script: &str, arguments: &[String], input: &Value) -> Value {
    let work = workspace();
    let mut child = Command::new("node")
        .arg(work.join(script))
        .args(arguments)
        .current_dir(work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("writes the input");
    let output = child.wait_with_output().expect("node finishes");
    assert!(
        output.status.success(),
        "node {script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("node writes JSON")
}

fn corpus() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(manifest().join("tests/rdfc-crosscheck/corpus.json"))
        .expect("the corpus");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("JSON");
    cases
        .into_iter()
        .map(|case| {
            (
                case["name"].as_str().expect("a name").to_owned(),
                case["document"].clone(),
            )
        })
        .collect()
}

#[test]
fn jsonld_js_gives_the_same_canonical_nquads_or_the_same_refusal() {
    let cases = corpus();
    let documents = Value::Array(cases.iter().map(|(_, document)| document.clone()).collect());
    let theirs = node("canonize.mjs", &context_arguments(), &documents);
    let theirs = theirs.as_array().expect("an array");
    assert_eq!(theirs.len(), cases.len());
    let contexts = loader();
    let mut differences = Vec::new();
    for ((name, document), reference) in cases.iter().zip(theirs) {
        let ours = canonical_nquads(document, &contexts);
        let agree = match (&ours, reference.get("nquads")) {
            (Ok(nquads), Some(Value::String(expected))) => nquads == expected,
            (Err(_), None) => true,
            _ => false,
        };
        if !agree {
            differences.push(format!(
                "{name}:\n  ours:      {ours:?}\n  jsonld.js: {reference}"
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

fn vector_key_pair() -> PathBuf {
    manifest().join("tests/vectors/eddsa-rdfc-2022/keyPair.json")
}

fn vector_key() -> SigningKey {
    let pair: Value =
        serde_json::from_str(&std::fs::read_to_string(vector_key_pair()).expect("the key pair"))
            .expect("JSON");
    let secret = pair["privateKeyMultibase"]
        .as_str()
        .expect("a secret multikey");
    SigningKey::from_bytes(&multibase::decode_ed25519_secret(secret).expect("an Ed25519 seed"))
}

/// `interop.mjs mode`: Digital Bazaar's cryptosuite with the vector key.
fn theirs(mode: &str, document: &Value) -> Value {
    let mut arguments = vec![mode.to_owned(), vector_key_pair().display().to_string()];
    arguments.extend(context_arguments());
    node("interop.mjs", &arguments, document)
}

fn changed(signed: &Value) -> Value {
    let mut changed = signed.clone();
    changed["id"] = "urn:uuid:00000000-0000-4000-8000-000000000000".into();
    changed
}

#[test]
fn each_side_verifies_what_the_other_signs_and_refuses_a_changed_value() {
    let cases = corpus();
    let contexts = loader();
    let options = ProofOptions {
        // interop.mjs signs at this time too.
        created: "2026-12-07T00:00:00Z".into(),
        proof_purpose: ASSERTION_METHOD,
    };
    for name in [
        "vector credential",
        "talent credential (ProfessionalTitleCredential)",
        "VC 1.1 credential without the Data Integrity context",
    ] {
        let (_, unsigned) = cases
            .iter()
            .find(|(case, _)| case == name)
            .expect("the credential is in the corpus");

        let ours = sign_rdfc(unsigned, &vector_key(), &options, &contexts).expect("we sign");
        assert_eq!(theirs("verify", &ours), json!({"verified": true}), "{name}");
        assert_eq!(
            theirs("verify", &changed(&ours))["verified"],
            false,
            "{name}"
        );

        let signed_by_them = theirs("sign", unsigned);
        let verified = verify_with_contexts(&signed_by_them, ASSERTION_METHOD, &contexts)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(
            verified.controller,
            DidKey::from_verifying_key(&vector_key().verifying_key())
        );
        assert!(
            verify_with_contexts(&changed(&signed_by_them), ASSERTION_METHOD, &contexts).is_err(),
            "{name}"
        );
        assert_eq!(
            signed_by_them["@context"], ours["@context"],
            "{name}: the same contexts injected"
        );
        assert_eq!(
            signed_by_them["proof"]["proofValue"], ours["proof"]["proofValue"],
            "{name}: the same signature of the same canonical N-Quads"
        );
    }
}
