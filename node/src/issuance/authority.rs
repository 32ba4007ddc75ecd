//! Signing as the authority: credentials issued on an operator's request (one or a batch),
//! statements the node signs itself, and the rotation of the authority's key.

use std::sync::{Arc, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;
use talent_core::credential::{self, IssueRequest};
use talent_core::identifiers::CredentialId;
use talent_core::log_entry::EntryError;
use talent_core::schema::SchemaKind;
use talent_integrity::did::{DidKey, KeyKind};
use talent_integrity::keys::IssuerKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions, ProofSigner};
use talent_tlog::bundle::MAX_ENTRY_BYTES;
use uuid::Uuid;

use super::checks::{check_agreement, check_batch_size};
use super::error::AccessError;
use super::writer::{Signed, single};
use super::{IssuanceService, IssueError, IssuedCredential};
use crate::metrics::Signer;
use crate::tokens::{Operator, Role};

/// Requests of a batch validated and signed before its task lets the server thread serve
/// others: one to two milliseconds of work.
const SIGN_BETWEEN_YIELDS: usize = 16;

/// The authority's signing key and its DID.
#[derive(Debug)]
pub(super) struct Authority {
    pub(super) signer: ProofSigner,
    pub(super) did: DidKey,
}

impl Authority {
    /// The authority that signs with `key`.
    pub(super) fn new(key: IssuerKey) -> Authority {
        let did = key.did();
        Authority {
            signer: ProofSigner::new(key),
            did,
        }
    }

    /// `document` signed at `now`, and its log entry bytes: the document is canonicalised
    /// once, for the signature and the entry alike.
    pub(super) fn sign_entry(
        &self,
        document: Value,
        now: DateTime<Utc>,
    ) -> Result<(Value, Vec<u8>), IssueError> {
        let signed = self
            .signer
            .sign_canonical(document, &proof_options(now))
            .map_err(|error| IssueError::Internal(error.into()))?;
        if signed.canonical.len() > MAX_ENTRY_BYTES {
            return Err(IssueError::Entry(EntryError::TooLarge(
                signed.canonical.len(),
            )));
        }
        Ok((signed.document, signed.canonical))
    }
}

/// The options of a proof the authority makes at `now`.
fn proof_options(now: DateTime<Utc>) -> ProofOptions {
    ProofOptions {
        created: credential::format_datetime(now),
        proof_purpose: ASSERTION_METHOD,
    }
}

impl IssuanceService {
    /// Runs `sign` with the authority's current key when it is Ed25519, giving it the
    /// authority's DID and a function that signs bytes with that key: the compact JWS of
    /// the holders' SD-JWT VCs and presentation requests (docs/holders.md). `None` for an
    /// SM2 authority: JOSE registers no SM2 algorithm, so such a member makes none.
    pub fn with_authority_jws_key<T>(
        &self,
        sign: impl FnOnce(&DidKey, &dyn Fn(&[u8]) -> [u8; 64]) -> T,
    ) -> Option<T> {
        use ed25519_dalek::Signer;
        let authority = self.current_authority();
        let key = authority.signer.key().ed25519()?;
        Some(sign(&authority.did, &|bytes| key.sign(bytes).to_bytes()))
    }

    /// Validates, signs and durably logs one credential as the authority.
    ///
    /// # Errors
    /// [`IssueError::Access`], [`IssueError::Schema`], [`IssueError::Credential`],
    /// [`IssueError::NotAdmitted`] or [`IssueError::Entry`] for a bad request,
    /// [`IssueError::Log`] when the log is busy or failed.
    pub async fn issue(
        &self,
        operator: &Operator,
        body: &Value,
    ) -> Result<IssuedCredential, IssueError> {
        let started = Instant::now();
        let issued = self
            .issue_batch_inner(operator, std::slice::from_ref(body))
            .await
            .map_err(|error| match error {
                IssueError::Batch(mut items) if items.len() == 1 => items.remove(0).1,
                other => other,
            });
        self.count_issued(Signer::Authority, started, issued.as_ref().map(Vec::len));
        single(issued?)
    }

