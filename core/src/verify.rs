//! The verification pipeline: one function that turns a presented credential into a
//! [`Verdict`] with every check named.
//!
//! The node API, the web console and the `talent-verify` CLI all call [`verify_credential`]
//! and render the same verdict. Checks run independently where they can, so a tampered
//! credential reports exactly which check failed rather than stopping at the first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential::{CredentialType, format_datetime, parse_datetime};
use crate::issuers::{IssuerRegistry, When, signing_time};
use crate::schema::{SchemaKind, SchemaSet};
use talent_integrity::did::{DidKey, KeyCache};
use talent_integrity::jcs;
use talent_integrity::proof::{self, ASSERTION_METHOD, PreparedProof, VerifiedProof};
use talent_tlog::checkpoint::{self, CheckpointError, VerifiedCheckpoint};
use talent_tlog::cosignature::{self, CosignatureError, CosignerKey};
use talent_tlog::merkle::InclusionProof;

/// The checks a verdict can contain, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CheckName {
    /// The document matches its type's JSON Schema.
    Schema,
    /// The `eddsa-jcs-2022` proof verifies.
    Proof,
    /// `issuer` is a did:key and is the controller of the proof's verification method.
    Issuer,
    /// The current time is inside `validFrom`..`validUntil`.
    Validity,
    /// The issuer was allowed to issue it when it signed: the member's authority (with a key
    /// valid then) or a delegated issuer inside an accreditation's scope and window.
    Authority,
    /// The credential is an entry of its issuer's log, under a checkpoint signed by the log
    /// key.
    Inclusion,
    /// No logged status change took it out of 01 (valid).
    Status,
}

impl CheckName {
    /// Machine name, as in the JSON verdict.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Schema => "schema",
            CheckName::Proof => "proof",
            CheckName::Issuer => "issuer",
            CheckName::Validity => "validity",
            CheckName::Authority => "authority",
            CheckName::Inclusion => "inclusion",
            CheckName::Status => "status",
        }
    }

    /// Chinese label for reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            CheckName::Schema => "数据格式",
            CheckName::Proof => "数字签名",
            CheckName::Issuer => "签发机构",
            CheckName::Validity => "有效期",
            CheckName::Authority => "签发授权",
            CheckName::Inclusion => "透明日志",
            CheckName::Status => "状态",
        }
    }

    /// English label for reports.
    pub fn label_en(self) -> &'static str {
        match self {
            CheckName::Schema => "Schema",
            CheckName::Proof => "Signature",
            CheckName::Issuer => "Issuer",
            CheckName::Validity => "Validity period",
            CheckName::Authority => "Issuing authority",
            CheckName::Inclusion => "Log inclusion",
            CheckName::Status => "Status",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Which check.
    pub name: CheckName,
    /// Whether it passed. A skipped check is not ok.
    pub ok: bool,
    /// Why it passed or failed, in English, naming values where useful.
    pub detail: String,
    /// True when an earlier failure made the check impossible to run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

impl Check {
    fn pass(name: CheckName, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: true,
            detail: detail.into(),
            skipped: false,
        }
    }

    fn fail(name: CheckName, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            skipped: false,
        }
    }

    fn skip(name: CheckName, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            skipped: true,
        }
    }
}

/// What the verdict is about, read from the document (not trusted unless `verified`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSummary {
    /// `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The registry type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<CredentialType>,
    /// `issuer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `credentialSubject.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
    /// `credentialSubject.region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `validFrom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// `validUntil`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

impl CredentialSummary {
    fn of(document: &Value) -> CredentialSummary {
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let subject = &document["credentialSubject"];
        CredentialSummary {
            id: text(&document["id"]),
            credential_type: CredentialType::from_type_array(&document["type"]),
            issuer: text(&document["issuer"]),
            subject_name: text(&subject["name"]),
            region: text(&subject["region"]),
            valid_from: text(&document["validFrom"]),
            valid_until: text(&document["validUntil"]),
        }
    }
}

/// The answer to "is this credential valid?", with every check named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// True when every check passed.
    pub verified: bool,
    /// What the credential claims to be.
    pub credential: CredentialSummary,
    /// Each check, in pipeline order.
    pub checks: Vec<Check>,
    /// The time the verdict was reached at.
    pub checked_at: String,
    /// The log checkpoint the inclusion check relied on, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogStatus>,
}

