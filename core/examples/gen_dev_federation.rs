//! Generates the DEVELOPMENT-ONLY keys of a demo federation and prints their public values.
//!
//! ```text
//! cargo run -p talent-core --example gen_dev_federation -- \
//!     federation-config/chengdu-chongqing/dev-keys cq-sc cd-hz cq-hrss:sm2 sc-hrss bj-zgc
//! ```
//!
//! A member written `<id>:sm2` gets an SM2 authority key (`sm2-jcs-2025`: a random valid
//! scalar as an `sm2-priv` secret multikey) and a `cryptosuite` line, and an SM2 checkpoint
//! key `log-sm2.key` (same format) with its `log_sm2_vkey` line.
//!
//! For each member id it writes `<dir>/<id>/{authority,log,witness}.key` — a fresh random
//! Ed25519 seed as a secret multikey and a newline, the format `registry-node` reads — unless
//! the file already exists, in which case the key is read back. It then prints the public
//! lines of that member for `federation.toml`: `authority`, `log_origin`, `log_vkey` and
//! `witness_vkey`, with the demo naming `registry.<id>.example/log` and `witness.<id>.example`.
//! Running it again on existing keys only reprints the lines.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use talent_integrity::did::DidKey;
use talent_integrity::keys::Sm2SigningKey;
use talent_integrity::multibase;
use talent_tlog::checkpoint::verifier_key;
use talent_tlog::sm2_note::sm2_verifier_key;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: gen_dev_federation DIR MEMBER-ID...")?,
    );
    for id in args {
        let id = id.into_string().map_err(|_| "member id is not UTF-8")?;
        let (id, sm2) = match id.strip_suffix(":sm2") {
            Some(id) => (id.to_owned(), true),
            None => (id, false),
        };
        let member_dir = dir.join(&id);
        fs::create_dir_all(&member_dir)?;
        let authority = load_or_generate_authority(&member_dir.join("authority.key"), sm2)?;
        let log = load_or_generate(&member_dir.join("log.key"))?;
        let witness = load_or_generate(&member_dir.join("witness.key"))?;
        let origin = format!("registry.{id}.example/log");
        let witness_name = format!("witness.{id}.example");
        println!("# {id}");
        if sm2 {
            println!("cryptosuite = \"sm2-jcs-2025\"");
        }
        println!("authority = \"{authority}\"");
        println!("log_origin = \"{origin}\"");
        println!(
            "log_vkey = \"{}\"",
            verifier_key(&origin, &log.verifying_key())
        );
        if sm2 {
            let log_sm2 = load_or_generate_sm2(&member_dir.join("log-sm2.key"))?;
            println!(
                "log_sm2_vkey = \"{}\"",
                sm2_verifier_key(&origin, log_sm2.verifying_key())?
            );
        }
        println!(
            "witness_vkey = \"{}\"",
            cosignature_vkey(&witness_name, &witness.verifying_key())
        );
    }
    Ok(())
}

/// The did:key of the authority key in `path`, generated first (SM2 when `sm2`) if absent.
fn load_or_generate_authority(path: &Path, sm2: bool) -> Result<DidKey, Box<dyn Error>> {
    if !sm2 || path.exists() && !is_sm2_secret(&fs::read_to_string(path)?) {
        return Ok(DidKey::from_verifying_key(
            &load_or_generate(path)?.verifying_key(),
        ));
    }
    Ok(load_or_generate_sm2(path)?.did())
}

/// The SM2 key in `path` (an `sm2-priv` secret multikey), generated first if absent.
fn load_or_generate_sm2(path: &Path) -> Result<Sm2SigningKey, Box<dyn Error>> {
    if path.exists() {
        let scalar = multibase::decode_sm2_secret(fs::read_to_string(path)?.trim())?;
        return Ok(Sm2SigningKey::from_bytes(&scalar)?);
    }
    let key = loop {
        let mut scalar = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut scalar);
        if let Ok(key) = Sm2SigningKey::from_bytes(&scalar) {
            break key;
        }
    };
    fs::write(
        path,
        format!("{}\n", multibase::encode_sm2_secret(&key.to_bytes())),
    )?;
    Ok(key)
}

fn is_sm2_secret(text: &str) -> bool {
    multibase::decode_sm2_secret(text.trim()).is_ok()
}

fn load_or_generate(path: &Path) -> Result<SigningKey, Box<dyn Error>> {
    if path.exists() {
        let seed = multibase::decode_ed25519_secret(fs::read_to_string(path)?.trim())?;
        return Ok(SigningKey::from_bytes(&seed));
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    fs::write(
        path,
        format!("{}\n", multibase::encode_ed25519_secret(key.as_bytes())),
    )?;
    Ok(key)
}

/// C2SP `tlog-cosignature` verifier key: `<name>+<key id>+<base64(0x04 || key)>`.
fn cosignature_vkey(name: &str, key: &VerifyingKey) -> String {
    let mut encoded = vec![0x04];
    encoded.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        signed_note::key_id(name, &encoded),
        BASE64.encode(&encoded)
    )
}
