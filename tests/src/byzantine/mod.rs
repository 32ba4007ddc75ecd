//! A byzantine federation member for the multi-process tests (issue 4, "Equivocation and
//! forgery").
//!
//! [`FakeMember`] impersonates one member of the federation on that member's configured
//! endpoint: a tiny blocking HTTP/1.1 server that serves whatever the test scripts at the
//! moment (a checkpoint and entry bundles by path; everything else is 404) and records the
//! requests it saw. [`MemberKeys`] holds the member's development keys, so the harness can
//! sign exactly what the real member could sign: credentials as its authority
//! ([`Issuer`]), checkpoints with its log key. [`ForgedLog`] turns entries into the C2SP
//! resources of a log (entry bundles, hash tiles, the root), so a test can serve an honest
//! log, a rolled-back one, a fork, or bundles that do not match the signed root.

mod fake_member;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, ensure};
use ed25519_dalek::SigningKey;
use serde_json::Value;
use talent_core::credential::{self, IssueRequest};
use talent_core::federation::{Federation as FederationConfig, Member};
use talent_core::identifiers::{CredentialId, RegionId};
use talent_core::log_entry;
use talent_integrity::did::DidKey;
use talent_integrity::multibase;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};
use talent_tlog::merkle::MemoryTree;
use talent_tlog::tile::{self, TilePath};
use talent_tlog::{Hash, bundle, checkpoint};

use crate::{example_requests, workspace_root};

pub use fake_member::{FakeMember, SeenRequest};

/// A member's development keys (from `federation-config/chengdu-chongqing/dev-keys/`),
/// checked against the member's entry in a federation configuration.
#[derive(Debug, Clone)]
pub struct MemberKeys {
    /// The member as the configuration describes it.
    pub member: Member,
    /// Its authority key: the issuer of its credentials.
    pub authority: SigningKey,
    /// Its log key: signs its checkpoints.
    pub log: SigningKey,
    /// Its witness key: cosigns peers' checkpoints and signs its requests to peers.
    pub witness: SigningKey,
}

impl MemberKeys {
    /// Loads the development keys of `member` and checks them against its entry in the
    /// federation configuration at `config`.
    ///
    /// # Errors
    /// The configuration or a key cannot be read or parsed, the member is not configured, or
    /// a key does not match the configured public key.
    pub fn load(config: &Path, member: &str) -> anyhow::Result<MemberKeys> {
        let text = std::fs::read_to_string(config)
            .with_context(|| format!("reading {}", config.display()))?;
        let federation = FederationConfig::parse(&text)
            .map_err(|error| anyhow::anyhow!("{}: {error}", config.display()))?;
        let member = federation
            .member(member)
            .with_context(|| format!("{member} is not a member in {}", config.display()))?
            .clone();
        let dir = workspace_root()
            .join("federation-config/chengdu-chongqing/dev-keys")
            .join(member.id.as_str());
        let key = |name: &str| -> anyhow::Result<SigningKey> {
            let path = dir.join(format!("{name}.key"));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let seed = multibase::decode_ed25519_secret(text.trim())
                .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
            Ok(SigningKey::from_bytes(&seed))
        };
        let keys = MemberKeys {
            authority: key("authority")?,
            log: key("log")?,
            witness: key("witness")?,
            member,
        };
        ensure!(
            DidKey::from_verifying_key(&keys.authority.verifying_key()) == keys.member.authority,
            "the authority key of {} is not its configured authority DID",
            keys.member.id.as_str()
        );
        ensure!(
            keys.log.verifying_key() == keys.member.log_key,
            "the log key of {} is not its configured log key",
            keys.member.id.as_str()
        );
        ensure!(
            keys.witness.verifying_key() == keys.member.witness_key,
            "the witness key of {} is not its configured witness key",
            keys.member.id.as_str()
        );
        Ok(keys)
    }

    /// The member's log origin (`registry.<id>.example/log`).
    pub fn origin(&self) -> &str {
        &self.member.log_origin
    }

    /// The member's authority as an issuer of credentials for its region.
    ///
    /// # Errors
    /// Never in practice: the member id is a valid region id.
    pub fn issuer(&self) -> anyhow::Result<Issuer> {
        Issuer::new(
            self.authority.clone(),
            self.member.id.as_str(),
            credential::Namespace::at(&self.member.endpoint),
        )
    }