/// The checkpoint a verdict relied on: whose, how large, who cosigned it, how fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStatus {
    /// The log's origin.
    pub origin: String,
    /// Tree size of the checkpoint.
    pub tree_size: u64,
    /// Names of the trusted witnesses whose cosignatures on it verified.
    pub cosigners: Vec<String>,
    /// Cosignatures required (0: none required).
    pub quorum: usize,
    /// When the holder of the checkpoint last saw it as the log's newest (RFC 3339), for a
    /// mirrored checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
    /// Seconds between `confirmedAt` and the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
}

impl Verdict {
    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|check| !check.ok)
    }

    /// The check of the given name.
    pub fn check(&self, name: CheckName) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }
}

/// What the pipeline needs besides the document.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// The time to judge validity at.
    pub now: DateTime<Utc>,
    /// Compiled schemas.
    pub schemas: &'a SchemaSet,
    /// Whether and how to check log inclusion.
    pub log: LogContext<'a>,
    /// Whether and how to check the issuer's authority (accreditation, key history).
    pub issuers: IssuerContext<'a>,
    /// The credential's status as its log records it, when the verifier holds the log.
    pub status: Option<StatusFact>,
}

/// A credential's status from its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFact {
    /// The status.
    pub status: crate::status::CredentialStatus,
    /// The leaf index of the change that set it (`None`: no change logged, as issued).
    pub changed_at: Option<u64>,
    /// The log size this is true as of.
    pub as_of_size: u64,
    /// When that log size was the log's newest, if known (a mirror's or a bundle's).
    pub as_of: Option<DateTime<Utc>>,
    /// A status older than this many seconds fails the check.
    pub max_age_seconds: Option<i64>,
    /// Why the status could not be established (evidence that does not verify).
    pub problem: Option<String>,
}

/// What the verifier knows about who may issue into the credential's region.
#[derive(Debug, Clone)]
pub enum IssuerContext<'a> {
    /// Not asked for (a file verified offline without trust data).
    NotRequested,
    /// Asked for, but the region's issuer history is unknown; the reason is reported.
    Missing(String),
    /// The issuer history of the credential's region.
    Registry {
        /// The region's registry.
        registry: &'a IssuerRegistry,
        /// The credential's leaf index in that region's log, when known.
        position: Option<u64>,
    },
}

/// What the verifier knows about the credential's place in its issuer's log.
#[derive(Debug, Clone)]
pub enum LogContext<'a> {
    /// No log check was asked for (a credential file verified offline on its own).
    NotRequested,
    /// A log check was asked for but there is no evidence; the reason is reported.
    Missing(String),
    /// Evidence to check.
    Evidence(LogEvidence<'a>),
}

/// A checkpoint and inclusion proof for the credential, and the log key to trust.
#[derive(Debug, Clone, Copy)]
pub struct LogEvidence<'a> {
    /// The log's origin.
    pub origin: &'a str,
    /// The log's signed-note verifier key.
    pub log_vkey: &'a str,
    /// The signed checkpoint.
    pub checkpoint: &'a [u8],
    /// The credential's inclusion proof under that checkpoint.
    pub proof: &'a InclusionProof,
    /// Trusted witnesses (`cosignature/v1` keys) whose cosignatures count.
    pub cosigners: &'a [CosignerKey],
    /// How many of them must have cosigned the checkpoint (0: report only).
    pub quorum: usize,
    /// When the checkpoint was last confirmed as the log's newest (a mirror's copy).
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// Verifies a presented credential.
pub fn verify_credential(document: &Value, options: &VerifyOptions<'_>) -> Verdict {
    let leaf = LeafText::for_log(&options.log);
    prepare_credential(document, options.schemas, &mut KeyCache::new(), leaf).finish(options)
}

/// Verifies many credentials judged with the same options, checking their signatures as one
/// Ed25519 batch: the verdicts, in order, are exactly those of [`verify_credential`] on each.
///
/// A batch whose signatures do not all verify is re-checked one by one, so a bad credential
/// costs its batch about one single verification per credential and gets its own verdict;
/// the others keep theirs. From about 190 signatures a batch costs about a quarter less per
/// signature (Pippenger's method instead of Straus's; see `proof::batch_verifies`).
pub fn verify_credentials(
    documents: &[&Value],
    options: &VerifyOptions<'_>,
    keys: &mut KeyCache,
) -> Vec<Verdict> {
    let leaf = LeafText::for_log(&options.log);
    let mut prepared: Vec<PreparedCredential<'_>> = documents
        .iter()
        .map(|document| prepare_credential(document, options.schemas, keys, leaf))
        .collect();
    check_signatures(&mut prepared);
    prepared
        .into_iter()
        .map(|credential| credential.finish(options))
        .collect()
}

