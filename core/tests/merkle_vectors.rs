//! RFC 6962 inclusion and consistency proof vectors (`core/tests/vectors/rfc6962-merkle/`,
//! from transparency-dev/merkle): every happy path verifies, every mutation is rejected.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use talent_tlog::Hash;
use talent_tlog::merkle::{ProofError, parse_hash, verify_consistency_bytes, verify_inclusion};

/// `core/tests/vectors/rfc6962-merkle` in the repository, or under `$TALENT_VECTORS`.
fn vectors_dir() -> PathBuf {
    std::env::var_os("TALENT_VECTORS")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors"),
            PathBuf::from,
        )
        .join("rfc6962-merkle")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable vector directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn hash(value: &Value) -> Result<Hash, ProofError> {
    parse_hash(value.as_str().unwrap_or(""))
}

fn proof(value: &Value) -> Result<Vec<Hash>, ProofError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(hash).collect(),
        _ => Err(ProofError::MalformedHash),
    }
}

fn run_inclusion(case: &Value) -> Result<(), ProofError> {
    verify_inclusion(
        case["leafIdx"].as_u64().ok_or(ProofError::Invalid)?,
        case["treeSize"].as_u64().ok_or(ProofError::Invalid)?,
        &hash(&case["root"])?,
        &hash(&case["leafHash"])?,
        &proof(&case["proof"])?,
    )
}

fn bytes(value: &Value) -> Result<Vec<u8>, ProofError> {
    BASE64
        .decode(value.as_str().unwrap_or(""))
        .map_err(|_| ProofError::MalformedHash)
}

fn run_consistency(case: &Value) -> Result<(), ProofError> {
    let proof = match &case["proof"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(bytes).collect::<Result<_, _>>()?,
        _ => return Err(ProofError::MalformedHash),
    };
    verify_consistency_bytes(
        case["size1"].as_u64().ok_or(ProofError::Invalid)?,
        case["size2"].as_u64().ok_or(ProofError::Invalid)?,
        &bytes(&case["root1"])?,
        &bytes(&case["root2"])?,
        &proof,
    )
}

fn run_all(kind: &str, run: fn(&Value) -> Result<(), ProofError>) -> (usize, usize) {
    let mut files = Vec::new();
    json_files(&vectors_dir().join(kind), &mut files);
    files.sort();
    let (mut accepted, mut rejected) = (0, 0);
    for file in &files {
        let case: Value =
            serde_json::from_slice(&std::fs::read(file).expect("readable")).expect("JSON case");
        let want_error = case["wantErr"].as_bool().expect("wantErr");
        let result = run(&case);
        assert_eq!(
            result.is_err(),
            want_error,
            "{}: {:?} ({})",
            file.display(),
            result,
            case["desc"]
        );
        if want_error {
            rejected += 1;
        } else {
            accepted += 1;
        }
    }
    (accepted, rejected)
}

#[test]
fn inclusion_vectors() {
    let (accepted, rejected) = run_all("inclusion", run_inclusion);
    assert!(accepted >= 5 && rejected >= 50, "{accepted} / {rejected}");
}

#[test]
fn consistency_vectors() {
    let (accepted, rejected) = run_all("consistency", run_consistency);
    assert!(accepted >= 5 && rejected >= 50, "{accepted} / {rejected}");
}