    /// A checkpoint of `size` entries with `root`, signed with the member's log key.
    ///
    /// # Errors
    /// The origin is not a valid key name (never for a configured member).
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> anyhow::Result<Vec<u8>> {
        checkpoint::sign_checkpoint(self.origin(), size, root, &self.log)
            .map_err(|error| anyhow::anyhow!("signing a checkpoint: {error}"))
    }

    /// The checkpoint of the whole of `log`, signed with the member's log key.
    ///
    /// # Errors
    /// As [`MemberKeys::sign_checkpoint`].
    pub fn checkpoint_of(&self, log: &ForgedLog) -> anyhow::Result<Vec<u8>> {
        self.sign_checkpoint(log.size(), log.root())
    }
}

/// Signs credentials the way a node issues them (`node/src/issuance.rs`), with any key.
#[derive(Debug, Clone)]
pub struct Issuer {
    key: SigningKey,
    did: DidKey,
    region: RegionId,
    namespace: credential::Namespace,
}

impl Issuer {
    /// An issuer signing with `key` for `region`, naming the context and schemas under
    /// `namespace` (the region's node).
    ///
    /// # Errors
    /// `region` is not a valid region id.
    pub fn new(
        key: SigningKey,
        region: &str,
        namespace: credential::Namespace,
    ) -> anyhow::Result<Issuer> {
        let did = DidKey::from_verifying_key(&key.verifying_key());
        let region = region
            .parse()
            .map_err(|error| anyhow::anyhow!("region {region:?}: {error}"))?;
        Ok(Issuer {
            key,
            did,
            region,
            namespace,
        })
    }

    /// The issuer's DID.
    pub fn did(&self) -> &DidKey {
        &self.did
    }

    /// A signed credential from an issuance request body (as `POST /api/v1/credentials`
    /// takes it), with a fresh UUIDv7 id, issued now.
    ///
    /// # Errors
    /// The body is not a valid request for this region, or signing fails.
    pub fn credential(&self, request: &Value) -> anyhow::Result<Value> {
        let request = IssueRequest::from_json(request).context("issuance request")?;
        let now = chrono::Utc::now();
        let id = CredentialId::from_uuid(uuid::Uuid::now_v7());
        let prepared =
            credential::prepare(request, &self.did, &self.region, &self.namespace, id, now)
                .context("preparing the credential")?;
        let options = ProofOptions {
            created: credential::format_datetime(now),
            proof_purpose: ASSERTION_METHOD,
        };
        proof::sign(&prepared.document, &self.key, &options).context("signing the credential")
    }

    /// `count` signed credentials, cycling through the talent credential types of
    /// `docs/examples/`.
    ///
    /// # Errors
    /// As [`Issuer::credential`].
    pub fn credentials(&self, count: usize) -> anyhow::Result<Vec<Value>> {
        let bodies: Vec<Value> = example_requests()
            .into_iter()
            .map(|(_, body)| body)
            .filter(|body| {
                IssueRequest::from_json(body)
                    .is_ok_and(|request| request.credential_type.is_talent())
            })
            .collect();
        ensure!(
            !bodies.is_empty(),
            "docs/examples/ holds no talent credential request"
        );
        bodies
            .iter()
            .cycle()
            .take(count)
            .map(|body| self.credential(body))
            .collect()
    }

    /// `count` signed credentials as log entries (their JCS bytes).
    ///
    /// # Errors
    /// As [`Issuer::credential`], or an entry too large for a bundle.
    pub fn entries(&self, count: usize) -> anyhow::Result<Vec<Vec<u8>>> {
        self.credentials(count)?.iter().map(encode_entry).collect()
    }
}

/// The log entry of a signed object: its canonical (JCS) bytes.
///
/// # Errors
/// The entry is larger than an entry bundle can carry.
pub fn encode_entry(object: &Value) -> anyhow::Result<Vec<u8>> {
    log_entry::encode(object).map_err(|error| anyhow::anyhow!("encoding an entry: {error}"))
}