/// A credential whose checks have run except for its Ed25519 signature: what
/// [`check_signatures`] checks many of at once before each is finished into a [`Verdict`]
/// with [`PreparedCredential::finish`].
#[derive(Debug)]
pub struct PreparedCredential<'d> {
    document: &'d Value,
    /// The document's canonical text, kept with [`LeafText::Keep`] for an object: the proof's
    /// hashes came from it, and the inclusion check hashes it as the log leaf.
    canonical: Option<Vec<u8>>,
    summary: CredentialSummary,
    schema: Check,
    proof: ProofState,
}

/// Where a prepared credential's proof stands.
#[derive(Debug)]
enum ProofState {
    /// Well-formed; the signature is not checked yet.
    Pending(PreparedProof),
    /// Checked (or malformed): the outcome [`proof::verify`] would give.
    Done(Result<VerifiedProof, proof::ProofError>),
}

/// Whether [`prepare_credential`] keeps the document's canonical text for the inclusion
/// check, which hashes it as the log leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafText {
    /// The verdict will check inclusion: the document is written canonically once, and both
    /// the proof's hashes and the leaf's are taken from that text (a whole canonicalisation
    /// less per credential).
    Keep,
    /// No inclusion check: the proof's hashes are taken from the `Value`, which costs about
    /// a microsecond less than writing the whole document and cutting the proof out.
    Skip,
}

impl LeafText {
    /// [`LeafText::Keep`] when `log` holds evidence to check.
    pub fn for_log(log: &LogContext<'_>) -> LeafText {
        match log {
            LogContext::Evidence(_) => LeafText::Keep,
            LogContext::NotRequested | LogContext::Missing(_) => LeafText::Skip,
        }
    }
}

/// Runs every check of [`verify_credential`] that does not need the options' issuer, status
/// or log context, and prepares the proof up to its signature. `keys` remembers decoded
/// verification methods across credentials (a directory of credentials has few issuers).
pub fn prepare_credential<'d>(
    document: &'d Value,
    schemas: &SchemaSet,
    keys: &mut KeyCache,
    leaf: LeafText,
) -> PreparedCredential<'d> {
    let summary = CredentialSummary::of(document);
    let schema = check_schema(document, &summary, schemas);
    // With `LeafText::Keep`, the proof is prepared from the canonical text. Anything that
    // path does not handle (or that fails) is prepared from the `Value`, which names the
    // error.
    let (canonical, from_text) = match document.as_object() {
        Some(members) if leaf == LeafText::Keep => {
            let (text, spans) = jcs::canonicalize_object_members(members);
            let prepared = prepare_from_text(&text, &spans, keys);
            (Some(text), prepared)
        }
        _ => (None, None),
    };
    let prepared = match from_text {
        Some(prepared) => Ok(prepared),
        None => proof::prepare_with(document, ASSERTION_METHOD, keys),
    };
    let proof = match prepared {
        Ok(prepared) => ProofState::Pending(prepared),
        Err(error) => ProofState::Done(Err(error)),
    };
    PreparedCredential {
        document,
        canonical,
        summary,
        schema,
        proof,
    }
}

/// [`proof::prepare_canonical`] over a document's canonical text and its members' spans.
fn prepare_from_text(
    text: &[u8],
    spans: &[jcs::MemberSpan],
    keys: &mut KeyCache,
) -> Option<PreparedProof> {
    let text = std::str::from_utf8(text).ok()?;
    proof::prepare_canonical(
        text,
        jcs::member_text(text, spans, "proof")?,
        jcs::member_text(text, spans, "@context"),
        ASSERTION_METHOD,
        keys,
    )
}

