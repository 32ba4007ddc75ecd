//! What can go wrong on the issuance path: an operator's access ([`AccessError`]) and every
//! reason an issuance, submission or status change is refused ([`IssueError`]), each with
//! the stable code the API answers with (see `api::error`).

use talent_core::credential::CredentialError;
use talent_core::identifiers::CredentialId;
use talent_core::issuers::AdmitError;
use talent_core::log_entry::EntryError;
use talent_core::schema::SchemaError;
use talent_core::statement::StatementError;
use talent_integrity::proof::ProofError;

use super::{MAX_BATCH_CREDENTIALS, SUBMIT_CLOCK_SKEW_SECONDS};
use crate::log::sequencer::SequenceError;
use crate::status_lists::SlotError;
use crate::store::StoreError;
use crate::tokens::{Role, TokenError};
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
    /// A submitted credential names its context or schema under another node than this
    /// member's (or the legacy base).
    #[error(transparent)]
    ForeignNamespace(talent_core::credential::ForeignNamespace),
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
    Internal(crate::InternalError),
}

impl IssueError {
    /// The stable code of a refused submission (a malformed or misnamed signed object, an
    /// unusable status entry); `None` for the other errors, which have their own answers.
    pub fn submission_code(&self) -> Option<&'static str> {
        Some(match self {
            IssueError::Statement(_) => "invalid_statement",
            IssueError::Proof(_) => "invalid_proof",
            IssueError::IssuerNotSigner { .. } => "issuer_not_signer",
            IssueError::NotFresh { .. } => "proof_not_fresh",
            IssueError::NotSubmittable(_) => "not_submittable",
            IssueError::StatusEntry(_) => "status_entry_invalid",
            IssueError::Agreement(_) => "agreement_invalid",
            IssueError::ForeignNamespace(_) => "foreign_namespace",
            IssueError::StatusEntryMissing => "status_entry_required",
            IssueError::StatusSlotUnavailable { .. } => "status_slot_unavailable",
            _ => return None,
        })
    }
}

impl From<StoreError> for IssueError {
    fn from(error: StoreError) -> IssueError {
        IssueError::Internal(error.into())
    }
}
