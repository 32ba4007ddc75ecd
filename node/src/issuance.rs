//! Writing to the member's log: issuing credentials as the authority, accepting credentials
//! and statements that delegated issuers signed themselves (`credentials:submit`), and
//! status changes. Every entry is admitted by the log's issuer registry (scope,
//! accreditation window, key history) before it is appended, and answered only once durable.
//! The HTTP handlers and later the bulk importer call this.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde_json::Value;
use talent_core::credential::{self, CredentialError, CredentialType, IssueRequest};
use talent_core::identifiers::{CredentialId, RegionId, ResidentIdNumber};
use talent_core::issuers::{AdmitError, Admitted, IssuerRegistry};
use talent_core::log_entry::{self, EntryError};
use talent_core::schema::{SchemaError, SchemaKind, SchemaSet};
use talent_core::statement::{StatementError, StatusChange};
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofError, ProofOptions};
use uuid::Uuid;

use crate::issuers::{self as registries, Issuers};
use crate::log::Log;
use crate::log::sequencer::{Appended, PendingEntry, SequenceError, Sequencer};
use crate::reservations::{Reservations, ReserveError};
use crate::status_lists::{SlotError, StatusLists};
use crate::store::{EntryEffects, LogSpace, SlotHolder, Store, StoreError};
use crate::tokens::{Operator, Role, TokenError, Tokens};

/// Most credentials one batch request may carry.
pub const MAX_BATCH_CREDENTIALS: usize = 1000;
/// Requests of a batch validated and signed before its task lets the server thread serve
/// others: one to two milliseconds of work.
const SIGN_BETWEEN_YIELDS: usize = 16;
/// How far a submitted object's `proof.created` may be from the node's clock, in seconds:
/// the log's order and the signing times must agree for withdrawals and rotations to be
/// judged the same way everywhere.
pub const SUBMIT_CLOCK_SKEW_SECONDS: i64 = 300;

/// Why an operator may not do what it asked. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The role does not allow the action.
    #[error("a {role} token may not {action}")]
    Role {
        /// The operator's role.
        role: Role,
        /// What was asked.
        action: &'static str,
    },
    /// An issuer token acting for another issuer.
    #[error("this token acts for {token_issuer}, not for {issuer}")]
    IssuerMismatch {
        /// The token's issuer.
        token_issuer: String,
        /// The issuer of the object.
        issuer: String,
    },
    /// The node cannot sign for the token's issuer.
    #[error(
        "this node does not hold the key of {issuer}; sign the credential yourself and POST it to /api/v1/credentials:submit"
    )]
    KeyNotHeld {
        /// The token's issuer.
        issuer: String,
    },
    /// Status-list slots are reserved only for the authority and for issuers with an
    /// accreditation in force.
    #[error(
        "{issuer} holds no accreditation of this member in force; only accredited issuers reserve status-list slots"
    )]
    NotAccredited {
        /// The issuer the slot was asked for.
        issuer: String,
    },
}

impl AccessError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AccessError::Role { .. } => "role_forbidden",
            AccessError::IssuerMismatch { .. } => "issuer_mismatch",
            AccessError::KeyNotHeld { .. } => "issuer_key_not_held",
            AccessError::NotAccredited { .. } => "not_accredited",
        }
    }
}

