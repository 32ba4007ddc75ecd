//! The `sm2-jcs-2025` vector checked by an independent implementation: OpenSSL 3's SM2 and
//! SM3, through the `openssl` command line (`scripts/setup.sh` installs Debian's package).
//!
//! Both directions: OpenSSL verifies the vector's signature and hashes, and this crate
//! verifies what OpenSSL signs with the vector's private key. Tampering with the document,
//! the signature or the distinguishing ID fails in both.
//!
//! OpenSSL is given only bytes: the private key as the SEC1 structure its own `asn1parse`
//! builds from the hex scalar, the public key as a PEM built from the vector's compressed
//! point, signatures DER-encoded here from `r ‖ s`. `-rawin -digest sm3` makes it compute
//! `SM3(Z_A ‖ M)` itself, with `Z_A` from `-pkeyopt distid:…`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use serde_json::Value;
use talent_integrity::multibase;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofError};

const DISTID: &str = "distid:1234567812345678";
/// The `AlgorithmIdentifier` of an SM2 `SubjectPublicKeyInfo` with a compressed point
/// (id-ecPublicKey 1.2.840.10045.2.1, curve SM2 1.2.156.10197.1.301): the 33 point bytes
/// follow.
const SPKI_PREFIX: [u8; 24] = [
    0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03,
];

fn vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/sm2-jcs-2025")
        .join(name)
}

fn read_text(name: &str) -> String {
    let path = vector(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .trim_end()
        .to_owned()
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&read_text(name)).expect("JSON")
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Runs `openssl` with `args`; a missing binary or another major version fails the test
/// with what to do, so the cross-check never passes by not running.
fn openssl(args: &[&str]) -> Output {
    let binary = std::env::var("OPENSSL").unwrap_or_else(|_| "openssl".into());
    let output = Command::new(&binary)
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "the SM2 cross-check needs OpenSSL 3's `{binary}` command ({error}): \
             run scripts/setup.sh (Debian package `openssl`) or set $OPENSSL"
            )
        });
    let version = Command::new(&binary)
        .arg("version")
        .output()
        .expect("openssl version");
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.starts_with("OpenSSL 3."),
        "the SM2 cross-check needs OpenSSL 3 (SM2 with -rawin and distid), found {version}"
    );
    output
}

/// `openssl` that must succeed.
fn openssl_ok(args: &[&str]) -> Output {
    let output = openssl(args);
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("UTF-8 path").to_owned()
}

/// One DER INTEGER of a non-negative big-endian number.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut value = bytes[first..].to_vec();
    if value[0] & 0x80 != 0 {
        value.insert(0, 0);
    }
    let mut out = vec![0x02, u8::try_from(value.len()).expect("short")];
    out.extend(value);
    out
}

/// `r ‖ s` as the DER `SEQUENCE { r INTEGER, s INTEGER }` OpenSSL reads and writes.
fn der_signature(raw: &[u8]) -> Vec<u8> {
    let body = [der_integer(&raw[..32]), der_integer(&raw[32..])].concat();
    let mut out = vec![0x30, u8::try_from(body.len()).expect("short")];
    out.extend(body);
    out
}

/// The DER signature OpenSSL wrote, as `r ‖ s`.
fn raw_signature(der: &[u8]) -> [u8; 64] {
    assert_eq!(der.first(), Some(&0x30), "{der:02x?}");
    assert_eq!(usize::from(der[1]), der.len() - 2, "{der:02x?}");
    let mut raw = [0u8; 64];
    let mut at = 2;
    for half in raw.chunks_mut(32) {
        assert_eq!(der[at], 0x02, "{der:02x?}");
        let length = usize::from(der[at + 1]);
        let value = &der[at + 2..at + 2 + length];
        let value = value.strip_prefix(&[0]).unwrap_or(value);
        half[32 - value.len()..].copy_from_slice(value);
        at += 2 + length;
    }
    assert_eq!(at, der.len());
    raw
}