/// Checks the signatures of every prepared credential still pending, as one batch; when the
/// batch fails, one by one, so each credential gets exactly its own outcome.
pub fn check_signatures(prepared: &mut [PreparedCredential<'_>]) {
    let pending: Vec<&PreparedProof> = prepared
        .iter()
        .filter_map(|credential| match &credential.proof {
            ProofState::Pending(proof) => Some(proof),
            ProofState::Done(_) => None,
        })
        .collect();
    let all_verified = proof::batch_verifies(&pending);
    for credential in prepared.iter_mut() {
        let state = std::mem::replace(
            &mut credential.proof,
            ProofState::Done(Err(proof::ProofError::MissingProof)),
        );
        credential.proof = match state {
            ProofState::Pending(proof) if all_verified => {
                ProofState::Done(Ok(proof.into_unchecked_facts()))
            }
            ProofState::Pending(proof) => ProofState::Done(proof.verify()),
            done @ ProofState::Done(_) => done,
        };
    }
}

/// Checkpoints opened and cosignatures checked while finishing a batch of verdicts, so that
/// requests relying on the same checkpoint (concurrent requests about one log) check its
/// log signature and cosignatures, each an Ed25519 verification, once per batch instead of
/// once per request. The results are exactly those of checking again.
#[derive(Debug, Default)]
pub struct CheckpointMemo {
    opened: Vec<Opened>,
    cosigned: Vec<Cosigned>,
}

/// A checkpoint opened with a log key, and what that gave.
#[derive(Debug)]
struct Opened {
    bytes: Vec<u8>,
    origin: String,
    log_vkey: String,
    result: Result<VerifiedCheckpoint, CheckpointError>,
}

/// A checkpoint's cosignatures checked against trusted cosigners, and what that gave.
#[derive(Debug)]
struct Cosigned {
    note: Vec<u8>,
    trusted: Vec<CosignerKey>,
    result: Result<Vec<String>, CosignatureError>,
}

impl CheckpointMemo {
    /// Most entries of each kind kept; a batch relies on few checkpoints.
    const CAPACITY: usize = 16;

    /// An empty memo.
    pub fn new() -> CheckpointMemo {
        CheckpointMemo::default()
    }

    /// [`checkpoint::open_checkpoint`], remembered.
    fn open(
        &mut self,
        bytes: &[u8],
        origin: &str,
        log_vkey: &str,
    ) -> Result<VerifiedCheckpoint, CheckpointError> {
        if let Some(opened) = self.opened.iter().find(|opened| {
            opened.bytes == bytes && opened.origin == origin && opened.log_vkey == log_vkey
        }) {
            return opened.result.clone();
        }
        let result = checkpoint::open_checkpoint(bytes, origin, log_vkey);
        if self.opened.len() >= CheckpointMemo::CAPACITY {
            self.opened.clear();
        }
        self.opened.push(Opened {
            bytes: bytes.to_vec(),
            origin: origin.to_owned(),
            log_vkey: log_vkey.to_owned(),
            result: result.clone(),
        });
        result
    }

    /// The names of the trusted cosigners whose cosignatures on `note` verify
    /// ([`cosignature::verify_cosignatures`]), remembered.
    fn cosigners(
        &mut self,
        note: &[u8],
        trusted: &[CosignerKey],
    ) -> Result<Vec<String>, CosignatureError> {
        if let Some(cosigned) = self
            .cosigned
            .iter()
            .find(|cosigned| cosigned.note == note && cosigned.trusted == trusted)
        {
            return cosigned.result.clone();
        }
        let result = cosignature::verify_cosignatures(note, trusted)
            .map(|found| found.into_iter().map(|found| found.name).collect());
        if self.cosigned.len() >= CheckpointMemo::CAPACITY {
            self.cosigned.clear();
        }
        self.cosigned.push(Cosigned {
            note: note.to_vec(),
            trusted: trusted.to_vec(),
            result: result.clone(),
        });
        result
    }
}

impl PreparedCredential<'_> {
    /// The document's canonical text, which is its log entry's bytes, when it was kept
    /// ([`LeafText::Keep`] and an object): what a verifier compares with the entries that
    /// carry the credential's id, to rely only on the entry that is this very credential.
    pub fn canonical(&self) -> Option<&[u8]> {
        self.canonical.as_deref()
    }

    /// The verdict: the signature is checked here if [`check_signatures`] has not done it,
    /// then the issuer binding, validity and whatever `options` asks for. `options.schemas`
    /// is not used again: the schema check ran when the credential was prepared.
    pub fn finish(self, options: &VerifyOptions<'_>) -> Verdict {
        self.finish_with(options, &mut CheckpointMemo::new())
    }

    /// [`PreparedCredential::finish`], with checkpoints checked for earlier verdicts of the
    /// batch remembered in `memo`.
    pub fn finish_with(self, options: &VerifyOptions<'_>, memo: &mut CheckpointMemo) -> Verdict {
        let document = self.document;
        let proof_result = match self.proof {
            ProofState::Pending(proof) => proof.verify(),
            ProofState::Done(result) => result,
        };
        let mut checks = vec![
            self.schema,
            check_proof(&proof_result),
            check_issuer(document, &proof_result),
            check_validity(document, options.now),
        ];
        match &options.issuers {
            IssuerContext::NotRequested => {}
            IssuerContext::Missing(reason) => {
                checks.push(Check::fail(CheckName::Authority, reason));
            }
            IssuerContext::Registry { registry, position } => {
                checks.push(check_authority(
                    document,
                    &proof_result,
                    registry,
                    *position,
                ));
            }
        }
        if let Some(fact) = &options.status {
            checks.push(check_status(fact, options.now));
        }
        let mut log = None;
        match &options.log {
            LogContext::NotRequested => {}
            LogContext::Missing(reason) => {
                checks.push(Check::fail(CheckName::Inclusion, reason));
            }
            LogContext::Evidence(evidence) => {
                let canonical = match self.canonical {
                    Some(text) => text,
                    None => jcs::canonicalize(document),
                };
                let (check, status) = check_inclusion(&canonical, evidence, options.now, memo);
                checks.push(check);
                log = status;
            }
        }
        Verdict {
            verified: checks.iter().all(|check| check.ok),
            credential: self.summary,
            checks,
            checked_at: format_datetime(options.now),
            log,
        }
    }
}

