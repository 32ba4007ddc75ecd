//! Canonical N-Quads of documents, for comparing this crate's `eddsa-rdfc-2022`
//! transformation with another implementation (`scripts/rdfc-crosscheck.sh`).
//!
//! Reads a JSON array of documents on standard input and writes a JSON array of the same
//! length: `{"nquads": "…"}` or `{"error": "…"}` for each. Each `URL=FILE` argument
//! registers the context document in FILE under URL, beside the embedded contexts.

use std::io::Read;

use serde_json::{Value, json};
use talent_integrity::rdfc::{ContextLoader, canonical_nquads};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut contexts = ContextLoader::new();
    for argument in std::env::args().skip(1) {
        let (url, file) = argument
            .split_once('=')
            .ok_or("arguments are URL=FILE context registrations")?;
        contexts = contexts.with_context(url, std::fs::read_to_string(file)?);
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let documents: Vec<Value> = serde_json::from_str(&input)?;
    let results: Vec<Value> = documents
        .iter()
        .map(|document| match canonical_nquads(document, &contexts) {
            Ok(nquads) => json!({ "nquads": nquads }),
            Err(error) => json!({ "error": error.to_string() }),
        })
        .collect();
    serde_json::to_writer(std::io::stdout().lock(), &results)?;
    Ok(())
}