/// Why an issuance or submission failed. Nothing of a failed request is stored.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The operator's token was revoked (or removed) since it was authenticated.
    #[error(transparent)]
    Token(TokenError),
    /// The operator may not do this.
    #[error(transparent)]
    Access(AccessError),
    /// The issuer already holds as many unused reserved status-list slots as allowed.
    #[error(
        "{issuer} already holds {outstanding} reserved status-list slots it has not used (at most {limit}); submit credentials that use them first"
    )]
    TooManyReservations {
        /// The issuer.
        issuer: String,
        /// Its unused reserved slots.
        outstanding: u64,
        /// The limit per issuer.
        limit: u64,
    },
    /// The request does not match its schema.
    #[error(transparent)]
    Schema(SchemaError),
    /// The request cannot become a credential.
    #[error(transparent)]
    Credential(CredentialError),
    /// A submitted statement or status request is malformed.
    #[error(transparent)]
    Statement(StatementError),
    /// A submitted object's proof does not verify.
    #[error("proof: {0}")]
    Proof(ProofError),
    /// A submitted object's `issuer` is not the key that signed it.
    #[error("issuer {issuer} is not the controller of the signing key {signer}")]
    IssuerNotSigner {
        /// `issuer`.
        issuer: String,
        /// The signer.
        signer: String,
    },
    /// A submitted object was signed too long ago or in the future.
    #[error(
        "proof.created {created} is more than {SUBMIT_CLOCK_SKEW_SECONDS} s from the node's time {now}; sign it again"
    )]
    NotFresh {
        /// `proof.created`.
        created: String,
        /// The node's time.
        now: String,
    },
    /// A submitted object is neither a talent credential nor a statement.
    #[error("{0}")]
    NotSubmittable(String),
    /// A credential with this id is already logged (or being logged).
    #[error("{0} is already in the log")]
    Duplicate(CredentialId),
    /// Another member's log, as this node mirrors it, already holds a credential with this
    /// id: a credential id names one credential in the whole federation.
    #[error(
        "{id} is already held by entry {index} of {member}'s log; a credential id names one credential in the federation"
    )]
    HeldByMember {
        /// The id.
        id: CredentialId,
        /// The member whose log holds it.
        member: String,
        /// Its leaf index there.
        index: u64,
    },
    /// The log's issuer registry refuses it (scope, accreditation, key, transition).
    #[error(transparent)]
    NotAdmitted(AdmitError),
    /// A submitted credential's `credentialStatus` does not name one of this member's
    /// status-list slots.
    #[error("credentialStatus: {0}")]
    StatusEntry(SlotError),
    /// A recognition agreement the engine cannot read (schema-valid, but e.g. a rule id
    /// twice): logging it would make an agreement that never applies.
    #[error("recognition agreement: {0}")]
    Agreement(talent_core::recognition::AgreementError),
    /// A submitted credential has no `credentialStatus`.
    #[error(
        "a submitted credential must carry credentialStatus: reserve a slot with POST /api/v1/status-lists:allocate"
    )]
    StatusEntryMissing,
    /// A submitted credential names a status-list slot not reserved for its issuer, or one
    /// another credential uses.
    #[error("status-list slot {list}/{index} {reason}")]
    StatusSlotUnavailable {
        /// List number.
        list: u32,
        /// Index.
        index: u32,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The signed object is too large for a log entry.
    #[error(transparent)]
    Entry(EntryError),
    /// Some items of a batch are invalid: (position, error) for each; none was issued.
    #[error("{} of the batch's credentials are invalid; none was issued", .0.len())]
    Batch(Vec<(usize, IssueError)>),
    /// The batch holds no credentials or more than [`MAX_BATCH_CREDENTIALS`].
    #[error("a batch holds 1 to {MAX_BATCH_CREDENTIALS} credentials, not {0}")]
    BatchSize(usize),
    /// The log could not take or commit the entries.
    #[error(transparent)]
    Log(SequenceError),
    /// Signing or the store failed (an internal invariant broke); nothing was stored.
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<StoreError> for IssueError {
    fn from(error: StoreError) -> IssueError {
        IssueError::Internal(error.into())
    }
}

/// An object that is signed and durably logged.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    /// Its id.
    pub id: CredentialId,
    /// The signed object (a VC or a statement).
    pub credential: Value,
    /// Where it is in the log, with the checkpoint and inclusion proof.
    pub log: Appended,
    /// Why the log admitted it, in words.
    pub authorisation: String,
}

/// Writes this member's log.
#[derive(Debug)]
pub struct IssuanceService {
    schemas: Arc<SchemaSet>,
    sequencer: Sequencer,
    store: Arc<Store>,
    log: Arc<Log>,
    issuers: Arc<Issuers>,
    /// The authority's current key; replaced by a rotation (under the exclusive gate).
    authority: std::sync::RwLock<Authority>,
    member: RegionId,
    /// Where `keys/` is, for authority key rotation.
    data_dir: std::path::PathBuf,
    /// Ids of submitted credentials between their duplicate check and their append.
    in_flight: Mutex<HashSet<CredentialId>>,
    /// Slots of submitted credentials between their check and their append.
    slots_in_flight: Mutex<HashSet<talent_core::status_list::StatusSlot>>,
    /// The member's status lists.
    status_lists: Arc<StatusLists>,
    /// The operator tokens, re-checked at every write.
    tokens: Arc<Tokens>,
    /// Unused reserved status-list slots per issuer, bounded.
    reservations: Reservations,
}

/// The authority's signing key and its DID.
#[derive(Debug, Clone)]
struct Authority {
    key: SigningKey,
    did: DidKey,
}

/// The registry gate held across signing, admission and append: shared for talent
/// credentials, exclusive for anything that changes the issuer history or a status.
struct Gate<'a> {
    _shared: Option<tokio::sync::RwLockReadGuard<'a, ()>>,
    _exclusive: Option<tokio::sync::RwLockWriteGuard<'a, ()>>,
    exclusive: bool,
}

/// A signed object waiting for the log.
struct Signed {
    id: CredentialId,
    object: Value,
    entry: Vec<u8>,
    signer: DidKey,
    is_credential: bool,
    resident_id: Option<ResidentIdNumber>,
    status_slot: Option<talent_core::status_list::StatusSlot>,
}