fn check_schema(document: &Value, summary: &CredentialSummary, schemas: &SchemaSet) -> Check {
    let Some(credential_type) = summary.credential_type else {
        return Check::fail(
            CheckName::Schema,
            "type does not name exactly one registry credential type",
        );
    };
    match schemas.validate(SchemaKind::Credential(credential_type), document) {
        Ok(()) => Check::pass(
            CheckName::Schema,
            format!("matches the {credential_type} schema"),
        ),
        Err(error) => Check::fail(CheckName::Schema, error.to_string()),
    }
}

fn check_proof(result: &Result<VerifiedProof, proof::ProofError>) -> Check {
    match result {
        Ok(verified) => Check::pass(
            CheckName::Proof,
            format!(
                "{} signature by {}",
                verified.cryptosuite.as_str(),
                verified.verification_method
            ),
        ),
        Err(error) => Check::fail(CheckName::Proof, error.to_string()),
    }
}

/// The issuer must be the did:key that controls the proof's verification method. Judged from
/// the method named in the proof even when the signature failed, so both failures show.
fn check_issuer(
    document: &Value,
    proof_result: &Result<VerifiedProof, proof::ProofError>,
) -> Check {
    let Some(issuer) = document.get("issuer").and_then(Value::as_str) else {
        return Check::fail(CheckName::Issuer, "issuer is missing or not a string");
    };
    // The usual case without decoding the issuer's key a second time: a did:key equals the
    // controller exactly when it is the same `did:key:<multikey>` text (parsing it would give
    // the same multikey and the same key).
    if let Ok(verified) = proof_result
        && issuer
            .strip_prefix(talent_integrity::did::DID_KEY_PREFIX)
            .is_some_and(|multikey| multikey == verified.controller.multikey())
    {
        return Check::pass(CheckName::Issuer, format!("signed by the issuer {issuer}"));
    }
    let issuer_did: DidKey = match issuer.parse() {
        Ok(did) => did,
        Err(error) => {
            return Check::fail(CheckName::Issuer, format!("issuer {issuer:?}: {error}"));
        }
    };
    let controller = match proof_result {
        Ok(verified) => verified.controller.clone(),
        Err(_) => {
            let method = document["proof"]["verificationMethod"].as_str();
            match method.map(DidKey::from_verification_method) {
                Some(Ok(did)) => did,
                _ => {
                    return Check::skip(
                        CheckName::Issuer,
                        "the proof names no usable verification method",
                    );
                }
            }
        }
    };
    if controller == issuer_did {
        Check::pass(CheckName::Issuer, format!("signed by the issuer {issuer}"))
    } else {
        Check::fail(
            CheckName::Issuer,
            format!("issuer {issuer} is not the controller of the signing key {controller}"),
        )
    }
}

/// Whether the signer could issue the credential when it signed it (`proof.created`, or
/// `validFrom` for a proof without one), at its place in the log when known.
fn check_authority(
    document: &Value,
    proof_result: &Result<VerifiedProof, proof::ProofError>,
    registry: &IssuerRegistry,
    position: Option<u64>,
) -> Check {
    let Ok(verified) = proof_result else {
        return Check::skip(CheckName::Authority, "the proof did not verify");
    };
    let signed = signing_time(document).or_else(|| {
        document["validFrom"]
            .as_str()
            .and_then(crate::credential::parse_datetime)
    });
    let Some(signed) = signed else {
        return Check::fail(
            CheckName::Authority,
            "neither proof.created nor validFrom says when it was signed",
        );
    };
    let when = When {
        position,
        signed,
        admitted: None,
    };
    match registry.authorise_credential(document, &verified.controller, when) {
        Ok(authorisation) => Check::pass(CheckName::Authority, authorisation.describe()),
        Err(error) => Check::fail(
            CheckName::Authority,
            format!("{} ({})", error, error.code()),
        ),
    }
}