fn pem(label: &str, der: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).expect("base64"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A scratch directory with the vector's keys as OpenSSL files: `key.pem` (private, built
/// by OpenSSL from the hex scalar) and `public.pem` (built here from the did:key's point).
fn keys() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let pair = read_json("keyPair.json");
    let secret = pair["privateKeyHex"].as_str().expect("privateKeyHex");
    std::fs::write(
        dir.path().join("key.cnf"),
        format!(
            "asn1=SEQUENCE:ec_key\n[ec_key]\nversion=INTEGER:1\n\
             key=FORMAT:HEX,OCTETSTRING:{secret}\nparams=EXPLICIT:0,OID:1.2.156.10197.1.301\n"
        ),
    )
    .expect("write");
    openssl_ok(&[
        "asn1parse",
        "-noout",
        "-genconf",
        &path(dir.path(), "key.cnf"),
        "-out",
        &path(dir.path(), "key.der"),
    ]);
    openssl_ok(&[
        "pkey",
        "-inform",
        "DER",
        "-in",
        &path(dir.path(), "key.der"),
        "-out",
        &path(dir.path(), "key.pem"),
    ]);
    let multikey = pair["publicKeyMultibase"].as_str().expect("multikey");
    let point = multibase::decode_sm2_public(multikey).expect("an sm2-pub multikey");
    let spki = [&SPKI_PREFIX[..], &[0x22, 0x00], &point].concat();
    std::fs::write(dir.path().join("public.pem"), pem("PUBLIC KEY", &spki)).expect("write");
    dir
}

/// `openssl pkeyutl -verify` of `signature` (r ‖ s) over `message`, with `distid`.
fn openssl_verifies(dir: &Path, message: &[u8], signature: &[u8], distid: &str) -> bool {
    std::fs::write(dir.join("message.bin"), message).expect("write");
    std::fs::write(dir.join("signature.der"), der_signature(signature)).expect("write");
    let output = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &path(dir, "public.pem"),
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        distid,
        "-in",
        &path(dir, "message.bin"),
        "-sigfile",
        &path(dir, "signature.der"),
    ]);
    let said = String::from_utf8_lossy(&output.stdout);
    match output.status.success() {
        true => {
            assert!(said.contains("Signature Verified Successfully"), "{said}");
            true
        }
        false => {
            assert!(
                said.contains("Signature Verification Failure"),
                "openssl failed otherwise: {said} {}",
                String::from_utf8_lossy(&output.stderr)
            );
            false
        }
    }
}

/// `openssl pkeyutl -sign` of `message` with the vector's private key and `distid`: r ‖ s.
fn openssl_signs(dir: &Path, message: &[u8], distid: &str) -> [u8; 64] {
    std::fs::write(dir.join("to-sign.bin"), message).expect("write");
    openssl_ok(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        &path(dir, "key.pem"),
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        distid,
        "-in",
        &path(dir, "to-sign.bin"),
        "-out",
        &path(dir, "signed.der"),
    ]);
    raw_signature(&std::fs::read(dir.join("signed.der")).expect("read"))
}

/// `openssl dgst -sm3` of a file's bytes.
fn openssl_sm3(file: &Path) -> String {
    let output = openssl_ok(&["dgst", "-sm3", "-r", file.to_str().expect("UTF-8 path")]);
    let said = String::from_utf8_lossy(&output.stdout);
    said.split_whitespace().next().expect("a digest").to_owned()
}

/// The vector's hashData, as bytes.
fn hash_data() -> Vec<u8> {
    unhex(&read_text("combinedHashSM3.txt"))
}

#[test]
fn openssl_sm3_gives_the_vectors_hashes() {
    assert_eq!(
        openssl_sm3(&vector("proofCanonJCS.txt")),
        read_text("proofHashSM3.txt")
    );
    assert_eq!(
        openssl_sm3(&vector("canonDocJCS.txt")),
        read_text("docHashSM3.txt")
    );
    assert_eq!(
        format!(
            "{}{}",
            read_text("proofHashSM3.txt"),
            read_text("docHashSM3.txt")
        ),
        read_text("combinedHashSM3.txt")
    );
}

