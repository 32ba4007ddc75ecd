//! Generates the DEVELOPMENT-ONLY keys of a demo federation and prints their public values.
//!
//! ```text
//! cargo run -p talent-core --example gen_dev_federation -- \
//!     federation-config/chengdu-chongqing/dev-keys cq-sc cd-hz cq-hrss sc-hrss bj-zgc
//! ```
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
use talent_integrity::multibase;
use talent_tlog::checkpoint::verifier_key;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: gen_dev_federation DIR MEMBER-ID...")?,
    );
    for id in args {
        let id = id.into_string().map_err(|_| "member id is not UTF-8")?;
        let member_dir = dir.join(&id);
        fs::create_dir_all(&member_dir)?;
        let authority = load_or_generate(&member_dir.join("authority.key"))?;
        let log = load_or_generate(&member_dir.join("log.key"))?;
        let witness = load_or_generate(&member_dir.join("witness.key"))?;
        let origin = format!("registry.{id}.example/log");
        let witness_name = format!("witness.{id}.example");
        println!("# {id}");
        println!(
            "authority = \"{}\"",
            DidKey::from_verifying_key(&authority.verifying_key())
        );
        println!("log_origin = \"{origin}\"");
        println!(
            "log_vkey = \"{}\"",
            verifier_key(&origin, &log.verifying_key())
        );
        println!(
            "witness_vkey = \"{}\"",
            cosignature_vkey(&witness_name, &witness.verifying_key())
        );
    }
    Ok(())
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