/// The parts of the node the service writes through.
#[derive(Debug, Clone)]
pub struct LogWriter {
    /// Appends durably.
    pub sequencer: Sequencer,
    /// Reads credentials and statuses.
    pub store: Arc<Store>,
    /// The log (its head).
    pub log: Arc<Log>,
    /// Issuer registries.
    pub issuers: Arc<Issuers>,
    /// The node's data directory (its `keys/`).
    pub data_dir: std::path::PathBuf,
    /// The member's status lists.
    pub status_lists: Arc<StatusLists>,
    /// The operator tokens (re-read at every write).
    pub tokens: Arc<Tokens>,
    /// Most unused reserved status-list slots one issuer may hold.
    pub max_reserved_slots: u64,
}

impl IssuanceService {
    /// A service signing with `authority_key` for `member`, logging through `writer`.
    pub fn new(
        schemas: Arc<SchemaSet>,
        writer: LogWriter,
        authority_key: SigningKey,
        member: RegionId,
    ) -> IssuanceService {
        let did = DidKey::from_verifying_key(&authority_key.verifying_key());
        IssuanceService {
            schemas,
            sequencer: writer.sequencer,
            store: writer.store,
            log: writer.log,
            issuers: writer.issuers,
            authority: std::sync::RwLock::new(Authority {
                key: authority_key,
                did,
            }),
            member,
            data_dir: writer.data_dir,
            in_flight: Mutex::new(HashSet::new()),
            slots_in_flight: Mutex::new(HashSet::new()),
            status_lists: writer.status_lists,
            tokens: writer.tokens,
            reservations: Reservations::new(writer.max_reserved_slots),
        }
    }

    /// The operator as its token stands now: revoked tokens write nothing more, and a role
    /// changed in the token file applies from the next write.
    ///
    /// # Errors
    /// [`IssueError::Token`].
    pub fn current_operator(&self, operator: &Operator) -> Result<Operator, IssueError> {
        self.tokens.recheck(operator).map_err(IssueError::Token)
    }

    /// Whether `operator` may have the node sign credentials (as the console's import
    /// needs): admins, and issuer tokens bound to the authority.
    ///
    /// # Errors
    /// [`IssueError::Token`], [`IssueError::Access`].
    pub fn check_may_issue(&self, operator: &Operator) -> Result<(), IssueError> {
        self.may_issue(&self.current_operator(operator)?, None)
    }

    /// The member's status lists.
    pub fn status_lists(&self) -> &StatusLists {
        &self.status_lists
    }

    /// The signed status list credential `list` of `purpose`, signed by the authority's
    /// current key; `None` for a list not in use.
    ///
    /// # Errors
    /// [`IssueError::Internal`] when the store or signing fails.
    pub fn status_list_credential(
        &self,
        purpose: talent_core::status_list::StatusPurpose,
        list: u32,
    ) -> Result<Option<Arc<Value>>, IssueError> {
        let authority = self.current_authority();
        self.status_lists
            .credential(purpose, list, &authority.did.to_string(), |unsigned| {
                let now = Utc::now();
                Ok(self.sign_as_authority(unsigned, now)?.0)
            })
    }

    /// Reserves a status-list slot for a credential that `issuer` (bound to the operator's
    /// token, or named by an admin) will sign itself and submit; returns its
    /// `credentialStatus`. Only the authority and issuers with an accreditation in force get
    /// slots, and each issuer holds at most the configured number unused.
    ///
    /// # Errors
    /// [`IssueError::Token`] for a revoked token, [`IssueError::Access`] for auditors, for
    /// issuer tokens naming another issuer and for issuers without an accreditation in
    /// force, [`IssueError::TooManyReservations`], [`IssueError::Internal`].
    pub fn reserve_status_slot(
        &self,
        operator: &Operator,
        issuer: Option<DidKey>,
    ) -> Result<Value, IssueError> {
        let operator = &self.current_operator(operator)?;
        let issuer = match (operator.role, &operator.issuer, issuer) {
            (Role::Auditor, ..) => {
                return Err(IssueError::Access(AccessError::Role {
                    role: operator.role,
                    action: "reserve status-list slots",
                }));
            }
            (Role::Issuer, Some(bound), Some(named)) if bound != &named => {
                return Err(IssueError::Access(AccessError::IssuerMismatch {
                    token_issuer: bound.to_string(),
                    issuer: named.to_string(),
                }));
            }
            (Role::Issuer, Some(bound), _) => bound.clone(),
            (_, _, Some(named)) => named,
            (_, _, None) => self.current_authority().did,
        };
        let registry = self.issuers.own();
        let now = Utc::now();
        if !registry.same_issuer(&issuer, &self.current_authority().did)
            && !registry.accredited_at(&issuer, now)
        {
            return Err(IssueError::Access(AccessError::NotAccredited {
                issuer: issuer.to_string(),
            }));
        }
        self.reservations
            .reserve(&self.store, &registry, &issuer, || {
                let slot = self.status_lists.allocate()?;
                self.store.reserve_status_slot(slot, &issuer.to_string())?;
                Ok(slot)
            })
            .map(|slot| self.status_lists.entries(slot))
            .map_err(|error| match error {
                ReserveError::Limit { outstanding, limit } => IssueError::TooManyReservations {
                    issuer: issuer.to_string(),
                    outstanding,
                    limit,
                },
                ReserveError::Store(error) => error.into(),
            })
    }