fn check_status(fact: &StatusFact, now: DateTime<Utc>) -> Check {
    if let Some(problem) = &fact.problem {
        return Check::fail(CheckName::Status, format!("status unknown: {problem}"));
    }
    let status = fact.status;
    let mut detail = match fact.changed_at {
        Some(index) => format!(
            "{} {} ({}), set by entry {index}; as of log size {}",
            status.code(),
            status.label_zh(),
            status.label_en(),
            fact.as_of_size
        ),
        None => format!(
            "{} {} ({}): no status change logged as of log size {}",
            status.code(),
            status.label_zh(),
            status.label_en(),
            fact.as_of_size
        ),
    };
    let age = fact.as_of.map(|at| (now - at).num_seconds().max(0));
    if let (Some(at), Some(age)) = (fact.as_of, age) {
        detail.push_str(&format!(" ({}, {age} s ago)", format_datetime(at)));
    }
    if let (Some(age), Some(max)) = (age, fact.max_age_seconds)
        && age > max
    {
        return Check::fail(
            CheckName::Status,
            format!("{detail}: older than the {max} s allowed"),
        );
    }
    if status.is_valid() {
        Check::pass(CheckName::Status, detail)
    } else {
        Check::fail(CheckName::Status, detail)
    }
}

fn check_inclusion(
    canonical: &[u8],
    evidence: &LogEvidence<'_>,
    now: DateTime<Utc>,
    memo: &mut CheckpointMemo,
) -> (Check, Option<LogStatus>) {
    let checkpoint = match memo.open(evidence.checkpoint, evidence.origin, evidence.log_vkey) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            return (
                Check::fail(CheckName::Inclusion, format!("checkpoint: {error}")),
                None,
            );
        }
    };
    let cosigners = match memo.cosigners(evidence.checkpoint, evidence.cosigners) {
        Ok(found) => found,
        Err(error) => {
            return (
                Check::fail(CheckName::Inclusion, format!("cosignatures: {error}")),
                None,
            );
        }
    };
    let status = LogStatus {
        origin: evidence.origin.to_owned(),
        tree_size: checkpoint.size(),
        cosigners,
        quorum: evidence.quorum,
        confirmed_at: evidence.confirmed_at.map(format_datetime),
        age_seconds: evidence
            .confirmed_at
            .map(|at| (now - at).num_seconds().max(0)),
    };
    let proof = evidence.proof;
    if proof.tree_size != checkpoint.size() {
        let detail = format!(
            "the proof is for tree size {} but the checkpoint is of size {}",
            proof.tree_size,
            checkpoint.size()
        );
        return (Check::fail(CheckName::Inclusion, detail), Some(status));
    }
    if let Err(error) = proof.verify(canonical, checkpoint.root()) {
        let detail = format!(
            "not entry {} of {}: {error}",
            proof.leaf_index, evidence.origin
        );
        return (Check::fail(CheckName::Inclusion, detail), Some(status));
    }
    let mut detail = format!(
        "entry {} of {} (checkpoint size {}, signed by the log key",
        proof.leaf_index,
        evidence.origin,
        checkpoint.size()
    );
    if !evidence.cosigners.is_empty() {
        detail.push_str(&format!(
            "; cosigned by {} of {} required: {}",
            status.cosigners.len(),
            evidence.quorum,
            if status.cosigners.is_empty() {
                "none".to_owned()
            } else {
                status.cosigners.join(", ")
            }
        ));
    }
    if let Some(age) = status.age_seconds {
        detail.push_str(&format!("; mirrored copy confirmed {age} s ago"));
    }
    detail.push(')');
    if status.cosigners.len() < evidence.quorum {
        return (
            Check::fail(
                CheckName::Inclusion,
                format!(
                    "{detail}: not yet witnessed by a quorum ({} of the {} cosignatures required)",
                    status.cosigners.len(),
                    evidence.quorum
                ),
            ),
            Some(status),
        );
    }
    (Check::pass(CheckName::Inclusion, detail), Some(status))
}

