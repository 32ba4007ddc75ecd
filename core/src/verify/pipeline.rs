//! The pipeline: a presented credential is prepared (schema, canonical text, proof up to its
//! signature), its signature checked (alone or in an Ed25519 batch), then finished into a
//! [`Verdict`] with the checks its options ask for.

use serde_json::Value;

use crate::credential::{CredentialView, VerifiedCredential, format_datetime};
use crate::schema::SchemaSet;
use talent_integrity::did::KeyCache;
use talent_integrity::jcs;
use talent_integrity::proof::{self, ASSERTION_METHOD, PreparedProof, VerifiedProof};

use super::checks::{
    check_authority, check_inclusion, check_issuer, check_proof, check_schema, check_status,
    check_validity,
};
use super::memo::CheckpointMemo;
use super::options::{IssuerContext, LogContext, VerifyOptions};
use super::report::{Check, CheckName, CredentialSummary, Verdict};

/// Verifies a presented credential.
pub fn verify_credential(document: &Value, options: &VerifyOptions<'_>) -> Verdict {
    let leaf = LeafText::for_log(&options.log);
    prepare_credential(document, options.schemas, &mut KeyCache::new(), leaf).finish(options)
}

/// A verdict, and the credential it verified.
#[derive(Debug)]
pub struct Verification {
    /// The verdict.
    pub verdict: Verdict,
    /// The credential, when every check passed and inclusion in a member's log was one of
    /// them ([`LogContext::Evidence`], the member being [`super::LogEvidence::member`]);
    /// `None` for any other verdict, one without a log check included.
    pub verified: Option<VerifiedCredential>,
}

/// [`verify_credential`], with the verified credential when it passed with log evidence:
/// what recognition and the other readers of verified credentials take.
pub fn verify(document: &Value, options: &VerifyOptions<'_>) -> Verification {
    let leaf = LeafText::for_log(&options.log);
    prepare_credential(document, options.schemas, &mut KeyCache::new(), leaf)
        .conclude_with(options, &mut CheckpointMemo::new())
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
    /// The document, read once.
    view: CredentialView<'d>,
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
    let view = CredentialView::of(document);
    let summary = CredentialSummary::of(&view);
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
        view,
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
        self.judge(options, memo, false).verdict
    }

    /// [`PreparedCredential::finish_with`], with the [`VerifiedCredential`] when the verdict
    /// passed with log evidence.
    pub fn conclude_with(
        self,
        options: &VerifyOptions<'_>,
        memo: &mut CheckpointMemo,
    ) -> Verification {
        self.judge(options, memo, true)
    }

    /// The verdict, and with `keep` the credential it verified.
    fn judge(
        self,
        options: &VerifyOptions<'_>,
        memo: &mut CheckpointMemo,
        keep: bool,
    ) -> Verification {
        let view = self.view;
        let document = view.document();
        let proof_result = match self.proof {
            ProofState::Pending(proof) => proof.verify(),
            ProofState::Done(result) => result,
        };
        let mut checks = vec![
            self.schema,
            check_proof(&proof_result),
            check_issuer(&view, &proof_result),
            check_validity(document, options.now),
        ];
        match &options.issuers {
            IssuerContext::NotRequested => {}
            IssuerContext::Missing(reason) => {
                checks.push(Check::fail(CheckName::Authority, reason));
            }
            IssuerContext::Registry { registry, position } => {
                checks.push(check_authority(&view, &proof_result, registry, *position));
            }
        }
        if let Some(fact) = &options.status {
            checks.push(check_status(fact, options.now));
        }
        let mut log = None;
        // The member whose log the verdict relied on, and the entry's bytes.
        let mut logged = None;
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
                logged = Some((evidence.member(), canonical));
            }
        }
        let verdict = Verdict {
            verified: checks.iter().all(|check| check.ok),
            credential: self.summary,
            checks,
            checked_at: format_datetime(options.now),
            log,
        };
        let verified =
            match logged {
                Some((member, canonical)) if keep && verdict.verified => Some(
                    VerifiedCredential::new(document.clone(), member.to_owned(), canonical),
                ),
                _ => None,
            };
        Verification { verdict, verified }
    }
}

#[cfg(test)]
mod batch_tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::credential::{self, IssueRequest, parse_datetime};
    use crate::identifiers::CredentialId;
    use ed25519_dalek::SigningKey;
    use serde_json::json;
    use talent_integrity::did::DidKey;
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
            &credential::Namespace::at("https://cq-sc.example"),
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