#[test]
fn openssl_derives_the_did_keys_point_from_the_private_key() {
    let dir = keys();
    let output = openssl_ok(&[
        "ec",
        "-in",
        &path(dir.path(), "key.pem"),
        "-pubout",
        "-conv_form",
        "compressed",
        "-outform",
        "DER",
    ]);
    let spki = output.stdout;
    assert_eq!(spki[..SPKI_PREFIX.len()], SPKI_PREFIX, "{spki:02x?}");
    assert_eq!(
        hex(&spki[SPKI_PREFIX.len() + 2..]),
        read_json("keyPair.json")["publicKeyHex"]
            .as_str()
            .expect("publicKeyHex")
    );
}

#[test]
fn openssl_verifies_the_vector_signature_and_refuses_tampering() {
    let dir = keys();
    let signature = unhex(&read_text("sigHex.txt"));
    assert_eq!(
        multibase::decode_base58btc(&read_text("sigBTC58.txt")).expect("base58btc"),
        signature
    );
    assert!(openssl_verifies(
        dir.path(),
        &hash_data(),
        &signature,
        DISTID
    ));

    // One byte of the document changed: OpenSSL hashes the changed canonical document.
    let mut document = std::fs::read(vector("canonDocJCS.txt")).expect("read");
    let at = document
        .windows(3)
        .position(|w| w == "正".as_bytes())
        .expect("正 in the document");
    document[at + 2] ^= 1;
    std::fs::write(dir.path().join("tampered.txt"), &document).expect("write");
    let tampered = [
        unhex(&read_text("proofHashSM3.txt")),
        unhex(&openssl_sm3(&dir.path().join("tampered.txt"))),
    ]
    .concat();
    assert_ne!(tampered, hash_data());
    assert!(!openssl_verifies(dir.path(), &tampered, &signature, DISTID));

    // One byte of the signature changed.
    let mut flipped = signature.clone();
    flipped[50] ^= 0x01;
    assert!(!openssl_verifies(
        dir.path(),
        &hash_data(),
        &flipped,
        DISTID
    ));

    // Another distinguishing ID.
    assert!(!openssl_verifies(
        dir.path(),
        &hash_data(),
        &signature,
        "distid:1234567812345679"
    ));
}

#[test]
fn our_code_verifies_what_openssl_signs_and_refuses_tampering() {
    let dir = keys();
    let signed = read_json("signedJCS.json");
    let with_signature = |document: &Value, signature: &[u8]| {
        let mut document = document.clone();
        document["proof"]["proofValue"] = multibase::encode_base58btc(signature).into();
        document
    };
    // OpenSSL signs the vector's hashData: its signature replaces the vector's.
    let signature = openssl_signs(dir.path(), &hash_data(), DISTID);
    assert_ne!(
        signature.to_vec(),
        unhex(&read_text("sigHex.txt")),
        "OpenSSL's nonce is random"
    );
    let document = with_signature(&signed, &signature);
    let verified =
        proof::verify(&document, ASSERTION_METHOD).expect("OpenSSL's signature verifies");
    assert_eq!(verified.controller.to_string(), signed["issuer"]);

    let mismatch = |document: &Value| {
        matches!(
            proof::verify(document, ASSERTION_METHOD),
            Err(ProofError::SignatureMismatch { .. })
        )
    };
    // One byte of the document changed.
    let mut tampered = document.clone();
    tampered["credentialSubject"]["conferredOn"] = "2025-12-31".into();
    assert!(mismatch(&tampered));
    // One byte of the signature changed.
    let mut flipped = signature;
    flipped[30] ^= 0x01;
    assert!(mismatch(&with_signature(&signed, &flipped)));
    // Signed by OpenSSL under another distinguishing ID.
    let other_id = openssl_signs(dir.path(), &hash_data(), "distid:1234567812345679");
    assert!(mismatch(&with_signature(&signed, &other_id)));
    // And OpenSSL agrees about its own signatures.
    assert!(openssl_verifies(
        dir.path(),
        &hash_data(),
        &signature,
        DISTID
    ));
    assert!(!openssl_verifies(
        dir.path(),
        &hash_data(),
        &other_id,
        DISTID
    ));
}
