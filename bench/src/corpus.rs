//! The benchmark's inputs: issuance request bodies from `docs/examples/`, and signed
//! credentials made from them with a key from a fixed seed (Ed25519 or SM2, as the
//! [`Suite`] asked for), so every run verifies the same documents.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde_json::Value;
use talent_core::credential::{self, CredentialType, IssueRequest};
use talent_core::identifiers::{CredentialId, RegionId};
use talent_integrity::did::DidKey;
use talent_integrity::keys::{IssuerKey, Sm2SigningKey};
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

/// Seed of the issuer key of generated credentials (32 bytes).
const ISSUER_SEED: [u8; 32] = *b"talent-bench fixed issuer seed!!";
/// Region of the issuing member of generated credentials.
const REGION: &str = "cq-sc";
/// The public URL of the node the credentials name their context and schema under; files
/// verified offline never resolve it.
const PUBLIC_URL: &str = "https://cq-sc.bench.invalid";
/// Issuance time (`validFrom`, proof `created`) of generated credentials: fixed, and in the
/// past so they are valid now.
const ISSUED_AT: &str = "2025-01-01T00:00:00Z";

/// The `docs/examples/` directory of the workspace this binary was built from.
pub fn default_examples_dir() -> PathBuf {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench
        .parent()
        .unwrap_or(bench)
        .join("docs")
        .join("examples")
}

/// One issuance request body.
#[derive(Debug, Clone)]
pub struct Example {
    /// The credential type it requests.
    pub credential_type: CredentialType,
    /// The body, as `POST /api/v1/credentials` takes it.
    pub body: Value,
}

/// The request bodies of the talent credential types in `dir` (`*.json`, in name order).
/// Issuer accreditations and recognition agreements are left out: they are federation
/// administration, not the credentials issued and verified in bulk.
///
/// # Errors
/// The directory or a file cannot be read, a file is not a request, or none is a talent type.
pub fn load_examples(dir: &Path) -> anyhow::Result<Vec<Example>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut examples = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let body: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let credential_type = IssueRequest::from_json(&body)
            .with_context(|| format!("{} is not an issuance request", path.display()))?
            .credential_type;
        if credential_type.is_talent() {
            examples.push(Example {
                credential_type,
                body,
            });
        }
    }
    if examples.is_empty() {
        bail!("{} holds no talent credential request", dir.display());
    }
    Ok(examples)
}

/// The cryptosuite generated credentials are signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    /// Ed25519 over SHA-256 hashes.
    #[value(name = "eddsa-jcs-2022")]
    EddsaJcs2022,
    /// SM2 over SM3 hashes.
    #[value(name = "sm2-jcs-2025")]
    Sm2Jcs2025,
}

impl Suite {
    /// The suite's name, as proofs carry it.
    pub fn name(self) -> &'static str {
        match self {
            Suite::EddsaJcs2022 => "eddsa-jcs-2022",
            Suite::Sm2Jcs2025 => "sm2-jcs-2025",
        }
    }
}

/// Makes signed credentials the way a node issues them, from a fixed key and time.
#[derive(Debug)]
pub struct Issuer {
    key: IssuerKey,
    did: DidKey,
    region: RegionId,
    issued_at: DateTime<Utc>,
}

impl Issuer {
    /// The issuer of every generated credential signed with `suite`.
    ///
    /// # Errors
    /// Never in practice: the region and time are constants checked here.
    pub fn fixed(suite: Suite) -> anyhow::Result<Issuer> {
        let key: IssuerKey = match suite {
            Suite::EddsaJcs2022 => SigningKey::from_bytes(&ISSUER_SEED).into(),
            Suite::Sm2Jcs2025 => Sm2SigningKey::from_bytes(&ISSUER_SEED)
                .context("the benchmark seed as an SM2 key")?
                .into(),
        };
        let did: DidKey = key.did();
        Ok(Issuer {
            key,
            did,
            region: REGION.parse().context("the benchmark region id")?,
            issued_at: credential::parse_datetime(ISSUED_AT)
                .context("the benchmark issuance time")?,
        })
    }

    /// The signed credential number `serial` of `example`. Its id is a UUIDv7 of the
    /// issuance time with `serial` in the counter bits, so each serial gives one document.
    ///
    /// # Errors
    /// The example does not make a valid credential.
    pub fn credential(&self, example: &Example, serial: u64) -> anyhow::Result<Value> {
        let mut counter = [0u8; 10];
        counter[2..].copy_from_slice(&serial.to_be_bytes());
        let millis = u64::try_from(self.issued_at.timestamp_millis())
            .context("issuance time before 1970")?;
        let id = CredentialId::from_uuid(
            uuid::Builder::from_unix_timestamp_millis(millis, &counter).into_uuid(),
        );
        let request = IssueRequest::from_json(&example.body)?;
        let prepared = credential::prepare(
            request,
            &self.did,
            &self.region,
            &credential::Namespace::at(PUBLIC_URL),
            id,
            self.issued_at,
        )?;
        let options = ProofOptions {
            created: credential::format_datetime(self.issued_at),
            proof_purpose: ASSERTION_METHOD,
        };
        Ok(proof::sign(&prepared.document, &self.key, &options)?)
    }
}

/// Writes `count` credentials signed with `suite` into `dir`, one `*.json` each, cycling through
/// `examples`; returns the first one (to measure with).
///
/// # Errors
/// A credential could not be made or written.
pub fn write_credentials(
    dir: &Path,
    count: u64,
    examples: &[Example],
    suite: Suite,
) -> anyhow::Result<Value> {
    ensure!(!examples.is_empty(), "no example to make credentials from");
    let issuer = Issuer::fixed(suite)?;
    let mut first = None;
    for (serial, example) in (0..count).zip(examples.iter().cycle()) {
        let credential = issuer
            .credential(example, serial)
            .with_context(|| format!("making a {} credential", example.credential_type))?;
        let path = dir.join(format!("{serial:07}-{}.json", example.credential_type));
        std::fs::write(&path, serde_json::to_vec(&credential)?)
            .with_context(|| format!("writing {}", path.display()))?;
        if first.is_none() {
            first = Some(credential);
        }
    }
    first.context("no credential was generated (count is 0)")
}
