//! Writes the starting corpus of every fuzz target (`fuzz/corpus/<target>/seed-*`) from the
//! property tests' fixtures, so a fuzzer starts from valid signed objects rather than from
//! nothing. Ignored in a normal run; docs/security.md says when to run it:
//!
//! ```sh
//! cargo test -p talent-core --test fuzz_seeds -- --ignored
//! ```

mod fixtures;

use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};

fn write(target: &str, seeds: &[Vec<u8>]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    for (n, seed) in seeds.iter().enumerate() {
        fs::write(dir.join(format!("seed-{n}")), seed).expect("seed written");
    }
}

fn json(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON")
}

#[test]
#[ignore = "writes fuzz/corpus; run by hand before fuzzing"]
fn write_fuzz_seeds() {
    let title = fixtures::signed_title();
    let log = fixtures::log();
    let bare = fixtures::checkpoint_of(&log.tree, &[]);
    let bundle = fixtures::bundle();
    write(
        "verify_credential",
        &[json(&title), talent_integrity::jcs::canonicalize(&title)],
    );
    write("issue_request", &[json(&fixtures::title_request())]);
    write("proof_bundle", &[json(&bundle)]);
    write("checkpoint", &[log.checkpoint.clone(), bare.clone()]);
    let lines = log.checkpoint[bare.len()..].to_vec();
    let witness_vkey = fixtures::federation()
        .member("cd-hz")
        .expect("member")
        .witness_vkey
        .clone();
    write(
        "cosignature",
        &[
            [bare.clone(), vec![0xff], lines].concat(),
            witness_vkey.into_bytes(),
        ],
    );
    write(
        "add_checkpoint",
        &[
            fixtures::add_checkpoint_body(3),
            fixtures::add_checkpoint_body(0),
        ],
    );
    write(
        "tile_path",
        &[
            b"tile/0/x001/x234/067".to_vec(),
            b"/tile/entries/000.p/5".to_vec(),
            b"tile/2/000.p/1".to_vec(),
        ],
    );
    let mut bundle_bytes = vec![u8::try_from(log.entries.len() - 1).expect("count")];
    for entry in &log.entries {
        talent_tlog::bundle::push_entry(&mut bundle_bytes, entry).expect("fits");
    }
    write("entry_bundle", &[bundle_bytes]);
    write("log_entry", &log.entries);
    write("bulk_csv", &[fixtures::CSV.as_bytes().to_vec()]);
    let key = fixtures::key(fixtures::MEMBER, "witness");
    let body = fixtures::add_checkpoint_body(3);
    let headers = talent_core::request_auth::sign_request(
        fixtures::MEMBER,
        &key,
        "POST",
        "/log/add-checkpoint",
        fixtures::NOW_SECS,
        &body,
    );
    let request = [
        headers[0].1.as_bytes(),
        headers[1].1.as_bytes(),
        headers[2].1.as_bytes(),
        b"POST",
        b"/log/add-checkpoint",
        &body,
    ]
    .join(&0xff);
    write("request_auth", &[request]);
    write(
        "jcs",
        &[
            json(&title),
            br#"{"a":[1,-2.5e-7,"\u0001"],"\u00e9":null,"\ud800\udc00":true}"#.to_vec(),
        ],
    );
    write(
        "multibase_did",
        &[
            title["issuer"]
                .as_str()
                .expect("issuer")
                .as_bytes()
                .to_vec(),
            title["proof"]["verificationMethod"]
                .as_str()
                .expect("method")
                .as_bytes()
                .to_vec(),
            title["proof"]["proofValue"]
                .as_str()
                .expect("value")
                .as_bytes()
                .to_vec(),
        ],
    );
    let authority = fixtures::key(fixtures::MEMBER, "authority");
    let change = json!({
        "@context": ["https://talent-registry.example/ns/v1"],
        "type": ["CredentialStatusChange"],
        "id": fixtures::credential_id(0x40).to_string(),
        "credentialId": fixtures::credential_id(0).to_string(),
        "status": "02",
        "reason": "核查中",
        "effective": fixtures::NOW,
        "issuer": title["issuer"],
    });
    write(
        "statement",
        &[json(&fixtures::sign(&change, &authority)), json(&change)],
    );
    let list = talent_core::status_list::Bitstring::new();
    write(
        "status_list",
        &[
            list.encode().into_bytes(),
            json(&json!({"credentialStatus": {
                "id": "https://registry.cq-sc.example/status/1#7",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "7",
                "statusListCredential": "https://registry.cq-sc.example/status/1",
            }})),
        ],
    );
    write(
        "federation_config",
        &[fixtures::FEDERATION_TOML.as_bytes().to_vec()],
    );
    let anchors = talent_core::trust::TrustAnchors::new(
        &fixtures::federation(),
        [(
            fixtures::MEMBER.to_owned(),
            String::from_utf8(log.checkpoint.clone()).expect("UTF-8"),
        )]
        .into(),
        fixtures::NOW.to_owned(),
    );
    write("trust", &[serde_json::to_vec(&anchors).expect("JSON")]);
}