fn check_validity(document: &Value, now: DateTime<Utc>) -> Check {
    let read = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        match document.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => parse_datetime(text)
                .map(Some)
                .ok_or_else(|| format!("{name} {text:?} is not a date-time")),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    let (valid_from, valid_until) = match (read("validFrom"), read("validUntil")) {
        (Ok(from), Ok(until)) => (from, until),
        (Err(error), _) | (_, Err(error)) => return Check::fail(CheckName::Validity, error),
    };
    let Some(valid_from) = valid_from else {
        return Check::fail(CheckName::Validity, "validFrom is missing");
    };
    if now < valid_from {
        return Check::fail(
            CheckName::Validity,
            format!("not valid before {}", format_datetime(valid_from)),
        );
    }
    match valid_until {
        Some(until) if now >= until => Check::fail(
            CheckName::Validity,
            format!("expired at {}", format_datetime(until)),
        ),
        Some(until) => Check::pass(
            CheckName::Validity,
            format!(
                "valid from {} until {}",
                format_datetime(valid_from),
                format_datetime(until)
            ),
        ),
        None => Check::pass(
            CheckName::Validity,
            format!("valid from {}, no end date", format_datetime(valid_from)),
        ),
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;
    use crate::credential::{self, IssueRequest};
    use crate::identifiers::CredentialId;
    use ed25519_dalek::SigningKey;
    use serde_json::json;
    use talent_integrity::proof::ProofOptions;

    fn now() -> DateTime<Utc> {
        parse_datetime("2026-11-26T03:00:00Z").expect("valid time")
    }

    /// A signed skill-level credential numbered `serial`, by `key`.
    fn signed(key: &SigningKey, serial: u8) -> Value {
        let request = IssueRequest::from_json(&json!({
            "type": "ProfessionalTitleCredential",
            "credentialSubject": {
                "name": format!("王五{serial}"),
                "idNumber": "11010519491231002X",
                "employer": {"name": "重庆某科技有限公司", "creditCode": "91500000MA5U1234XH"},
                "series": "工程",
                "specialty": "软件工程",
                "level": "正高级",
                "titleName": "正高级工程师",
                "committee": "重庆市工程技术高级职称评审委员会",
                "conferredOn": "2025-12-30"
            },
            "validUntil": "2036-11-26T00:00:00Z"
        }))
        .expect("request");
        let issuer = DidKey::from_verifying_key(&key.verifying_key());
        let id = format!("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c{serial:02x}");
        let document = credential::prepare(
            request,
            &issuer,
            &"cq-sc".parse().expect("region"),
            CredentialId::parse_lenient(&id).expect("id"),
            now(),
        )
        .expect("prepares")
        .document;
        let options = ProofOptions {
            created: "2026-11-26T03:00:00Z".into(),
            proof_purpose: ASSERTION_METHOD,
        };
        proof::sign(&document, key, &options).expect("signs")
    }

    /// Twelve credentials by two issuers, so the batch merges several signers' terms.
    fn corpus() -> Vec<Value> {
        let keys = [
            SigningKey::from_bytes(&[11u8; 32]),
            SigningKey::from_bytes(&[12u8; 32]),
        ];
        (0..12u8)
            .map(|serial| signed(&keys[usize::from(serial % 2)], serial))
            .collect()
    }

    /// Batch verdicts, checked equal to the one-by-one verdicts.
    fn batch_verdicts(documents: &[Value], schemas: &SchemaSet) -> Vec<Verdict> {
        let options = VerifyOptions {
            now: now(),
            schemas,
            log: LogContext::NotRequested,
            issuers: IssuerContext::NotRequested,
            status: None,
        };
        let refs: Vec<&Value> = documents.iter().collect();
        let verdicts = verify_credentials(&refs, &options, &mut KeyCache::new());
        assert_eq!(verdicts.len(), documents.len());
        for (document, verdict) in documents.iter().zip(&verdicts) {
            assert_eq!(verdict, &verify_credential(document, &options));
        }
        verdicts
    }

    fn failed(verdict: &Verdict) -> Vec<CheckName> {
        verdict
            .checks
            .iter()
            .filter(|check| !check.ok)
            .map(|check| check.name)
            .collect()
    }

    #[test]
    fn a_batch_of_good_credentials_all_verify() {
        let schemas = SchemaSet::new();
        let verdicts = batch_verdicts(&corpus(), &schemas);
        assert!(verdicts.iter().all(|verdict| verdict.verified));
    }

    #[test]
    fn one_bad_signature_among_good_ones_fails_alone() {
        let schemas = SchemaSet::new();
        let mut documents = corpus();
        // A changed subject keeps the schema, so only the signature breaks.
        documents[7]["credentialSubject"]["name"] = json!("李四");
        let verdicts = batch_verdicts(&documents, &schemas);
        for (index, verdict) in verdicts.iter().enumerate() {
            if index == 7 {
                assert_eq!(failed(verdict), [CheckName::Proof]);
            } else {
                assert!(verdict.verified, "credential {index}: {verdict:?}");
            }
        }
    }

    #[test]
    fn malformed_and_foreign_proofs_keep_their_own_verdicts() {
        let schemas = SchemaSet::new();
        let mut documents = corpus();
        documents[0]["proof"]
            .as_object_mut()
            .expect("proof")
            .remove("proofValue");
        documents[3]["issuer"] = documents[4]["issuer"].clone();
        documents[9] = json!({"not": "a credential"});
        let verdicts = batch_verdicts(&documents, &schemas);
        let failing: Vec<usize> = verdicts
            .iter()
            .enumerate()
            .filter(|(_, verdict)| !verdict.verified)
            .map(|(index, _)| index)
            .collect();
        assert_eq!(failing, [0, 3, 9]);
        assert!(failed(&verdicts[3]).contains(&CheckName::Issuer));
    }

    /// A change made to a signed document.
    type Edit = Box<dyn Fn(&mut Value)>;

    #[test]
    fn keeping_the_leaf_text_changes_no_verdict() {
        let schemas = SchemaSet::new();
        let key = SigningKey::from_bytes(&[11u8; 32]);
        let good = signed(&key, 1);
        let context = good["@context"].clone();
        let without_proof_member = |name: &'static str| -> Edit {
            Box::new(move |d| {
                d["proof"].as_object_mut().expect("proof").remove(name);
            })
        };
        let edits: Vec<Edit> = vec![
            Box::new(|_| {}),
            Box::new(|d| d["credentialSubject"]["name"] = json!("李四")),
            without_proof_member("@context"),
            Box::new(move |d| d["proof"]["@context"] = json!([context[0].clone()])),
            Box::new(|d| d["proof"]["@context"] = json!(["https://example.org/other"])),
            Box::new(|d| d["@context"] = json!(["https://www.w3.org/ns/credentials/v2"])),
            Box::new(|d| d["proof"]["created"] = json!(5)),
            Box::new(|d| d["proof"]["proofValue"] = json!("z111")),
            without_proof_member("proofValue"),
            Box::new(|d| d["proof"]["type"] = json!("Ed25519Signature2020")),
            Box::new(|d| d["proof"] = json!("not an object")),
            Box::new(|d| d["tab\t"] = json!(1)),
            Box::new(|d| d["proof"]["note"] = json!("added after signing")),
            Box::new(|d| *d = json!([1, 2])),
        ];
        let options = VerifyOptions {
            now: now(),
            schemas: &schemas,
            log: LogContext::NotRequested,
            issuers: IssuerContext::NotRequested,
            status: None,
        };
        for (index, edit) in edits.iter().enumerate() {
            let mut document = good.clone();
            edit(&mut document);
            let verdict = |leaf| {
                prepare_credential(&document, &schemas, &mut KeyCache::new(), leaf).finish(&options)
            };
            let kept = verdict(LeafText::Keep);
            assert_eq!(kept, verdict(LeafText::Skip), "edit {index}");
            // Only the unedited credential verifies (its proof signs its own `@context`).
            assert_eq!(kept.verified, index == 0, "edit {index}: {kept:?}");
        }
    }

    #[test]
    fn an_empty_batch_has_no_verdicts() {
        let schemas = SchemaSet::new();
        assert!(batch_verdicts(&[], &schemas).is_empty());
    }

    #[test]
    fn a_non_canonical_s_fails_the_batch_and_the_single_check() {
        let key = SigningKey::from_bytes(&[11u8; 32]);
        let document = signed(&key, 1);
        let mut signature = talent_integrity::multibase::decode_base58btc(
            document["proof"]["proofValue"]
                .as_str()
                .expect("proofValue"),
        )
        .expect("base58");
        // s + ℓ: the same scalar mod ℓ, not in canonical form.
        const ELL: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (byte, add) in signature[32..].iter_mut().zip(ELL) {
            let sum = u16::from(*byte) + u16::from(add) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        let mut tampered = document.clone();
        tampered["proof"]["proofValue"] =
            talent_integrity::multibase::encode_base58btc(&signature).into();
        let prepared = proof::prepare(&tampered, ASSERTION_METHOD).expect("well-formed");
        assert!(!proof::batch_verifies(&[&prepared]));
        assert!(prepared.verify_signature().is_err());
        let good = proof::prepare(&document, ASSERTION_METHOD).expect("well-formed");
        assert!(proof::batch_verifies(&[&good]));
    }
}