    fn current_authority(&self) -> Authority {
        self.authority
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The authority's current key (after any rotation).
    pub fn authority_did(&self) -> DidKey {
        self.current_authority().did
    }

    /// Whether an issuer token bound to `bound` acts for the authority (any key of it).
    fn acts_for_authority(&self, bound: Option<&DidKey>) -> bool {
        bound.is_some_and(|bound| {
            self.issuers
                .own()
                .same_issuer(bound, &self.current_authority().did)
        })
    }

    async fn enter(&self, exclusive: bool) -> Gate<'_> {
        if exclusive {
            Gate {
                _shared: None,
                _exclusive: Some(self.issuers.gate.write().await),
                exclusive,
            }
        } else {
            Gate {
                _shared: Some(self.issuers.gate.read().await),
                _exclusive: None,
                exclusive,
            }
        }
    }

    /// Whether `operator` may have the node sign a credential of `credential_type` with the
    /// authority key.
    fn may_issue(
        &self,
        operator: &Operator,
        credential_type: Option<CredentialType>,
    ) -> Result<(), IssueError> {
        match operator.role {
            Role::Admin => Ok(()),
            Role::Auditor => Err(IssueError::Access(AccessError::Role {
                role: operator.role,
                action: "issue credentials",
            })),
            Role::Issuer => {
                let issuer = operator
                    .issuer
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if !self.acts_for_authority(operator.issuer.as_ref()) {
                    return Err(IssueError::Access(AccessError::KeyNotHeld { issuer }));
                }
                if credential_type.is_some_and(|t| !t.is_talent()) {
                    return Err(IssueError::Access(AccessError::Role {
                        role: operator.role,
                        action: "issue accreditations or recognition agreements (admin only)",
                    }));
                }
                Ok(())
            }
        }
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
        let issued = self
            .issue_batch_inner(operator, std::slice::from_ref(body))
            .await
            .map_err(|error| match error {
                IssueError::Batch(mut items) if items.len() == 1 => items.remove(0).1,
                other => other,
            })?;
        single(issued)
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
        if bodies.is_empty() || bodies.len() > MAX_BATCH_CREDENTIALS {
            return Err(IssueError::BatchSize(bodies.len()));
        }
        self.issue_batch_inner(operator, bodies).await
    }