/// The lowercase hex SHA-256 of a canonical entry, as the status endpoint names an
/// offending entry (`{"index", "sha256"}`: the bytes may hold personal data).
///
/// Computed with talent-core's `eddsa-jcs-2022` hashing, whose second half is
/// `SHA-256(JCS(document))`: for a canonical entry, JCS of its JSON is the entry itself.
///
/// # Errors
/// The bytes are not JSON, or not canonical (then that identity does not hold).
pub fn entry_sha256_hex(entry: &[u8]) -> anyhow::Result<String> {
    let object: Value = serde_json::from_slice(entry).context("entry is not JSON")?;
    ensure!(
        talent_integrity::jcs::canonicalize(&object) == entry,
        "entry is not canonical JSON"
    );
    let hashes = proof::hash_data(&Value::Object(serde_json::Map::new()), &object);
    Ok(hashes[32..]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// A log built in memory from its entries: the root, and the C2SP resources a member
/// serves for it. Nothing here is checked: entries may be anything the test wants served.
#[derive(Debug, Clone)]
pub struct ForgedLog {
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
}

impl ForgedLog {
    /// The log holding `entries`, in order.
    pub fn new(entries: Vec<Vec<u8>>) -> ForgedLog {
        let mut tree = MemoryTree::new();
        for entry in &entries {
            tree.push_entry(entry);
        }
        ForgedLog { entries, tree }
    }

    /// The entries.
    pub fn entries(&self) -> &[Vec<u8>] {
        &self.entries
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the whole log.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The root of the first `size` entries.
    ///
    /// # Errors
    /// `size` exceeds the log.
    pub fn root_at(&self, size: u64) -> anyhow::Result<Hash> {
        self.tree
            .root_at(size)
            .map_err(|error| anyhow::anyhow!("root of {size} entries: {error}"))
    }

    /// This log with `more` entries appended.
    pub fn extended(&self, more: &[Vec<u8>]) -> ForgedLog {
        let mut entries = self.entries.clone();
        entries.extend_from_slice(more);
        ForgedLog::new(entries)
    }

    /// The first `size` entries of this log.
    pub fn prefix(&self, size: usize) -> ForgedLog {
        ForgedLog::new(self.entries.iter().take(size).cloned().collect())
    }

    /// This log with entry `index` replaced by `replacement` (a different tree).
    ///
    /// # Errors
    /// `index` is beyond the log.
    pub fn with_entry(&self, index: usize, replacement: Vec<u8>) -> anyhow::Result<ForgedLog> {
        ensure!(
            index < self.entries.len(),
            "entry {index} is beyond the log"
        );
        let mut entries = self.entries.clone();
        entries[index] = replacement;
        Ok(ForgedLog::new(entries))
    }

    /// The resources a member serves for this log at its current size, by URL path
    /// (`/log/tile/entries/000.p/5`, `/log/tile/0/000.p/5`, …): every entry bundle and hash
    /// tile of [`tile::tiles_for_size`], as a C2SP `tlog-tiles` log serves them. The
    /// checkpoint is not included (sign one and serve it under `/log/checkpoint`).
    ///
    /// # Errors
    /// An entry too large for a bundle, or a hash missing from the tree (never).
    pub fn resources(&self) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let mut files = BTreeMap::new();
        for path in tile::tiles_for_size(self.size()) {
            let bytes = match path {
                TilePath::Entries { .. } => {
                    let mut data = Vec::new();
                    for index in path.entry_range() {
                        let entry = usize::try_from(index)
                            .ok()
                            .and_then(|position| self.entries.get(position))
                            .with_context(|| format!("entry {index} is beyond the log"))?;
                        bundle::push_entry(&mut data, entry)
                            .map_err(|error| anyhow::anyhow!("entry {index}: {error}"))?;
                    }
                    data
                }
                TilePath::Hashes { .. } => path
                    .read_hashes(&self.tree)
                    .map_err(|error| anyhow::anyhow!("tile {path}: {error}"))?,
            };
            files.insert(format!("/log/{path}"), bytes);
        }
        Ok(files)
    }

    /// The path of the entry bundle holding every entry of this log, when it has at most
    /// 256 entries (one bundle), e.g. `/log/tile/entries/000.p/5`.
    ///
    /// # Errors
    /// The log is empty or larger than one bundle.
    pub fn only_bundle_path(&self) -> anyhow::Result<String> {
        let size = self.size();
        ensure!(
            (1..=tile::TILE_WIDTH).contains(&size),
            "a log of {size} entries is not one bundle"
        );
        let width = u16::try_from(size)?;
        Ok(format!("/log/{}", TilePath::Entries { index: 0, width }))
    }
}

/// The entry bundle of `entries` (uint16 big-endian length, then the bytes, each).
///
/// # Errors
/// An entry too large for a bundle.
pub fn bundle_of(entries: &[Vec<u8>]) -> anyhow::Result<Vec<u8>> {
    let mut data = Vec::new();
    for entry in entries {
        bundle::push_entry(&mut data, entry).map_err(|error| anyhow::anyhow!("{error}"))?;
    }
    Ok(data)
}