    /// Counts an issuance request that began at `started` in the metrics: `issued`
    /// credentials, or refused.
    pub(super) fn count_issued<E>(
        &self,
        signer: Signer,
        started: Instant,
        issued: Result<usize, E>,
    ) {
        match issued {
            Ok(count) => {
                self.metrics
                    .issued(signer, count, started.elapsed().as_secs_f64());
            }
            Err(_) => self.metrics.refused(),
        }
    }

    /// Validates every request first, then signs and logs all of them as one durable
    /// append. One invalid request refuses the whole batch.
    ///
    /// # Errors
    /// [`IssueError::BatchSize`], [`IssueError::Batch`] listing every invalid item,
    /// [`IssueError::Log`].
    pub async fn issue_batch(
        &self,
        operator: &Operator,
        bodies: &[Value],
    ) -> Result<Vec<IssuedCredential>, IssueError> {
        let started = Instant::now();
        let issued = match check_batch_size(bodies.len()) {
            Ok(()) => self.issue_batch_inner(operator, bodies).await,
            Err(error) => Err(error),
        };
        self.count_issued(Signer::Authority, started, issued.as_ref().map(Vec::len));
        issued
    }

    async fn issue_batch_inner(
        &self,
        operator: &Operator,
        bodies: &[Value],
    ) -> Result<Vec<IssuedCredential>, IssueError> {
        // The operator as authenticated (or as an import's job last re-checked it): refused
        // roles do not wait for the gate. The token is read as it is now below, at the write.
        self.may_issue(operator, None)?;
        // Each request is read once, here, into its typed form.
        let mut requests = Vec::with_capacity(bodies.len());
        for (position, body) in bodies.iter().enumerate() {
            requests.push(self.read_request(body));
            if position % SIGN_BETWEEN_YIELDS == SIGN_BETWEEN_YIELDS - 1 {
                tokio::task::yield_now().await;
            }
        }
        // Accreditations and agreements change the issuer history: they need the gate alone.
        let exclusive = requests.iter().any(|request| {
            request
                .as_ref()
                .is_ok_and(|request| !request.credential_type.is_talent())
        });
        let gate = self.enter(exclusive).await;
        // Re-checked at the moment of writing: a batch that waited for the gate (or an
        // import's next batch) is not written for a token revoked meanwhile.
        let operator = &self.current_operator(operator)?;
        self.may_issue(operator, None)?;
        // The gate is held: no rotation changes the key until the append is done.
        let authority = self.current_authority();
        let now = Utc::now();
        let mut signed = Vec::with_capacity(bodies.len());
        let mut invalid = Vec::new();
        for (position, request) in requests.into_iter().enumerate() {
            match request.and_then(|request| self.sign_request(operator, &authority, request, now))
            {
                Ok(item) => signed.push(item),
                Err(error) => invalid.push((position, error)),
            }
            // Signing a batch of 1,000 takes up to a tenth of a second; the other
            // connections of this server thread are served in between (see crate::server).
            if position % SIGN_BETWEEN_YIELDS == SIGN_BETWEEN_YIELDS - 1 {
                tokio::task::yield_now().await;
            }
        }
        if !invalid.is_empty() {
            return Err(IssueError::Batch(invalid));
        }
        self.admit_and_append(&gate, signed).await
    }

    /// An issue request checked against its schema and read into its typed form.
    fn read_request(&self, body: &Value) -> Result<IssueRequest, IssueError> {
        self.schemas
            .validate(SchemaKind::IssueRequest, body)
            .map_err(IssueError::Schema)?;
        IssueRequest::from_json(body).map_err(IssueError::Credential)
    }