    async fn issue_batch_inner(
        &self,
        operator: &Operator,
        bodies: &[Value],
    ) -> Result<Vec<IssuedCredential>, IssueError> {
        self.may_issue(&self.current_operator(operator)?, None)?;
        // Accreditations and agreements change the issuer history: they need the gate alone.
        let exclusive = bodies.iter().any(|body| {
            body.get("type")
                .and_then(Value::as_str)
                .and_then(|name| name.parse::<CredentialType>().ok())
                .is_some_and(|t| !t.is_talent())
        });
        let gate = self.enter(exclusive).await;
        // Re-checked at the moment of writing: a batch that waited for the gate (or an
        // import's next batch) is not written for a token revoked meanwhile.
        let operator = &self.current_operator(operator)?;
        self.may_issue(operator, None)?;
        let now = Utc::now();
        let mut signed = Vec::with_capacity(bodies.len());
        let mut invalid = Vec::new();
        for (position, body) in bodies.iter().enumerate() {
            match self.sign_request(operator, body, now) {
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

    fn sign_request(
        &self,
        operator: &Operator,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Signed, IssueError> {
        self.schemas
            .validate(SchemaKind::IssueRequest, body)
            .map_err(IssueError::Schema)?;
        let request = IssueRequest::from_json(body).map_err(IssueError::Credential)?;
        self.may_issue(operator, Some(request.credential_type))?;
        let id = CredentialId::from_uuid(Uuid::now_v7());
        let mut prepared = credential::prepare(
            request,
            &self.current_authority().did,
            &self.member,
            id,
            now,
        )
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
        let (object, signer) = self.sign_as_authority(&prepared.document, now)?;
        let entry = log_entry::encode(&object).map_err(IssueError::Entry)?;
        Ok(Signed {
            id: prepared.id,
            object,
            entry,
            signer,
            is_credential: true,
            resident_id: prepared.resident_id,
            status_slot: Some(slot),
        })
    }

    /// Signs with the authority's current key; returns the signed object and that key.
    /// Callers hold the gate, so no rotation changes the key between signing and append.
    fn sign_as_authority(
        &self,
        document: &Value,
        now: DateTime<Utc>,
    ) -> Result<(Value, DidKey), IssueError> {
        let authority = self.current_authority();
        let options = ProofOptions {
            created: credential::format_datetime(now),
            proof_purpose: ASSERTION_METHOD,
        };
        let signed = proof::sign(document, &authority.key, &options)
            .map_err(|error| IssueError::Internal(error.into()))?;
        Ok((signed, authority.did))
    }

    /// Accepts a credential or statement its issuer signed: proof, issuer binding,
    /// freshness, schema, no duplicate id, and admission by the log's issuer registry.
    ///
    /// # Errors
    /// Every [`IssueError`] but `Batch`/`BatchSize`.
    pub async fn submit(
        &self,
        operator: &Operator,
        object: &Value,
    ) -> Result<IssuedCredential, IssueError> {
        let operator = &self.current_operator(operator)?;
        let verified = proof::verify(object, ASSERTION_METHOD).map_err(IssueError::Proof)?;
        let issuer = object["issuer"].as_str().unwrap_or_default();
        if issuer != verified.controller.to_string() {
            return Err(IssueError::IssuerNotSigner {
                issuer: issuer.to_owned(),
                signer: verified.controller.to_string(),
            });
        }
        let signer = verified.controller;
        match operator.role {
            Role::Admin => {}
            Role::Auditor => {
                return Err(IssueError::Access(AccessError::Role {
                    role: operator.role,
                    action: "submit entries",
                }));
            }
            Role::Issuer => {
                let registry = self.issuers.own();
                let bound = operator.issuer.clone();
                if !bound.is_some_and(|bound| registry.same_issuer(&bound, &signer)) {
                    return Err(IssueError::Access(AccessError::IssuerMismatch {
                        token_issuer: operator
                            .issuer
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        issuer: signer.to_string(),
                    }));
                }
            }
        }
        let now = Utc::now();
        let created = talent_core::issuers::signing_time(object)
            .ok_or(IssueError::Proof(ProofError::MissingProof))?;
        if (created - now).num_seconds().abs() > SUBMIT_CLOCK_SKEW_SECONDS {
            return Err(IssueError::NotFresh {
                created: credential::format_datetime(created),
                now: credential::format_datetime(now),
            });
        }
        let is_credential = match CredentialType::from_type_array(&object["type"]) {
            Some(credential_type) => {
                self.schemas
                    .validate(SchemaKind::Credential(credential_type), object)
                    .map_err(IssueError::Schema)?;
                check_agreement(object)?;
                true
            }
            None if talent_core::statement::Statement::kind_of(object).is_some() => {
                talent_core::statement::Statement::from_json(object)
                    .map_err(IssueError::Statement)?;
                false
            }
            None => {
                return Err(IssueError::NotSubmittable(
                    "the object is neither a registry credential nor a statement (CredentialStatusChange, IssuerKeyRotation)".into(),
                ));
            }
        };
        let id: CredentialId = object["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .ok_or(IssueError::Credential(CredentialError::Malformed("id")))?;
        let entry = log_entry::encode(object).map_err(IssueError::Entry)?;
        let _claim = if is_credential {
            Some(self.claim_id(id)?)
        } else {
            None
        };
        let (status_slot, _slot_claim) = if is_credential {
            let (slot, claim) = self.claim_slot(object, &signer)?;
            (Some(slot), Some(claim))
        } else {
            (None, None)
        };
        let talent = is_credential
            && CredentialType::from_type_array(&object["type"])
                .is_some_and(CredentialType::is_talent);
        let gate = self.enter(!talent).await;
        self.current_operator(operator)?;
        let signed = Signed {
            id,
            object: object.clone(),
            entry,
            signer,
            is_credential,
            resident_id: None,
            status_slot,
        };
        let reserved_for = match status_slot {
            Some(slot) => self.store.status_slot_holder(slot)?,
            None => None,
        };
        let issued = self.append_one(&gate, signed).await?;
        if let Some(SlotHolder::Reserved(issuer)) = reserved_for {
            self.reservations.used(&issuer);
        }
        Ok(issued)
    }

    /// Reserves a submitted credential's id until it is appended (or refused). An id that
    /// the own log or a verified mirror of another member's log already holds is refused:
    /// a second credential under one id would make "the credential with this id" ambiguous
    /// for every verifier that looks it up. (A peer's entry this node has not mirrored yet
    /// cannot be seen here; sync keeps evidence of such a collision, and verifiers pick the
    /// entry by its bytes, see `api::verify`.)
    fn claim_id(&self, id: CredentialId) -> Result<IdClaim<'_>, IssueError> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if in_flight.contains(&id) || self.store.credential_index(id)?.is_some() {
            return Err(IssueError::Duplicate(id));
        }
        let verified = |member: &str| {
            self.store
                .mirror_state(member)
                .ok()
                .flatten()
                .map_or(0, |state| state.size)
        };
        if let Some((member, index)) = self.store.mirror_holders(id, verified)?.into_iter().next() {
            return Err(IssueError::HeldByMember { id, member, index });
        }
        in_flight.insert(id);
        Ok(IdClaim { service: self, id })
    }

    /// Checks and reserves the status-list slot a submitted credential names until it is
    /// appended: reserved for its issuer (or a key it rotated to) and used by no other.
    fn claim_slot(
        &self,
        object: &Value,
        signer: &DidKey,
    ) -> Result<(talent_core::status_list::StatusSlot, SlotClaim<'_>), IssueError> {
        let slot = self
            .status_lists
            .slot_of(object)
            .map_err(IssueError::StatusEntry)?
            .ok_or(IssueError::StatusEntryMissing)?;
        let unavailable = |reason| IssueError::StatusSlotUnavailable {
            list: slot.list,
            index: slot.index,
            reason,
        };
        let registry = self.issuers.own();
        match self.store.status_slot_holder(slot)? {
            Some(SlotHolder::Reserved(issuer))
                if issuer
                    .parse::<DidKey>()
                    .is_ok_and(|issuer| registry.same_issuer(&issuer, signer)) => {}
            Some(SlotHolder::Reserved(_)) => {
                return Err(unavailable("is reserved for another issuer"));
            }
            Some(SlotHolder::Used(_)) => return Err(unavailable("is used by another credential")),
            None => {
                return Err(unavailable(
                    "was not reserved (POST /api/v1/status-lists:allocate)",
                ));
            }
        }
        let mut in_flight = self
            .slots_in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !in_flight.insert(slot) {
            return Err(unavailable("is used by another credential"));
        }
        Ok((
            slot,
            SlotClaim {
                service: self,
                slot,
            },
        ))
    }

    /// Changes the status of a credential of this log, signed by the authority.
    ///
    /// `body`: `{"status": "04", "reason": "…", "effective"?: RFC 3339, "successor"?: id}`.
    ///
    /// # Errors
    /// [`IssueError::Access`] (auditors; issuer tokens not bound to the authority, whose
    /// issuers sign their own status changes and submit them), [`IssueError::Statement`],
    /// [`IssueError::NotAdmitted`] (unknown credential, impossible transition).
    pub async fn change_status(
        &self,
        operator: &Operator,
        credential_id: CredentialId,
        body: &Value,
    ) -> Result<IssuedCredential, IssueError> {
        let operator = &self.current_operator(operator)?;
        match operator.role {
            Role::Admin => {}
            Role::Auditor => {
                return Err(IssueError::Access(AccessError::Role {
                    role: operator.role,
                    action: "change statuses",
                }));
            }
            Role::Issuer if self.acts_for_authority(operator.issuer.as_ref()) => {}
            Role::Issuer => {
                return Err(IssueError::Access(AccessError::KeyNotHeld {
                    issuer: operator
                        .issuer
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                }));
            }
        }
        let gate = self.enter(true).await;
        self.current_operator(operator)?;
        let now = Utc::now();
        let text = |name: &str| body.get(name).and_then(Value::as_str);
        let mut unsigned = StatusChange {
            id: CredentialId::from_uuid(Uuid::now_v7()),
            credential_id,
            status: talent_core::status::CredentialStatus::Valid,
            reason: String::new(),
            effective: now,
            issuer: self.current_authority().did,
            successor: None,
        }
        .to_unsigned();
        for field in ["status", "reason", "effective", "successor"] {
            match body.get(field) {
                Some(Value::String(_)) => unsigned[field] = body[field].clone(),
                None | Some(Value::Null) => {}
                Some(_) => {
                    return Err(IssueError::Statement(StatementError::InvalidField {
                        field: "body",
                        detail: format!("{field} must be a string"),
                    }));
                }
            }
        }
        if text("status").is_none() || text("reason").is_none() {
            return Err(IssueError::Statement(StatementError::InvalidField {
                field: "body",
                detail: "status and reason are required".into(),
            }));
        }
        if let Some(extra) = body.as_object().and_then(|map| {
            map.keys()
                .find(|key| !["status", "reason", "effective", "successor"].contains(&key.as_str()))
        }) {
            return Err(IssueError::Statement(StatementError::InvalidField {
                field: "body",
                detail: format!("unknown field {extra:?}"),
            }));
        }
        let change = StatusChange::from_json(&unsigned).map_err(IssueError::Statement)?;
        let statement = self.authority_statement(change.id, &change.to_unsigned(), now)?;
        self.append_one(&gate, statement).await
    }

    /// A statement signed now by the authority's current key, ready for the log.
    fn authority_statement(
        &self,
        id: CredentialId,
        unsigned: &Value,
        now: DateTime<Utc>,
    ) -> Result<Signed, IssueError> {
        let (object, signer) = self.sign_as_authority(unsigned, now)?;
        let entry = log_entry::encode(&object).map_err(IssueError::Entry)?;
        Ok(Signed {
            id,
            object,
            entry,
            signer,
            is_credential: false,
            resident_id: None,
            status_slot: None,
        })
    }

    /// Admits and appends one signed object.
    async fn append_one(
        &self,
        gate: &Gate<'_>,
        signed: Signed,
    ) -> Result<IssuedCredential, IssueError> {
        single(self.admit_and_append(gate, vec![signed]).await?)
    }

    /// Rotates the authority's key (admin only): a new key is staged on disk, the
    /// `IssuerKeyRotation` signed by the current key is logged, then the new key becomes
    /// `keys/authority.key` and signs everything after. What the old key signed stays valid.
    /// A crash between the log and the key file is finished at the next start.
    ///
    /// # Errors
    /// [`IssueError::Access`] for other roles, [`IssueError::Log`], [`IssueError::Internal`].
    pub async fn rotate_authority(
        &self,
        operator: &Operator,
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
        let next = SigningKey::generate(&mut rand::rngs::OsRng);
        let next_did = DidKey::from_verifying_key(&next.verifying_key());
        crate::keys::MemberKeys::stage_authority_successor(&self.data_dir, &next)
            .map_err(IssueError::Internal)?;
        let now = Utc::now();
        let current = self.current_authority();
        let rotation = talent_core::statement::KeyRotation {
            id: CredentialId::from_uuid(Uuid::now_v7()),
            previous_key: current.did.clone(),
            next_key: next_did.clone(),
            effective: now,
            issuer: current.did.clone(),
        };
        let statement = self.authority_statement(rotation.id, &rotation.to_unsigned(), now)?;
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
            .unwrap_or_else(PoisonError::into_inner) = Authority {
            key: next,
            did: next_did,
        };
        if let Err(error) = crate::keys::MemberKeys::promote_authority_successor(&self.data_dir) {
            tracing::error!(
                error = format!("{error:#}"),
                "the rotation is logged but authority.key was not replaced; the next start finishes it"
            );
        }
        Ok(issued)
    }

    /// Admits signed objects in order against the own log's issuer registry and appends
    /// them as one durable unit, under `gate`.
    ///
    /// Talent credentials only read the history, so they share the gate and are judged
    /// against every event logged so far. Anything else (accreditations, agreements,
    /// statements) holds the gate alone: no other append runs, so its leaf index is known
    /// before the append and the history it changes is current for everyone after it.
    async fn admit_and_append(
        &self,
        gate: &Gate<'_>,
        signed: Vec<Signed>,
    ) -> Result<Vec<IssuedCredential>, IssueError> {
        let talent_only = signed.iter().all(|item| {
            item.is_credential
                && CredentialType::from_type_array(&item.object["type"])
                    .is_some_and(CredentialType::is_talent)
        });
        if !talent_only && !gate.exclusive {
            return Err(IssueError::Internal(anyhow::anyhow!(
                "a history-changing entry reached the log without the exclusive gate"
            )));
        }
        let own = self.issuers.own();
        let first = self.log.head().size;
        // The log's time of admission: withdrawals, rotations and expiry in effect now refuse
        // an entry whatever its proof.created claims.
        let now = Some(Utc::now());
        // Talent credentials cannot change the history: judge them against the shared
        // registry. Anything else is admitted into a copy that replaces it once durable.
        let (admitted, working) = if talent_only {
            let admitted =
                self.admit_all(&signed, first, |object, signer, position, targets| {
                    own.check_at(object, signer, position, now, targets)
                })?;
            (admitted, None)
        } else {
            let mut working = IssuerRegistry::clone(&own);
            let admitted =
                self.admit_all(&signed, first, |object, signer, position, targets| {
                    working.admit_at(object, signer, position, now, targets)
                })?;
            (admitted, Some(working))
        };
        let changed = working.filter(|_| admitted.iter().any(|item| item.issuer_event));
        let mut touched_lists = Vec::new();
        let mut pending = Vec::with_capacity(signed.len());
        let mut issued = Vec::with_capacity(signed.len());
        for (item, admitted) in signed.into_iter().zip(admitted) {
            let target_slot = match admitted.status {
                Some((target, _)) => self.slot_of_logged(target)?,
                None => None,
            };
            touched_lists.extend(target_slot.map(|slot| slot.list));
            pending.push(PendingEntry {
                entry: item.entry,
                credential_id: item.is_credential.then_some(item.id),
                resident_id: item.resident_id,
                status_slot: item.status_slot,
                effects: EntryEffects {
                    issuer_event: admitted.issuer_event,
                    status: admitted.status,
                    status_slot: target_slot,
                },
            });
            issued.push((item.id, item.object, admitted.authorisation.describe()));
        }
        let appended = self
            .sequencer
            .append(pending)
            .await
            .map_err(IssueError::Log)?;
        if let Some(registry) = changed {
            self.issuers.replace(registry);
        }
        for list in touched_lists {
            self.status_lists.touch(list);
        }
        Ok(issued
            .into_iter()
            .zip(appended)
            .map(|((id, credential, authorisation), log)| IssuedCredential {
                id,
                credential,
                log,
                authorisation,
            })
            .collect())
    }

    /// Admits `signed` in order as the entries from `first` on, through `admit` (a
    /// registry's `admit` or `check`); all or none.
    fn admit_all(
        &self,
        signed: &[Signed],
        first: u64,
        mut admit: impl FnMut(
            &Value,
            &DidKey,
            u64,
            &mut dyn FnMut(CredentialId) -> Option<talent_core::issuers::StatusTarget>,
        ) -> Result<Admitted, AdmitError>,
    ) -> Result<Vec<Admitted>, IssueError> {
        let mut admitted = Vec::with_capacity(signed.len());
        let mut refused = Vec::new();
        for (offset, item) in signed.iter().enumerate() {
            let store = &self.store;
            let mut failure = None;
            let result = admit(
                &item.object,
                &item.signer,
                first + offset as u64,
                &mut |id| match registries::status_target(store, LogSpace::Own, id, u64::MAX) {
                    Ok(target) => target,
                    Err(error) => {
                        failure = Some(error);
                        None
                    }
                },
            );
            if let Some(error) = failure {
                return Err(error.into());
            }
            match result {
                Ok(item) => admitted.push(item),
                Err(error) => refused.push((offset, IssueError::NotAdmitted(error))),
            }
        }
        match refused.len() {
            0 => Ok(admitted),
            1 if signed.len() == 1 => Err(refused.remove(0).1),
            _ => Err(IssueError::Batch(refused)),
        }
    }
}

impl IssuanceService {
    /// The status-list slot of a credential in the own log, if it has one of ours.
    fn slot_of_logged(
        &self,
        id: CredentialId,
    ) -> Result<Option<talent_core::status_list::StatusSlot>, IssueError> {
        let Some(index) = self.store.credential_index(id)? else {
            return Ok(None);
        };
        let Some(bytes) = self.store.entry(LogSpace::Own, index)? else {
            return Ok(None);
        };
        let credential: Value =
            serde_json::from_slice(&bytes).map_err(|error| IssueError::Internal(error.into()))?;
        // A credential logged without (or with foreign) entries has no bit to set.
        Ok(self.status_lists.slot_of_logged(&credential).ok().flatten())
    }
}

/// Refuses a recognition agreement the recognition engine would not read.
fn check_agreement(document: &Value) -> Result<(), IssueError> {
    if CredentialType::from_type_array(&document["type"])
        == Some(CredentialType::RecognitionAgreementCredential)
    {
        talent_core::recognition::Agreement::from_credential(document)
            .map_err(IssueError::Agreement)?;
    }
    Ok(())
}

/// The one entry of a single-entry append.
fn single(mut issued: Vec<IssuedCredential>) -> Result<IssuedCredential, IssueError> {
    issued
        .pop()
        .ok_or_else(|| IssueError::Internal(anyhow::anyhow!("the log acknowledged no entry")))
}

/// A submitted credential id reserved until dropped.
struct IdClaim<'a> {
    service: &'a IssuanceService,
    id: CredentialId,
}

/// A submitted credential's status-list slot reserved until dropped.
struct SlotClaim<'a> {
    service: &'a IssuanceService,
    slot: talent_core::status_list::StatusSlot,
}

impl Drop for SlotClaim<'_> {
    fn drop(&mut self) {
        self.service
            .slots_in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.slot);
    }
}

impl Drop for IdClaim<'_> {
    fn drop(&mut self) {
        self.service
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}