    /// Makes `request` a credential, signed by `authority` at `now`.
    fn sign_request(
        &self,
        operator: &Operator,
        authority: &Authority,
        request: IssueRequest,
        now: DateTime<Utc>,
    ) -> Result<Signed, IssueError> {
        self.may_issue(operator, Some(request.credential_type))?;
        let id = CredentialId::from_uuid(Uuid::now_v7());
        let namespace = self.issuers.own();
        let namespace = namespace.namespace();
        let mut prepared =
            credential::prepare(request, &authority.did, &self.member, namespace, id, now)
                .map_err(IssueError::Credential)?;
        let slot = self.status_lists.allocate()?;
        prepared.document["credentialStatus"] = self.status_lists.entries(slot);
        // The request schema and `prepare` together must yield a valid credential; checking
        // the result too means a gap between them is refused here, never signed.
        self.schemas
            .validate(
                SchemaKind::Credential(prepared.credential_type),
                &prepared.document,
            )
            .map_err(IssueError::Schema)?;
        check_agreement(&prepared.document)?;
        let (object, entry) = authority.sign_entry(prepared.document, now)?;
        Ok(Signed {
            id: prepared.id,
            object,
            entry,
            signer: authority.did.clone(),
            credential_type: Some(prepared.credential_type),
            resident_id: prepared.resident_id,
            status_slot: Some(slot),
        })
    }

    /// `document` signed at `now` with the authority's current key (a status list
    /// credential, which is published, not logged).
    pub(super) fn sign_as_authority(
        &self,
        document: &Value,
        now: DateTime<Utc>,
    ) -> Result<Value, IssueError> {
        proof::sign(
            document,
            self.current_authority().signer.key(),
            &proof_options(now),
        )
        .map_err(|error| IssueError::Internal(error.into()))
    }

    /// A statement signed now by the authority's current key, ready for the log.
    pub(super) fn authority_statement(
        &self,
        id: CredentialId,
        unsigned: Value,
        now: DateTime<Utc>,
    ) -> Result<Signed, IssueError> {
        let authority = self.current_authority();
        let (object, entry) = authority.sign_entry(unsigned, now)?;
        Ok(Signed {
            id,
            object,
            entry,
            signer: authority.did.clone(),
            credential_type: None,
            resident_id: None,
            status_slot: None,
        })
    }

    /// Rotates the authority's key (admin only) to a new key of `kind` (the current key's
    /// kind when `None`: an Ed25519 member may move to SM2 and back): a new key is staged on disk, the
    /// `IssuerKeyRotation` signed by the current key is logged, then the new key becomes
    /// `keys/authority.key` and signs everything after. What the old key signed stays valid.
    /// A crash between the log and the key file is finished at the next start.
    ///
    /// # Errors
    /// [`IssueError::Access`] for other roles, [`IssueError::Log`], [`IssueError::Internal`].
    pub async fn rotate_authority(
        &self,
        operator: &Operator,
        kind: Option<KeyKind>,
    ) -> Result<IssuedCredential, IssueError> {
        let operator = &self.current_operator(operator)?;
        if operator.role != Role::Admin {
            return Err(IssueError::Access(AccessError::Role {
                role: operator.role,
                action: "rotate the authority key (admin only)",
            }));
        }
        let gate = self.enter(true).await;
        self.current_operator(operator)?;
        let kind = kind.unwrap_or_else(|| self.current_authority().did.kind());
        let next = crate::keys::generate_authority_key(kind);
        let next_did = next.did();
        crate::keys::MemberKeys::stage_authority_successor(&self.data_dir, &next)
            .map_err(|error| IssueError::Internal(error.into()))?;
        let now = Utc::now();
        let current = self.current_authority();
        let rotation = talent_core::statement::KeyRotation {
            id: CredentialId::from_uuid(Uuid::now_v7()),
            previous_key: current.did.clone(),
            next_key: next_did,
            effective: now,
            issuer: current.did.clone(),
        };
        let statement = self.authority_statement(rotation.id, rotation.to_unsigned(), now)?;
        let issued = match self.append_one(&gate, statement).await {
            Ok(issued) => issued,
            Err(error) => {
                if let Err(cleanup) =
                    crate::keys::MemberKeys::discard_authority_successor(&self.data_dir)
                {
                    tracing::error!(error = format!("{cleanup:#}"), "staged key not removed");
                }
                return Err(error);
            }
        };
        // The rotation is durable: from here the new key is the authority's, whatever
        // happens to the file (a failed rename is finished at the next start).
        *self
            .authority
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Authority::new(next));
        if let Err(error) = crate::keys::MemberKeys::promote_authority_successor(&self.data_dir) {
            tracing::error!(
                error = format!("{error:#}"),
                "the rotation is logged but authority.key was not replaced; the next start finishes it"
            );
        }
        Ok(issued)
    }
}
